//! A plain HTML form (or a script posting one) sent straight to the hub: a contact, demo or
//! quote request from the company's own site.
//!
//! **What arrives.** A browser's POST, `application/x-www-form-urlencoded` (a repeated name, as
//! a checkbox group sends it, has its values joined with ", "), or a JSON object whose members
//! are strings, numbers, booleans or arrays of those (`null` counts as absent). Other bodies
//! (multipart, `text/plain`) are `Malformed`. Values are trimmed; empty ones count as absent.
//!
//! **Verification.** A browser cannot keep a secret, so none is required. If one is configured
//! anyway (for a server-side script that relays the form), the request must present it in the
//! `x-touchbase-form-secret` header or a `_secret` field, compared in constant time; `_secret`
//! never reaches the touchpoint, and the hub stores both masked (see `credentials`). Bodies over
//! 64 KiB are refused. Spam is the job of the honeypot field, not of verification.
//! Without a secret the gateway records submissions as unverified: they may make new leads but
//! change nothing on existing ones, since anyone can post someone else's email address.
//!
//! **Touchpoints.** One per submission: channel `WebForm`, Inbound, event from the settings,
//! occurred when the hub received it (a form carries no trustworthy time of its own). A filled
//! honeypot field gives none. Each field goes where the settings map it, else where its common
//! name says (`email`, `e-mail`, `email_address`; `phone`, `phone_number`; `first_name`,
//! `firstname`, `given_name`; `last_name`, `lastname`, `family_name`; `name`, `full_name`;
//! `company`, `organization`, `organisation`; `title`, `job_title`; `website`; `subject`;
//! `message`, `comments`, `comment`; compared ignoring case, with `-` and spaces read as `_`).
//! Targets are the mapping vocabulary every connector shares (see `mapping`): `email`, `name`
//! and `customer_id` fill the person; `phone`, `first_name`, `last_name`, `company`, `title`
//! fill the person and the same lead field; `website` and `custom.<key>` fill lead fields;
//! `subject` is the subject and `message` (or `summary`) the summary; the attribution keys and
//! `amount_minor` with `currency` are accepted too. Hidden fields `utm_source` …
//! `utm_content`, `gclid`, `fbclid`, `msclkid`, `referrer` and `landing_page` (any case) are
//! the attribution, whatever else they are mapped to; without a landing page the `Referer`
//! header (the page the form sits on) is the landing page. Browsers' default referrer policy
//! sends only the origin to another site, so a form wanting the full page URL posts it in a
//! `landing_page` hidden field. Fields starting with `_` (`_gotcha`, `_next`), the honeypot
//! and `submission_id` are form plumbing, used only where the settings map them explicitly;
//! `_secret` is never used. Any other field is dropped unless `keep_unmapped` is set, then it
//! is kept as `custom.<field name>`.
//!
//! **External ids.** A `submission_id` field when the form sends one (a
//! double-clicked submit then counts once), else the body digest (the delivery's of the body as
//! received, the touchpoint's of the body as stored, its secret masked).
//!
//! **Settings** (all optional):
//! - `fields`: form field name -> mapping target (`email`, `phone`, `first_name`, `last_name`,
//!   `name`, `company`, `title`, `website`, `subject`, `message`, `custom.<key>` with a key of
//!   letters, digits, `_` and `-`, and the rest of the shared vocabulary); exact field names,
//!   consulted before the common names.
//! - `honeypot`: the field bots fill and people never see, default `_gotcha`; `""` disables it.
//! - `event`: the touchpoint's event name, default `form_submitted`.
//! - `keep_unmapped`: keep fields nothing maps as `custom.<field name>`, default false.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::credentials::Places;
use crate::mapping::{ATTRIBUTION_TARGETS, CUSTOM_PREFIX, Mapped, check_target};
use crate::{
    Channel, Connector, ConnectorError, Direction, FormEncoding, InboundRequest, KIB,
    NormalizedTouchpoint,
};
use crate::{settings, signature};

pub struct WebForm;

