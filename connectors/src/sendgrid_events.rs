//! SendGrid Event Webhook: what happened to the email we sent.
//!
//! SendGrid POSTs a JSON array of events (batched, from many servers, retried for 24 h). With
//! the signed webhook on, every POST carries `X-Twilio-Email-Event-Webhook-Signature` (a base64
//! DER ECDSA signature) and `X-Twilio-Email-Event-Webhook-Timestamp`; the signed bytes are the
//! timestamp followed by the raw body, no separator, with ECDSA P-256 / SHA-256. The connector's
//! secret is SendGrid's *verification key*, a public key: base64 DER SubjectPublicKeyInfo as the
//! Mail Settings page shows it, or the same key in PEM armour. [`Connector::check_secret`]
//! refuses anything else when an admin saves it. SendGrid documents no timestamp window; timestamps
//! more than `tolerance_secs` away from now are refused either way.
//!
//! A batch is stored under its body digest; each event's `sg_event_id` is its touchpoint's
//! external id. Touchpoints (channel Email):
//! - `delivered`, `bounce` (flag Bounced; type and reason as summary), `dropped` (reason as
//!   summary): direction Outbound;
//! - `open`, `click` (URL as summary), `unsubscribe` and `group_unsubscribe` (flag
//!   Unsubscribed), `spamreport` (flag SpamReported): direction Inbound, the customer acted.
//!
//! `processed`, `deferred` and any other event give nothing. The person is the event's
//! `email`; custom args sent with the message arrive as top-level keys, and the `utm_*` ones
//! become attribution; `sg_message_id` is kept.
//!
//! Settings (all optional):
//! - `tolerance_secs` (integer, default 300, at least 1): how far the signed timestamp may be
//!   from now, either way.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use p256::ecdsa::{Signature, VerifyingKey, signature::Verifier};
use p256::pkcs8::DecodePublicKey;
use serde::Deserialize;
use serde_json::Value;

use crate::email::{non_empty, utm_attribution};
use crate::settings::TimestampSettings;
use crate::{
    Channel, Connector, ConnectorError, ContactFlag, Direction, InboundRequest,
    NormalizedTouchpoint, signature,
};

pub const SIGNATURE_HEADER: &str = "x-twilio-email-event-webhook-signature";
pub const TIMESTAMP_HEADER: &str = "x-twilio-email-event-webhook-timestamp";

pub struct SendgridEvents;

fn verifying_key(secret: &str) -> Option<VerifyingKey> {
    let secret = secret.trim();
    if secret.starts_with("-----BEGIN") {
        return VerifyingKey::from_public_key_pem(secret).ok();
    }
    let der = signature::decode_base64(secret).ok()?;
    VerifyingKey::from_public_key_der(&der).ok()
}

/// One element of the batch; custom args are the keys not named here.
#[derive(Debug, Deserialize)]
struct Event {
    event: String,
    timestamp: i64,
    #[serde(default, deserialize_with = "crate::email::lenient_string")]
    email: Option<String>,
    #[serde(default, deserialize_with = "crate::email::lenient_string")]
    sg_event_id: Option<String>,
    #[serde(default, deserialize_with = "crate::email::lenient_string")]
    sg_message_id: Option<String>,
    #[serde(default, deserialize_with = "crate::email::lenient_string")]
    url: Option<String>,
    #[serde(default, deserialize_with = "crate::email::lenient_string")]
    reason: Option<String>,
    #[serde(
        rename = "type",
        default,
        deserialize_with = "crate::email::lenient_string"
    )]
    bounce_type: Option<String>,
    #[serde(flatten)]
    custom_args: BTreeMap<String, Value>,
}

fn read_batch(body: &[u8]) -> Result<Vec<Event>, ConnectorError> {
    serde_json::from_slice(body)
        .map_err(|error| ConnectorError::Malformed(format!("not a SendGrid event batch: {error}")))
}

/// How a tracked event is recorded; `None` for events the CRM does not track.
fn shape(event: &str) -> Option<(Direction, Option<ContactFlag>)> {
    match event {
        "delivered" | "dropped" => Some((Direction::Outbound, None)),
        "bounce" => Some((Direction::Outbound, Some(ContactFlag::Bounced))),
        "open" | "click" => Some((Direction::Inbound, None)),
        "unsubscribe" | "group_unsubscribe" => {
            Some((Direction::Inbound, Some(ContactFlag::Unsubscribed)))
        }
        "spamreport" => Some((Direction::Inbound, Some(ContactFlag::SpamReported))),
        _ => None,
    }
}

