//! Match keys: short keys a record is filed under so that its likely duplicates are found by
//! index instead of by reading a whole table: its email, its phone, the start of its folded
//! last name with a first initial, the start of its first name with its company's, its
//! company's folded name and its domain. Keys only pick the records worth comparing; which of
//! them are duplicates is decided elsewhere (dedupe rules).
//!
//! People (leads and contacts) share key spellings, so a new lead finds the contact it already
//! is.

use crate::{company::company as company_name, fold::fold};

/// Longest key kept, in characters: longer values are cut (a key only picks candidates).
pub const KEY_CHARS: usize = 200;

/// The keys of a person: a lead or a contact. `email` and `phone` are canonical already; a
/// phone that is not E.164 (a raw sender id) files no key.
pub fn person(
    email: Option<&str>,
    phone: Option<&str>,
    first_name: Option<&str>,
    last_name: Option<&str>,
    company: Option<&str>,
) -> Vec<String> {
    let first = first_name.map(fold).unwrap_or_default();
    let last = last_name.map(fold).unwrap_or_default();
    let company = company.map(company_name).unwrap_or_default();
    let mut keys = Vec::new();
    if let Some(email) = email.filter(|e| !e.is_empty()) {
        keys.push(key("email", &[email]));
    }
    if let Some(phone) = phone.filter(|p| p.starts_with('+')) {
        keys.push(key("phone", &[phone]));
    }
    if !last.is_empty() && !first.is_empty() {
        keys.push(key("name", &[start(&last, 4), start(&first, 1)]));
    }
    if !first.is_empty() && !company.is_empty() {
        keys.push(key("first", &[start(&first, 3), start(&company, 3)]));
    }
    keys
}

/// The keys of a company: an account.
pub fn company(name: &str, domain: Option<&str>, phone: Option<&str>) -> Vec<String> {
    let mut keys = Vec::new();
    let folded = company_name(name);
    if !folded.is_empty() {
        keys.push(key("company", &[&folded]));
        keys.push(key("company_start", &[start(&folded, 5)]));
    }
    if let Some(domain) = domain.filter(|d| !d.is_empty()) {
        keys.push(key("domain", &[domain]));
    }
    if let Some(phone) = phone.filter(|p| p.starts_with('+')) {
        keys.push(key("phone", &[phone]));
    }
    keys
}

/// The keys of a deal: an opportunity, found among its account's and by its name's start.
pub fn deal(name: &str, account_id: Option<&str>) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(account) = account_id {
        keys.push(key("account", &[account]));
    }
    let folded = fold(name);
    if !folded.is_empty() {
        keys.push(key("deal", &[start(&folded, 6)]));
    }
    keys
}

fn start(text: &str, chars: usize) -> &str {
    text.char_indices()
        .nth(chars)
        .map_or(text, |(at, _)| &text[..at])
}

fn key(kind: &str, parts: &[&str]) -> String {
    let mut key = format!("{kind}:{}", parts.join("|"));
    if let Some((at, _)) = key.char_indices().nth(KEY_CHARS) {
        key.truncate(at);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lead_and_the_contact_it_is_share_keys() {
        let lead = person(
            Some("sian@example.ie"),
            None,
            Some("Siân"),
            Some("Ó Briain"),
            Some("Acme, Inc."),
        );
        let contact = person(
            Some("sian@example.ie"),
            Some("+353861234567"),
            Some("Sian"),
            Some("O Briain"),
            None,
        );
        assert!(lead.iter().any(|k| contact.contains(k)));
        assert!(lead.contains(&"name:o br|s".to_owned()), "{lead:?}");
        assert!(lead.contains(&"first:sia|acm".to_owned()), "{lead:?}");
    }

    #[test]
    fn companies_fold_their_legal_form() {
        assert_eq!(
            company("ACME, Inc.", None, None),
            company("Acme Inc", None, None)
        );
        assert!(
            company("Acme", Some("acme.com"), Some("not a phone"))
                .contains(&"domain:acme.com".to_owned())
        );
        assert_eq!(company("Acme", None, Some("not a phone")).len(), 2);
    }

    #[test]
    fn keys_stay_short() {
        let long = "x".repeat(1000);
        assert!(
            person(Some(&long), None, None, None, None)[0]
                .chars()
                .count()
                <= KEY_CHARS
        );
    }
}
