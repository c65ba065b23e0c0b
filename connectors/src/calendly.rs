//! Calendly: a meeting booked (or called off) by someone on a scheduling page, with the UTM
//! tags of the link that brought them.
//!
//! **What Calendly sends.** `{event, created_at, created_by, payload}`, where `payload` is the
//! invitee: `uri`, `email`, `name` (`first_name`/`last_name` when the page asks for them),
//! `text_reminder_number`, `tracking` (`utm_*`, `salesforce_uuid`), `questions_and_answers`,
//! `scheduled_event` (`uri`, `name`, `start_time`, `event_type`), and on a cancellation
//! `cancellation` and `rescheduled`. A reschedule arrives as a cancellation of the old invitee
//! plus a creation of a new one.
//!
//! **Verification.** `Calendly-Webhook-Signature: t=<unix>,v1=<hex>`: Stripe's scheme (see
//! [`signature::verify_t_v1_header`]), keyed with the subscription's signing key, with
//! Calendly's own sample window of 180 s by default.
//!
//! **External id.** Calendly sends no event id, so the delivery's external id is
//! `"{event}:{payload.uri}"`: the invitee uri names the booking and the event name keeps its
//! creation and cancellation apart. A body without an invitee uri falls back to the digest of
//! the body.
//!
//! **Touchpoints** (channel `meeting`, direction `inbound`, occurred at the envelope's
//! `created_at`): `invitee.created` and `invitee.canceled`; other events yield none.
//! external_id = the invitee uri, suffixed `#canceled` for a cancellation so the hub, which
//! keeps one touchpoint per external id, records both. Person from the invitee (phone = the
//! text reminder number), subject = the event type's name, summary = `Meeting scheduled for
//! <start>` or `Meeting canceled`, attribution from `tracking`; provider_ids
//! `scheduled_event`, `event_type`, `old_invitee`, `new_invitee`, `salesforce_uuid`.
//!
//! **Settings** (all optional):
//! - `tolerance_secs` (integer ≥ 1, default 180): how old a signature's `t` may be.
//! - `questions`: booking questions (matched trimmed, ignoring case) to mapping targets, e.g.
//!   `{"Company name": "company", "Team size": "custom.team_size"}`; the targets are the
//!   mapping vocabulary every connector shares (see `mapping`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::mapping::{Mapped, check_target, parse_time, text_at};
use crate::settings::{self, ToleranceSecs};
use crate::{
    Channel, Connector, ConnectorError, Direction, InboundRequest, NormalizedTouchpoint, Person,
    signature,
};

const SIGNATURE_HEADER: &str = "calendly-webhook-signature";
const DEFAULT_TOLERANCE: ToleranceSecs = ToleranceSecs::new(180);
const CREATED: &str = "invitee.created";
const CANCELED: &str = "invitee.canceled";

pub struct Calendly;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Settings {
    tolerance_secs: ToleranceSecs,
    /// Question text -> mapping target.
    questions: BTreeMap<String, String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            tolerance_secs: DEFAULT_TOLERANCE,
            questions: BTreeMap::new(),
        }
    }
}

impl Settings {
    fn read(value: &Value) -> Result<Self, ConnectorError> {
        let settings: Settings = settings::read(value)?;
        for target in settings.questions.values() {
            check_target(target)?;
        }
        Ok(settings)
    }

    fn target_for(&self, question: &str) -> Option<&str> {
        let question = question.trim();
        self.questions
            .iter()
            .find(|(asked, _)| asked.trim().eq_ignore_ascii_case(question))
            .map(|(_, target)| target.as_str())
    }
}

#[derive(Debug, Deserialize)]
struct Envelope {
    event: String,
    #[serde(default)]
    created_at: Value,
    #[serde(default)]
    payload: Value,
}

impl Connector for Calendly {
    fn check_settings(&self, settings: &Value) -> Result<(), ConnectorError> {
        Settings::read(settings).map(drop)
    }

    fn verify(
        &self,
        request: &InboundRequest<'_>,
        secrets: &[&str],
        now: DateTime<Utc>,
        settings: &Value,
    ) -> Result<(), ConnectorError> {
        signature::verify_t_v1_header(
            request.header(SIGNATURE_HEADER),
            request.body,
            secrets,
            now,
            Settings::read(settings)?.tolerance_secs.secs(),
        )
    }

    fn external_id(&self, request: &InboundRequest<'_>) -> Result<String, ConnectorError> {
        let envelope = read_envelope(request.body)?;
        Ok(match text_at(&envelope.payload, "uri") {
            Some(uri) => format!("{}:{uri}", envelope.event),
            None => signature::body_digest(request.body),
        })
    }