fn summary(event: &Event) -> Option<String> {
    let text = match event.event.as_str() {
        "click" => event.url.clone(),
        "bounce" => match (&event.bounce_type, &event.reason) {
            (Some(kind), Some(reason)) => Some(format!("{kind}: {reason}")),
            (kind, reason) => reason.clone().or_else(|| kind.clone()),
        },
        "dropped" => event.reason.clone(),
        _ => None,
    }?;
    non_empty(&text)
}

fn touchpoint(
    event: Event,
    index: usize,
    batch_id: &str,
) -> Result<Option<NormalizedTouchpoint>, ConnectorError> {
    let Some((direction, flag)) = shape(&event.event) else {
        return Ok(None);
    };
    let occurred_at = DateTime::from_timestamp(event.timestamp, 0)
        .ok_or_else(|| ConnectorError::Malformed(format!("bad timestamp {}", event.timestamp)))?;
    // Every SendGrid event has an id; should one not, its place in this batch is stable.
    let external_id = event
        .sg_event_id
        .clone()
        .unwrap_or_else(|| format!("{batch_id}#{index}"));
    let mut touchpoint = NormalizedTouchpoint::new(
        external_id,
        &event.event,
        Channel::Email,
        direction,
        occurred_at,
    );
    touchpoint.flag = flag;
    touchpoint.summary = summary(&event);
    touchpoint.person.email = event.email.as_deref().and_then(non_empty);
    touchpoint.attribution = utm_attribution(&event.custom_args);
    if let Some(id) = event.sg_message_id {
        touchpoint.provider_ids.insert("sg_message_id".into(), id);
    }
    Ok(Some(touchpoint))
}

impl Connector for SendgridEvents {
    /// SendGrid batches events into one POST.
    fn max_body_bytes(&self) -> usize {
        4 * crate::MIB
    }

    fn check_settings(&self, settings: &Value) -> Result<(), ConnectorError> {
        TimestampSettings::tolerance(settings).map(drop)
    }

    /// Refuses a verification key that is not a P-256 public key (base64 DER SPKI or PEM).
    fn check_secret(&self, secret: &str) -> Result<(), ConnectorError> {
        verifying_key(secret).map(drop).ok_or_else(|| {
            ConnectorError::InvalidSettings(
                "the verification key is not a P-256 public key (base64 DER or PEM)".into(),
            )
        })
    }

    fn verify(
        &self,
        request: &InboundRequest<'_>,
        secrets: &[&str],
        now: DateTime<Utc>,
        settings: &Value,
    ) -> Result<(), ConnectorError> {
        let tolerance_secs = TimestampSettings::tolerance(settings)?;
        if secrets.is_empty() {
            return Err(ConnectorError::BadSignature(
                "no verification key configured".into(),
            ));
        }
        let timestamp = request.signature_header(TIMESTAMP_HEADER)?;
        let signed_at = signature::parse_unix_seconds(timestamp)?;
        signature::check_timestamp(signed_at, now, tolerance_secs, true)?;
        let der = signature::decode_base64(request.signature_header(SIGNATURE_HEADER)?)?;
        let signature = Signature::from_der(&der).map_err(|_| {
            ConnectorError::BadSignature("signature is not a DER ECDSA signature".into())
        })?;
        // Some signers emit high-S signatures; the mirrored low-S one verifies iff they do.
        let signature = signature.normalize_s().unwrap_or(signature);
        let signed = [timestamp.as_bytes(), request.body].concat();
        let verified = secrets
            .iter()
            .filter_map(|secret| verifying_key(secret))
            .any(|key| key.verify(&signed, &signature).is_ok());
        if verified {
            Ok(())
        } else {
            Err(ConnectorError::BadSignature(
                "no verification key matches the signature".into(),
            ))
        }
    }

    /// A batch has no id of its own; its events are deduplicated by `sg_event_id` downstream.
    fn external_id(&self, request: &InboundRequest<'_>) -> Result<String, ConnectorError> {
        Ok(signature::body_digest(request.body))
    }

