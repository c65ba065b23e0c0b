//! Which column of a file fills which field: suggested from the headers, overridden by what the
//! importer says (`Email=email,Notes=`), and checked against the record type's fields and its
//! custom field definitions. Headers and field names match whatever their case, spaces,
//! underscores or hyphens, and common synonyms ("E-mail", "Mobile", "Organisation") count.

use entity::{custom_field_def, enums::CustomFieldRecordType};

use crate::error::{AppError, Result};

/// Custom fields are targets named `custom.<key>`.
pub const CUSTOM_PREFIX: &str = "custom.";

/// The fields of a record type an import can fill, as the API names them, each with the other
/// names a header may give it.
pub fn fields(
    record_type: CustomFieldRecordType,
) -> &'static [(&'static str, &'static [&'static str])] {
    match record_type {
        CustomFieldRecordType::Lead => LEAD,
        CustomFieldRecordType::Contact => CONTACT,
        CustomFieldRecordType::Account | CustomFieldRecordType::Opportunity => ACCOUNT,
    }
}

const EMAIL: &[&str] = &["e-mail", "email address", "mail", "e-mail address"];
const PHONE: &[&str] = &[
    "mobile",
    "mobile phone",
    "cell",
    "cell phone",
    "telephone",
    "tel",
    "phone number",
    "work phone",
];
const FIRST: &[&str] = &["first", "given name", "forename"];
const LAST: &[&str] = &["last", "surname", "family name"];
const TITLE: &[&str] = &["job title", "position", "role"];

const LEAD: &[(&str, &[&str])] = &[
    ("firstName", FIRST),
    ("lastName", LAST),
    ("email", EMAIL),
    ("phone", PHONE),
    (
        "company",
        &[
            "organisation",
            "organization",
            "company name",
            "org",
            "account",
        ],
    ),
    ("title", TITLE),
    ("website", &["web", "url", "site", "homepage", "web site"]),
    ("industry", &["sector"]),
    (
        "employees",
        &["head count", "headcount", "company size", "staff"],
    ),
    ("country", &["country code", "nation"]),
    ("region", &["state", "province", "county"]),
    ("postcode", &["zip", "zip code", "postal code", "post code"]),
    ("status", &["lead status"]),
    ("lifecycleStage", &["stage", "lifecycle"]),
    ("leadSource", &["source", "lead source", "origin"]),
    ("authority", &[]),
    ("need", &[]),
    ("timeline", &[]),
    ("competitors", &[]),
    ("objections", &[]),
];

const CONTACT: &[(&str, &[&str])] = &[
    ("firstName", FIRST),
    ("lastName", LAST),
    ("email", EMAIL),
    ("phone", PHONE),
    ("title", TITLE),
    ("lifecycleStage", &["stage", "lifecycle"]),
];

const ACCOUNT: &[(&str, &[&str])] = &[
    (
        "name",
        &[
            "account",
            "account name",
            "company",
            "company name",
            "organisation",
            "organization",
        ],
    ),
    ("domain", &["website", "web", "url", "site", "homepage"]),
    ("industry", &["sector"]),
    ("phone", PHONE),
    ("status", &["account status"]),
    ("territory", &["area"]),
];

/// The record type an importer names: `lead`, `contact` or `account`, singular or plural.
pub fn record_type(raw: &str) -> Result<CustomFieldRecordType> {
    match raw.trim().to_lowercase().trim_end_matches('s') {
        "lead" => Ok(CustomFieldRecordType::Lead),
        "contact" => Ok(CustomFieldRecordType::Contact),
        "account" => Ok(CustomFieldRecordType::Account),
        _ => Err(AppError::bad_input(
            "type",
            "one of lead, contact or account",
        )),
    }
}

/// The key an upsert finds existing records by, for a record type.
pub fn default_key(record_type: CustomFieldRecordType) -> &'static str {
    match record_type {
        CustomFieldRecordType::Account | CustomFieldRecordType::Opportunity => "domain",
        _ => "email",
    }
}