    fn parse(
        &self,
        request: &InboundRequest<'_>,
        settings: &Value,
    ) -> Result<Vec<NormalizedTouchpoint>, ConnectorError> {
        let settings = Settings::read(settings)?;
        let envelope = read_envelope(request.body)?;
        let canceled = match envelope.event.as_str() {
            CREATED => false,
            CANCELED => true,
            _ => return Ok(Vec::new()),
        };
        let invitee = &envelope.payload;
        let uri = text_at(invitee, "uri")
            .ok_or_else(|| ConnectorError::Malformed("invitee has no uri".into()))?;
        let external_id = if canceled {
            format!("{uri}#canceled")
        } else {
            uri
        };
        let mut touchpoint = NormalizedTouchpoint::new(
            external_id,
            &envelope.event,
            Channel::Meeting,
            Direction::Inbound,
            occurred_at(&envelope)?,
        );
        let meeting = &invitee["scheduled_event"];
        touchpoint.person = person(invitee);
        touchpoint.subject = text_at(meeting, "name");
        touchpoint.summary = Some(summary(meeting, canceled));
        touchpoint.provider_ids = provider_ids(invitee);
        answers(invitee, &settings).apply(&mut touchpoint);
        Ok(vec![touchpoint])
    }
}

fn read_envelope(body: &[u8]) -> Result<Envelope, ConnectorError> {
    serde_json::from_slice(body)
        .map_err(|error| ConnectorError::Malformed(format!("not a Calendly webhook: {error}")))
}

fn occurred_at(envelope: &Envelope) -> Result<DateTime<Utc>, ConnectorError> {
    parse_time(&envelope.created_at)
        .or_else(|| envelope.payload.get("updated_at").and_then(parse_time))
        .ok_or_else(|| ConnectorError::Malformed("webhook has no valid created_at".into()))
}

fn person(invitee: &Value) -> Person {
    Person {
        email: text_at(invitee, "email"),
        phone: text_at(invitee, "text_reminder_number"),
        first_name: text_at(invitee, "first_name"),
        last_name: text_at(invitee, "last_name"),
        name: text_at(invitee, "name"),
        ..Person::default()
    }
}

fn summary(meeting: &Value, canceled: bool) -> String {
    if canceled {
        return "Meeting canceled".to_owned();
    }
    let start = meeting.get("start_time").and_then(|start| {
        parse_time(start)
            .map(|start| start.format("%Y-%m-%d %H:%M UTC").to_string())
            .or_else(|| text_at(meeting, "start_time"))
    });
    match start {
        Some(start) => format!("Meeting scheduled for {start}"),
        None => "Meeting scheduled".to_owned(),
    }
}

fn provider_ids(invitee: &Value) -> BTreeMap<String, String> {
    let meeting = &invitee["scheduled_event"];
    let ids = [
        ("scheduled_event", text_at(meeting, "uri")),
        ("event_type", text_at(meeting, "event_type")),
        ("old_invitee", text_at(invitee, "old_invitee")),
        ("new_invitee", text_at(invitee, "new_invitee")),
        (
            "salesforce_uuid",
            text_at(&invitee["tracking"], "salesforce_uuid"),
        ),
    ];
    ids.into_iter()
        .filter_map(|(name, id)| Some((name.to_owned(), id?)))
        .collect()
}

