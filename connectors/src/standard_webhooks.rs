//! Standard Webhooks (generic): any sender that signs the Standard Webhooks way (Svix and the
//! many services built on it), with a payload shape the admin describes in settings.
//!
//! **What the sender sends.** A JSON body of its own design, and three headers: `webhook-id`
//! (the message id, stable across retries), `webhook-timestamp` (Unix seconds of the attempt)
//! and `webhook-signature`. Svix sends the same headers as `svix-id`, `svix-timestamp` and
//! `svix-signature` unless white-labelled; those are read when the `webhook-` ones are absent.
//!
//! **Verification.** `webhook-signature` is a space-separated list of `v1,<base64>` entries
//! (other versions, such as `v1a` for ed25519, are ignored). Each is HMAC-SHA256 over
//! `"{id}.{timestamp}.{raw body}"`, keyed with the secret after stripping `whsec_` and
//! base64-decoding the rest. Any entry under any configured secret passes. The timestamp must
//! be within 300 s of now, in either direction, as every official library requires.
//!
//! **Touchpoints.** One per delivery, external id = `webhook-id` (which is also the delivery
//! key). What the body means comes from the settings, which point into it with JSON Pointers
//! (RFC 6901):
//! - `channel` (a channel name such as `web_form`, `billing`, `meeting`; default `other`) and
//!   `direction` (`inbound` or `outbound`; default `inbound`).
//! - `event` (pointer, default `/type`): the event name; `webhook` when absent.
//! - `occurred_at` (pointer, default `/timestamp`): an RFC 3339 string or Unix seconds
//!   (milliseconds when the number is that large); when absent, the signed `webhook-timestamp`.
//! - `fields`: an object from a target name to a pointer, e.g.
//!   `{"email": "/data/email", "utm_source": "/data/utm/source", "custom.plan": "/data/plan"}`.
//!   The target names are the mapping vocabulary every connector shares (see `mapping`):
//!   person and attribution keys, lead fields, `custom.<key>`, `subject`, `summary` (or
//!   `message`), `amount_minor` with `currency`. Without `fields`, the email is read from
//!   `/data/email` or `/email` and the phone from `/data/phone` or `/phone`.
//!
//! `check_settings` refuses unknown keys, unknown target names and pointers that do not start
//! with `/`; `check_secret` refuses a secret that is not `whsec_<base64>` (or bare base64).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::mapping::{Mapped, check_target, parse_time, value_text};
use crate::settings;
use crate::signature::{check_timestamp, decode_base64, hmac_sha256_matches, parse_unix_seconds};
use crate::{Channel, Connector, ConnectorError, Direction, InboundRequest, NormalizedTouchpoint};

const TOLERANCE_SECS: i64 = 300;
const SECRET_PREFIX: &str = "whsec_";
const DEFAULT_EVENT_POINTER: &str = "/type";
const DEFAULT_TIME_POINTER: &str = "/timestamp";
const DEFAULT_EMAIL_POINTERS: [&str; 2] = ["/data/email", "/email"];
const DEFAULT_PHONE_POINTERS: [&str; 2] = ["/data/phone", "/phone"];

pub struct StandardWebhooks;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Settings {
    channel: Option<Channel>,
    direction: Option<Direction>,
    event: Option<String>,
    occurred_at: Option<String>,
    /// Target name -> JSON Pointer.
    fields: BTreeMap<String, String>,
}

impl Settings {
    fn read(value: &Value) -> Result<Self, ConnectorError> {
        let settings: Settings = settings::read(value)?;
        let pointers = settings.event.iter().chain(&settings.occurred_at);
        for pointer in pointers.chain(settings.fields.values()) {
            check_pointer(pointer)?;
        }
        for target in settings.fields.keys() {
            check_target(target)?;
        }
        Ok(settings)
    }
}

fn check_pointer(pointer: &str) -> Result<(), ConnectorError> {
    if pointer.starts_with('/') {
        Ok(())
    } else {
        Err(ConnectorError::InvalidSettings(format!(
            "{pointer:?} is not a JSON Pointer: it must start with '/'"
        )))
    }
}

impl Connector for StandardWebhooks {
    fn check_settings(&self, settings: &Value) -> Result<(), ConnectorError> {
        Settings::read(settings).map(drop)
    }

    fn check_secret(&self, secret: &str) -> Result<(), ConnectorError> {
        let key = signing_key(secret).filter(|key| !key.is_empty());
        key.map(drop).ok_or_else(|| {
            ConnectorError::InvalidSettings("the secret is not a whsec_<base64> key".into())
        })
    }

