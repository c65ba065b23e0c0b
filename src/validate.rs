//! Parse, don't validate: input from the edge becomes a type that can only hold a valid value.
//! Each parser names the offending field in its error, so clients can point at it.

use std::str::FromStr;

use email_address::EmailAddress;
use iso_currency::Currency;
use phonenumber::{Mode, country};

use crate::error::{AppError, Result};

pub use canonical::domain as canonical_domain;

/// An absolute `http` or `https` URL with a host, as the user wrote it but trimmed.
pub fn web_url(field: &str, raw: &str) -> Result<String> {
    let trimmed = raw.trim();
    let url = url::Url::parse(trimmed)
        .map_err(|e| AppError::bad_input(field, format!("not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(AppError::bad_input(field, "expected an http or https URL"));
    }
    Ok(trimmed.to_owned())
}

/// A syntactically valid address in its canonical form, the one uniqueness and matching use:
/// trimmed, lowercased, an international domain in its ASCII (punycode) form, so `Ada@Bücher.DE`
/// and `ada@xn--bcher-kva.de` are one mailbox. Plus-addressing is kept, as it names a distinct
/// mailbox.
pub fn email(field: &str, raw: &str) -> Result<String> {
    let invalid =
        |reason: String| AppError::bad_input(field, format!("not a valid email address: {reason}"));
    let trimmed = raw.trim();
    let (local, domain) = trimmed
        .rsplit_once('@')
        .ok_or_else(|| invalid("missing separator character '@'".into()))?;
    let domain = idna::domain_to_ascii(domain)
        .map_err(|_| invalid(format!("`{domain}` is not a domain name")))?;
    let canonical = format!("{}@{domain}", local.to_lowercase());
    EmailAddress::from_str(&canonical)
        .map(|_| canonical.clone())
        .map_err(|e| invalid(e.to_string()))
}

/// A phone number in E.164, read in `default_region` when it carries no country code; an
/// extension is kept after it in the RFC 3966 way (`+441234567890;ext=123`), so the line and
/// each extension on it stay distinct numbers.
pub fn phone(field: &str, raw: &str, default_region: &str) -> Result<String> {
    let region = country::Id::from_str(default_region).ok();
    // The stored form (`;ext=`) reads back as the same number: the library itself reads only
    // the spoken spellings of an extension.
    let raw = raw.trim().replace(";ext=", " ext. ");
    let number = phonenumber::parse(region, &raw)
        .map_err(|e| AppError::bad_input(field, format!("not a phone number: {e}")))?;
    if !phonenumber::is_valid(&number) {
        return Err(AppError::bad_input(field, "not a valid phone number"));
    }
    let e164 = number.format().mode(Mode::E164).to_string();
    Ok(match number.extension() {
        Some(extension) => format!("{e164};ext={}", &**extension),
        None => e164,
    })
}

/// An ISO 3166-1 alpha-2 country code, uppercased.
pub fn country(field: &str, raw: &str) -> Result<String> {
    let code = raw.trim().to_uppercase();
    country::Id::from_str(&code)
        .map(|_| code.clone())
        .map_err(|_| AppError::bad_input(field, format!("unknown ISO 3166 country code `{raw}`")))
}

/// An ISO 4217 code, uppercased.
pub fn currency(field: &str, raw: &str) -> Result<Currency> {
    Currency::from_code(&raw.trim().to_uppercase())
        .ok_or_else(|| AppError::bad_input(field, format!("unknown ISO 4217 currency `{raw}`")))
}

/// A decimal amount (`"1234.5"`) in integer minor units of `currency`, refusing more fraction
/// digits than the currency has.
pub fn amount_minor(field: &str, raw: &str, currency: Currency) -> Result<i64> {
    let bad = |message: &str| AppError::bad_input(field, message.to_owned());
    let digits = u32::from(currency.exponent().unwrap_or(0));
    let raw = raw.trim();
    let (negative, unsigned) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return Err(bad("not a decimal amount"));
    }
    if fraction.len() > digits as usize {
        return Err(bad(&format!(
            "{} allows {digits} decimal places",
            currency.code()
        )));
    }
    let scale = 10_i64.pow(digits);
    let padded = format!("{fraction:0<width$}", width = digits as usize);
    let minor = whole
        .parse::<i64>()
        .ok()
        .and_then(|w| w.checked_mul(scale))
        .and_then(|w| w.checked_add(padded.parse::<i64>().unwrap_or(0)))
        .ok_or_else(|| bad("amount out of range"))?;
    Ok(if negative { -minor } else { minor })
}

/// Formats minor units back as the decimal string clients send.
pub fn format_amount(minor: i64, currency_code: &str) -> String {
    let digits = Currency::from_code(currency_code)
        .and_then(|c| c.exponent())
        .unwrap_or(2) as usize;
    if digits == 0 {
        return minor.to_string();
    }
    let scale = 10_i64.pow(digits as u32);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / scale as u64,
        abs % scale as u64,
        width = digits
    )
}

