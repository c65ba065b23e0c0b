//! The fields a dedupe rule may compare on each record type, and a record's values for them
//! as linkage compares them: folded, so case, accents and letter variants never split a
//! match, and company names without their legal form.

use entity::enums::CustomFieldRecordType;
use linkage::Row;
use serde_json::Value;

use crate::error::{AppError, Result};

/// The columns a rule may name per type; custom fields are named `custom.<key>`.
pub fn comparable(record_type: CustomFieldRecordType) -> &'static [&'static str] {
    match record_type {
        CustomFieldRecordType::Lead => &[
            "first_name",
            "last_name",
            "email",
            "phone",
            "company",
            "title",
            "website",
            "industry",
            "country",
            "region",
            "postcode",
        ],
        CustomFieldRecordType::Contact => &[
            "first_name",
            "last_name",
            "email",
            "phone",
            "title",
            "account_id",
        ],
        CustomFieldRecordType::Account => &[
            "name",
            "domain",
            "canonical_domain",
            "phone",
            "industry",
            "territory",
            "parent_id",
        ],
        CustomFieldRecordType::Opportunity => &[
            "name",
            "account_id",
            "contact_id",
            "amount_minor",
            "currency",
            "close_date",
        ],
    }
}

/// `field` if a rule on `record_type` may compare it, else BAD_USER_INPUT at `path`.
pub fn checked(record_type: CustomFieldRecordType, path: &str, field: &str) -> Result<()> {
    let custom = field
        .strip_prefix("custom.")
        .is_some_and(|key| !key.is_empty() && key.len() <= 64);
    if custom || comparable(record_type).contains(&field) {
        return Ok(());
    }
    Err(AppError::bad_input(
        path,
        format!(
            "unknown field; one of {} or custom.<key>",
            comparable(record_type).join(", ")
        ),
    ))
}

/// The record's values for `fields`, as linkage compares them. `record` is the record as
/// JSON (its model serialised); a field it lacks (a contact has no company) is missing,
/// which is no evidence either way.
pub fn row(record: &Value, fields: &[String]) -> Row {
    fields
        .iter()
        .map(|field| {
            let value = match field.strip_prefix("custom.") {
                Some(key) => record.get("custom_fields").and_then(|c| c.get(key)),
                None => record.get(field),
            }?;
            let text = match value {
                Value::Null => return None,
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            let folded = if field == "company" || field == "name" {
                canonical::company(&text)
            } else {
                canonical::fold(&text)
            };
            (!folded.is_empty()).then_some(folded)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_fold_and_custom_fields_read_by_key() {
        let record = json!({
            "first_name": "Siân",
            "company": "ACME, Inc.",
            "employees": 40,
            "custom_fields": {"tier": "Gold"},
            "phone": null,
        });
        let fields = [
            "first_name",
            "company",
            "employees",
            "custom.tier",
            "phone",
            "absent",
        ]
        .map(String::from);
        assert_eq!(
            row(&record, &fields),
            vec![
                Some("sian".into()),
                Some("acme".into()),
                Some("40".into()),
                Some("gold".into()),
                None,
                None
            ]
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(checked(CustomFieldRecordType::Lead, "fields.0", "last_name").is_ok());
        assert!(checked(CustomFieldRecordType::Lead, "fields.0", "custom.tier").is_ok());
        assert!(checked(CustomFieldRecordType::Lead, "fields.0", "password_hash").is_err());
        assert!(checked(CustomFieldRecordType::Lead, "fields.0", "custom.").is_err());
    }
}
