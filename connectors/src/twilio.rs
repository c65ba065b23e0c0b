//! Twilio Programmable Voice and Messaging webhooks: call status callbacks, recording status
//! callbacks and inbound SMS/MMS.
//!
//! **What Twilio sends.** A form-encoded POST (`application/x-www-form-urlencoded`) per event.
//! Call status callbacks carry `CallSid`, `CallStatus`, `Direction`, `From`, `To`,
//! `SequenceNumber`, `Timestamp` (RFC 2822), `CallDuration` and, when the call was recorded,
//! `RecordingUrl`/`RecordingSid`/`RecordingDuration`. A recording status callback carries
//! `CallSid`, `RecordingSid`, `RecordingStatus` and `RecordingUrl` but no `CallStatus`. An inbound
//! message carries `MessageSid` (= `SmsSid`), `From`, `To`, `Body`, `SmsStatus=received`,
//! `NumMedia` and `MediaUrl0..N`. Some products post JSON instead; the URL then carries
//! `bodySHA256`, and a JSON object's scalar members are read like form parameters.
//!
//! **Verification.** `X-Twilio-Signature` is the base64 HMAC of the URL Twilio requested
//! ([`InboundRequest::url`], query included) followed by every POST parameter sorted by name as
//! `name` + `value`; a repeated name contributes its distinct values in sorted order, as the
//! official SDKs compute it. Twilio adds parameters without notice, so every received parameter
//! is signed, never a known list. The key is the Auth Token or a `SharedKey` secret (every
//! configured secret is tried). The algorithm is the `algorithm` setting when set; otherwise
//! HMAC-SHA1 unless `X-Twilio-Webhooks-Signature-Settings` announces `algorithm=HMAC_SHA256`
//! (`SharedKey` signing). A request announcing another algorithm than the setting is refused,
//! so a configured algorithm cannot be talked down. Twilio is not consistent about default ports when it signs, so, like the SDKs, the
//! URL is also tried with the scheme's default port added (when it names none) or removed
//! (`:443` on https, `:80` on http). A JSON body is signed
//! over the URL alone (with its `bodySHA256` parameter), and the body's hex SHA-256 must equal
//! that parameter. There is no timestamp: replays are caught by the hub's dedupe on the
//! delivery's external id.
//!
//! **Touchpoints.**
//! - Call status callback -> channel `Call`, external id `CallSid`, event = `CallStatus`,
//!   sequence = `SequenceNumber`. Direction `inbound` is Inbound, anything else (`outbound-api`,
//!   `outbound-dial`) Outbound. The customer is `From` on inbound calls (with `CallerName` as
//!   name) and `To` on outbound ones. An address that is not a phone number (`client:alice`,
//!   a SIP URI, a withheld caller id) is not used as a phone; it is kept as provider id
//!   `customer_address`. `call` holds the status, whether it ended (`completed`, `busy`,
//!   `failed`, `no-answer`, `canceled`), `CallDuration` and `RecordingUrl`.
//! - Recording status callback -> the same call (external id `CallSid`), event
//!   `recording.<RecordingStatus>`, `call.recording_url` = `RecordingUrl`. It says nothing about
//!   the call itself, so `call.status` is empty, `ended` false and there is no sequence.
//! - Inbound message (`SmsStatus`/`MessageStatus` `received`) -> channel `Sms`, Inbound, external
//!   id `MessageSid`, event `received`, phone = `From` (a `whatsapp:` prefix dropped and noted
//!   as provider id `messaging_channel`; an alphanumeric sender id such as `ACME` taken as it
//!   is), summary = `Body`, provider ids `media_url_<n>` for each `MediaUrl<n>`.
//! - Outbound message status callbacks and anything else give no touchpoint.
//!
//! **`occurred_at`.** `parse` must be deterministic, so it never reads the clock: the `Timestamp`
//! parameter (RFC 2822; a garbled one is `Malformed`), else the request's `Date` header (RFC 2822
//! / HTTP date; Twilio is not known to send one, a proxy may), else the time the hub received
//! the request. Messages and recording callbacks carry no time of their own, so they take the
//! header's or the receipt's.
//!
//! **External id of a delivery.** Calls `{CallSid}:{CallStatus}:{SequenceNumber}` (`{CallSid}:{CallStatus}`
//! without a sequence), recordings `{CallSid}:recording:{RecordingSid}:{RecordingStatus}`,
//! inbound messages `MessageSid`, outbound message status callbacks
//! `{MessageSid}:{MessageStatus}`, anything else the body digest.
//!
//! **Settings** (all optional):
//! - `algorithm` (`"HMAC_SHA1"` or `"HMAC_SHA256"`): the algorithm the key was set up with;
//!   every request is verified with it. Unset, each request's announcement is followed
//!   (HMAC-SHA1 when it announces none).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::{
    Call, Channel, Connector, ConnectorError, Direction, InboundRequest, NormalizedTouchpoint,
};
use crate::{settings, signature};

pub struct Twilio;

const SIGNATURE_HEADER: &str = "x-twilio-signature";
const SIGNATURE_SETTINGS_HEADER: &str = "x-twilio-webhooks-signature-settings";
const BODY_HASH_PARAM: &str = "bodySHA256";

/// Call statuses after which nothing more happens on the call.
const ENDED_STATUSES: [&str; 5] = ["completed", "busy", "failed", "no-answer", "canceled"];

