//! Typeform: a submitted form, its answers mapped onto the lead and its hidden fields read as
//! the source that brought the respondent.
//!
//! **What Typeform sends.** `{event_id, event_type: "form_response", form_response}`; the
//! response holds `form_id`, `token` (the response's id), `submitted_at`, `hidden` (the hidden
//! fields the form declares, filled from the form URL's query), `definition` (`title`,
//! `fields`) and `answers`, each `{type, <type>: value, field: {id, ref, type}}`.
//!
//! **Verification.** `Typeform-Signature: sha256=<base64>`: HMAC-SHA256 over the raw body,
//! keyed with the webhook's secret, base64-encoded (not hex). There is no timestamp, so replays
//! are caught only by the delivery's external id, Typeform's `event_id` (the body's digest if
//! absent).
//!
//! **Touchpoints.** `form_response` gives one (channel `web_form`, direction `inbound`,
//! external_id = `form_response.token`, occurred at `submitted_at`, subject = the form's title,
//! provider_ids `form_id`); other event types give none.
//! - Answers are read by type: `text`, `email`, `phone_number`, `number`, `boolean`, `date`,
//!   `url`, `file_url`, `choice` (its label, or the "other" text) and `choices` (labels and
//!   "other", joined with ", "); `payment` and unknown types are skipped.
//! - An answer lands where the settings map its `field.ref`. Whatever the mapping leaves
//!   empty, the first `email` answer is the email and the first `phone_number` the phone.
//! - Hidden fields named `utm_source` … `utm_content`, `gclid`, `fbclid`, `msclkid`,
//!   `referrer` and `landing_page` are the attribution; a hidden field can also be mapped by
//!   its name, like a ref.
//!
//! **Settings** (optional):
//! - `fields`: an answer's `field.ref` (or a hidden field's name) to a mapping target, e.g.
//!   `{"work_email": "email", "company": "company", "team_size": "custom.team_size"}`; the
//!   targets are the mapping vocabulary every connector shares (see `mapping`). Set readable
//!   refs in the form builder: refs survive reordering and retitling, positions do not.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::mapping::{ATTRIBUTION_TARGETS, Mapped, check_target, parse_time, text_at, value_text};
use crate::settings;
use crate::signature::{self, bad_signature, decode_base64, hmac_sha256_matches};
use crate::{Channel, Connector, ConnectorError, Direction, InboundRequest, NormalizedTouchpoint};

const SIGNATURE_HEADER: &str = "typeform-signature";
const SIGNATURE_PREFIX: &str = "sha256=";
const EVENT: &str = "form_response";
pub struct Typeform;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Settings {
    /// Field ref (or hidden field name) -> mapping target.
    fields: BTreeMap<String, String>,
}

impl Settings {
    fn read(value: &Value) -> Result<Self, ConnectorError> {
        let settings: Settings = settings::read(value)?;
        for target in settings.fields.values() {
            check_target(target)?;
        }
        Ok(settings)
    }
}

impl Connector for Typeform {
    fn check_settings(&self, settings: &Value) -> Result<(), ConnectorError> {
        Settings::read(settings).map(drop)
    }

    fn verify(
        &self,
        request: &InboundRequest<'_>,
        secrets: &[&str],
        _now: DateTime<Utc>,
        _settings: &Value,
    ) -> Result<(), ConnectorError> {
        let header = request.signature_header(SIGNATURE_HEADER)?;
        let encoded = header
            .trim()
            .strip_prefix(SIGNATURE_PREFIX)
            .ok_or_else(|| bad_signature("Typeform-Signature is not sha256=<base64>"))?;
        let expected = decode_base64(encoded)?;
        if secrets.is_empty() {
            return Err(bad_signature("no signing secret is configured"));
        }
        let matches = secrets
            .iter()
            .any(|secret| hmac_sha256_matches(secret.as_bytes(), &[request.body], &expected));
        if matches {
            Ok(())
        } else {
            Err(bad_signature("the signature matches no configured secret"))
        }
    }

    fn external_id(&self, request: &InboundRequest<'_>) -> Result<String, ConnectorError> {
        let payload = read_payload(request.body)?;
        Ok(text_at(&payload, "event_id").unwrap_or_else(|| signature::body_digest(request.body)))
    }

