//! Mailgun: event webhooks (what happened to the email we sent) and routes (email someone sent
//! to one of our addresses), both on one connector.
//!
//! Event webhooks POST JSON, one event each:
//! `{"signature": {"timestamp", "token", "signature"}, "event-data": {…}}`. Routes that forward
//! to a URL POST a form (urlencoded, or multipart when the email has attachments) with the
//! fields `timestamp`, `token`, `signature`, `recipient`, `sender`, `from`, `subject`,
//! `body-plain`, `stripped-text`, `message-headers` (a JSON list of `[name, value]` pairs) and
//! every MIME header; a route whose URL ends in `mime` sends the whole message as `body-mime`.
//!
//! Verification is the same for both: `signature` must be the hex HMAC-SHA256, under the HTTP
//! webhook signing key, of `timestamp` followed by `token` (no separator); for a subaccount's
//! domain the primary account's key may sign `parent-signature` instead. The signature does not
//! cover the event or the email, so the timestamp must be within `tolerance_secs` of now and the
//! `token` is the replay nonce: the hub refuses a token it has seen.
//!
//! An event is stored under `event-data.id`; a routed email under its Message-ID, else the body
//! digest. Event touchpoints (channel Email; person = `recipient`; time = `timestamp`; the
//! `utm_*` entries of `user-variables` as attribution; the message's subject and Message-ID):
//! - `delivered`, `failed` with severity `permanent` (flag Bounced, the delivery status as
//!   summary): direction Outbound;
//! - `opened`, `clicked` (URL as summary), `unsubscribed` (flag Unsubscribed), `complained`
//!   (flag SpamReported): direction Inbound.
//!
//! Temporary failures, `accepted` and other events give nothing. A routed email becomes one
//! inbound email touchpoint like SendGrid Inbound Parse's (see [`crate::email`]), its summary
//! the reply without quoted text (`stripped-text`) where Mailgun provides it.
//!
//! Settings (all optional):
//! - `tolerance_secs` (integer, default 300, at least 1): how far the signed timestamp may be
//!   from now, either way.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::email::{self, InboundMail, first_non_empty, non_empty, utm_attribution};
use crate::multipart::Form;
use crate::settings::TimestampSettings;
use crate::{
    Channel, Connector, ConnectorError, ContactFlag, Direction, InboundRequest,
    NormalizedTouchpoint, signature,
};

pub struct Mailgun;

/// The two things Mailgun posts.
enum Delivery {
    Event(EventBody),
    Route(Form),
}

fn read(request: &InboundRequest<'_>) -> Result<Delivery, ConnectorError> {
    if request.media_type() == "application/json" {
        let body = serde_json::from_slice(request.body).map_err(|error| {
            ConnectorError::Malformed(format!("not a Mailgun event webhook: {error}"))
        })?;
        return Ok(Delivery::Event(body));
    }
    Form::from_request(request).map(Delivery::Route)
}

#[derive(Debug, Deserialize)]
struct EventBody {
    signature: Option<SignatureFields>,
    /// Read only once the request is verified, so that verification never depends on it.
    #[serde(rename = "event-data")]
    event_data: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct SignatureFields {
    /// Mailgun documents a string; a number is read as well.
    timestamp: Option<Value>,
    token: Option<String>,
    signature: Option<String>,
    #[serde(rename = "parent-signature")]
    parent_signature: Option<String>,
}

impl SignatureFields {
    fn from_form(form: &Form) -> SignatureFields {
        SignatureFields {
            timestamp: form.text("timestamp").map(Value::String),
            token: form.text("token"),
            signature: form.text("signature"),
            parent_signature: form.text("parent-signature"),
        }
    }