const SECRET_HEADER: &str = "x-touchbase-form-secret";
const SECRET_FIELD: &str = "_secret";
const SUBMISSION_ID_FIELD: &str = "submission_id";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Settings {
    /// Field name -> mapping target.
    fields: BTreeMap<String, String>,
    honeypot: String,
    event: String,
    keep_unmapped: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            fields: BTreeMap::new(),
            honeypot: "_gotcha".into(),
            event: "form_submitted".into(),
            keep_unmapped: false,
        }
    }
}

impl Settings {
    fn read(value: &Value) -> Result<Self, ConnectorError> {
        let settings: Settings = settings::read(value)?;
        if settings.event.trim().is_empty() {
            return Err(ConnectorError::InvalidSettings(
                "event must not be empty".into(),
            ));
        }
        for target in settings.fields.values() {
            check_target(target)?;
        }
        Ok(settings)
    }

    /// Fields that steer the form service rather than describe the person.
    fn is_plumbing(&self, name: &str) -> bool {
        name.starts_with('_')
            || name == SUBMISSION_ID_FIELD
            || (!self.honeypot.is_empty() && name == self.honeypot)
    }

    fn caught_spam(&self, form: &FormFields) -> bool {
        !self.honeypot.is_empty() && form.get(&self.honeypot).is_some()
    }
}

/// The target a field's usual name implies, so a plain form needs no settings.
fn common_target(name: &str) -> Option<&'static str> {
    let name = name.trim().to_ascii_lowercase().replace(['-', ' '], "_");
    let target = match name.as_str() {
        "email" | "e_mail" | "email_address" => "email",
        "phone" | "phone_number" => "phone",
        "first_name" | "firstname" | "given_name" => "first_name",
        "last_name" | "lastname" | "family_name" => "last_name",
        "name" | "full_name" => "name",
        "company" | "organization" | "organisation" => "company",
        "title" | "job_title" => "title",
        "website" => "website",
        "subject" => "subject",
        "message" | "comments" | "comment" => "message",
        _ => return None,
    };
    Some(target)
}

/// A submission's non-empty fields, trimmed, in the order the form sent them.
struct FormFields(Vec<(String, String)>);

impl FormFields {
    fn read(request: &InboundRequest<'_>) -> Result<Self, ConnectorError> {
        let pairs = match request.form_encoding() {
            FormEncoding::Urlencoded => urlencoded_pairs(request.body),
            FormEncoding::Json => json_pairs(request.body)?,
            FormEncoding::Unsupported(other) => {
                return Err(ConnectorError::Malformed(format!(
                    "a form body must be urlencoded or JSON, not {other}"
                )));
            }
        };
        Ok(Self::gather(pairs))
    }

    /// Joins a repeated name's values, keeping the first position, and drops empty values.
    fn gather(pairs: Vec<(String, String)>) -> Self {
        let mut fields: Vec<(String, String)> = Vec::new();
        for (name, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match fields.iter_mut().find(|(seen, _)| *seen == name) {
                Some((_, joined)) => {
                    joined.push_str(", ");
                    joined.push_str(value);
                }
                None => fields.push((name, value.to_owned())),
            }
        }
        FormFields(fields)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The key the submission is stored under, and recorded as, once.
    fn submission_id(&self, body: &[u8]) -> String {
        self.get(SUBMISSION_ID_FIELD)
            .map_or_else(|| signature::body_digest(body), str::to_owned)
    }
}

fn urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

fn json_pairs(body: &[u8]) -> Result<Vec<(String, String)>, ConnectorError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| ConnectorError::Malformed(format!("body is not JSON: {error}")))?;
    let Value::Object(object) = value else {
        return Err(ConnectorError::Malformed(
            "JSON body is not an object".into(),
        ));
    };
    let mut pairs = Vec::new();
    for (name, value) in object {
        let values = match value {
            Value::Array(items) => items,
            single => vec![single],
        };
        for item in values {
            if let Some(text) = scalar_text(&name, item)? {
                pairs.push((name.clone(), text));
            }
        }
    }
    Ok(pairs)
}