    fn verify(
        &self,
        request: &InboundRequest<'_>,
        secrets: &[&str],
        now: DateTime<Utc>,
        _settings: &Value,
    ) -> Result<(), ConnectorError> {
        let id = required_header(request, "id")?;
        let timestamp = required_header(request, "timestamp")?;
        let signatures = v1_signatures(required_header(request, "signature")?)?;
        let signed_at = parse_unix_seconds(timestamp)?;
        let keys = signing_keys(secrets)?;
        let parts: [&[u8]; 5] = [
            id.as_bytes(),
            b".",
            timestamp.as_bytes(),
            b".",
            request.body,
        ];
        let matches = keys.iter().any(|key| {
            signatures
                .iter()
                .any(|signature| hmac_sha256_matches(key, &parts, signature))
        });
        if !matches {
            return Err(ConnectorError::BadSignature(
                "no v1 signature matches a configured secret".into(),
            ));
        }
        check_timestamp(signed_at, now, TOLERANCE_SECS, true)
    }

    fn external_id(&self, request: &InboundRequest<'_>) -> Result<String, ConnectorError> {
        required_header(request, "id").map(str::to_owned)
    }

    fn parse(
        &self,
        request: &InboundRequest<'_>,
        settings: &Value,
    ) -> Result<Vec<NormalizedTouchpoint>, ConnectorError> {
        let settings = Settings::read(settings)?;
        let payload: Value = serde_json::from_slice(request.body)
            .map_err(|error| ConnectorError::Malformed(format!("body is not JSON: {error}")))?;
        let id = required_header(request, "id")
            .map_err(|_| ConnectorError::Malformed("no webhook-id header".into()))?;
        let event_pointer = settings.event.as_deref().unwrap_or(DEFAULT_EVENT_POINTER);
        let event = payload
            .pointer(event_pointer)
            .and_then(value_text)
            .unwrap_or_else(|| "webhook".to_owned());
        let mut touchpoint = NormalizedTouchpoint::new(
            id,
            event,
            settings.channel.unwrap_or(Channel::Other),
            settings.direction.unwrap_or(Direction::Inbound),
            occurred_at(request, &payload, &settings)?,
        );
        if settings.fields.is_empty() {
            apply_defaults(&payload, &mut touchpoint);
        } else {
            mapped_values(&payload, &settings).apply(&mut touchpoint);
        }
        Ok(vec![touchpoint])
    }
}

/// A Standard Webhooks header, or Svix's name for it when the sender is not white-labelled.
fn header<'a>(request: &InboundRequest<'a>, name: &str) -> Option<&'a str> {
    let headers = request.headers;
    headers
        .get(&format!("webhook-{name}"))
        .or_else(|| headers.get(&format!("svix-{name}")))
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
}

fn required_header<'a>(
    request: &InboundRequest<'a>,
    name: &str,
) -> Result<&'a str, ConnectorError> {
    header(request, name)
        .ok_or_else(|| ConnectorError::BadSignature(format!("no webhook-{name} header")))
}

fn v1_signatures(header: &str) -> Result<Vec<Vec<u8>>, ConnectorError> {
    let signatures: Vec<Vec<u8>> = header
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| decode_base64(encoded).ok())
        .collect();
    if signatures.is_empty() {
        return Err(ConnectorError::BadSignature(
            "webhook-signature has no base64 v1 signature".into(),
        ));
    }
    Ok(signatures)
}

/// The HMAC keys behind `whsec_<base64>` secrets. A secret that does not decode cannot have
/// signed anything; if none decodes, the connector is misconfigured and says so.
fn signing_keys(secrets: &[&str]) -> Result<Vec<Vec<u8>>, ConnectorError> {
    if secrets.is_empty() {
        return Err(ConnectorError::BadSignature(
            "no signing secret is configured".into(),
        ));
    }
    let keys: Vec<Vec<u8>> = secrets
        .iter()
        .filter_map(|secret| signing_key(secret))
        .collect();
    if keys.is_empty() {
        return Err(ConnectorError::BadSignature(
            "no configured secret is a whsec_<base64> key".into(),
        ));
    }
    Ok(keys)
}

fn signing_key(secret: &str) -> Option<Vec<u8>> {
    let secret = secret.trim();
    decode_base64(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret)).ok()
}