    fn parse(
        &self,
        request: &InboundRequest<'_>,
        settings: &Value,
    ) -> Result<Vec<NormalizedTouchpoint>, ConnectorError> {
        let settings = Settings::read(settings)?;
        let payload = read_payload(request.body)?;
        if payload["event_type"].as_str() != Some(EVENT) {
            return Ok(Vec::new());
        }
        let response = &payload["form_response"];
        let token = text_at(response, "token")
            .ok_or_else(|| ConnectorError::Malformed("form_response has no token".into()))?;
        let submitted_at = response
            .get("submitted_at")
            .and_then(parse_time)
            .ok_or_else(|| ConnectorError::Malformed("form_response has no submitted_at".into()))?;
        let mut touchpoint = NormalizedTouchpoint::new(
            token,
            EVENT,
            Channel::WebForm,
            Direction::Inbound,
            submitted_at,
        );
        touchpoint.subject = text_at(&response["definition"], "title");
        if let Some(form_id) = text_at(response, "form_id") {
            touchpoint.provider_ids.insert("form_id".into(), form_id);
        }
        mapped(response, &settings).apply(&mut touchpoint);
        let person = &mut touchpoint.person;
        person.email = person
            .email
            .take()
            .or_else(|| first_answer(response, "email"));
        person.phone = person
            .phone
            .take()
            .or_else(|| first_answer(response, "phone_number"));
        Ok(vec![touchpoint])
    }
}

fn read_payload(body: &[u8]) -> Result<Value, ConnectorError> {
    serde_json::from_slice(body)
        .map_err(|error| ConnectorError::Malformed(format!("not a Typeform webhook: {error}")))
}

/// Hidden fields first, answers after, so an answer mapped to the same target wins.
fn mapped(response: &Value, settings: &Settings) -> Mapped {
    let mut mapped = Mapped::default();
    if let Some(hidden) = response["hidden"].as_object() {
        for (name, value) in hidden {
            let Some(value) = value_text(value) else {
                continue;
            };
            if ATTRIBUTION_TARGETS.contains(&name.as_str()) {
                mapped.push(name, value.clone());
            }
            if let Some(target) = settings.fields.get(name) {
                mapped.push(target, value);
            }
        }
    }
    for answer in answers(response) {
        let target = answer["field"]["ref"]
            .as_str()
            .and_then(|field_ref| settings.fields.get(field_ref));
        if let Some(target) = target {
            mapped.push_opt(target, answer_value(answer));
        }
    }
    mapped
}

fn answers(response: &Value) -> impl Iterator<Item = &Value> {
    response["answers"].as_array().into_iter().flatten()
}

fn first_answer(response: &Value, kind: &str) -> Option<String> {
    answers(response)
        .filter(|answer| answer["type"].as_str() == Some(kind))
        .find_map(answer_value)
}