fn scalar_text(name: &str, value: Value) -> Result<Option<String>, ConnectorError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text)),
        Value::Number(number) => Ok(Some(number.to_string())),
        Value::Bool(flag) => Ok(Some(flag.to_string())),
        Value::Array(_) | Value::Object(_) => Err(ConnectorError::Malformed(format!(
            "field {name:?} is not a string, number, boolean or list of those"
        ))),
    }
}

impl Connector for WebForm {
    fn requires_secret(&self) -> bool {
        false
    }

    /// A form is a few fields a person typed.
    fn max_body_bytes(&self) -> usize {
        64 * KIB
    }

    fn credentials(&self) -> Places {
        Places {
            headers: &[SECRET_HEADER],
            query: &[],
            fields: &[SECRET_FIELD],
        }
    }

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
        if secrets.is_empty() {
            return Ok(());
        }
        let from_header = request
            .header(SECRET_HEADER)
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned);
        // An unreadable body presents no field; refusing it here says nothing about its shape.
        let presented = from_header.or_else(|| {
            FormFields::read(request)
                .ok()
                .and_then(|form| form.get(SECRET_FIELD).map(str::to_owned))
        });
        signature::check_presented(presented.as_deref(), secrets)
    }

    fn external_id(&self, request: &InboundRequest<'_>) -> Result<String, ConnectorError> {
        Ok(FormFields::read(request)?.submission_id(request.body))
    }

    fn parse(
        &self,
        request: &InboundRequest<'_>,
        settings: &Value,
    ) -> Result<Vec<NormalizedTouchpoint>, ConnectorError> {
        let settings = Settings::read(settings)?;
        let form = FormFields::read(request)?;
        if settings.caught_spam(&form) {
            return Ok(Vec::new());
        }
        let mut touchpoint = NormalizedTouchpoint::new(
            form.submission_id(request.body),
            settings.event.trim(),
            Channel::WebForm,
            Direction::Inbound,
            request.received_at,
        );
        let mut mapped = Mapped::default();
        for (name, value) in &form.0 {
            map_field(&settings, &mut mapped, name, value);
        }
        mapped.apply(&mut touchpoint);
        let attribution = &mut touchpoint.attribution;
        if attribution.landing_page.is_none() {
            attribution.landing_page = request
                .header("referer")
                .map(str::trim)
                .filter(|page| !page.is_empty())
                .map(str::to_owned);
        }
        Ok(vec![touchpoint])
    }
}