/// The payload's own time where it has one; the signed attempt time otherwise, which is
/// later than the event on a retry but never made up by us.
fn occurred_at(
    request: &InboundRequest<'_>,
    payload: &Value,
    settings: &Settings,
) -> Result<DateTime<Utc>, ConnectorError> {
    let pointer = settings
        .occurred_at
        .as_deref()
        .unwrap_or(DEFAULT_TIME_POINTER);
    match payload.pointer(pointer) {
        Some(Value::Null) | None => {}
        Some(value) => {
            return parse_time(value).ok_or_else(|| {
                ConnectorError::Malformed(format!("{pointer} is not a date and time: {value}"))
            });
        }
    }
    let header = required_header(request, "timestamp")
        .map_err(|_| ConnectorError::Malformed("no time in the payload or headers".into()))?;
    parse_unix_seconds(header).map_err(|error| ConnectorError::Malformed(error.to_string()))
}

fn mapped_values(payload: &Value, settings: &Settings) -> Mapped {
    let mut mapped = Mapped::default();
    for (target, pointer) in &settings.fields {
        mapped.push_opt(target, payload.pointer(pointer).and_then(value_text));
    }
    mapped
}

/// Without a mapping, the contact keys at their usual places: enough to find the person,
/// while nothing lands in lead fields the admin did not ask for.
fn apply_defaults(payload: &Value, touchpoint: &mut NormalizedTouchpoint) {
    let first_at = |pointers: [&str; 2]| {
        pointers
            .into_iter()
            .find_map(|pointer| payload.pointer(pointer).and_then(value_text))
    };
    touchpoint.person.email = first_at(DEFAULT_EMAIL_POINTERS);
    touchpoint.person.phone = first_at(DEFAULT_PHONE_POINTERS);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::signature::{encode_base64, hmac_sha256};
    use crate::{Attribution, Money, Person};

    /// When the hub received the tests' requests.
    fn received_at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    const SECRET: &str = "whsec_a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=";
    const OLD_SECRET: &str = "whsec_cHJldmlvdXMtc2VjcmV0LWtleS0wMTIzNDU2Nzg5";
    const NOW: i64 = 1_700_000_000;
    const LEAD: &str = include_str!("../tests/fixtures/standard_webhooks/lead_created.json");

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
        let key = decode_base64(secret.strip_prefix(SECRET_PREFIX).unwrap()).unwrap();
        let t = timestamp.to_string();
        let digest = hmac_sha256(&key, &[id.as_bytes(), b".", t.as_bytes(), b".", body]);
        format!("v1,{}", encode_base64(&digest))
    }

    fn headers(id: &str, timestamp: i64, signature: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("webhook-id".to_owned(), id.to_owned()),
            ("webhook-timestamp".to_owned(), timestamp.to_string()),
            ("webhook-signature".to_owned(), signature.to_owned()),
        ])
    }

    fn request<'a>(headers: &'a BTreeMap<String, String>, body: &'a [u8]) -> InboundRequest<'a> {
        InboundRequest {
            headers,
            body,
            url: "https://crm.example.com/hooks/generic",
            received_at: received_at(),
        }
    }

    fn verify(headers: &BTreeMap<String, String>, body: &[u8]) -> Result<(), ConnectorError> {
        let request = request(headers, body);
        StandardWebhooks.verify(&request, &[SECRET, OLD_SECRET], at(NOW), &Value::Null)
    }

    fn is_bad_signature(result: Result<(), ConnectorError>) -> bool {
        matches!(result, Err(ConnectorError::BadSignature(_)))
    }

    fn signed_lead(secret: &str, timestamp: i64) -> BTreeMap<String, String> {
        headers(
            "msg_2Lx9",
            timestamp,
            &sign(secret, "msg_2Lx9", timestamp, LEAD.as_bytes()),
        )
    }

    fn parse_lead(settings: Value) -> NormalizedTouchpoint {
        let headers = signed_lead(SECRET, NOW);
        let mut touchpoints = StandardWebhooks
            .parse(&request(&headers, LEAD.as_bytes()), &settings)
            .unwrap();
        assert_eq!(touchpoints.len(), 1);
        touchpoints.remove(0)
    }

    #[test]
    fn the_fixed_vector_verifies() {
        let body = br#"{"id":"evt_1","type":"lead.created"}"#;
        let signature = "v1,nUBhLl7SUzU4alitKs6fCHzAPN5l8ZWkXrAl9JINuJQ=";
        assert_eq!(sign(SECRET, "msg_1", NOW, body), signature);
        let headers = headers("msg_1", NOW, signature);
        assert_eq!(verify(&headers, body), Ok(()));
        assert_eq!(
            StandardWebhooks.external_id(&request(&headers, body)),
            Ok("msg_1".to_owned())
        );
    }

    #[test]
    fn a_real_payload_is_accepted_with_either_secret() {
        assert_eq!(
            verify(&signed_lead(SECRET, NOW - 20), LEAD.as_bytes()),
            Ok(())
        );
        assert_eq!(
            verify(&signed_lead(OLD_SECRET, NOW + 20), LEAD.as_bytes()),
            Ok(())
        );
    }

    #[test]
    fn any_v1_entry_may_match_and_other_versions_are_ignored() {
        let good = sign(SECRET, "msg_2Lx9", NOW, LEAD.as_bytes());
        let list = format!("v1a,AAAA v1,bm90LWl0 v2,{} {good}", &good[3..]);
        let headers = headers("msg_2Lx9", NOW, &list);
        assert_eq!(verify(&headers, LEAD.as_bytes()), Ok(()));
        let only_v1a = headers.clone().into_iter().map(|(name, value)| {
            let value = if name == "webhook-signature" {
                good.replace("v1,", "v1a,")
            } else {
                value
            };
            (name, value)
        });
        assert!(is_bad_signature(verify(
            &only_v1a.collect(),
            LEAD.as_bytes()
        )));
    }

    #[test]
    fn svix_headers_are_read_too() {
        let headers: BTreeMap<String, String> = signed_lead(SECRET, NOW)
            .into_iter()
            .map(|(name, value)| (name.replace("webhook-", "svix-"), value))
            .collect();
        assert_eq!(verify(&headers, LEAD.as_bytes()), Ok(()));
        assert_eq!(
            StandardWebhooks.external_id(&request(&headers, LEAD.as_bytes())),
            Ok("msg_2Lx9".to_owned())
        );
    }

    #[test]
    fn tampering_a_wrong_secret_and_a_changed_id_are_refused() {
        let headers = signed_lead(SECRET, NOW);
        let tampered = LEAD.replace("Ada", "Eve");
        assert!(is_bad_signature(verify(&headers, tampered.as_bytes())));
        let wrong = "whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZw==";
        assert!(is_bad_signature(verify(
            &signed_lead(wrong, NOW),
            LEAD.as_bytes()
        )));
        let mut other_id = headers.clone();
        other_id.insert("webhook-id".into(), "msg_other".into());
        assert!(is_bad_signature(verify(&other_id, LEAD.as_bytes())));
    }

    #[test]
    fn timestamps_too_old_or_too_far_ahead_are_refused() {
        for timestamp in [NOW - 301, NOW + 301] {
            assert!(is_bad_signature(verify(
                &signed_lead(SECRET, timestamp),
                LEAD.as_bytes()
            )));
        }
        assert_eq!(
            verify(&signed_lead(SECRET, NOW + 300), LEAD.as_bytes()),
            Ok(())
        );
    }

    #[test]
    fn missing_headers_and_unusable_secrets_are_refused() {
        for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
            let mut headers = signed_lead(SECRET, NOW);
            headers.remove(name);
            assert!(is_bad_signature(verify(&headers, LEAD.as_bytes())));
        }
        let headers = signed_lead(SECRET, NOW);
        let request = request(&headers, LEAD.as_bytes());
        for secrets in [&[][..], &["whsec_%%%not base64"]] {
            assert!(is_bad_signature(StandardWebhooks.verify(
                &request,
                secrets,
                at(NOW),
                &Value::Null
            )));
        }
    }

    #[test]
    fn only_whsec_base64_secrets_can_be_saved() {
        for good in [SECRET, OLD_SECRET, "a2tra2tra2tr"] {
            assert_eq!(StandardWebhooks.check_secret(good), Ok(()), "{good}");
        }
        for bad in ["whsec_%%%not base64", "whsec_", "", "plain words"] {
            assert!(
                matches!(
                    StandardWebhooks.check_secret(bad),
                    Err(ConnectorError::InvalidSettings(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_mapped_payload_fills_every_kind_of_target() {
        let touchpoint = parse_lead(json!({
            "channel": "web_form",
            "event": "/type",
            "occurred_at": "/timestamp",
            "fields": {
                "email": "/data/email",
                "phone": "/data/phone",
                "first_name": "/data/first_name",
                "company": "/data/company",
                "utm_source": "/data/utm/source",
                "utm_campaign": "/data/utm/campaign",
                "gclid": "/data/click_id",
                "custom.plan": "/data/plan",
                "custom.seats": "/data/seats",
                "amount_minor": "/data/amount",
                "currency": "/data/currency",
                "subject": "/data/title",
                "customer_id": "/data/customer",
                "website": "/data/missing"
            }
        }));
        assert_eq!(touchpoint.external_id, "msg_2Lx9");
        assert_eq!(touchpoint.event, "lead.created");
        assert_eq!(touchpoint.channel, Channel::WebForm);
        assert_eq!(touchpoint.direction, Direction::Inbound);
        assert_eq!(
            touchpoint.occurred_at,
            DateTime::parse_from_rfc3339("2023-11-14T22:12:41.5Z").unwrap()
        );
        assert_eq!(
            touchpoint.person,
            Person {
                email: Some("ada@analytical.example".into()),
                phone: Some("+44 20 7946 0991".into()),
                customer_id: Some("cust_7781".into()),
                first_name: Some("Ada".into()),
                company: Some("Analytical Engines Ltd".into()),
                ..Person::default()
            }
        );
        assert_eq!(touchpoint.subject.as_deref(), Some("Demo request"));
        assert_eq!(touchpoint.summary, None);
        assert_eq!(
            touchpoint.amount,
            Some(Money {
                minor: 12900,
                currency: "GBP".into()
            })
        );
        assert_eq!(
            touchpoint.attribution,
            Attribution {
                source: Some("newsletter".into()),
                campaign: Some("q4_launch".into()),
                gclid: Some("Cj0KCQ".into()),
                ..Attribution::default()
            }
        );
        let fields: Vec<(&str, &str)> = touchpoint
            .fields
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("company", "Analytical Engines Ltd"),
                ("custom.plan", "team"),
                ("custom.seats", "12"),
                ("first_name", "Ada"),
                ("phone", "+44 20 7946 0991"),
            ]
        );
        assert!(touchpoint.provider_ids.is_empty());
        assert_eq!(touchpoint.flag, None);
    }

    #[test]
    fn without_a_mapping_the_defaults_apply() {
        let touchpoint = parse_lead(Value::Null);
        assert_eq!(touchpoint.channel, Channel::Other);
        assert_eq!(touchpoint.event, "lead.created");
        assert_eq!(
            touchpoint.person.email.as_deref(),
            Some("ada@analytical.example")
        );
        assert_eq!(touchpoint.person.phone.as_deref(), Some("+44 20 7946 0991"));
        assert!(touchpoint.fields.is_empty());
        assert!(touchpoint.attribution.is_empty());
    }

    #[test]
    fn times_come_from_the_payload_or_else_the_signed_timestamp() {
        let cases = [
            (json!({"t": 1_699_999_000}), at(1_699_999_000)),
            (json!({"t": "1699999000"}), at(1_699_999_000)),
            (
                json!({"t": 1_699_999_000_123_i64}),
                DateTime::from_timestamp_millis(1_699_999_000_123).unwrap(),
            ),
            (json!({"t": "2023-11-14T23:13:20+01:00"}), at(NOW)),
            (json!({}), at(NOW)),
        ];
        for (body, expected) in cases {
            let body = body.to_string();
            let headers = headers("msg_t", NOW, "unchecked by parse");
            let settings = json!({"occurred_at": "/t"});
            let touchpoints = StandardWebhooks
                .parse(&request(&headers, body.as_bytes()), &settings)
                .unwrap();
            assert_eq!(touchpoints[0].occurred_at, expected, "{body}");
            assert_eq!(touchpoints[0].event, "webhook");
        }
        let headers = headers("msg_t", NOW, "");
        let garbled = br#"{"timestamp": "last tuesday"}"#;
        assert!(matches!(
            StandardWebhooks.parse(&request(&headers, garbled), &Value::Null),
            Err(ConnectorError::Malformed(_))
        ));
        assert!(matches!(
            StandardWebhooks.parse(&request(&headers, b"<xml/>"), &Value::Null),
            Err(ConnectorError::Malformed(_))
        ));
    }

    #[test]
    fn settings_with_unknown_targets_or_bad_pointers_are_refused() {
        assert_eq!(StandardWebhooks.check_settings(&Value::Null), Ok(()));
        assert_eq!(
            StandardWebhooks.check_settings(&json!({
                "channel": "billing", "direction": "outbound", "event": "/kind",
                "fields": {"email": "/a", "custom.x": "/b", "landing_page": "/c/0"}
            })),
            Ok(())
        );
        for bad in [
            json!({"fields": {"favourite_colour": "/data/colour"}}),
            json!({"fields": {"custom.": "/data/x"}}),
            json!({"fields": {"email": "data.email"}}),
            json!({"event": "type"}),
            json!({"occurred_at": ""}),
            json!({"channel": "carrier_pigeon"}),
            json!({"mapping": {}}),
        ] {
            assert!(
                matches!(
                    StandardWebhooks.check_settings(&bad),
                    Err(ConnectorError::InvalidSettings(_))
                ),
                "{bad}"
            );
        }
    }
}