/// An answer's value as text; where it sits depends on the answer's `type`.
fn answer_value(answer: &Value) -> Option<String> {
    let kind = answer["type"].as_str()?;
    match kind {
        "text" | "email" | "phone_number" | "number" | "boolean" | "date" | "url" | "file_url" => {
            value_text(&answer[kind])
        }
        "choice" => {
            let choice = &answer["choice"];
            text_at(choice, "label").or_else(|| text_at(choice, "other"))
        }
        "choices" => {
            let choices = &answer["choices"];
            let picked = [text_at(choices, "labels"), text_at(choices, "other")];
            let picked: Vec<String> = picked.into_iter().flatten().collect();
            (!picked.is_empty()).then(|| picked.join(", "))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::signature::{encode_base64, hmac_sha256};
    use crate::{Attribution, Person};

    /// When the hub received the tests' requests.
    fn received_at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    const SECRET: &str = "tf-webhook-secret-2024";
    const OLD_SECRET: &str = "tf-webhook-secret-2023";
    const BODY: &str = include_str!("../tests/fixtures/typeform/form_response.json");

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_714_641_500, 0).unwrap()
    }

    fn signed(secret: &str, body: &str) -> BTreeMap<String, String> {
        let digest = hmac_sha256(secret.as_bytes(), &[body.as_bytes()]);
        let value = format!("sha256={}", encode_base64(&digest));
        BTreeMap::from([(SIGNATURE_HEADER.to_owned(), value)])
    }

    fn request<'a>(headers: &'a BTreeMap<String, String>, body: &'a str) -> InboundRequest<'a> {
        InboundRequest {
            headers,
            body: body.as_bytes(),
            url: "https://crm.example.com/hooks/typeform",
            received_at: received_at(),
        }
    }

    fn verify(headers: &BTreeMap<String, String>, body: &str) -> Result<(), ConnectorError> {
        Typeform.verify(
            &request(headers, body),
            &[SECRET, OLD_SECRET],
            now(),
            &Value::Null,
        )
    }

    fn is_bad_signature(result: Result<(), ConnectorError>) -> bool {
        matches!(result, Err(ConnectorError::BadSignature(_)))
    }

    fn parse(settings: Value) -> NormalizedTouchpoint {
        let headers = BTreeMap::new();
        let mut touchpoints = Typeform.parse(&request(&headers, BODY), &settings).unwrap();
        assert_eq!(touchpoints.len(), 1);
        touchpoints.remove(0)
    }

    fn pairs(map: &BTreeMap<String, String>) -> Vec<(&str, &str)> {
        map.iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect()
    }

    #[test]
    fn a_signed_response_is_accepted_with_either_secret() {
        assert_eq!(verify(&signed(SECRET, BODY), BODY), Ok(()));
        assert_eq!(verify(&signed(OLD_SECRET, BODY), BODY), Ok(()));
    }

    #[test]
    fn tampering_a_wrong_secret_and_bad_headers_are_refused() {
        let tampered = BODY.replace("Katherine", "Mallory");
        assert!(is_bad_signature(verify(&signed(SECRET, BODY), &tampered)));
        assert!(is_bad_signature(verify(&signed("guess", BODY), BODY)));
        assert!(is_bad_signature(verify(&BTreeMap::new(), BODY)));
        let digest = hmac_sha256(SECRET.as_bytes(), &[BODY.as_bytes()]);
        for header in [
            hex::encode(&digest),
            format!("sha256={}", hex::encode(&digest)),
            format!("sha1={}", encode_base64(&digest)),
        ] {
            let headers = BTreeMap::from([(SIGNATURE_HEADER.to_owned(), header)]);
            assert!(is_bad_signature(verify(&headers, BODY)));
        }
        let headers = signed(SECRET, BODY);
        assert!(is_bad_signature(Typeform.verify(
            &request(&headers, BODY),
            &[],
            now(),
            &Value::Null
        )));
    }

    #[test]
    fn the_external_id_is_the_event_id() {
        let headers = BTreeMap::new();
        assert_eq!(
            Typeform.external_id(&request(&headers, BODY)),
            Ok("01HX3K8Q4M2N7P5R9S3T6V8W0Y".to_owned())
        );
        let no_id = r#"{"event_type":"form_response"}"#;
        assert_eq!(
            Typeform.external_id(&request(&headers, no_id)),
            Ok(signature::body_digest(no_id.as_bytes()))
        );
        assert!(matches!(
            Typeform.external_id(&request(&headers, "event_id=1")),
            Err(ConnectorError::Malformed(_))
        ));
    }

    #[test]
    fn mapped_answers_fill_the_lead() {
        let touchpoint = parse(json!({"fields": {
            "first_name": "first_name",
            "last_name": "last_name",
            "company": "company",
            "role": "title",
            "team_size": "custom.team_size",
            "newsletter": "custom.newsletter",
            "go_live": "custom.go_live",
            "site": "website",
            "plan": "custom.plan",
            "channels": "custom.channels",
            "rfp": "custom.rfp",
            "deposit": "custom.deposit",
            "partner": "custom.partner",
            "not-in-this-form": "custom.ghost"
        }}));
        assert_eq!(touchpoint.external_id, "a3a12ec67a1365927098a606107fac15");
        assert_eq!(touchpoint.event, "form_response");
        assert_eq!(touchpoint.channel, Channel::WebForm);
        assert_eq!(touchpoint.direction, Direction::Inbound);
        assert_eq!(
            touchpoint.occurred_at,
            DateTime::parse_from_rfc3339("2024-05-02T09:16:45Z").unwrap()
        );
        assert_eq!(touchpoint.subject.as_deref(), Some("Request a demo"));
        assert_eq!(touchpoint.summary, None);
        assert_eq!(
            touchpoint.person,
            Person {
                email: Some("katherine@langley.example".into()),
                phone: Some("+17575550123".into()),
                first_name: Some("Katherine".into()),
                last_name: Some("Johnson".into()),
                company: Some("NASA Langley".into()),
                title: Some("Research mathematician".into()),
                ..Person::default()
            }
        );
        assert_eq!(
            pairs(&touchpoint.fields),
            [
                ("company", "NASA Langley"),
                ("custom.channels", "Email, Calls, Chat"),
                ("custom.go_live", "2024-06-01"),
                ("custom.newsletter", "true"),
                ("custom.partner", "acme"),
                ("custom.plan", "Enterprise"),
                (
                    "custom.rfp",
                    "https://api.typeform.com/forms/lT4Z3j/responses/a3a12ec67a1365927098a606107fac15/fields/Rf9Tg8Yh7Uj6/files/rfp.pdf"
                ),
                ("custom.team_size", "40"),
                ("first_name", "Katherine"),
                ("last_name", "Johnson"),
                ("title", "Research mathematician"),
                ("website", "https://langley.example"),
            ]
        );
        assert_eq!(
            touchpoint.attribution,
            Attribution {
                source: Some("google".into()),
                medium: Some("cpc".into()),
                campaign: Some("brand_q2".into()),
                gclid: Some("Cj0KCQjw".into()),
                ..Attribution::default()
            }
        );
        assert_eq!(pairs(&touchpoint.provider_ids), [("form_id", "lT4Z3j")]);
        assert_eq!(touchpoint.amount, None);
    }

    #[test]
    fn without_a_mapping_the_first_email_and_phone_answers_are_used() {
        let touchpoint = parse(Value::Null);
        assert_eq!(
            touchpoint.person,
            Person {
                email: Some("katherine@langley.example".into()),
                phone: Some("+17575550123".into()),
                ..Person::default()
            }
        );
        assert!(touchpoint.fields.is_empty());
        assert_eq!(touchpoint.attribution.source.as_deref(), Some("google"));
    }

    #[test]
    fn a_mapped_email_beats_the_first_email_answer() {
        let touchpoint = parse(json!({"fields": {"backup_email": "email"}}));
        assert_eq!(touchpoint.person.email.as_deref(), Some("kj@home.example"));
    }

    #[test]
    fn other_events_yield_nothing_and_incomplete_responses_are_malformed() {
        let headers = BTreeMap::new();
        let other = r#"{"event_id":"1","event_type":"form_partial_response"}"#;
        assert_eq!(
            Typeform.parse(&request(&headers, other), &Value::Null),
            Ok(vec![])
        );
        assert_eq!(
            Typeform.parse(&request(&headers, "[]"), &Value::Null),
            Ok(vec![])
        );
        for broken in [
            r#"{"event_type":"form_response","form_response":{"submitted_at":"2024-05-02T09:16:45Z"}}"#,
            r#"{"event_type":"form_response","form_response":{"token":"t","submitted_at":"soon"}}"#,
            "{",
        ] {
            assert!(matches!(
                Typeform.parse(&request(&headers, broken), &Value::Null),
                Err(ConnectorError::Malformed(_))
            ));
        }
    }

    #[test]
    fn settings_are_checked() {
        assert_eq!(Typeform.check_settings(&Value::Null), Ok(()));
        assert_eq!(
            Typeform.check_settings(&json!({"fields": {"a": "custom.a", "b": "utm_term"}})),
            Ok(())
        );
        for bad in [json!({"fields": {"a": "shoe_size"}}), json!({"refs": {}})] {
            assert!(matches!(
                Typeform.check_settings(&bad),
                Err(ConnectorError::InvalidSettings(_))
            ));
        }
    }
}