/// Routes one field. An attribution field always counts as attribution; beyond that the
/// admin's mapping wins, even for a `_` field (`_subject`), but never for `_secret`; plumbing
/// is skipped before the common names are tried.
fn map_field(settings: &Settings, mapped: &mut Mapped, name: &str, value: &str) {
    if name == SECRET_FIELD {
        return;
    }
    let attribution_key = name.to_ascii_lowercase();
    let is_attribution = ATTRIBUTION_TARGETS.contains(&attribution_key.as_str());
    if is_attribution {
        mapped.push(&attribution_key, value.to_owned());
    }
    if let Some(target) = settings.fields.get(name) {
        return mapped.push(target, value.to_owned());
    }
    if settings.is_plumbing(name) {
        return;
    }
    match common_target(name) {
        Some(target) => mapped.push(target, value.to_owned()),
        None if settings.keep_unmapped && !is_attribution => {
            mapped.push(&format!("{CUSTOM_PREFIX}{name}"), value.to_owned());
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::Attribution;

    const CONTACT: &str = include_str!("../tests/fixtures/web_form/contact.form");
    const DEMO_REQUEST: &str = include_str!("../tests/fixtures/web_form/demo_request.json");
    const URL: &str = "https://crm.example.com/hooks/forms/contact";
    const FORM_PAGE: &str = "https://example.com/contact?utm_source=google";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn headers(content_type: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("content-type".to_owned(), content_type.to_owned()),
            ("referer".to_owned(), FORM_PAGE.to_owned()),
        ])
    }

    fn form_headers() -> BTreeMap<String, String> {
        headers("application/x-www-form-urlencoded")
    }

    fn json_headers() -> BTreeMap<String, String> {
        headers("application/json")
    }

    fn request<'a>(headers: &'a BTreeMap<String, String>, body: &'a str) -> InboundRequest<'a> {
        InboundRequest {
            headers,
            body: body.as_bytes(),
            url: URL,
            received_at: now(),
        }
    }

    fn parse(
        headers: &BTreeMap<String, String>,
        body: &str,
        settings: Value,
    ) -> Result<Vec<NormalizedTouchpoint>, ConnectorError> {
        WebForm.parse(&request(headers, body), &settings)
    }

    fn parse_one(
        headers: &BTreeMap<String, String>,
        body: &str,
        settings: Value,
    ) -> NormalizedTouchpoint {
        let touchpoints = parse(headers, body, settings).unwrap();
        assert_eq!(touchpoints.len(), 1, "{touchpoints:?}");
        touchpoints.into_iter().next().unwrap()
    }

    fn pairs(map: &BTreeMap<String, String>) -> Vec<(&str, &str)> {
        map.iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect()
    }

    fn verify(
        headers: &BTreeMap<String, String>,
        body: &str,
        secrets: &[&str],
    ) -> Result<(), ConnectorError> {
        WebForm.verify(&request(headers, body), secrets, now(), &Value::Null)
    }

    #[test]
    fn browser_post_needs_no_secret() {
        assert!(!WebForm.requires_secret());
        assert_eq!(verify(&form_headers(), CONTACT, &[]), Ok(()));
    }

    #[test]
    fn configured_secret_is_accepted_from_header_or_field() {
        let mut headers = form_headers();
        headers.insert(SECRET_HEADER.into(), "form-s3cret".into());
        assert_eq!(verify(&headers, CONTACT, &["form-s3cret"]), Ok(()));
        assert_eq!(
            verify(&json_headers(), DEMO_REQUEST, &["form-s3cret"]),
            Ok(())
        );
        let with_field = format!("{CONTACT}&_secret=form-s3cret");
        assert_eq!(
            verify(&form_headers(), &with_field, &["form-s3cret"]),
            Ok(())
        );
    }

    #[test]
    fn previous_secret_is_accepted_during_rotation() {
        assert_eq!(
            verify(
                &json_headers(),
                DEMO_REQUEST,
                &["new-secret", "form-s3cret"]
            ),
            Ok(())
        );
    }

    #[test]
    fn wrong_or_missing_secret_is_refused() {
        assert!(matches!(
            verify(&json_headers(), DEMO_REQUEST, &["other"]),
            Err(ConnectorError::BadSignature(_))
        ));
        assert!(matches!(
            verify(&form_headers(), CONTACT, &["form-s3cret"]),
            Err(ConnectorError::BadSignature(_))
        ));
        let mut headers = form_headers();
        headers.insert(SECRET_HEADER.into(), "form-s3cre".into());
        assert!(verify(&headers, CONTACT, &["form-s3cret"]).is_err());
        assert!(verify(&json_headers(), "{not json", &["form-s3cret"]).is_err());
    }

    #[test]
    fn contact_form_is_parsed_field_by_field_without_settings() {
        let touchpoint = parse_one(&form_headers(), CONTACT, Value::Null);
        assert_eq!(
            touchpoint.external_id,
            signature::body_digest(CONTACT.as_bytes())
        );
        assert_eq!(touchpoint.sequence, None);
        assert_eq!(touchpoint.event, "form_submitted");
        assert_eq!(touchpoint.channel, Channel::WebForm);
        assert_eq!(touchpoint.direction, Direction::Inbound);
        assert_eq!(touchpoint.occurred_at, now());
        let person = &touchpoint.person;
        assert_eq!(person.email.as_deref(), Some("ada@example.com"));
        assert_eq!(person.phone.as_deref(), Some("+44 20 7946 0958"));
        assert_eq!(person.first_name.as_deref(), Some("Ada"));
        assert_eq!(person.last_name.as_deref(), Some("Lovelace"));
        assert_eq!(person.name, None);
        assert_eq!(person.company.as_deref(), Some("Analytical Engines Ltd"));
        assert_eq!(person.title.as_deref(), Some("CTO"));
        assert_eq!(person.customer_id, None);
        assert_eq!(touchpoint.subject, None);
        assert_eq!(
            touchpoint.summary.as_deref(),
            Some("We would like a demo for 12 seats.")
        );
        assert_eq!(
            pairs(&touchpoint.fields),
            [
                ("company", "Analytical Engines Ltd"),
                ("first_name", "Ada"),
                ("last_name", "Lovelace"),
                ("phone", "+44 20 7946 0958"),
                ("title", "CTO"),
            ]
        );
        assert_eq!(
            touchpoint.attribution,
            Attribution {
                source: Some("google".into()),
                medium: Some("cpc".into()),
                campaign: Some("spring_launch".into()),
                term: Some("crm software".into()),
                gclid: Some("EAIaIQobChMI3".into()),
                landing_page: Some(FORM_PAGE.into()),
                ..Attribution::default()
            }
        );
        assert_eq!(touchpoint.amount, None);
        assert_eq!(touchpoint.flag, None);
        assert_eq!(touchpoint.call, None);
        assert!(touchpoint.provider_ids.is_empty());
    }

    #[test]
    fn unmapped_fields_are_kept_only_when_asked() {
        let touchpoint = parse_one(&form_headers(), CONTACT, json!({"keep_unmapped": true}));
        assert_eq!(
            pairs(&touchpoint.fields),
            [
                ("company", "Analytical Engines Ltd"),
                ("custom.budget", "5000"),
                ("custom.interests", "crm, telephony"),
                ("first_name", "Ada"),
                ("last_name", "Lovelace"),
                ("phone", "+44 20 7946 0958"),
                ("title", "CTO"),
            ]
        );
    }

    #[test]
    fn json_submission_follows_the_mapping() {
        let settings = json!({
            "fields": {
                "work_email": "email",
                "team_size": "custom.team_size",
                "topics": "custom.topics",
            },
            "event": "demo_requested",
        });
        let touchpoint = parse_one(&json_headers(), DEMO_REQUEST, settings);
        assert_eq!(touchpoint.external_id, "sub_8f14e45f");
        assert_eq!(touchpoint.event, "demo_requested");
        assert_eq!(
            touchpoint.person.email.as_deref(),
            Some("grace@example.org")
        );
        assert_eq!(touchpoint.person.name.as_deref(), Some("Grace Hopper"));
        assert_eq!(touchpoint.person.company.as_deref(), Some("Remington Rand"));
        assert_eq!(
            pairs(&touchpoint.fields),
            [
                ("company", "Remington Rand"),
                ("custom.team_size", "25"),
                ("custom.topics", "billing, sms"),
            ]
        );
        assert_eq!(
            touchpoint.attribution,
            Attribution {
                source: Some("hn".into()),
                referrer: Some("https://news.ycombinator.com/".into()),
                landing_page: Some("https://example.com/pricing?plan=pro".into()),
                fbclid: Some("IwAR0abc".into()),
                ..Attribution::default()
            }
        );
    }

    #[test]
    fn secret_field_never_reaches_the_touchpoint() {
        let touchpoint = parse_one(
            &json_headers(),
            DEMO_REQUEST,
            json!({"keep_unmapped": true}),
        );
        assert!(
            touchpoint
                .fields
                .values()
                .all(|value| value != "form-s3cret")
        );
        assert_eq!(touchpoint.fields["custom.newsletter"], "true");
        assert!(!touchpoint.fields.contains_key("custom.submission_id"));
    }

    #[test]
    fn plumbing_fields_count_only_when_mapped() {
        let body = "email=a%40b.c&_subject=Pricing+question&_secret=s&submission_id=42";
        let settings = json!({"fields": {"_subject": "subject", "_secret": "message"}});
        let touchpoint = parse_one(&form_headers(), body, settings);
        assert_eq!(touchpoint.subject.as_deref(), Some("Pricing question"));
        assert_eq!(touchpoint.summary, None);
        assert_eq!(touchpoint.external_id, "42");

        let touchpoint = parse_one(&form_headers(), body, json!({"keep_unmapped": true}));
        assert_eq!(touchpoint.subject, None);
        assert!(touchpoint.fields.is_empty());
    }

    #[test]
    fn the_shared_mapping_vocabulary_reaches_form_fields() {
        let body = "notes=Call+me&campaign_code=spring&crm_id=cus_42&Utm_Source=ads";
        let settings = json!({"fields": {
            "notes": "message",
            "campaign_code": "utm_campaign",
            "crm_id": "customer_id",
        }});
        let touchpoint = parse_one(&form_headers(), body, settings);
        assert_eq!(touchpoint.summary.as_deref(), Some("Call me"));
        assert_eq!(touchpoint.person.customer_id.as_deref(), Some("cus_42"));
        assert_eq!(
            touchpoint.attribution,
            Attribution {
                source: Some("ads".into()),
                campaign: Some("spring".into()),
                landing_page: Some(FORM_PAGE.into()),
                ..Attribution::default()
            }
        );
        assert!(touchpoint.fields.is_empty());
    }

    #[test]
    fn filled_honeypot_is_spam() {
        let spam = CONTACT.replace("_gotcha=", "_gotcha=http%3A%2F%2Fcheap.example");
        assert_eq!(parse(&form_headers(), &spam, Value::Null), Ok(Vec::new()));

        let spam = format!("{CONTACT}&fax=123");
        assert_eq!(
            parse(&form_headers(), &spam, json!({"honeypot": "fax"})),
            Ok(Vec::new())
        );
        let kept = parse(&form_headers(), &spam, json!({"honeypot": ""})).unwrap();
        assert_eq!(kept.len(), 1);
    }

    #[test]
    fn external_id_is_the_submission_id_or_the_digest() {
        let json = json_headers();
        assert_eq!(
            WebForm.external_id(&request(&json, DEMO_REQUEST)),
            Ok("sub_8f14e45f".into())
        );
        let form = form_headers();
        let id = WebForm.external_id(&request(&form, CONTACT));
        assert_eq!(id, Ok(signature::body_digest(CONTACT.as_bytes())));
        assert_eq!(id, WebForm.external_id(&request(&form, CONTACT)));
    }

    #[test]
    fn body_without_content_type_is_sniffed() {
        let mut headers = form_headers();
        headers.remove("content-type");
        assert_eq!(
            parse_one(&headers, CONTACT, Value::Null)
                .person
                .first_name
                .as_deref(),
            Some("Ada")
        );
        assert_eq!(
            parse_one(&headers, DEMO_REQUEST, Value::Null).external_id,
            "sub_8f14e45f"
        );
    }

    #[test]
    fn unreadable_submissions_are_malformed() {
        let malformed = |headers: &BTreeMap<String, String>, body: &str| {
            matches!(
                parse(headers, body, Value::Null),
                Err(ConnectorError::Malformed(_))
            )
        };
        assert!(malformed(
            &json_headers(),
            r#"{"email": {"work": "a@b.c"}}"#
        ));
        assert!(malformed(&json_headers(), r#"["a@b.c"]"#));
        assert!(malformed(
            &headers("multipart/form-data; boundary=x"),
            "--x--"
        ));
    }

    #[test]
    fn settings_are_checked() {
        let check = |settings: Value| WebForm.check_settings(&settings);
        assert_eq!(check(Value::Null), Ok(()));
        assert_eq!(
            check(json!({
                "fields": {"a": "custom.a-b_1", "b": "message"},
                "honeypot": "hp",
                "event": "x",
                "keep_unmapped": true,
            })),
            Ok(())
        );
        for bad in [
            json!({"fields": {"a": "shoe_size"}}),
            json!({"fields": {"a": "custom."}}),
            json!({"fields": {"a": "custom.a b"}}),
            json!({"event": " "}),
            json!({"mapping": {}}),
            json!({"keep_unmapped": "yes"}),
        ] {
            assert!(
                matches!(check(bad.clone()), Err(ConnectorError::InvalidSettings(_))),
                "{bad}"
            );
        }
    }
}