/// A required free-text field: trimmed, not empty, at most `max` characters.
pub fn required_text(field: &str, raw: &str, max: usize) -> Result<String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(AppError::bad_input(field, "must not be empty"));
    }
    optional_text(field, text, max)
}

/// An optional free-text field: trimmed, at most `max` characters.
pub fn optional_text(field: &str, raw: &str, max: usize) -> Result<String> {
    let text = raw.trim();
    if text.chars().count() > max {
        return Err(AppError::bad_input(
            field,
            format!("at most {max} characters"),
        ));
    }
    Ok(text.to_owned())
}

/// Years both stores keep and sort alike (PostgreSQL stops at 294276, chrono and SQLite's text
/// at other bounds); a CRM has no business outside them.
const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// A point in time within the years every store keeps.
pub fn timestamp(field: &str, at: &chrono::DateTime<chrono::Utc>) -> Result<()> {
    date(field, &at.date_naive())
}

/// A calendar date within the years every store keeps.
pub fn date(field: &str, day: &chrono::NaiveDate) -> Result<()> {
    use chrono::Datelike;
    if YEARS.contains(&day.year()) {
        Ok(())
    } else {
        Err(AppError::bad_input(
            field,
            format!("dates run from year {} to {}", YEARS.start(), YEARS.end()),
        ))
    }
}

/// Most bytes a record's custom fields take as JSON.
pub const CUSTOM_FIELDS_MAX_BYTES: usize = 16 * 1024;
/// Most keys in a record's custom fields, counting nested objects.
pub const CUSTOM_FIELDS_MAX_KEYS: usize = 100;
/// Deepest nesting of custom fields: the object itself is level 1, a value holding an object or
/// a list adds one.
pub const CUSTOM_FIELDS_MAX_DEPTH: usize = 3;