/// Folds a header or a name for matching: lowercase letters and digits only.
pub fn folded(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The target a header suggests: a field by its name or a synonym, else a custom field by its
/// key or label; `None` for a header nothing matches.
pub fn suggest(
    record_type: CustomFieldRecordType,
    header: &str,
    definitions: &[custom_field_def::Model],
) -> Option<String> {
    let header = folded(header);
    if header.is_empty() {
        return None;
    }
    let fields = fields(record_type);
    let by_name = fields.iter().find(|(name, _)| folded(name) == header);
    let by_synonym = || {
        fields
            .iter()
            .find(|(_, synonyms)| synonyms.iter().any(|s| folded(s) == header))
    };
    if let Some((name, _)) = by_name.or_else(by_synonym) {
        return Some((*name).to_owned());
    }
    definitions
        .iter()
        .find(|d| folded(&d.key) == header || folded(&d.label) == header)
        .map(|d| format!("{CUSTOM_PREFIX}{}", d.key))
}

/// One target per header: the suggestions, with `overrides` (header → target, an empty target
/// leaving the column out) applied on top. Refused: an override naming a header the file does
/// not have or a target the type does not have, and two columns filling one target.
pub fn resolve(
    record_type: CustomFieldRecordType,
    headers: &[String],
    overrides: &[(String, String)],
    definitions: &[custom_field_def::Model],
) -> Result<Vec<Option<String>>> {
    let mut mapping: Vec<Option<String>> = headers
        .iter()
        .map(|h| suggest(record_type, h, definitions))
        .collect();
    for (header, target) in overrides {
        let field = format!("map.{}", printable(header));
        let column = headers
            .iter()
            .position(|h| h == header.trim())
            .or_else(|| headers.iter().position(|h| folded(h) == folded(header)))
            .ok_or_else(|| AppError::bad_input(&field, "the file has no such column"))?;
        let target = target.trim();
        mapping[column] = if target.is_empty() {
            None
        } else {
            Some(
                checked_target(record_type, target, definitions)
                    .map_err(|message| AppError::bad_input(&field, message))?,
            )
        };
    }
    for (i, target) in mapping.iter().enumerate() {
        if let Some(target) = target
            && mapping[..i].iter().any(|t| t.as_deref() == Some(target))
        {
            return Err(AppError::bad_input(
                format!("map.{}", printable(&headers[i])),
                format!("two columns fill `{target}`; leave one out"),
            ));
        }
    }
    Ok(mapping)
}

/// A target as the importer wrote it, in its canonical spelling.
fn checked_target(
    record_type: CustomFieldRecordType,
    target: &str,
    definitions: &[custom_field_def::Model],
) -> std::result::Result<String, String> {
    if let Some(key) = target.strip_prefix(CUSTOM_PREFIX) {
        return definitions
            .iter()
            .find(|d| d.key == key.trim())
            .map(|d| format!("{CUSTOM_PREFIX}{}", d.key))
            .ok_or_else(|| {
                format!(
                    "no {} custom field has the key `{}`",
                    record_type.as_str(),
                    printable(key)
                )
            });
    }
    fields(record_type)
        .iter()
        .find(|(name, _)| folded(name) == folded(target))
        .map(|(name, _)| (*name).to_owned())
        .ok_or_else(|| {
            let known: Vec<&str> = fields(record_type).iter().map(|(n, _)| *n).collect();
            format!(
                "`{}` is not a {} field; one of {} or custom.<key>",
                printable(target),
                record_type.as_str(),
                known.join(", ")
            )
        })
}

/// Parses `Header=field,Other=` as the CLI and the upload route take it.
pub fn parse_overrides(raw: &str) -> Result<Vec<(String, String)>> {
    raw.split(',')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            pair.split_once('=')
                .map(|(h, t)| (h.trim().to_owned(), t.trim().to_owned()))
                .ok_or_else(|| {
                    AppError::bad_input("map", format!("`{}` is not Header=field", printable(pair)))
                })
        })
        .collect()
}

/// Matches a label to one of `choices` (value, label) whatever its case, spacing or
/// punctuation: "Not Contacted", "not-contacted" and "NOT_CONTACTED" are one status.
pub fn choose<'a>(
    label: &str,
    choices: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<&'a str> {
    let wanted = folded(label);
    choices
        .into_iter()
        .find(|(value, label)| folded(value) == wanted || folded(label) == wanted)
        .map(|(value, _)| value)
}

/// Text a refusal may quote: what a file holds can be anything.
pub fn printable(text: &str) -> String {
    let mut shown: String = text.chars().filter(|c| !c.is_control()).take(64).collect();
    if shown.chars().count() < text.chars().count() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_fields_whatever_their_spelling() {
        let lead = CustomFieldRecordType::Lead;
        for (header, field) in [
            ("E-mail", "email"),
            ("EMAIL_ADDRESS", "email"),
            ("Mobile", "phone"),
            ("Organisation", "company"),
            ("first name", "firstName"),
            ("Lifecycle_Stage", "lifecycleStage"),
            ("Zip Code", "postcode"),
        ] {
            assert_eq!(
                suggest(lead, header, &[]).as_deref(),
                Some(field),
                "{header}"
            );
        }
        assert_eq!(suggest(lead, "Favourite colour", &[]), None);
        assert_eq!(
            suggest(CustomFieldRecordType::Account, "Company", &[]).as_deref(),
            Some("name")
        );
    }

    #[test]
    fn overrides_win_and_bad_ones_are_refused() {
        let headers: Vec<String> = ["Mail", "Notes", "Org"].map(String::from).into();
        let lead = CustomFieldRecordType::Lead;
        let overrides = parse_overrides("Notes=need, Org=").unwrap();
        let mapping = resolve(lead, &headers, &overrides, &[]).unwrap();
        assert_eq!(mapping, [Some("email".into()), Some("need".into()), None]);
        assert!(resolve(lead, &headers, &[("Nope".into(), "email".into())], &[]).is_err());
        assert!(resolve(lead, &headers, &[("Notes".into(), "shoeSize".into())], &[]).is_err());
        assert!(resolve(lead, &headers, &[("Notes".into(), "email".into())], &[]).is_err());
        assert!(parse_overrides("no equals sign").is_err());
    }

    #[test]
    fn labels_choose_values_whatever_their_case() {
        let choices = [("not_contacted", "Not contacted"), ("warm", "Warm")];
        assert_eq!(choose("NOT CONTACTED", choices), Some("not_contacted"));
        assert_eq!(choose("not-contacted", choices), Some("not_contacted"));
        assert_eq!(choose("tepid", choices), None);
    }
}