/// The tracking tags, then the booking answers the settings map; both land through
/// [`Mapped`] so a question mapped to `utm_source` works like the tag.
fn answers(invitee: &Value, settings: &Settings) -> Mapped {
    let mut mapped = Mapped::default();
    if let Some(tracking) = invitee["tracking"].as_object() {
        // Only the tags: `salesforce_uuid` is an id, kept in provider_ids.
        let tags = tracking.iter().filter(|(key, _)| key.starts_with("utm_"));
        for (key, value) in tags {
            mapped.push_opt(key, value.as_str().map(str::to_owned));
        }
    }
    let answered = invitee["questions_and_answers"].as_array();
    for item in answered.into_iter().flatten() {
        let target = text_at(item, "question")
            .and_then(|question| settings.target_for(&question).map(str::to_owned));
        if let Some(target) = target {
            mapped.push_opt(&target, text_at(item, "answer"));
        }
    }
    mapped
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::Attribution;
    use crate::signature::hmac_sha256;

    /// When the hub received the tests' requests.
    fn received_at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    const KEY: &str = "kz9Qp3vXa7LmT2wRbN5cYd8Ef1Gh4Jk6";
    const OLD_KEY: &str = "previous-signing-key-0001";
    const NOW: i64 = 1_714_658_600;
    const CREATED_BODY: &str = include_str!("../tests/fixtures/calendly/invitee_created.json");
    const CANCELED_BODY: &str = include_str!("../tests/fixtures/calendly/invitee_canceled.json");
    const INVITEE: &str =
        "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2/invitees/AAAAAAAAAAAAAAAA";

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    fn signed(key: &str, timestamp: i64, body: &str) -> BTreeMap<String, String> {
        let t = timestamp.to_string();
        let digest = hmac_sha256(key.as_bytes(), &[t.as_bytes(), b".", body.as_bytes()]);
        let value = format!("t={t},v1={}", hex::encode(digest));
        BTreeMap::from([(SIGNATURE_HEADER.to_owned(), value)])
    }

    fn request<'a>(headers: &'a BTreeMap<String, String>, body: &'a str) -> InboundRequest<'a> {
        InboundRequest {
            headers,
            body: body.as_bytes(),
            url: "https://crm.example.com/hooks/calendly",
            received_at: received_at(),
        }
    }

    fn verify(headers: &BTreeMap<String, String>, body: &str) -> Result<(), ConnectorError> {
        Calendly.verify(
            &request(headers, body),
            &[KEY, OLD_KEY],
            at(NOW),
            &Value::Null,
        )
    }

    fn is_bad_signature(result: Result<(), ConnectorError>) -> bool {
        matches!(result, Err(ConnectorError::BadSignature(_)))
    }

    fn parse(body: &str, settings: Value) -> NormalizedTouchpoint {
        let headers = BTreeMap::new();
        let mut touchpoints = Calendly.parse(&request(&headers, body), &settings).unwrap();
        assert_eq!(touchpoints.len(), 1);
        touchpoints.remove(0)
    }

    #[test]
    fn a_signed_booking_is_accepted_with_either_key() {
        assert_eq!(
            verify(&signed(KEY, NOW - 60, CREATED_BODY), CREATED_BODY),
            Ok(())
        );
        assert_eq!(
            verify(&signed(OLD_KEY, NOW, CREATED_BODY), CREATED_BODY),
            Ok(())
        );
    }

    #[test]
    fn tampering_a_wrong_key_and_a_missing_header_are_refused() {
        let headers = signed(KEY, NOW, CREATED_BODY);
        let tampered = CREATED_BODY.replace("grace.hopper", "mallory");
        assert!(is_bad_signature(verify(&headers, &tampered)));
        assert!(is_bad_signature(verify(
            &signed("not-the-key", NOW, CREATED_BODY),
            CREATED_BODY
        )));
        assert!(is_bad_signature(verify(&BTreeMap::new(), CREATED_BODY)));
        let garbled = BTreeMap::from([(SIGNATURE_HEADER.to_owned(), "sha256=abc".to_owned())]);
        assert!(is_bad_signature(verify(&garbled, CREATED_BODY)));
        let request = request(&headers, CREATED_BODY);
        let no_keys = Calendly.verify(&request, &[], at(NOW), &Value::Null);
        assert!(is_bad_signature(no_keys));
    }

    #[test]
    fn a_stale_timestamp_is_refused_unless_the_setting_allows_it() {
        let stale = signed(KEY, NOW - 181, CREATED_BODY);
        assert!(is_bad_signature(verify(&stale, CREATED_BODY)));
        let wide = json!({"tolerance_secs": 300});
        let stale = request(&stale, CREATED_BODY);
        assert_eq!(Calendly.verify(&stale, &[KEY], at(NOW), &wide), Ok(()));
    }

    #[test]
    fn a_narrower_tolerance_refuses_what_the_default_accepts() {
        let recent = signed(KEY, NOW - 120, CREATED_BODY);
        assert_eq!(verify(&recent, CREATED_BODY), Ok(()));
        let narrow = json!({"tolerance_secs": 60});
        let recent = request(&recent, CREATED_BODY);
        assert!(is_bad_signature(Calendly.verify(
            &recent,
            &[KEY],
            at(NOW),
            &narrow
        )));
        let unusable = json!({"tolerance_secs": 0});
        assert!(matches!(
            Calendly.verify(&recent, &[KEY], at(NOW), &unusable),
            Err(ConnectorError::InvalidSettings(_))
        ));
    }

    #[test]
    fn external_ids_tell_creation_from_cancellation() {
        let headers = BTreeMap::new();
        let created = Calendly
            .external_id(&request(&headers, CREATED_BODY))
            .unwrap();
        let canceled = Calendly
            .external_id(&request(&headers, CANCELED_BODY))
            .unwrap();
        assert_eq!(created, format!("invitee.created:{INVITEE}"));
        assert_eq!(canceled, format!("invitee.canceled:{INVITEE}"));
        let no_uri = r#"{"event":"routing_form_submission.created","payload":{}}"#;
        assert_eq!(
            Calendly.external_id(&request(&headers, no_uri)),
            Ok(signature::body_digest(no_uri.as_bytes()))
        );
        assert!(matches!(
            Calendly.external_id(&request(&headers, "{")),
            Err(ConnectorError::Malformed(_))
        ));
    }

    #[test]
    fn a_booking_becomes_a_meeting_touchpoint() {
        let settings = json!({"questions": {
            "company name": "company",
            "How many seats do you need?": "custom.seats"
        }});
        let touchpoint = parse(CREATED_BODY, settings);
        assert_eq!(touchpoint.external_id, INVITEE);
        assert_eq!(touchpoint.event, "invitee.created");
        assert_eq!(touchpoint.channel, Channel::Meeting);
        assert_eq!(touchpoint.direction, Direction::Inbound);
        assert_eq!(touchpoint.occurred_at, at(1_714_658_591));
        assert_eq!(
            touchpoint.person,
            Person {
                email: Some("grace.hopper@navy.example".into()),
                phone: Some("+1 202-555-0143".into()),
                first_name: Some("Grace".into()),
                last_name: Some("Hopper".into()),
                name: Some("Grace Hopper".into()),
                company: Some("COBOL Systems Inc.".into()),
                ..Person::default()
            }
        );
        assert_eq!(
            touchpoint.subject.as_deref(),
            Some("30 Minute Discovery Call")
        );
        assert_eq!(
            touchpoint.summary.as_deref(),
            Some("Meeting scheduled for 2024-05-09 15:00 UTC")
        );
        assert_eq!(
            touchpoint.attribution,
            Attribution {
                source: Some("linkedin".into()),
                medium: Some("social".into()),
                campaign: Some("webinar_may".into()),
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
            [("company", "COBOL Systems Inc."), ("custom.seats", "25")]
        );
        let ids: Vec<&str> = touchpoint.provider_ids.keys().map(String::as_str).collect();
        assert_eq!(ids, ["event_type", "salesforce_uuid", "scheduled_event"]);
        assert_eq!(
            touchpoint.provider_ids["scheduled_event"],
            "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2"
        );
        assert_eq!(touchpoint.amount, None);
        assert_eq!(touchpoint.flag, None);
    }

    #[test]
    fn a_cancellation_is_its_own_touchpoint() {
        let touchpoint = parse(CANCELED_BODY, Value::Null);
        assert_eq!(touchpoint.external_id, format!("{INVITEE}#canceled"));
        assert_eq!(touchpoint.event, "invitee.canceled");
        assert_eq!(touchpoint.summary.as_deref(), Some("Meeting canceled"));
        assert_eq!(touchpoint.occurred_at, at(1_714_900_000));
        assert_eq!(
            touchpoint.person.email.as_deref(),
            Some("grace.hopper@navy.example")
        );
        assert_eq!(touchpoint.person.first_name, None);
        assert_eq!(touchpoint.person.phone, None);
        assert!(touchpoint.fields.is_empty());
        assert_eq!(
            touchpoint.provider_ids["new_invitee"],
            "https://api.calendly.com/scheduled_events/HHHHDCAADAEDCRZ9/invitees/BBBBBBBBBBBBBBBB"
        );
    }

    #[test]
    fn other_events_yield_nothing_and_broken_ones_are_malformed() {
        let headers = BTreeMap::new();
        let other = r#"{"event":"invitee_no_show.created","payload":{"uri":"x"}}"#;
        assert_eq!(
            Calendly.parse(&request(&headers, other), &Value::Null),
            Ok(vec![])
        );
        for broken in [
            r#"{"event":"invitee.created","created_at":"2024-05-02T14:03:11Z","payload":{}}"#,
            r#"{"event":"invitee.created","payload":{"uri":"x"}}"#,
            r#"{"payload":{}}"#,
        ] {
            assert!(matches!(
                Calendly.parse(&request(&headers, broken), &Value::Null),
                Err(ConnectorError::Malformed(_))
            ));
        }
    }

    #[test]
    fn settings_are_checked() {
        assert_eq!(Calendly.check_settings(&Value::Null), Ok(()));
        assert_eq!(
            Calendly.check_settings(&json!({"tolerance_secs": 60, "questions": {"Role": "title"}})),
            Ok(())
        );
        for bad in [
            json!({"tolerance_secs": 0}),
            json!({"questions": {"Role": "job"}}),
            json!({"question": {}}),
        ] {
            assert!(matches!(
                Calendly.check_settings(&bad),
                Err(ConnectorError::InvalidSettings(_))
            ));
        }
    }
}