/// Keypad spellings of ANONYMOUS, RESTRICTED, UNKNOWN and UNAVAILABLE that carriers put in
/// place of a withheld caller id; taken as phones they would merge every such caller into one.
const WITHHELD_NUMBERS: [&str; 4] = ["+266696687", "+7378742833", "+8656696", "+86282452253"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Settings {
    /// The algorithm the key was set up with; unset, each request's announcement is followed.
    algorithm: Option<Algorithm>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum Algorithm {
    #[serde(rename = "HMAC_SHA1")]
    HmacSha1,
    #[serde(rename = "HMAC_SHA256")]
    HmacSha256,
}

impl Algorithm {
    /// The algorithm to verify `request` with: the configured one, which a request announcing
    /// another cannot change; unconfigured, what the request announces.
    fn for_request(
        request: &InboundRequest<'_>,
        configured: Option<Algorithm>,
    ) -> Result<Self, ConnectorError> {
        match (configured, Algorithm::announced(request)?) {
            (Some(configured), Some(announced)) if configured != announced => {
                Err(ConnectorError::BadSignature(format!(
                    "the request announces {} but the connector is set up for {}",
                    announced.name(),
                    configured.name()
                )))
            }
            (Some(algorithm), _) | (None, Some(algorithm)) => Ok(algorithm),
            // Without the `SharedKey` settings header Twilio signs with HMAC-SHA1.
            (None, None) => Ok(Algorithm::HmacSha1),
        }
    }

    /// The algorithm `X-Twilio-Webhooks-Signature-Settings` names, if the request has one.
    fn announced(request: &InboundRequest<'_>) -> Result<Option<Self>, ConnectorError> {
        let announced = request.header(SIGNATURE_SETTINGS_HEADER).and_then(|value| {
            value
                .split(',')
                .filter_map(|part| part.split_once('='))
                .find(|(key, _)| key.trim().eq_ignore_ascii_case("algorithm"))
                .map(|(_, algorithm)| algorithm.trim())
        });
        match announced {
            None => Ok(None),
            Some("HMAC_SHA1") => Ok(Some(Algorithm::HmacSha1)),
            Some("HMAC_SHA256") => Ok(Some(Algorithm::HmacSha256)),
            Some(other) => Err(ConnectorError::BadSignature(format!(
                "unsupported signature algorithm {other:?}"
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Algorithm::HmacSha1 => "HMAC_SHA1",
            Algorithm::HmacSha256 => "HMAC_SHA256",
        }
    }

    fn matches(self, key: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
        match self {
            Algorithm::HmacSha1 => signature::hmac_sha1_matches(key, parts, expected),
            Algorithm::HmacSha256 => signature::hmac_sha256_matches(key, parts, expected),
        }
    }
}

impl Connector for Twilio {
    /// A callback's or a message's parameters (media come as URLs).
    fn max_body_bytes(&self) -> usize {
        64 * crate::KIB
    }

    fn check_settings(&self, settings: &serde_json::Value) -> Result<(), ConnectorError> {
        settings::read::<Settings>(settings).map(drop)
    }

    fn verify(
        &self,
        request: &InboundRequest<'_>,
        secrets: &[&str],
        _now: DateTime<Utc>,
        settings: &serde_json::Value,
    ) -> Result<(), ConnectorError> {
        let configured = settings::read::<Settings>(settings)?.algorithm;
        if secrets.is_empty() {
            return Err(ConnectorError::BadSignature(
                "no Twilio auth token or shared key is configured".into(),
            ));
        }
        let expected = signature::decode_base64(request.signature_header(SIGNATURE_HEADER)?)?;
        let algorithm = Algorithm::for_request(request, configured)?;
        let body_hash = body_hash(request);
        let params = match body_hash {
            Some(_) => String::new(),
            None => sorted_params(request.body),
        };
        let urls = url_variants(request.url);
        let signed = secrets.iter().any(|secret| {
            urls.iter().any(|url| {
                algorithm.matches(
                    secret.as_bytes(),
                    &[url.as_bytes(), params.as_bytes()],
                    &expected,
                )
            })
        });
        if !signed {
            return Err(ConnectorError::BadSignature(
                "X-Twilio-Signature does not match".into(),
            ));
        }
        match body_hash {
            Some(hash)
                if !hash
                    .trim()
                    .eq_ignore_ascii_case(&signature::sha256_hex(request.body)) =>
            {
                Err(ConnectorError::BadSignature(
                    "body does not match bodySHA256".into(),
                ))
            }
            _ => Ok(()),
        }
    }

    fn external_id(&self, request: &InboundRequest<'_>) -> Result<String, ConnectorError> {
        let params = Params::from_request(request)?;
        Ok(match Event::of(&params) {
            Event::Call { sid, status } => match params.get("SequenceNumber") {
                Some(sequence) => format!("{sid}:{status}:{sequence}"),
                None => format!("{sid}:{status}"),
            },
            Event::Recording {
                call_sid,
                recording_sid,
                status,
            } => format!("{call_sid}:recording:{recording_sid}:{status}"),
            Event::Message { sid, status } if is_received(status) => sid.to_owned(),
            Event::Message { sid, status } => format!("{sid}:{}", status.unwrap_or_default()),
            Event::Other => signature::body_digest(request.body),
        })
    }

    fn parse(
        &self,
        request: &InboundRequest<'_>,
        settings: &serde_json::Value,
    ) -> Result<Vec<NormalizedTouchpoint>, ConnectorError> {
        settings::read::<Settings>(settings)?;
        let params = Params::from_request(request)?;
        let touchpoint = match Event::of(&params) {
            Event::Call { sid, status } => {
                call_touchpoint(&params, sid, status, occurred_at(&params, request)?)?
            }
            Event::Recording {
                call_sid,
                recording_sid,
                status,
            } => {
                let occurred_at = occurred_at(&params, request)?;
                recording_touchpoint(&params, call_sid, recording_sid, status, occurred_at)
            }
            Event::Message { sid, status } if is_received(status) => {
                message_touchpoint(&params, sid, occurred_at(&params, request)?)
            }
            Event::Message { .. } | Event::Other => return Ok(Vec::new()),
        };
        Ok(vec![touchpoint])
    }
}

/// The `bodySHA256` query parameter Twilio adds when it posts JSON.
fn body_hash(request: &InboundRequest<'_>) -> Option<String> {
    request.query_values(BODY_HASH_PARAM).into_iter().next()
}

/// The parameter part of the signed string: names sorted, each followed by its distinct values
/// in sorted order.
fn sorted_params(body: &[u8]) -> String {
    let mut by_name: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(body) {
        by_name
            .entry(name.into_owned())
            .or_default()
            .insert(value.into_owned());
    }
    let mut signed = String::new();
    for (name, values) in &by_name {
        for value in values {
            signed.push_str(name);
            signed.push_str(value);
        }
    }
    signed
}

/// The URL as given, plus the same URL with the scheme's default port toggled.
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_owned()];
    variants.extend(toggle_default_port(url));
    variants
}

/// The URL with its scheme's default port added when it names no port, or removed when it names
/// exactly that one; `None` for other ports and schemes.
fn toggle_default_port(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let (userinfo, host_port) = authority.split_at(authority.rfind('@').map_or(0, |at| at + 1));
    // An IPv6 literal has colons of its own; only a colon after its `]` starts the port.
    let port_colon = match host_port.rfind(']') {
        Some(close) => host_port[close..].find(':').map(|colon| close + colon),
        None => host_port.find(':'),
    };
    let host_port = match port_colon {
        None => format!("{host_port}:{default_port}"),
        Some(colon) if &host_port[colon + 1..] == default_port => host_port[..colon].to_owned(),
        Some(_) => return None,
    };
    Some(format!("{scheme}://{userinfo}{host_port}{tail}"))
}

/// The request's parameters in the order they came.
struct Params(Vec<(String, String)>);

impl Params {
    fn from_request(request: &InboundRequest<'_>) -> Result<Self, ConnectorError> {
        let json = request.media_type() == "application/json" || body_hash(request).is_some();
        if json {
            Self::from_json(request.body)
        } else {
            Ok(Self::from_form(request.body))
        }
    }

    fn from_form(body: &[u8]) -> Self {
        Params(
            form_urlencoded::parse(body)
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    /// A JSON object's scalar members; nested values carry nothing this connector reads.
    fn from_json(body: &[u8]) -> Result<Self, ConnectorError> {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|error| ConnectorError::Malformed(format!("body is not JSON: {error}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| ConnectorError::Malformed("JSON body is not an object".into()))?;
        let pairs = object
            .iter()
            .filter_map(|(name, value)| {
                let value = match value {
                    serde_json::Value::String(text) => text.clone(),
                    serde_json::Value::Number(number) => number.to_string(),
                    serde_json::Value::Bool(flag) => flag.to_string(),
                    _ => return None,
                };
                Some((name.clone(), value))
            })
            .collect();
        Ok(Params(pairs))
    }

    /// The first value of `name`, trimmed; an empty value counts as absent.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }

    fn integer(&self, name: &str) -> Result<Option<i64>, ConnectorError> {
        self.get(name)
            .map(|value| {
                value.parse::<i64>().map_err(|_| {
                    ConnectorError::Malformed(format!("{name} {value:?} is not an integer"))
                })
            })
            .transpose()
    }
}

/// What a delivery reports, told apart by the parameters present.
enum Event<'a> {
    Call {
        sid: &'a str,
        status: &'a str,
    },
    Recording {
        call_sid: &'a str,
        recording_sid: &'a str,
        status: &'a str,
    },
    Message {
        sid: &'a str,
        status: Option<&'a str>,
    },
    Other,
}

impl<'a> Event<'a> {
    fn of(params: &'a Params) -> Self {
        let call_sid = params.get("CallSid");
        if let (Some(sid), Some(status)) = (call_sid, params.get("CallStatus")) {
            return Event::Call { sid, status };
        }
        let recording = (
            call_sid,
            params.get("RecordingSid"),
            params.get("RecordingStatus"),
        );
        if let (Some(call_sid), Some(recording_sid), Some(status)) = recording {
            return Event::Recording {
                call_sid,
                recording_sid,
                status,
            };
        }
        match params.get("MessageSid").or_else(|| params.get("SmsSid")) {
            Some(sid) => Event::Message {
                sid,
                status: params
                    .get("MessageStatus")
                    .or_else(|| params.get("SmsStatus")),
            },
            None => Event::Other,
        }
    }
}

/// Whether a message's status marks it as one a customer sent us; an inbound webhook always
/// says `received`, status callbacks for our own messages say `sent`, `delivered` and so on.
fn is_received(status: Option<&str>) -> bool {
    status.is_none_or(|status| status.eq_ignore_ascii_case("received"))
}

fn occurred_at(
    params: &Params,
    request: &InboundRequest<'_>,
) -> Result<DateTime<Utc>, ConnectorError> {
    if let Some(stamp) = params.get("Timestamp") {
        return DateTime::parse_from_rfc2822(stamp)
            .map(|time| time.with_timezone(&Utc))
            .map_err(|_| {
                ConnectorError::Malformed(format!("Timestamp {stamp:?} is not RFC 2822"))
            });
    }
    let date = request
        .header("date")
        .and_then(|value| DateTime::parse_from_rfc2822(value.trim()).ok())
        .map(|time| time.with_timezone(&Utc));
    Ok(date.unwrap_or(request.received_at))
}

fn call_touchpoint(
    params: &Params,
    sid: &str,
    status: &str,
    occurred_at: DateTime<Utc>,
) -> Result<NormalizedTouchpoint, ConnectorError> {
    let inbound = params
        .get("Direction")
        .is_some_and(|direction| direction.eq_ignore_ascii_case("inbound"));
    let (direction, customer, ours) = if inbound {
        (Direction::Inbound, "From", "To")
    } else {
        (Direction::Outbound, "To", "From")
    };
    let mut touchpoint =
        NormalizedTouchpoint::new(sid, status, Channel::Call, direction, occurred_at);
    touchpoint.sequence = params.integer("SequenceNumber")?;
    set_customer(&mut touchpoint, params.get(customer));
    if inbound {
        touchpoint.person.name = params.get("CallerName").map(str::to_owned);
    }
    let duration_secs = params.integer("CallDuration")?;
    touchpoint.summary = Some(call_summary(inbound, status, duration_secs));
    touchpoint.call = Some(Call {
        status: status.to_owned(),
        ended: ENDED_STATUSES.contains(&status),
        duration_secs,
        recording_url: params.get("RecordingUrl").map(str::to_owned),
    });
    let ids = [
        ("account_sid", params.get("AccountSid")),
        ("parent_call_sid", params.get("ParentCallSid")),
        ("recording_sid", params.get("RecordingSid")),
        ("forwarded_from", params.get("ForwardedFrom")),
        ("our_number", params.get(ours)),
    ];
    keep_ids(&mut touchpoint, ids);
    Ok(touchpoint)
}

fn call_summary(inbound: bool, status: &str, duration_secs: Option<i64>) -> String {
    let kind = if inbound { "Inbound" } else { "Outbound" };
    match duration_secs {
        Some(seconds) => format!("{kind} call {status} ({seconds} s)"),
        None => format!("{kind} call {status}"),
    }
}

fn recording_touchpoint(
    params: &Params,
    call_sid: &str,
    recording_sid: &str,
    status: &str,
    occurred_at: DateTime<Utc>,
) -> NormalizedTouchpoint {
    // A recording callback names no direction; the call's own callbacks carry the real one.
    let direction = match params.get("Direction") {
        Some(direction) if direction.eq_ignore_ascii_case("inbound") => Direction::Inbound,
        Some(_) => Direction::Outbound,
        None => Direction::Inbound,
    };
    let event = format!("recording.{status}");
    let mut touchpoint =
        NormalizedTouchpoint::new(call_sid, event, Channel::Call, direction, occurred_at);
    touchpoint.summary = Some(format!("Call recording {status}"));
    touchpoint.call = Some(Call {
        recording_url: params.get("RecordingUrl").map(str::to_owned),
        ..Call::default()
    });
    let ids = [
        ("account_sid", params.get("AccountSid")),
        ("recording_sid", Some(recording_sid)),
    ];
    keep_ids(&mut touchpoint, ids);
    touchpoint
}

fn message_touchpoint(
    params: &Params,
    sid: &str,
    occurred_at: DateTime<Utc>,
) -> NormalizedTouchpoint {
    let mut touchpoint = NormalizedTouchpoint::new(
        sid,
        "received",
        Channel::Sms,
        Direction::Inbound,
        occurred_at,
    );
    set_customer(&mut touchpoint, params.get("From"));
    touchpoint.summary = params.get("Body").map(str::to_owned);
    let ids = [
        ("account_sid", params.get("AccountSid")),
        ("messaging_service_sid", params.get("MessagingServiceSid")),
        ("our_number", params.get("To")),
    ];
    keep_ids(&mut touchpoint, ids);
    for (name, url) in &params.0 {
        let Some(index) = name.strip_prefix("MediaUrl") else {
            continue;
        };
        if !index.is_empty() && index.bytes().all(|byte| byte.is_ascii_digit()) {
            touchpoint
                .provider_ids
                .insert(format!("media_url_{index}"), url.trim().to_owned());
        }
    }
    touchpoint
}

fn keep_ids<'a>(
    touchpoint: &mut NormalizedTouchpoint,
    ids: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) {
    for (key, value) in ids {
        if let Some(value) = value {
            touchpoint
                .provider_ids
                .insert(key.to_owned(), value.to_owned());
        }
    }
}

/// Files the customer's address as their phone when it is one (the hub keeps a number it cannot
/// normalise as it came), noting the `whatsapp` channel a prefixed number came through.
fn set_customer(touchpoint: &mut NormalizedTouchpoint, address: Option<&str>) {
    let Some(address) = address else {
        return;
    };
    match phone_number(address) {
        Some(phone) => {
            touchpoint.person.phone = Some(phone.to_owned());
            if address.starts_with(WHATSAPP) {
                touchpoint
                    .provider_ids
                    .insert("messaging_channel".into(), "whatsapp".into());
            }
        }
        None => {
            touchpoint
                .provider_ids
                .insert("customer_address".into(), address.to_owned());
        }
    }
}

const WHATSAPP: &str = "whatsapp:";

/// The number in a Twilio address, if it is one: E.164 (or a short code), optionally behind
/// the `whatsapp:` channel prefix, or an alphanumeric sender id (`ACME`: up to 11 letters,
/// digits and spaces, one a letter), which names its sender as a number would; not a
/// `client:` identity, SIP URI or withheld id.
fn phone_number(address: &str) -> Option<&str> {
    let number = address.strip_prefix(WHATSAPP).unwrap_or(address);
    let digits = number.strip_prefix('+').unwrap_or(number);
    let is_number = digits.len() >= 3 && digits.bytes().all(|byte| byte.is_ascii_digit());
    let is_sender_id = (1..=11).contains(&number.len())
        && number
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b' ')
        && number.bytes().any(|b| b.is_ascii_alphabetic());
    ((is_number && !WITHHELD_NUMBERS.contains(&number)) || is_sender_id).then_some(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "12345";
    const CALL_COMPLETED: &str =
        include_str!("../tests/fixtures/twilio/call_completed_inbound.form");
    const RECORDING_COMPLETED: &str =
        include_str!("../tests/fixtures/twilio/recording_completed.form");
    const SMS_INBOUND: &str = include_str!("../tests/fixtures/twilio/sms_inbound_mms.form");
    const HOOK_URL: &str = "https://crm.example.com/hooks/twilio";
    const CALL_SID: &str = "CAfedcba9876543210fedcba9876543210";
    const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
    const RECORDING_SID: &str = "RE0123456789abcdef0123456789abcdef";
    const MESSAGE_SID: &str = "MM00112233445566778899aabbccddeeff";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    /// What Twilio would put in X-Twilio-Signature for a form POST.
    fn sign(token: &str, url: &str, body: &str) -> String {
        let signed = format!("{url}{}", sorted_params(body.as_bytes()));
        signature::encode_base64(&signature::hmac_sha1(
            token.as_bytes(),
            &[signed.as_bytes()],
        ))
    }

    fn form_headers(signature: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ),
            (SIGNATURE_HEADER.to_owned(), signature.to_owned()),
        ])
    }

    fn request<'a>(
        headers: &'a BTreeMap<String, String>,
        body: &'a str,
        url: &'a str,
    ) -> InboundRequest<'a> {
        InboundRequest {
            headers,
            body: body.as_bytes(),
            url,
            received_at: now(),
        }
    }

    fn verify(
        headers: &BTreeMap<String, String>,
        body: &str,
        url: &str,
        secrets: &[&str],
    ) -> Result<(), ConnectorError> {
        verify_with(headers, body, url, secrets, serde_json::Value::Null)
    }

    fn verify_with(
        headers: &BTreeMap<String, String>,
        body: &str,
        url: &str,
        secrets: &[&str],
        settings: serde_json::Value,
    ) -> Result<(), ConnectorError> {
        Twilio.verify(&request(headers, body, url), secrets, now(), &settings)
    }

    fn parse_one(body: &str, headers: &BTreeMap<String, String>) -> NormalizedTouchpoint {
        parse_received(body, headers, now())
    }

    /// Parses a request the hub received at `received_at`, which must give one touchpoint.
    fn parse_received(
        body: &str,
        headers: &BTreeMap<String, String>,
        received_at: DateTime<Utc>,
    ) -> NormalizedTouchpoint {
        let request = InboundRequest {
            received_at,
            ..request(headers, body, HOOK_URL)
        };
        let touchpoints = Twilio.parse(&request, &serde_json::Value::Null).unwrap();
        assert_eq!(touchpoints.len(), 1, "{touchpoints:?}");
        touchpoints.into_iter().next().unwrap()
    }

    #[test]
    fn docs_vector_verifies_exactly() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let body = "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234\
            &From=%2B12349013030&To=%2B18005551212";
        assert_eq!(sign(TOKEN, url, body), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        let headers = form_headers("0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert_eq!(verify(&headers, body, url, &[TOKEN]), Ok(()));
    }

    #[test]
    fn crm_vector_verifies_exactly() {
        let body = "From=%2B15550001111&Body=hi";
        assert_eq!(sign(TOKEN, HOOK_URL, body), "zb7eZp3LsKmWGmDsJmSw+WzgTPw=");
        let headers = form_headers("zb7eZp3LsKmWGmDsJmSw+WzgTPw=");
        assert_eq!(verify(&headers, body, HOOK_URL, &[TOKEN]), Ok(()));
    }

    #[test]
    fn realistic_call_callback_is_accepted_with_the_right_token() {
        let headers = form_headers(&sign(TOKEN, HOOK_URL, CALL_COMPLETED));
        assert_eq!(verify(&headers, CALL_COMPLETED, HOOK_URL, &[TOKEN]), Ok(()));
    }

    #[test]
    fn tampered_body_is_refused() {
        let headers = form_headers(&sign(TOKEN, HOOK_URL, CALL_COMPLETED));
        let tampered = CALL_COMPLETED.replace("CallDuration=42", "CallDuration=4200");
        assert!(matches!(
            verify(&headers, &tampered, HOOK_URL, &[TOKEN]),
            Err(ConnectorError::BadSignature(_))
        ));
    }

    #[test]
    fn added_parameter_is_refused() {
        let headers = form_headers(&sign(TOKEN, HOOK_URL, SMS_INBOUND));
        let extended = format!("{SMS_INBOUND}&Extra=1");
        assert!(verify(&headers, &extended, HOOK_URL, &[TOKEN]).is_err());
    }

    #[test]
    fn wrong_token_is_refused() {
        let headers = form_headers(&sign("other-token", HOOK_URL, CALL_COMPLETED));
        assert!(matches!(
            verify(&headers, CALL_COMPLETED, HOOK_URL, &[TOKEN]),
            Err(ConnectorError::BadSignature(_))
        ));
    }

    #[test]
    fn other_url_is_refused() {
        let headers = form_headers(&sign(TOKEN, HOOK_URL, CALL_COMPLETED));
        let url = "https://crm.example.com/hooks/twilio?connector=2";
        assert!(verify(&headers, CALL_COMPLETED, url, &[TOKEN]).is_err());
    }

    #[test]
    fn missing_or_garbled_signature_is_refused() {
        let mut headers = form_headers("x");
        headers.remove(SIGNATURE_HEADER);
        assert!(matches!(
            verify(&headers, CALL_COMPLETED, HOOK_URL, &[TOKEN]),
            Err(ConnectorError::BadSignature(_))
        ));
        let headers = form_headers("not base64 at all!");
        assert!(matches!(
            verify(&headers, CALL_COMPLETED, HOOK_URL, &[TOKEN]),
            Err(ConnectorError::BadSignature(_))
        ));
    }

    #[test]
    fn no_configured_token_is_refused() {
        let headers = form_headers(&sign(TOKEN, HOOK_URL, CALL_COMPLETED));
        assert!(verify(&headers, CALL_COMPLETED, HOOK_URL, &[]).is_err());
    }

    #[test]
    fn previous_token_is_accepted_during_rotation() {
        let headers = form_headers(&sign("old-token", HOOK_URL, CALL_COMPLETED));
        assert_eq!(
            verify(
                &headers,
                CALL_COMPLETED,
                HOOK_URL,
                &["new-token", "old-token"]
            ),
            Ok(())
        );
    }

    #[test]
    fn default_port_is_tried_added_and_removed() {
        let body = "From=%2B15550001111&Body=hi";
        let headers = form_headers(&sign(
            TOKEN,
            "https://crm.example.com:443/hooks/twilio",
            body,
        ));
        assert_eq!(verify(&headers, body, HOOK_URL, &[TOKEN]), Ok(()));

        let headers = form_headers(&sign(TOKEN, HOOK_URL, body));
        let with_port = "https://crm.example.com:443/hooks/twilio";
        assert_eq!(verify(&headers, body, with_port, &[TOKEN]), Ok(()));

        let headers = form_headers(&sign(
            TOKEN,
            "https://crm.example.com:8443/hooks/twilio",
            body,
        ));
        assert!(verify(&headers, body, HOOK_URL, &[TOKEN]).is_err());
    }

    #[test]
    fn default_port_toggles_only_for_the_schemes_default() {
        assert_eq!(
            toggle_default_port("http://user:pw@crm.example.com/a?b=c").as_deref(),
            Some("http://user:pw@crm.example.com:80/a?b=c")
        );
        assert_eq!(
            toggle_default_port("https://[::1]:443?x=1").as_deref(),
            Some("https://[::1]?x=1")
        );
        assert_eq!(toggle_default_port("https://crm.example.com:80/a"), None);
        assert_eq!(toggle_default_port("not a url"), None);
    }

    #[test]
    fn repeated_parameters_sign_their_sorted_values() {
        assert_eq!(sorted_params(b"b=2&a=z&a=y&a=z"), "ayazb2");
    }

    #[test]
    fn json_body_is_verified_with_its_hash() {
        let body =
            r#"{"MessageSid":"SM1","SmsStatus":"received","From":"+15551234567","Body":"hi"}"#;
        let url = format!(
            "{HOOK_URL}?bodySHA256={}",
            signature::sha256_hex(body.as_bytes())
        );
        let signature =
            signature::encode_base64(&signature::hmac_sha1(TOKEN.as_bytes(), &[url.as_bytes()]));
        let mut headers = form_headers(&signature);
        headers.insert("content-type".into(), "application/json".into());
        assert_eq!(verify(&headers, body, &url, &[TOKEN]), Ok(()));

        let tampered = body.replace("hi", "ho");
        assert!(matches!(
            verify(&headers, &tampered, &url, &[TOKEN]),
            Err(ConnectorError::BadSignature(_))
        ));
        assert_eq!(
            Twilio.external_id(&request(&headers, body, &url)),
            Ok("SM1".into())
        );
    }

    #[test]
    fn shared_key_with_hmac_sha256_is_verified_when_announced() {
        let body = "From=%2B15550001111&Body=hi";
        let signed = format!("{HOOK_URL}{}", sorted_params(body.as_bytes()));
        let digest = signature::hmac_sha256(b"shared-key-secret", &[signed.as_bytes()]);
        let mut headers = form_headers(&signature::encode_base64(&digest));
        assert!(verify(&headers, body, HOOK_URL, &["shared-key-secret"]).is_err());

        headers.insert(
            SIGNATURE_SETTINGS_HEADER.into(),
            "key=KS0123456789abcdef0123456789abcdef,algorithm=HMAC_SHA256".into(),
        );
        assert_eq!(
            verify(&headers, body, HOOK_URL, &[TOKEN, "shared-key-secret"]),
            Ok(())
        );

        headers.insert(SIGNATURE_SETTINGS_HEADER.into(), "algorithm=MD5".into());
        assert!(verify(&headers, body, HOOK_URL, &["shared-key-secret"]).is_err());
    }

    #[test]
    fn the_algorithm_setting_decides_how_requests_are_verified() {
        let body = "From=%2B15550001111&Body=hi";
        let signed = format!("{HOOK_URL}{}", sorted_params(body.as_bytes()));
        let digest = signature::hmac_sha256(b"shared-key-secret", &[signed.as_bytes()]);
        let sha256 = serde_json::json!({"algorithm": "HMAC_SHA256"});
        let sha1 = serde_json::json!({"algorithm": "HMAC_SHA1"});

        // Configured HMAC_SHA256: used without an announcement, and Auth Token signatures fail.
        let mut headers = form_headers(&signature::encode_base64(&digest));
        let secrets = [TOKEN, "shared-key-secret"];
        assert_eq!(
            verify_with(&headers, body, HOOK_URL, &secrets, sha256.clone()),
            Ok(())
        );
        let token_signed = form_headers(&sign(TOKEN, HOOK_URL, body));
        assert!(matches!(
            verify_with(&token_signed, body, HOOK_URL, &secrets, sha256.clone()),
            Err(ConnectorError::BadSignature(_))
        ));

        // Configured HMAC_SHA1: a request announcing HMAC_SHA256 cannot switch it.
        headers.insert(
            SIGNATURE_SETTINGS_HEADER.into(),
            "algorithm=HMAC_SHA256".into(),
        );
        assert_eq!(
            verify_with(&headers, body, HOOK_URL, &secrets, sha256.clone()),
            Ok(())
        );
        assert!(matches!(
            verify_with(&headers, body, HOOK_URL, &secrets, sha1.clone()),
            Err(ConnectorError::BadSignature(_))
        ));
        assert_eq!(
            verify_with(&token_signed, body, HOOK_URL, &secrets, sha1),
            Ok(())
        );
        let misspelt = serde_json::json!({"algorithm": "SHA256"});
        assert!(matches!(
            verify_with(&headers, body, HOOK_URL, &secrets, misspelt),
            Err(ConnectorError::InvalidSettings(_))
        ));
    }

    #[test]
    fn settings_accept_only_known_algorithms() {
        let check = |value: serde_json::Value| Twilio.check_settings(&value);
        assert_eq!(check(serde_json::Value::Null), Ok(()));
        assert_eq!(check(serde_json::json!({})), Ok(()));
        assert_eq!(
            check(serde_json::json!({"algorithm": "HMAC_SHA256"})),
            Ok(())
        );
        assert!(matches!(
            check(serde_json::json!({"algorithm": "SHA1"})),
            Err(ConnectorError::InvalidSettings(_))
        ));
        assert!(check(serde_json::json!({"token": "x"})).is_err());
    }

    #[test]
    fn completed_inbound_call_is_parsed_field_by_field() {
        let touchpoint = parse_one(CALL_COMPLETED, &BTreeMap::new());
        assert_eq!(touchpoint.external_id, CALL_SID);
        assert_eq!(touchpoint.sequence, Some(3));
        assert_eq!(touchpoint.event, "completed");
        assert_eq!(touchpoint.channel, Channel::Call);
        assert_eq!(touchpoint.direction, Direction::Inbound);
        assert_eq!(touchpoint.occurred_at, now());
        assert_eq!(touchpoint.person.phone.as_deref(), Some("+15551234567"));
        assert_eq!(touchpoint.person.name.as_deref(), Some("JANE ROE"));
        assert_eq!(touchpoint.person.email, None);
        assert_eq!(
            touchpoint.summary.as_deref(),
            Some("Inbound call completed (42 s)")
        );
        assert_eq!(touchpoint.subject, None);
        assert_eq!(touchpoint.amount, None);
        assert!(touchpoint.attribution.is_empty());
        assert!(touchpoint.fields.is_empty());
        assert_eq!(touchpoint.flag, None);
        let recording_url = format!(
            "https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{RECORDING_SID}"
        );
        assert_eq!(
            touchpoint.call,
            Some(Call {
                status: "completed".into(),
                ended: true,
                duration_secs: Some(42),
                recording_url: Some(recording_url),
            })
        );
        assert_eq!(
            touchpoint.provider_ids,
            BTreeMap::from([
                ("account_sid".to_owned(), ACCOUNT_SID.to_owned()),
                ("our_number".to_owned(), "+15557654321".to_owned()),
                ("recording_sid".to_owned(), RECORDING_SID.to_owned()),
            ])
        );
    }

    #[test]
    fn outbound_call_files_the_called_party_as_the_customer() {
        let body = "CallSid=CA1&CallStatus=ringing&Direction=outbound-api&From=%2B15557654321\
            &To=%2B15551234567&SequenceNumber=1&CallerName=ACME";
        let touchpoint = parse_one(body, &BTreeMap::new());
        assert_eq!(touchpoint.direction, Direction::Outbound);
        assert_eq!(touchpoint.person.phone.as_deref(), Some("+15551234567"));
        assert_eq!(touchpoint.person.name, None);
        assert_eq!(touchpoint.provider_ids["our_number"], "+15557654321");
        assert_eq!(touchpoint.summary.as_deref(), Some("Outbound call ringing"));
        let call = touchpoint.call.unwrap();
        assert_eq!(
            (call.status.as_str(), call.ended, call.duration_secs),
            ("ringing", false, None)
        );
    }

    #[test]
    fn browser_client_and_withheld_callers_are_not_phones() {
        let body = "CallSid=CA1&CallStatus=no-answer&Direction=outbound-dial\
            &From=%2B15557654321&To=client%3Aalice";
        let touchpoint = parse_one(body, &BTreeMap::new());
        assert_eq!(touchpoint.person.phone, None);
        assert_eq!(touchpoint.provider_ids["customer_address"], "client:alice");
        assert!(touchpoint.call.unwrap().ended);

        let body =
            "CallSid=CA2&CallStatus=ringing&Direction=inbound&From=%2B266696687&To=%2B15557654321";
        let touchpoint = parse_one(body, &BTreeMap::new());
        assert_eq!(touchpoint.person.phone, None);
        assert_eq!(touchpoint.provider_ids["customer_address"], "+266696687");
    }

    #[test]
    fn recording_callback_updates_the_same_call() {
        let touchpoint = parse_received(
            RECORDING_COMPLETED,
            &BTreeMap::new(),
            now() + chrono::Duration::seconds(5),
        );
        assert_eq!(touchpoint.external_id, CALL_SID);
        assert_eq!(touchpoint.event, "recording.completed");
        assert_eq!(touchpoint.sequence, None);
        assert_eq!(touchpoint.channel, Channel::Call);
        assert_eq!(touchpoint.occurred_at, now() + chrono::Duration::seconds(5));
        assert_eq!(touchpoint.person, crate::Person::default());
        assert_eq!(
            touchpoint.summary.as_deref(),
            Some("Call recording completed")
        );
        let call = touchpoint.call.unwrap();
        assert_eq!(call.status, "");
        assert!(!call.ended);
        assert_eq!(
            call.recording_url,
            Some(format!(
                "https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{RECORDING_SID}"
            ))
        );
        assert_eq!(touchpoint.provider_ids["recording_sid"], RECORDING_SID);
    }

    #[test]
    fn inbound_sms_is_parsed_field_by_field() {
        let touchpoint = parse_one(SMS_INBOUND, &BTreeMap::new());
        assert_eq!(touchpoint.external_id, MESSAGE_SID);
        assert_eq!(touchpoint.sequence, None);
        assert_eq!(touchpoint.event, "received");
        assert_eq!(touchpoint.channel, Channel::Sms);
        assert_eq!(touchpoint.direction, Direction::Inbound);
        assert_eq!(touchpoint.occurred_at, now());
        assert_eq!(touchpoint.person.phone.as_deref(), Some("+15551234567"));
        assert_eq!(
            touchpoint.summary.as_deref(),
            Some("Hi, can you call me back?")
        );
        assert_eq!(touchpoint.call, None);
        assert_eq!(
            touchpoint.provider_ids,
            BTreeMap::from([
                ("account_sid".to_owned(), ACCOUNT_SID.to_owned()),
                (
                    "media_url_0".to_owned(),
                    format!(
                        "https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{MESSAGE_SID}\
                         /Media/ME99887766554433221100ffeeddccbbaa"
                    )
                ),
                (
                    "messaging_service_sid".to_owned(),
                    "MG0123456789abcdef0123456789abcdef".to_owned()
                ),
                ("our_number".to_owned(), "+15557654321".to_owned()),
            ])
        );
    }

    #[test]
    fn whatsapp_sender_keeps_its_number() {
        let body = "MessageSid=SM1&SmsStatus=received&From=whatsapp%3A%2B15551234567&Body=hola";
        let touchpoint = parse_one(body, &BTreeMap::new());
        assert_eq!(touchpoint.person.phone.as_deref(), Some("+15551234567"));
        assert_eq!(touchpoint.provider_ids["messaging_channel"], "whatsapp");
    }

    #[test]
    fn an_alphanumeric_sender_id_names_its_sender() {
        let body = "MessageSid=SM2&SmsStatus=received&From=ACME&Body=Your+code";
        let touchpoint = parse_one(body, &BTreeMap::new());
        assert_eq!(touchpoint.person.phone.as_deref(), Some("ACME"));
        assert!(!touchpoint.provider_ids.contains_key("messaging_channel"));
        for address in ["client:alice", "sip:a@b.example", "TOOLONGSENDER"] {
            assert_eq!(phone_number(address), None, "{address}");
        }
    }

    #[test]
    fn outbound_message_status_callbacks_record_nothing() {
        let body = "MessageSid=SM1&MessageStatus=delivered&SmsStatus=delivered&To=%2B15551234567";
        let headers = BTreeMap::new();
        let request = request(&headers, body, HOOK_URL);
        assert_eq!(
            Twilio.parse(&request, &serde_json::Value::Null),
            Ok(Vec::new())
        );
        assert_eq!(Twilio.external_id(&request), Ok("SM1:delivered".into()));
    }

    #[test]
    fn external_ids_name_the_event() {
        let empty = BTreeMap::new();
        let id = |body: &str| Twilio.external_id(&request(&empty, body, HOOK_URL));
        assert_eq!(id(CALL_COMPLETED), Ok(format!("{CALL_SID}:completed:3")));
        assert_eq!(
            id("CallSid=CA1&CallStatus=ringing"),
            Ok("CA1:ringing".into())
        );
        assert_eq!(
            id(RECORDING_COMPLETED),
            Ok(format!("{CALL_SID}:recording:{RECORDING_SID}:completed"))
        );
        assert_eq!(id(SMS_INBOUND), Ok(MESSAGE_SID.into()));
        assert_eq!(id("Foo=bar"), Ok(signature::body_digest(b"Foo=bar")));
        assert_eq!(id(CALL_COMPLETED), id(CALL_COMPLETED));
    }

    #[test]
    fn occurred_at_falls_back_from_timestamp_to_date_to_receipt() {
        let body = "CallSid=CA1&CallStatus=ringing&Direction=inbound&From=%2B15551234567";
        let received = now() + chrono::Duration::seconds(9);
        let mut headers = BTreeMap::new();
        assert_eq!(
            parse_received(body, &headers, received).occurred_at,
            received
        );
        headers.insert("date".into(), "Tue, 14 Nov 2023 22:13:21 GMT".into());
        assert_eq!(
            parse_received(body, &headers, received).occurred_at,
            now() + chrono::Duration::seconds(1)
        );
        let stamped = format!("{body}&Timestamp=Tue%2C+14+Nov+2023+22%3A13%3A20+%2B0000");
        assert_eq!(
            parse_received(&stamped, &headers, received).occurred_at,
            now()
        );
    }

    #[test]
    fn payload_with_a_garbled_time_or_sequence_is_malformed() {
        let empty = BTreeMap::new();
        let parse =
            |body: &str| Twilio.parse(&request(&empty, body, HOOK_URL), &serde_json::Value::Null);
        assert!(matches!(
            parse("CallSid=CA1&CallStatus=ringing&Timestamp=yesterday"),
            Err(ConnectorError::Malformed(_))
        ));
        let headers = BTreeMap::new();
        let body = "CallSid=CA1&CallStatus=ringing&SequenceNumber=two";
        assert!(matches!(
            Twilio.parse(&request(&headers, body, HOOK_URL), &serde_json::Value::Null),
            Err(ConnectorError::Malformed(_))
        ));
    }

    #[test]
    fn unknown_payloads_give_no_touchpoint() {
        let empty = BTreeMap::new();
        let touchpoints = Twilio.parse(
            &request(&empty, "Foo=bar", HOOK_URL),
            &serde_json::Value::Null,
        );
        assert_eq!(touchpoints, Ok(Vec::new()));
    }
}