    fn parse(
        &self,
        request: &InboundRequest<'_>,
        _settings: &Value,
    ) -> Result<Vec<NormalizedTouchpoint>, ConnectorError> {
        let batch_id = signature::body_digest(request.body);
        let mut touchpoints = Vec::new();
        for (index, event) in read_batch(request.body)?.into_iter().enumerate() {
            touchpoints.extend(touchpoint(event, index, &batch_id)?);
        }
        Ok(touchpoints)
    }
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::{SigningKey, signature::Signer};
    use p256::pkcs8::{EncodePublicKey, LineEnding};

    use super::*;

    /// When the hub received the tests' requests.
    fn received_at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    const BATCH: &[u8] = include_bytes!("../tests/fixtures/sendgrid/events.json");
    const NOW: i64 = 1_700_000_000;

    fn signing_key(byte: u8) -> SigningKey {
        SigningKey::from_slice(&[byte; 32]).unwrap()
    }

    /// The verification key as SendGrid's Mail Settings page shows it.
    fn public_key(key: &SigningKey) -> String {
        let der = key.verifying_key().to_public_key_der().unwrap();
        signature::encode_base64(der.as_bytes())
    }

    fn signed_headers(key: &SigningKey, timestamp: i64, body: &[u8]) -> BTreeMap<String, String> {
        let timestamp = timestamp.to_string();
        let signed: Signature = key.sign(&[timestamp.as_bytes(), body].concat());
        BTreeMap::from([
            ("content-type".to_owned(), "application/json".to_owned()),
            (
                SIGNATURE_HEADER.to_owned(),
                signature::encode_base64(signed.to_der().as_bytes()),
            ),
            (TIMESTAMP_HEADER.to_owned(), timestamp),
        ])
    }