/// Custom field values: a JSON object small and flat enough to store, filter on and show.
pub fn custom_fields(
    field: &str,
    fields: serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Value> {
    let fields = serde_json::Value::Object(fields);
    let mut keys = 0;
    // Breadth-first with the level of each value; stops at the first level too deep, so even
    // a value nested far deeper than allowed costs no more than the allowed levels.
    let mut level = vec![&fields];
    for depth in 1.. {
        if level.is_empty() {
            break;
        }
        if depth > CUSTOM_FIELDS_MAX_DEPTH {
            return Err(AppError::bad_input(
                field,
                format!("nested at most {CUSTOM_FIELDS_MAX_DEPTH} levels deep"),
            ));
        }
        let mut next = Vec::new();
        for value in level {
            match value {
                serde_json::Value::Object(map) => {
                    keys += map.len();
                    next.extend(map.values().filter(|v| is_nested(v)));
                }
                serde_json::Value::Array(items) => {
                    next.extend(items.iter().filter(|v| is_nested(v)))
                }
                _ => {}
            }
        }
        if keys > CUSTOM_FIELDS_MAX_KEYS {
            return Err(AppError::bad_input(
                field,
                format!("at most {CUSTOM_FIELDS_MAX_KEYS} keys"),
            ));
        }
        level = next;
    }
    let bytes = serde_json::to_vec(&fields)
        .map_err(AppError::internal)?
        .len();
    if bytes > CUSTOM_FIELDS_MAX_BYTES {
        return Err(AppError::bad_input(
            field,
            format!("at most {} KB as JSON", CUSTOM_FIELDS_MAX_BYTES / 1024),
        ));
    }
    Ok(fields)
}

fn is_nested(value: &serde_json::Value) -> bool {
    value.is_object() || value.is_array()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_plus_addressing_kept() {
        assert_eq!(
            email("email", " Ada+CRM@Example.COM ").unwrap(),
            "ada+crm@example.com"
        );
        assert!(email("email", "not-an-email").is_err());
    }

    #[test]
    fn international_domains_fold_to_their_ascii_form() {
        for raw in ["Ada@Bücher.DE", " ada@BÜCHER.de", "ada@xn--bcher-kva.de"] {
            assert_eq!(
                email("email", raw).unwrap(),
                "ada@xn--bcher-kva.de",
                "{raw}"
            );
        }
        // A Cyrillic lookalike is another domain, never the Latin one.
        assert_eq!(
            email("email", "ada@ex\u{0430}mple.com").unwrap(),
            "ada@xn--exmple-4nf.com"
        );
        for raw in [
            "ada@",
            "@example.com",
            "ada@exa mple.com",
            "ada\0@example.com",
            "",
        ] {
            assert!(email("email", raw).is_err(), "{raw:?}");
        }
        assert!(email("email", &format!("{}@example.com", "a".repeat(10_000))).is_err());
    }

    #[test]
    fn phone_extensions_are_kept_after_the_number() {
        // The stored form reads back as itself.
        for raw in [
            "+44 20 7946 0958 ext. 123",
            "+44 20 7946 0958 x123",
            "+442079460958;ext=123",
        ] {
            assert_eq!(
                phone("phone", raw, "US").unwrap(),
                "+442079460958;ext=123",
                "{raw}"
            );
        }
        for raw in ["+15550001111", "ACME", "\0", &"5".repeat(10_000)] {
            assert!(phone("phone", raw, "US").is_err(), "{raw}");
        }
    }

    #[test]
    fn phones_become_e164_in_the_default_region() {
        assert_eq!(
            phone("phone", "(415) 555-2671", "US").unwrap(),
            "+14155552671"
        );
        assert_eq!(
            phone("phone", "+44 20 7946 0958", "US").unwrap(),
            "+442079460958"
        );
        assert!(phone("phone", "12", "US").is_err());
    }

    #[test]
    fn amounts_respect_the_currency_exponent() {
        let eur = currency("currency", "eur").unwrap();
        assert_eq!(amount_minor("amount", "1234.5", eur).unwrap(), 123_450);
        assert!(amount_minor("amount", "1.234", eur).is_err());
        let jpy = currency("currency", "JPY").unwrap();
        assert_eq!(amount_minor("amount", "500", jpy).unwrap(), 500);
        assert!(amount_minor("amount", "5.5", jpy).is_err());
        assert!(amount_minor("amount", "1e5", eur).is_err());
        assert_eq!(format_amount(123_450, "EUR"), "1234.50");
        assert_eq!(format_amount(-5, "USD"), "-0.05");
        assert!(currency("currency", "XXY").is_err());
    }

    fn nested(depth: usize) -> serde_json::Map<String, serde_json::Value> {
        let mut value = serde_json::json!(1);
        for _ in 0..depth {
            value = serde_json::json!({ "k": value });
        }
        match value {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        }
    }

    #[test]
    fn custom_fields_are_capped_in_depth_keys_and_size() {
        assert!(custom_fields("customFields", nested(3)).is_ok());
        let deep = custom_fields("customFields", nested(4)).unwrap_err();
        assert!(deep.to_string().contains("levels deep"), "{deep}");
        let lists = serde_json::json!({ "a": [[[1]]] });
        assert!(custom_fields("customFields", lists.as_object().unwrap().clone()).is_err());

        let many: serde_json::Map<_, _> = (0..=CUSTOM_FIELDS_MAX_KEYS)
            .map(|i| (format!("k{i}"), serde_json::json!(i)))
            .collect();
        let keys = custom_fields("customFields", many).unwrap_err();
        assert!(keys.to_string().contains("keys"), "{keys}");

        let big = serde_json::json!({ "notes": "x".repeat(CUSTOM_FIELDS_MAX_BYTES) });
        let size = custom_fields("customFields", big.as_object().unwrap().clone()).unwrap_err();
        assert!(
            size.to_string().starts_with("customFields: at most 16 KB"),
            "{size}"
        );
    }
}
