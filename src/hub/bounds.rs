//! How much of a provider's text a touchpoint keeps. A payload can run to megabytes (a form's
//! message field, an email's body); the delivery keeps it whole for replay, and what is recorded
//! from it (the touchpoint, its audit row, the lead's fields) keeps a bounded part, cut on a
//! character boundary. A key too long to index is replaced by its digest, which still tells
//! deliveries and events apart.

use connectors::{NormalizedTouchpoint, signature};

/// A touchpoint's summary: a few paragraphs; the whole text stays in its delivery.
pub const SUMMARY_CHARS: usize = 2_000;
const SUBJECT_CHARS: usize = 500;
/// A person's details, a mapped field, a provider id, a call status.
const VALUE_CHARS: usize = 1_000;
/// Attribution values and links, which may be whole URLs.
const URL_CHARS: usize = 2_000;
/// The longest delivery or external id kept as it is; both sit in unique indexes.
const KEY_BYTES: usize = 255;

/// Cuts every text of `touchpoint` to its bound.
pub fn bound(touchpoint: &mut NormalizedTouchpoint) {
    key(&mut touchpoint.external_id);
    cut(&mut touchpoint.event, VALUE_CHARS);
    cut_some(&mut touchpoint.summary, SUMMARY_CHARS);
    cut_some(&mut touchpoint.subject, SUBJECT_CHARS);
    let person = &mut touchpoint.person;
    for text in [
        &mut person.email,
        &mut person.phone,
        &mut person.customer_id,
        &mut person.first_name,
        &mut person.last_name,
        &mut person.name,
        &mut person.company,
        &mut person.title,
    ] {
        cut_some(text, VALUE_CHARS);
    }
    let a = &mut touchpoint.attribution;
    for text in [
        &mut a.source,
        &mut a.medium,
        &mut a.campaign,
        &mut a.term,
        &mut a.content,
        &mut a.referrer,
        &mut a.landing_page,
        &mut a.gclid,
        &mut a.fbclid,
        &mut a.msclkid,
    ] {
        cut_some(text, URL_CHARS);
    }
    for value in touchpoint
        .fields
        .values_mut()
        .chain(touchpoint.provider_ids.values_mut())
    {
        cut(value, VALUE_CHARS);
    }
    if let Some(call) = &mut touchpoint.call {
        cut(&mut call.status, VALUE_CHARS);
        cut_some(&mut call.recording_url, URL_CHARS);
    }
}

/// A delivery or external id as it can be stored: itself, or its digest when too long.
pub fn key(id: &mut String) {
    if id.len() > KEY_BYTES {
        *id = signature::body_digest(id.as_bytes());
    }
}

fn cut(text: &mut String, max_chars: usize) {
    if let Some((at, _)) = text.char_indices().nth(max_chars) {
        text.truncate(at);
    }
}

fn cut_some(text: &mut Option<String>, max_chars: usize) {
    if let Some(text) = text {
        cut(text, max_chars);
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use connectors::{Channel, Direction};

    use super::*;

    #[test]
    fn long_texts_are_cut_on_a_character_boundary() {
        let mut touchpoint = NormalizedTouchpoint::new(
            "evt_1",
            "form_submitted",
            Channel::WebForm,
            Direction::Inbound,
            Utc::now(),
        );
        touchpoint.summary = Some("é".repeat(SUMMARY_CHARS + 10));
        touchpoint.subject = Some("short".into());
        touchpoint
            .fields
            .insert("custom.notes".into(), "ü".repeat(5_000));
        bound(&mut touchpoint);
        let summary = touchpoint.summary.unwrap();
        assert_eq!(summary.chars().count(), SUMMARY_CHARS);
        assert!(summary.chars().all(|c| c == 'é'));
        assert_eq!(touchpoint.subject.as_deref(), Some("short"));
        assert_eq!(
            touchpoint.fields["custom.notes"].chars().count(),
            VALUE_CHARS
        );
        assert_eq!(touchpoint.external_id, "evt_1");
    }

    #[test]
    fn an_overlong_key_becomes_its_digest_and_stays_distinct() {
        let (mut a, mut b) = ("a".repeat(10_000), format!("{}b", "a".repeat(9_999)));
        key(&mut a);
        key(&mut b);
        assert!(a.starts_with("sha256:") && a.len() <= KEY_BYTES);
        assert_ne!(a, b);
    }
}