    fn request<'a>(headers: &'a BTreeMap<String, String>, body: &'a [u8]) -> InboundRequest<'a> {
        InboundRequest {
            headers,
            body,
            url: "https://crm.example.com/hooks/sendgrid",
            received_at: received_at(),
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(NOW, 0).unwrap()
    }

    fn verify(
        headers: &BTreeMap<String, String>,
        body: &[u8],
        secrets: &[&str],
    ) -> Result<(), ConnectorError> {
        SendgridEvents.verify(&request(headers, body), secrets, now(), &Value::Null)
    }

    #[test]
    fn a_signed_batch_is_accepted_with_the_verification_key() {
        let key = signing_key(0x42);
        let headers = signed_headers(&key, NOW - 10, BATCH);
        assert_eq!(verify(&headers, BATCH, &[&public_key(&key)]), Ok(()));
    }

    /// Made outside Rust: `openssl ecparam -name prime256v1 -genkey`, SPKI exported as DER and
    /// base64-encoded, `openssl dgst -sha256 -sign` over timestamp + body, base64.
    #[test]
    fn an_openssl_signed_request_verifies() {
        let spki = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEnK6pyyxNRYX85mF6DrtJ2dt9d+ajBiGmLXeIw076ngBg5hC9\
                    lHmCbSZH6UU7j9Ug51g0bW4q+3NXfp6cu6QqGw==";
        let body = br#"[{"email":"ann@example.com","timestamp":1700000000,"event":"open","sg_event_id":"evt_1"}]"#;
        let headers = BTreeMap::from([
            (
                SIGNATURE_HEADER.to_owned(),
                "MEQCIAE3TElOs1CR+GyxFPVZGMpe0mLJx4MvqofRv2zJ31AbAiAirBrnpa7x8FlPmlmbj7YAdAvY+e885x5ZlRKBUkNn2g=="
                    .to_owned(),
            ),
            (TIMESTAMP_HEADER.to_owned(), "1700000000".to_owned()),
        ]);
        assert_eq!(verify(&headers, body, &[spki]), Ok(()));
        let mut body = body.to_vec();
        body.push(b' ');
        assert!(verify(&headers, &body, &[spki]).is_err());
    }

    #[test]
    fn a_pem_key_and_the_previous_key_are_accepted() {
        let (current, previous) = (signing_key(0x07), signing_key(0x42));
        let headers = signed_headers(&previous, NOW, BATCH);
        let pem = previous
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        assert_eq!(
            verify(
                &headers,
                BATCH,
                &[&public_key(&current), &public_key(&previous)]
            ),
            Ok(())
        );
        assert_eq!(verify(&headers, BATCH, &[&pem]), Ok(()));
    }

    #[test]
    fn a_tampered_body_or_another_key_is_refused() {
        let key = signing_key(0x42);
        let headers = signed_headers(&key, NOW, BATCH);
        let tampered = String::from_utf8_lossy(BATCH).replace("ann@", "eve@");
        assert!(matches!(
            verify(&headers, tampered.as_bytes(), &[&public_key(&key)]),
            Err(ConnectorError::BadSignature(_))
        ));
        assert!(matches!(
            verify(&headers, BATCH, &[&public_key(&signing_key(0x07))]),
            Err(ConnectorError::BadSignature(_))
        ));
        assert!(matches!(
            verify(&headers, BATCH, &[]),
            Err(ConnectorError::BadSignature(_))
        ));
        assert!(matches!(
            verify(&headers, BATCH, &["not a key"]),
            Err(ConnectorError::BadSignature(_))
        ));
    }

    #[test]
    fn stale_or_future_timestamps_are_refused_and_settings_can_widen_the_window() {
        let key = signing_key(0x42);
        let secret = public_key(&key);
        for timestamp in [NOW - 301, NOW + 301] {
            let headers = signed_headers(&key, timestamp, BATCH);
            assert!(matches!(
                verify(&headers, BATCH, &[&secret]),
                Err(ConnectorError::BadSignature(_))
            ));
        }
        let headers = signed_headers(&key, NOW - 1000, BATCH);
        let wide = serde_json::json!({ "tolerance_secs": 3600 });
        let request = request(&headers, BATCH);
        assert_eq!(
            SendgridEvents.verify(&request, &[&secret], now(), &wide),
            Ok(())
        );
    }

    #[test]
    fn a_narrower_tolerance_refuses_what_the_default_accepts() {
        let key = signing_key(0x42);
        let secret = public_key(&key);
        let headers = signed_headers(&key, NOW + 120, BATCH);
        assert_eq!(verify(&headers, BATCH, &[&secret]), Ok(()));
        let narrow = serde_json::json!({ "tolerance_secs": 60 });
        let request = request(&headers, BATCH);
        assert!(matches!(
            SendgridEvents.verify(&request, &[&secret], now(), &narrow),
            Err(ConnectorError::BadSignature(_))
        ));
    }

    #[test]
    fn missing_or_garbled_headers_are_refused() {
        let key = signing_key(0x42);
        let secret = public_key(&key);
        for name in [SIGNATURE_HEADER, TIMESTAMP_HEADER] {
            let mut headers = signed_headers(&key, NOW, BATCH);
            headers.remove(name);
            assert!(matches!(
                verify(&headers, BATCH, &[&secret]),
                Err(ConnectorError::BadSignature(_))
            ));
        }
        let mut headers = signed_headers(&key, NOW, BATCH);
        headers.insert(
            SIGNATURE_HEADER.into(),
            signature::encode_base64(b"not der"),
        );
        assert!(matches!(
            verify(&headers, BATCH, &[&secret]),
            Err(ConnectorError::BadSignature(_))
        ));
    }

    #[test]
    fn only_p256_public_keys_are_valid_secrets() {
        let key = signing_key(0x42);
        assert_eq!(SendgridEvents.check_secret(&public_key(&key)), Ok(()));
        let pem = key
            .verifying_key()
            .to_public_key_pem(LineEnding::CRLF)
            .unwrap();
        assert_eq!(SendgridEvents.check_secret(&pem), Ok(()));
        for bad in [
            "",
            "whsec_abc",
            "c2VjcmV0",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
        ] {
            assert!(
                matches!(
                    SendgridEvents.check_secret(bad),
                    Err(ConnectorError::InvalidSettings(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn settings_are_checked() {
        let check = |value: Value| SendgridEvents.check_settings(&value);
        assert_eq!(check(Value::Null), Ok(()));
        assert_eq!(check(serde_json::json!({ "tolerance_secs": 600 })), Ok(()));
        assert!(check(serde_json::json!({ "tolerance_secs": 0 })).is_err());
        assert!(check(serde_json::json!({ "tolerance": 600 })).is_err());
    }

    #[test]
    fn the_batch_is_stored_under_its_digest() {
        let headers = BTreeMap::new();
        let id = SendgridEvents
            .external_id(&request(&headers, BATCH))
            .unwrap();
        assert_eq!(id, signature::body_digest(BATCH));
    }

    fn parsed() -> Vec<NormalizedTouchpoint> {
        let headers = BTreeMap::new();
        SendgridEvents
            .parse(&request(&headers, BATCH), &Value::Null)
            .unwrap()
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn tracked_events_become_touchpoints_and_the_rest_nothing() {
        let events: Vec<_> = parsed()
            .iter()
            .map(|touchpoint| touchpoint.event.clone())
            .collect();
        let expected = [
            "delivered",
            "open",
            "click",
            "bounce",
            "dropped",
            "spamreport",
            "unsubscribe",
            "group_unsubscribe",
        ];
        assert_eq!(events, expected);
    }

    #[test]
    fn a_delivery_is_outbound_with_its_campaign() {
        let delivered = &parsed()[0];
        assert_eq!(delivered.external_id, "rWVYmVk90MjZJ9iohOBa3w==");
        assert_eq!(delivered.channel, Channel::Email);
        assert_eq!(delivered.direction, Direction::Outbound);
        assert_eq!(delivered.occurred_at, at(1_699_999_100));
        assert_eq!(delivered.person.email.as_deref(), Some("ann@example.com"));
        assert_eq!(delivered.flag, None);
        assert_eq!(delivered.summary, None);
        assert_eq!(delivered.attribution.source.as_deref(), Some("newsletter"));
        assert_eq!(delivered.attribution.medium.as_deref(), Some("email"));
        assert_eq!(delivered.attribution.campaign.as_deref(), Some("nov-promo"));
        assert_eq!(
            delivered
                .provider_ids
                .get("sg_message_id")
                .map(String::as_str),
            Some("14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0")
        );
    }

    #[test]
    fn opens_and_clicks_are_the_customer_acting() {
        let touchpoints = parsed();
        let (open, click) = (&touchpoints[1], &touchpoints[2]);
        assert_eq!(open.direction, Direction::Inbound);
        assert_eq!(open.occurred_at, at(1_699_999_200));
        assert_eq!(click.direction, Direction::Inbound);
        assert_eq!(click.external_id, "kCAi1KttyQdEKHhdC-nuEA==");
        assert_eq!(
            click.summary.as_deref(),
            Some("https://shop.example.com/offer?utm_source=newsletter")
        );
    }

    #[test]
    fn bounces_unsubscribes_and_spam_reports_flag_the_address() {
        let touchpoints = parsed();
        let bounce = &touchpoints[3];
        assert_eq!(bounce.flag, Some(ContactFlag::Bounced));
        assert_eq!(bounce.direction, Direction::Outbound);
        assert_eq!(bounce.person.email.as_deref(), Some("bob@example.org"));
        assert_eq!(
            bounce.summary.as_deref(),
            Some("bounce: 550 5.1.1 The email account that you tried to reach does not exist.")
        );
        let dropped = &touchpoints[4];
        assert_eq!(
            (dropped.direction, dropped.flag),
            (Direction::Outbound, None)
        );
        assert_eq!(dropped.summary.as_deref(), Some("Bounced Address"));
        let flags: Vec<_> = touchpoints[5..]
            .iter()
            .map(|t| (t.direction, t.flag))
            .collect();
        assert_eq!(
            flags,
            [
                (Direction::Inbound, Some(ContactFlag::SpamReported)),
                (Direction::Inbound, Some(ContactFlag::Unsubscribed)),
                (Direction::Inbound, Some(ContactFlag::Unsubscribed)),
            ]
        );
        assert!(touchpoints[5].attribution.is_empty());
    }

    #[test]
    fn an_oddly_typed_optional_field_reads_as_absent() {
        let body = br#"[{"event":"click","timestamp":1700000000,"sg_event_id":"e1","url":{"href":"x"},"email":7}]"#;
        let headers = BTreeMap::new();
        let touchpoints = SendgridEvents
            .parse(&request(&headers, body), &Value::Null)
            .unwrap();
        assert_eq!(touchpoints[0].summary, None);
        assert_eq!(touchpoints[0].person.email, None);
    }

    #[test]
    fn a_body_that_is_not_a_batch_is_malformed() {
        let headers = BTreeMap::new();
        for body in [
            &b"{\"event\":\"open\"}"[..],
            b"[{\"event\":\"open\"}]",
            b"not json",
        ] {
            let result = SendgridEvents.parse(&request(&headers, body), &Value::Null);
            assert!(matches!(result, Err(ConnectorError::Malformed(_))));
        }
    }
}
