//! The one list of target names every mapping setting uses (Standard Webhooks `fields`, Typeform
//! `fields`, Calendly `questions`, web form `fields`), so an admin learns one vocabulary, and the
//! helpers that read provider JSON into those targets.
//!
//! Targets:
//! - person keys: `email`, `phone`, `customer_id`, `first_name`, `last_name`, `name`,
//!   `company`, `title`;
//! - attribution keys: `utm_source`, `utm_medium`, `utm_campaign`, `utm_term`, `utm_content`,
//!   `referrer`, `landing_page`, `gclid`, `fbclid`, `msclkid`;
//! - lead fields: `first_name`, `last_name`, `company`, `title`, `phone` (these fill the person
//!   too), `website`, and `custom.<key>` for a custom field, the key made of letters, digits,
//!   `_` and `-`;
//! - `subject`; `summary`, or `message`, its name on a form;
//! - the amount: `amount_minor` (an integer in the currency's minor unit) with `currency`.
//!
//! Where two values land on the same target, the later one wins.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{Attribution, ConnectorError, Money, NormalizedTouchpoint};

/// Target names that fill [`crate::Person`]; those also in [`LEAD_FIELD_TARGETS`] are copied
/// to the touchpoint's `fields` too, since the doc of `fields` promises mapped lead fields.
const PERSON_TARGETS: [&str; 8] = [
    "email",
    "phone",
    "customer_id",
    "first_name",
    "last_name",
    "name",
    "company",
    "title",
];
const LEAD_FIELD_TARGETS: [&str; 6] = [
    "first_name",
    "last_name",
    "company",
    "title",
    "phone",
    "website",
];
/// The names [`Attribution::from_pairs`] reads, as targets and as the names of the hidden
/// fields and tags that carry them.
pub(crate) const ATTRIBUTION_TARGETS: [&str; 10] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "referrer",
    "landing_page",
    "gclid",
    "fbclid",
    "msclkid",
];
const OTHER_TARGETS: [&str; 5] = ["subject", "summary", "message", "amount_minor", "currency"];
pub(crate) const CUSTOM_PREFIX: &str = "custom.";

/// Refuses a mapping target that no touchpoint part answers to.
pub(crate) fn check_target(target: &str) -> Result<(), ConnectorError> {
    let known = [
        &PERSON_TARGETS[..],
        &LEAD_FIELD_TARGETS,
        &ATTRIBUTION_TARGETS,
        &OTHER_TARGETS,
    ]
    .concat()
    .contains(&target);
    let custom = target.strip_prefix(CUSTOM_PREFIX).is_some_and(|key| {
        !key.is_empty()
            && key
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
    });
    if known || custom {
        Ok(())
    } else {
        Err(ConnectorError::InvalidSettings(format!(
            "unknown target {target:?}: use a person key ({}), an attribution key ({}), {}, \
             website or custom.<key> (letters, digits, _ and -)",
            PERSON_TARGETS.join(", "),
            ATTRIBUTION_TARGETS.join(", "),
            OTHER_TARGETS.join(", "),
        )))
    }
}

/// Values a connector routed to target names, applied to a touchpoint at once.
#[derive(Debug, Default)]
pub(crate) struct Mapped {
    values: Vec<(String, String)>,
}

impl Mapped {
    pub(crate) fn push(&mut self, target: &str, value: String) {
        self.values.push((target.to_owned(), value));
    }

    pub(crate) fn push_opt(&mut self, target: &str, value: Option<String>) {
        if let Some(value) = value {
            self.push(target, value);
        }
    }

    /// Writes the values into `touchpoint`, replacing its attribution with the mapped one.
    pub(crate) fn apply(self, touchpoint: &mut NormalizedTouchpoint) {
        let mut amount_minor = None;
        let mut currency = None;
        for (target, value) in &self.values {
            if LEAD_FIELD_TARGETS.contains(&target.as_str()) || target.starts_with(CUSTOM_PREFIX) {
                touchpoint.fields.insert(target.clone(), value.clone());
            }
            match target.as_str() {
                "subject" => touchpoint.subject = Some(value.clone()),
                "summary" | "message" => touchpoint.summary = Some(value.clone()),
                "amount_minor" => amount_minor = value.parse::<i64>().ok(),
                "currency" => currency = Some(value.to_ascii_uppercase()),
                other => set_person(touchpoint, other, value),
            }
        }
        touchpoint.attribution = Attribution::from_pairs(
            self.values
                .iter()
                .filter(|(target, _)| ATTRIBUTION_TARGETS.contains(&target.as_str()))
                .map(|(target, value)| (target.as_str(), value.as_str())),
        );
        if let (Some(minor), Some(currency)) = (amount_minor, currency) {
            touchpoint.amount = Some(Money { minor, currency });
        }
    }
}