    fn timestamp(&self) -> Option<String> {
        match self.timestamp.as_ref()? {
            Value::String(text) => Some(text.trim().to_owned()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        }
    }
}

impl Delivery {
    fn signature(&self) -> SignatureFields {
        match self {
            Delivery::Event(body) => body.signature.clone().unwrap_or_default(),
            Delivery::Route(form) => SignatureFields::from_form(form),
        }
    }
}

/// Mailgun's scheme, for events and routes alike.
fn verify_signed_token(
    request: &InboundRequest<'_>,
    secrets: &[&str],
    now: DateTime<Utc>,
    tolerance_secs: i64,
) -> Result<(), ConnectorError> {
    if secrets.is_empty() {
        return Err(ConnectorError::BadSignature(
            "no signing key configured".into(),
        ));
    }
    let fields = read(request)?.signature();
    let missing = |name: &str| ConnectorError::BadSignature(format!("missing {name}"));
    let timestamp = fields.timestamp().ok_or_else(|| missing("timestamp"))?;
    let token = fields.token.as_deref().ok_or_else(|| missing("token"))?;
    let signed_at = signature::parse_unix_seconds(&timestamp)?;
    signature::check_timestamp(signed_at, now, tolerance_secs, true)?;
    let candidates = [&fields.signature, &fields.parent_signature];
    let mut signatures = candidates.into_iter().flatten().peekable();
    if signatures.peek().is_none() {
        return Err(missing("signature"));
    }
    for given in signatures {
        let given = signature::decode_hex(given)?;
        let signed: [&[u8]; 2] = [timestamp.as_bytes(), token.as_bytes()];
        if secrets
            .iter()
            .any(|key| signature::hmac_sha256_matches(key.as_bytes(), &signed, &given))
        {
            return Ok(());
        }
    }
    Err(ConnectorError::BadSignature(
        "no signing key matches the signature".into(),
    ))
}

#[derive(Debug, Deserialize)]
struct EventData {
    event: String,
    timestamp: f64,
    #[serde(default, deserialize_with = "crate::email::lenient_string")]
    recipient: Option<String>,
    #[serde(default, deserialize_with = "crate::email::lenient_string")]
    severity: Option<String>,
    #[serde(default, deserialize_with = "crate::email::lenient_string")]
    reason: Option<String>,
    #[serde(default, deserialize_with = "crate::email::lenient_string")]
    url: Option<String>,
    #[serde(rename = "delivery-status", default)]
    delivery_status: DeliveryStatus,
    #[serde(default)]
    message: MessageInfo,
    #[serde(rename = "user-variables", default)]
    user_variables: BTreeMap<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
struct DeliveryStatus {
    #[serde(default, deserialize_with = "crate::email::lenient_string")]
    description: Option<String>,
    #[serde(default, deserialize_with = "crate::email::lenient_string")]
    message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct MessageInfo {
    #[serde(default)]
    headers: BTreeMap<String, Value>,
}

impl MessageInfo {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(Value::as_str)
            .and_then(non_empty)
    }
}

/// How a tracked event is recorded; `None` for events the CRM does not track.
fn shape(event: &EventData) -> Option<(Direction, Option<ContactFlag>)> {
    match event.event.as_str() {
        "delivered" => Some((Direction::Outbound, None)),
        "failed" if event.severity.as_deref() == Some("permanent") => {
            Some((Direction::Outbound, Some(ContactFlag::Bounced)))
        }
        "opened" | "clicked" => Some((Direction::Inbound, None)),
        "unsubscribed" => Some((Direction::Inbound, Some(ContactFlag::Unsubscribed))),
        "complained" => Some((Direction::Inbound, Some(ContactFlag::SpamReported))),
        _ => None,
    }
}

fn event_summary(event: &EventData) -> Option<String> {
    match event.event.as_str() {
        "clicked" => event.url.as_deref().and_then(non_empty),
        "failed" => {
            let status = &event.delivery_status;
            first_non_empty([
                status.description.as_deref(),
                status.message.as_deref(),
                event.reason.as_deref(),
            ])
        }
        _ => None,
    }
}

fn event_touchpoint(
    event_data: Option<Value>,
    request: &InboundRequest<'_>,
) -> Result<Option<NormalizedTouchpoint>, ConnectorError> {
    let external_id = event_id(event_data.as_ref(), request);
    let event_data = event_data.ok_or_else(|| ConnectorError::Malformed("no event-data".into()))?;
    let event: EventData = serde_json::from_value(event_data)
        .map_err(|error| ConnectorError::Malformed(format!("unreadable event-data: {error}")))?;
    let Some((direction, flag)) = shape(&event) else {
        return Ok(None);
    };
    let occurred_at = DateTime::from_timestamp_micros((event.timestamp * 1e6).round() as i64)
        .ok_or_else(|| ConnectorError::Malformed(format!("bad timestamp {}", event.timestamp)))?;
    let mut touchpoint = NormalizedTouchpoint::new(
        external_id,
        &event.event,
        Channel::Email,
        direction,
        occurred_at,
    );
    touchpoint.flag = flag;
    touchpoint.summary = event_summary(&event);
    touchpoint.subject = event.message.header("subject");
    touchpoint.person.email = event.recipient.as_deref().and_then(non_empty);
    touchpoint.attribution = utm_attribution(&event.user_variables);
    if let Some(id) = event.message.header("message-id") {
        touchpoint.provider_ids.insert("message_id".into(), id);
    }
    Ok(Some(touchpoint))
}

fn event_id(event_data: Option<&Value>, request: &InboundRequest<'_>) -> String {
    event_data
        .and_then(|event| event.get("id"))
        .and_then(Value::as_str)
        .and_then(non_empty)
        .unwrap_or_else(|| signature::body_digest(request.body))
}

/// A routed email: the whole message when the route asked for MIME, else the header list and
/// the fields Mailgun took apart.
fn route_mail(form: &Form) -> Result<InboundMail, ConnectorError> {
    if let Some(raw) = form.bytes("body-mime") {
        return InboundMail::from_mime(raw);
    }
    let mut mail = form
        .bytes("message-headers")
        .and_then(|json| serde_json::from_slice::<Vec<(String, String)>>(json).ok())
        .map(|pairs| {
            let block = email::header_block(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
            InboundMail::from_headers(block.as_bytes())
        })
        .unwrap_or_default();
    let text = |name: &str| form.text(name).as_deref().and_then(non_empty);
    if mail.from_email.is_none()
        && let Some(from) = text("from")
    {
        mail.set_from(&from);
    }
    mail.message_id = mail.message_id.or_else(|| {
        text("Message-Id")
            .as_deref()
            .and_then(email::bare_message_id)
    });
    mail.to = mail.to.or_else(|| text("recipient"));
    mail.subject = mail.subject.or_else(|| text("subject"));
    mail.text = text("stripped-text").or_else(|| text("body-plain"));
    Ok(mail)
}

impl Connector for Mailgun {
    /// A forwarded message with its attachments, or a small event.
    fn max_body_bytes(&self) -> usize {
        crate::email::INBOUND_MAIL_BYTES
    }

    fn check_settings(&self, settings: &Value) -> Result<(), ConnectorError> {
        TimestampSettings::tolerance(settings).map(drop)
    }

    fn verify(
        &self,
        request: &InboundRequest<'_>,
        secrets: &[&str],
        now: DateTime<Utc>,
        settings: &Value,
    ) -> Result<(), ConnectorError> {
        let tolerance_secs = TimestampSettings::tolerance(settings)?;
        verify_signed_token(request, secrets, now, tolerance_secs)
    }

    fn external_id(&self, request: &InboundRequest<'_>) -> Result<String, ConnectorError> {
        match read(request)? {
            Delivery::Event(body) => Ok(event_id(body.event_data.as_ref(), request)),
            Delivery::Route(form) => Ok(route_mail(&form)?.external_id(request.body)),
        }
    }

    fn replay_nonce(&self, request: &InboundRequest<'_>) -> Option<String> {
        read(request)
            .ok()?
            .signature()
            .token
            .as_deref()
            .and_then(non_empty)
    }

    fn parse(
        &self,
        request: &InboundRequest<'_>,
        _settings: &Value,
    ) -> Result<Vec<NormalizedTouchpoint>, ConnectorError> {
        match read(request)? {
            Delivery::Event(body) => Ok(event_touchpoint(body.event_data, request)?
                .into_iter()
                .collect()),
            Delivery::Route(form) => {
                let mail = route_mail(&form)?;
                let external_id = mail.external_id(request.body);
                Ok(vec![mail.into_touchpoint(external_id, request)])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// When the hub received the tests' requests.
    fn received_at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2023-11-14T22:13:30Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    const KEY: &str = "mailgun-signing-key-test";
    const DELIVERED: &str = include_str!("../tests/fixtures/mailgun/event_delivered.json");
    const FAILED: &str = include_str!("../tests/fixtures/mailgun/event_failed_permanent.json");
    const TEMPORARY: &str = include_str!("../tests/fixtures/mailgun/event_failed_temporary.json");
    const CLICKED: &str = include_str!("../tests/fixtures/mailgun/event_clicked.json");
    const COMPLAINED: &str = include_str!("../tests/fixtures/mailgun/event_complained.json");
    const ROUTE: &str = include_str!("../tests/fixtures/mailgun/route.urlencoded");
    const ROUTE_MIME: &[u8] = include_bytes!("../tests/fixtures/mailgun/route_mime.multipart");
    const URLENCODED: &str = "application/x-www-form-urlencoded";
    const MULTIPART: &str = "multipart/form-data; boundary=----mailgun-boundary-3f1d";

    fn headers(content_type: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("content-type".to_owned(), content_type.to_owned())])
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn verify(content_type: &str, body: &[u8], secrets: &[&str]) -> Result<(), ConnectorError> {
        let headers = headers(content_type);
        let request = InboundRequest {
            headers: &headers,
            body,
            url: "https://crm.example.com/hooks/mailgun",
            received_at: received_at(),
        };
        Mailgun.verify(&request, secrets, now(), &Value::Null)
    }

    fn refused(result: Result<(), ConnectorError>) -> bool {
        matches!(result, Err(ConnectorError::BadSignature(_)))
    }

    fn signed_event(timestamp: &str, token: &str, signature: &str) -> String {
        format!(
            r#"{{"signature":{{"timestamp":"{timestamp}","token":"{token}","signature":"{signature}"}},
               "event-data":{{"id":"e1","event":"opened","timestamp":1700000000.0,"recipient":"a@b.c"}}}}"#
        )
    }

    /// Reproduced with `printf '1700000000token-1' | openssl dgst -sha256 -hmac "$KEY"`.
    #[test]
    fn the_fixed_vector_verifies() {
        let expected = "0486e9b81c3dca4ba6a84fba2b94b4d4b9a12a7725f02aad518c8940d72556b8";
        let digest = signature::hmac_sha256(KEY.as_bytes(), &[b"1700000000", b"token-1"]);
        assert_eq!(hex::encode(digest), expected);
        let body = signed_event("1700000000", "token-1", expected);
        assert_eq!(verify("application/json", body.as_bytes(), &[KEY]), Ok(()));
    }

    #[test]
    fn signed_events_and_routes_are_accepted() {
        for body in [DELIVERED, FAILED, TEMPORARY, CLICKED, COMPLAINED] {
            assert_eq!(verify("application/json", body.as_bytes(), &[KEY]), Ok(()));
        }
        assert_eq!(verify(URLENCODED, ROUTE.as_bytes(), &[KEY]), Ok(()));
        assert_eq!(verify(MULTIPART, ROUTE_MIME, &[KEY]), Ok(()));
    }

    #[test]
    fn the_previous_key_is_accepted_during_rotation() {
        assert_eq!(
            verify("application/json", DELIVERED.as_bytes(), &["new-key", KEY]),
            Ok(())
        );
    }

    #[test]
    fn a_wrong_key_or_tampered_signed_fields_are_refused() {
        assert!(refused(verify(
            "application/json",
            DELIVERED.as_bytes(),
            &["other-key"]
        )));
        assert!(refused(verify(
            "application/json",
            DELIVERED.as_bytes(),
            &[]
        )));
        let tampered = DELIVERED.replace("a8ce0edb2dd8301dee6c", "b8ce0edb2dd8301dee6c");
        assert!(refused(verify(
            "application/json",
            tampered.as_bytes(),
            &[KEY]
        )));
        let tampered = ROUTE.replace("timestamp=1699999995", "timestamp=1699999996");
        assert!(refused(verify(URLENCODED, tampered.as_bytes(), &[KEY])));
    }

    #[test]
    fn a_parent_signature_from_the_primary_account_is_accepted() {
        let parent = hex::encode(signature::hmac_sha256(
            b"primary-key",
            &[b"1700000000", b"token-1"],
        ));
        let body = signed_event("1700000000", "token-1", &"0".repeat(64)).replace(
            r#""signature":"0"#,
            &format!(r#""parent-signature":"{parent}","signature":"0"#),
        );
        assert_eq!(
            verify("application/json", body.as_bytes(), &["primary-key"]),
            Ok(())
        );
        assert!(refused(verify("application/json", body.as_bytes(), &[KEY])));
    }

    #[test]
    fn stale_timestamps_are_refused_unless_the_settings_allow_them() {
        for timestamp in ["1699999699", "1700000301"] {
            let sig = hex::encode(signature::hmac_sha256(
                KEY.as_bytes(),
                &[timestamp.as_bytes(), b"t"],
            ));
            let body = signed_event(timestamp, "t", &sig);
            assert!(refused(verify("application/json", body.as_bytes(), &[KEY])));
        }
        let sig = hex::encode(signature::hmac_sha256(
            KEY.as_bytes(),
            &[b"1699990000", b"t"],
        ));
        let body = signed_event("1699990000", "t", &sig);
        let headers = headers("application/json");
        let request = InboundRequest {
            headers: &headers,
            body: body.as_bytes(),
            url: "",
            received_at: received_at(),
        };
        let wide = serde_json::json!({ "tolerance_secs": 86400 });
        assert_eq!(Mailgun.verify(&request, &[KEY], now(), &wide), Ok(()));
    }

    #[test]
    fn a_narrower_tolerance_refuses_what_the_default_accepts() {
        let sig = hex::encode(signature::hmac_sha256(
            KEY.as_bytes(),
            &[b"1699999880", b"t"],
        ));
        let body = signed_event("1699999880", "t", &sig);
        assert_eq!(verify("application/json", body.as_bytes(), &[KEY]), Ok(()));
        let headers = headers("application/json");
        let request = InboundRequest {
            headers: &headers,
            body: body.as_bytes(),
            url: "",
            received_at: received_at(),
        };
        let narrow = serde_json::json!({ "tolerance_secs": 60 });
        assert!(refused(Mailgun.verify(&request, &[KEY], now(), &narrow)));
    }

    #[test]
    fn missing_signature_fields_are_refused() {
        let body = r#"{"event-data":{"id":"e1","event":"opened","timestamp":1700000000.0}}"#;
        assert!(refused(verify("application/json", body.as_bytes(), &[KEY])));
        let body = r#"{"signature":{"timestamp":"1700000000","token":"t"},"event-data":{}}"#;
        assert!(refused(verify("application/json", body.as_bytes(), &[KEY])));
        assert!(refused(verify(
            URLENCODED,
            b"recipient=a%40b.c&timestamp=1700000000",
            &[KEY]
        )));
        let garbled = signed_event("1700000000", "t", "not-hex");
        assert!(refused(verify(
            "application/json",
            garbled.as_bytes(),
            &[KEY]
        )));
    }

    #[test]
    fn settings_are_checked() {
        assert_eq!(Mailgun.check_settings(&Value::Null), Ok(()));
        assert_eq!(
            Mailgun.check_settings(&serde_json::json!({ "tolerance_secs": 60 })),
            Ok(())
        );
        assert!(
            Mailgun
                .check_settings(&serde_json::json!({ "tolerance_secs": -5 }))
                .is_err()
        );
        assert!(
            Mailgun
                .check_settings(&serde_json::json!({ "signing_key": "x" }))
                .is_err()
        );
    }

    fn request<'a>(headers: &'a BTreeMap<String, String>, body: &'a [u8]) -> InboundRequest<'a> {
        InboundRequest {
            headers,
            body,
            url: "https://crm.example.com/hooks/mailgun",
            received_at: received_at(),
        }
    }

    fn parse(content_type: &str, body: &[u8]) -> Vec<NormalizedTouchpoint> {
        let headers = headers(content_type);
        Mailgun
            .parse(&request(&headers, body), &Value::Null)
            .unwrap()
    }

    #[test]
    fn external_ids_and_replay_nonces() {
        let json = headers("application/json");
        let id = |content_type: &str, body: &[u8]| {
            let headers = headers(content_type);
            Mailgun.external_id(&request(&headers, body)).unwrap()
        };
        assert_eq!(
            id("application/json", DELIVERED.as_bytes()),
            "CPgfbmQMTCKtHW6uIWtuVe"
        );
        assert_eq!(
            id(URLENCODED, ROUTE.as_bytes()),
            "CAHxc+6ZbkLz5Wq=2r7bTHgQ@mail.example.com"
        );
        assert_eq!(id(MULTIPART, ROUTE_MIME), "demo-1@mail.example.com");
        let nonce = Mailgun.replay_nonce(&request(&json, DELIVERED.as_bytes()));
        assert_eq!(
            nonce.as_deref(),
            Some("a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0")
        );
        let form = headers(URLENCODED);
        let nonce = Mailgun.replay_nonce(&request(&form, ROUTE.as_bytes()));
        assert_eq!(
            nonce.as_deref(),
            Some("4f6d7b2c1e9a4d3b8c5e7f1a2b3c4d5e6f708192a3b4c5d6e7")
        );
        assert_eq!(Mailgun.replay_nonce(&request(&json, b"not json")), None);
    }

    #[test]
    fn a_delivered_event_is_an_outbound_touchpoint() {
        let touchpoints = parse("application/json", DELIVERED.as_bytes());
        assert_eq!(touchpoints.len(), 1);
        let delivered = &touchpoints[0];
        assert_eq!(delivered.external_id, "CPgfbmQMTCKtHW6uIWtuVe");
        assert_eq!(delivered.event, "delivered");
        assert_eq!(delivered.channel, Channel::Email);
        assert_eq!(delivered.direction, Direction::Outbound);
        assert_eq!(
            delivered.occurred_at,
            DateTime::from_timestamp_micros(1_699_999_980_908_181).unwrap()
        );
        assert_eq!(delivered.person.email.as_deref(), Some("ann@example.com"));
        assert_eq!(delivered.subject.as_deref(), Some("Your quote"));
        assert_eq!(delivered.summary, None);
        assert_eq!(delivered.flag, None);
        assert_eq!(
            delivered.attribution.source.as_deref(),
            Some("quote-followup")
        );
        assert_eq!(delivered.attribution.medium.as_deref(), Some("email"));
        assert_eq!(delivered.attribution.campaign.as_deref(), Some("q4-quotes"));
        assert_eq!(
            delivered.provider_ids.get("message_id").map(String::as_str),
            Some("20231114221320.1.ABCDEF0123456789@mg.crm.example.com")
        );
    }

    #[test]
    fn a_permanent_failure_bounces_and_a_temporary_one_is_ignored() {
        let failed = parse("application/json", FAILED.as_bytes()).remove(0);
        assert_eq!(failed.external_id, "G9Bn5sl1TC6nu79C8C0bwg");
        assert_eq!(failed.flag, Some(ContactFlag::Bounced));
        assert_eq!(failed.direction, Direction::Outbound);
        assert_eq!(failed.person.email.as_deref(), Some("bob@example.org"));
        assert_eq!(
            failed.summary.as_deref(),
            Some("550 5.1.1 The email account that you tried to reach does not exist.")
        );
        assert!(parse("application/json", TEMPORARY.as_bytes()).is_empty());
    }

    #[test]
    fn clicks_and_complaints_are_the_customer_acting() {
        let clicked = parse("application/json", CLICKED.as_bytes()).remove(0);
        assert_eq!(clicked.direction, Direction::Inbound);
        assert_eq!(
            clicked.summary.as_deref(),
            Some("https://shop.example.com/quote/1001")
        );
        assert_eq!(
            clicked.occurred_at,
            DateTime::from_timestamp_millis(1_699_999_990_500).unwrap()
        );
        assert_eq!(clicked.attribution.campaign.as_deref(), Some("q4-quotes"));
        let complained = parse("application/json", COMPLAINED.as_bytes()).remove(0);
        assert_eq!(
            (complained.direction, complained.flag),
            (Direction::Inbound, Some(ContactFlag::SpamReported))
        );
        assert_eq!(complained.person.email.as_deref(), Some("carl@example.net"));
    }

    #[test]
    fn accepted_and_unknown_events_give_nothing_and_unsubscribes_flag() {
        let event = |name: &str| {
            let body =
                signed_event("1700000000", "t", "00").replace("\"opened\"", &format!("\"{name}\""));
            parse("application/json", body.as_bytes())
        };
        assert!(event("accepted").is_empty());
        assert!(event("stored").is_empty());
        let unsubscribed = event("unsubscribed").remove(0);
        assert_eq!(unsubscribed.flag, Some(ContactFlag::Unsubscribed));
        assert_eq!(unsubscribed.direction, Direction::Inbound);
        assert_eq!(event("opened").remove(0).direction, Direction::Inbound);
    }

    #[test]
    fn a_routed_email_becomes_an_inbound_touchpoint() {
        let touchpoint = parse(URLENCODED, ROUTE.as_bytes()).remove(0);
        assert_eq!(
            touchpoint.external_id,
            "CAHxc+6ZbkLz5Wq=2r7bTHgQ@mail.example.com"
        );
        assert_eq!(touchpoint.event, "inbound");
        assert_eq!(
            (touchpoint.channel, touchpoint.direction),
            (Channel::Email, Direction::Inbound)
        );
        assert_eq!(
            touchpoint.occurred_at,
            DateTime::from_timestamp(1_700_000_000, 0).unwrap()
        );
        assert_eq!(touchpoint.person.email.as_deref(), Some("ann@example.com"));
        assert_eq!(touchpoint.person.name.as_deref(), Some("Ann Lee"));
        assert_eq!(touchpoint.subject.as_deref(), Some("Re: Your quote"));
        assert_eq!(
            touchpoint.summary.as_deref(),
            Some("Looks good, let's go ahead.")
        );
        assert_eq!(
            touchpoint
                .provider_ids
                .get("in_reply_to")
                .map(String::as_str),
            Some("20231114221320.1.ABCDEF0123456789@mg.crm.example.com")
        );
        assert_eq!(
            touchpoint.provider_ids.get("to").map(String::as_str),
            Some("sales@mg.crm.example.com")
        );
    }

    #[test]
    fn a_mime_route_is_read_from_the_whole_message() {
        let touchpoint = parse(MULTIPART, ROUTE_MIME).remove(0);
        assert_eq!(touchpoint.external_id, "demo-1@mail.example.com");
        assert_eq!(touchpoint.person.email.as_deref(), Some("dana@example.com"));
        assert_eq!(touchpoint.person.name.as_deref(), Some("Dana Fox"));
        assert_eq!(touchpoint.subject.as_deref(), Some("Demo request"));
        assert_eq!(
            touchpoint.summary.as_deref(),
            Some("Could we book a demo on Thursday?")
        );
        assert_eq!(
            touchpoint.occurred_at,
            DateTime::from_timestamp(1_699_999_999 + 1, 0).unwrap()
        );
    }

    #[test]
    fn unreadable_bodies_are_malformed() {
        let headers = headers("application/json");
        for body in [
            &b"not json"[..],
            br#"{"signature":{}}"#,
            br#"{"event-data":{"event":"opened"}}"#,
        ] {
            let result = Mailgun.parse(&request(&headers, body), &Value::Null);
            assert!(
                matches!(result, Err(ConnectorError::Malformed(_))),
                "{result:?}"
            );
        }
        let text = BTreeMap::from([("content-type".to_owned(), "text/plain".to_owned())]);
        assert!(matches!(
            Mailgun.external_id(&request(&text, b"x")),
            Err(ConnectorError::Malformed(_))
        ));
    }
}