fn set_person(touchpoint: &mut NormalizedTouchpoint, target: &str, value: &str) {
    let person = &mut touchpoint.person;
    let slot = match target {
        "email" => &mut person.email,
        "phone" => &mut person.phone,
        "customer_id" => &mut person.customer_id,
        "first_name" => &mut person.first_name,
        "last_name" => &mut person.last_name,
        "name" => &mut person.name,
        "company" => &mut person.company,
        "title" => &mut person.title,
        _ => return,
    };
    *slot = Some(value.to_owned());
}

/// A JSON value as the text a CRM field holds: strings trimmed, numbers and booleans
/// written out, lists of those joined with ", "; empty, null and objects are absent.
pub(crate) fn value_text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Array(items) => items
            .iter()
            .filter(|item| !item.is_array())
            .filter_map(value_text)
            .collect::<Vec<_>>()
            .join(", "),
        Value::Null | Value::Object(_) => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// `object[key]` as text, see [`value_text`].
pub(crate) fn text_at(object: &Value, key: &str) -> Option<String> {
    object.get(key).and_then(value_text)
}

/// An RFC 3339 string, or Unix time as a number or digits: seconds, or milliseconds when too
/// large to be seconds (past the year 5000).
pub(crate) fn parse_time(value: &Value) -> Option<DateTime<Utc>> {
    const MILLIS_ABOVE: i64 = 100_000_000_000;
    let unix = match value {
        Value::Number(number) => number.as_i64()?,
        Value::String(text) => {
            let text = text.trim();
            if let Ok(parsed) = DateTime::parse_from_rfc3339(text) {
                return Some(parsed.with_timezone(&Utc));
            }
            text.parse::<i64>().ok()?
        }
        _ => return None,
    };
    if unix.abs() > MILLIS_ABOVE {
        DateTime::from_timestamp_millis(unix)
    } else {
        DateTime::from_timestamp(unix, 0)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{Channel, Direction};

    fn applied(pairs: &[(&str, &str)]) -> NormalizedTouchpoint {
        let mut mapped = Mapped::default();
        for (target, value) in pairs {
            mapped.push(target, (*value).to_owned());
        }
        let at = DateTime::from_timestamp(0, 0).unwrap();
        let mut touchpoint =
            NormalizedTouchpoint::new("x", "e", Channel::Other, Direction::Inbound, at);
        mapped.apply(&mut touchpoint);
        touchpoint
    }

    #[test]
    fn every_listed_target_is_accepted_and_others_are_refused() {
        for target in PERSON_TARGETS
            .iter()
            .chain(&LEAD_FIELD_TARGETS)
            .chain(&ATTRIBUTION_TARGETS)
            .chain(&OTHER_TARGETS)
            .chain(&["custom.team_size", "custom.a-b_1"])
        {
            assert_eq!(check_target(target), Ok(()), "{target}");
        }
        for target in [
            "shoe_size",
            "custom.",
            "custom.a b",
            "custom.x.y",
            "Email",
            "",
        ] {
            assert!(
                matches!(
                    check_target(target),
                    Err(ConnectorError::InvalidSettings(_))
                ),
                "{target}"
            );
        }
    }

    #[test]
    fn message_is_the_summary_and_later_values_win() {
        let touchpoint = applied(&[
            ("summary", "first"),
            ("message", "second"),
            ("subject", "Hello"),
            ("company", "Acme"),
            ("company", "Globex"),
        ]);
        assert_eq!(touchpoint.summary.as_deref(), Some("second"));
        assert_eq!(touchpoint.subject.as_deref(), Some("Hello"));
        assert_eq!(touchpoint.person.company.as_deref(), Some("Globex"));
        assert_eq!(touchpoint.fields["company"], "Globex");
    }

    #[test]
    fn an_amount_needs_an_integer_and_a_currency() {
        let touchpoint = applied(&[("amount_minor", "1299"), ("currency", "eur")]);
        assert_eq!(
            touchpoint.amount,
            Some(Money {
                minor: 1299,
                currency: "EUR".into()
            })
        );
        assert_eq!(applied(&[("amount_minor", "1299")]).amount, None);
        let fractional = applied(&[("amount_minor", "12.99"), ("currency", "EUR")]);
        assert_eq!(fractional.amount, None);
    }

    #[test]
    fn values_read_as_text_and_times() {
        assert_eq!(
            value_text(&json!([" a ", 1, true, null, [2], {"b": 3}])).as_deref(),
            Some("a, 1, true")
        );
        assert_eq!(value_text(&json!("  ")), None);
        assert_eq!(
            parse_time(&json!(1_700_000_000)),
            DateTime::from_timestamp(1_700_000_000, 0)
        );
        assert_eq!(
            parse_time(&json!("1700000000123")),
            DateTime::from_timestamp_millis(1_700_000_000_123)
        );
        assert_eq!(parse_time(&json!("last tuesday")), None);
    }
}
