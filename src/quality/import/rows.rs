//! One row of cells as the change set the record services take (`LeadChanges`,
//! `ContactChanges`, `AccountChanges`), so an imported row is checked by exactly the rules an
//! API write is. Only the translation from text lives here: option labels to enum values,
//! numbers, yes/no, lists, and custom field values by their definition's type. A blank cell
//! leaves its field alone, so an update never erases what a file does not say.

use entity::{
    custom_field_def,
    enums::{AccountStatus, CustomFieldRecordType, CustomFieldType, LeadStatus, LifecycleStage},
};
use sea_orm::Iterable;
use serde_json::{Value, json};

use crate::{
    error::{AppError, Result},
    quality::import::mapping::{self, CUSTOM_PREFIX},
    services::{
        accounts::AccountChanges,
        contacts::ContactChanges,
        custom_fields::{self, FieldValue},
        input::Patch,
        leads::LeadChanges,
    },
    validate,
};

/// A row's change set, by record type.
#[derive(Debug, Clone)]
pub enum Changes {
    Lead(Box<LeadChanges>),
    Contact(ContactChanges),
    Account(AccountChanges),
}

impl Changes {
    /// The canonical value of the upsert key this row gives (`email` of a person, `domain` of
    /// an account), if any and if it reads as one.
    pub fn key(&self, upsert_key: Option<&str>) -> Option<String> {
        if let Some(custom) = upsert_key?.strip_prefix(CUSTOM_PREFIX) {
            return self.external_id(custom);
        }
        let raw = match (upsert_key?, self) {
            ("email", Changes::Lead(c)) => c.email.value(),
            ("email", Changes::Contact(c)) => c.email.value(),
            ("domain", Changes::Account(c)) => c.domain.value(),
            _ => None,
        }?;
        match upsert_key? {
            "domain" => validate::canonical_domain(raw),
            _ => validate::email("email", raw).ok(),
        }
    }

    /// An external id the row gives in custom field `key`, as text.
    fn external_id(&self, key: &str) -> Option<String> {
        let values = match self {
            Changes::Lead(c) => c.custom_field_values.as_ref(),
            Changes::Contact(c) => c.custom_field_values.as_ref(),
            Changes::Account(c) => c.custom_field_values.as_ref(),
        }?;
        let value = values.iter().find(|v| v.key == key)?.value.as_ref()?;
        let text = match value {
            serde_json::Value::String(text) => text.trim().to_owned(),
            serde_json::Value::Number(number) => number.to_string(),
            _ => return None,
        };
        (!text.is_empty()).then_some(text)
    }

    /// Leaves the key column as the record has it: for a row whose key found the record through
    /// a tombstone, whose survivor keeps its own address or domain.
    pub fn keep_key(&mut self, key_name: &str) {
        match (self, key_name) {
            (Changes::Lead(c), "email") => c.email = Patch::Keep,
            (Changes::Contact(c), "email") => c.email = Patch::Keep,
            (Changes::Account(c), "domain") => c.domain = Patch::Keep,
            _ => {}
        }
    }
}

/// The change set `cells` make under `mapping`; a cell that cannot be read as its field is
/// refused naming the field.
pub fn changes(
    record_type: CustomFieldRecordType,
    mapping: &[Option<String>],
    cells: &[String],
    definitions: &[custom_field_def::Model],
) -> Result<Changes> {
    let mut changes = match record_type {
        CustomFieldRecordType::Lead => Changes::Lead(Box::default()),
        CustomFieldRecordType::Contact => Changes::Contact(ContactChanges::default()),
        _ => Changes::Account(AccountChanges::default()),
    };
    let mut values = Vec::new();
    for (target, cell) in mapping.iter().zip(cells) {
        let Some(target) = target else { continue };
        let text = cell.trim();
        if text.is_empty() {
            continue;
        }
        if text.contains('\0') {
            return Err(AppError::bad_input(target.as_str(), "no NUL characters"));
        }
        if let Some(key) = target.strip_prefix(CUSTOM_PREFIX) {
            let Some(definition) = definitions.iter().find(|d| d.key == key) else {
                continue;
            };
            values.push(FieldValue {
                key: key.to_owned(),
                value: Some(custom_value(target, definition, text)?),
            });
            continue;
        }
        set(&mut changes, target, text)?;
    }
    if !values.is_empty() {
        match &mut changes {
            Changes::Lead(c) => c.custom_field_values = Some(values),
            Changes::Contact(c) => c.custom_field_values = Some(values),
            Changes::Account(c) => c.custom_field_values = Some(values),
        }
    }
    Ok(changes)
}

fn set(changes: &mut Changes, field: &str, text: &str) -> Result<()> {
    let value = || Patch::Set(text.to_owned());
    match changes {
        Changes::Lead(c) => match field {
            "firstName" => c.first_name = value(),
            "lastName" => c.last_name = value(),
            "email" => c.email = value(),
            "phone" => c.phone = value(),
            "company" => c.company = value(),
            "title" => c.title = value(),
            "website" => c.website = value(),
            "industry" => c.industry = value(),
            "employees" => c.employees = Patch::Set(whole_number(field, text)?),
            "country" => c.country = value(),
            "region" => c.region = value(),
            "postcode" => c.postcode = value(),
            "status" => c.status = Some(option::<LeadStatus>(field, text)?),
            "lifecycleStage" => c.lifecycle_stage = Some(option::<LifecycleStage>(field, text)?),
            "leadSource" => c.lead_source = value(),
            "authority" => c.authority = value(),
            "need" => c.need = value(),
            "timeline" => c.timeline = value(),
            "competitors" => c.competitors = Some(list(text)),
            "objections" => c.objections = Some(list(text)),
            _ => {}
        },
        Changes::Contact(c) => match field {
            "firstName" => c.first_name = value(),
            "lastName" => c.last_name = value(),
            "email" => c.email = value(),
            "phone" => c.phone = value(),
            "title" => c.title = value(),
            "lifecycleStage" => c.lifecycle_stage = Some(option::<LifecycleStage>(field, text)?),
            _ => {}
        },
        Changes::Account(c) => match field {
            "name" => c.name = Some(text.to_owned()),
            "domain" => c.domain = value(),
            "industry" => c.industry = value(),
            "phone" => c.phone = value(),
            "status" => c.status = Some(option::<AccountStatus>(field, text)?),
            "territory" => c.territory = value(),
            _ => {}
        },
    }
    Ok(())
}

/// The enum value a label names, matched as [`mapping::choose`] does; refused listing the
/// values there are.
fn option<T>(field: &str, label: &str) -> Result<T>
where
    T: Iterable + serde::de::DeserializeOwned + Copy + StoredText,
{
    let values: Vec<(&str, String)> = T::iter()
        .map(|v| (v.text(), v.text().replace('_', " ")))
        .collect();
    let chosen = mapping::choose(label, values.iter().map(|(v, l)| (*v, l.as_str())));
    let Some(chosen) = chosen else {
        let known: Vec<&str> = values.iter().map(|(v, _)| *v).collect();
        return Err(AppError::bad_input(
            field,
            format!(
                "`{}` is not one of {}",
                mapping::printable(label),
                known.join(", ")
            ),
        ));
    };
    serde_json::from_value(json!(chosen)).map_err(AppError::internal)
}

/// The stored text of an enum value (the `entity` enums' `as_str`).
trait StoredText {
    fn text(&self) -> &'static str;
}

macro_rules! stored_text {
    ($($t:ty),+) => {$(impl StoredText for $t { fn text(&self) -> &'static str { self.as_str() } })+};
}
stored_text!(LeadStatus, LifecycleStage, AccountStatus);

fn whole_number(field: &str, text: &str) -> Result<i32> {
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, ',' | ' ' | '_'))
        .collect();
    digits.parse::<i32>().map_err(|_| {
        AppError::bad_input(
            field,
            format!("`{}` is not a whole number", mapping::printable(text)),
        )
    })
}

/// A list in one cell, its items separated by semicolons (or commas when there are none).
fn list(text: &str) -> Vec<String> {
    let separator = if text.contains(';') { ';' } else { ',' };
    text.split(separator)
        .map(|item| item.trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect()
}

/// A custom field's value from its cell, in the shape the API takes it (the service checks it
/// against the definition like any write).
fn custom_value(field: &str, definition: &custom_field_def::Model, text: &str) -> Result<Value> {
    let bad = |message: String| AppError::bad_input(field, message);
    let shown = mapping::printable(text);
    Ok(match definition.field_type {
        CustomFieldType::Number => {
            let number: f64 = text
                .replace([',', ' '], "")
                .parse()
                .map_err(|_| bad(format!("`{shown}` is not a number")))?;
            serde_json::Number::from_f64(number)
                .map(Value::Number)
                .ok_or_else(|| bad(format!("`{shown}` is not a finite number")))?
        }
        CustomFieldType::Money => {
            let (amount, currency) = text.rsplit_once(' ').ok_or_else(|| {
                bad(format!(
                    "`{shown}` is not an amount and a currency, like `12.50 EUR`"
                ))
            })?;
            json!({ "amount": amount.trim(), "currency": currency.trim() })
        }
        CustomFieldType::Boolean => match mapping::folded(text).as_str() {
            "true" | "yes" | "y" | "1" | "x" => Value::Bool(true),
            "false" | "no" | "n" | "0" => Value::Bool(false),
            _ => return Err(bad(format!("`{shown}` is not yes or no"))),
        },
        CustomFieldType::SingleSelect => Value::String(select(field, definition, text)?),
        CustomFieldType::MultiSelect => Value::Array(
            list(text)
                .iter()
                .map(|item| select(field, definition, item).map(Value::String))
                .collect::<Result<_>>()?,
        ),
        _ => Value::String(text.to_owned()),
    })
}

/// The option value a select's label names, case and spacing aside.
fn select(field: &str, definition: &custom_field_def::Model, label: &str) -> Result<String> {
    let options = custom_fields::option_values(definition);
    mapping::choose(label, options.iter().map(|(v, l)| (v.as_str(), l.as_str())))
        .map(str::to_owned)
        .ok_or_else(|| {
            let labels: Vec<&str> = options.iter().map(|(_, l)| l.as_str()).collect();
            AppError::bad_input(
                field,
                format!(
                    "`{}` is not one of the options ({})",
                    mapping::printable(label),
                    labels.join(", ")
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(mapping: &[&str], cells: &[&str]) -> Result<LeadChanges> {
        let mapping: Vec<Option<String>> = mapping.iter().map(|m| Some((*m).to_owned())).collect();
        let cells: Vec<String> = cells.iter().map(|c| (*c).to_owned()).collect();
        match changes(CustomFieldRecordType::Lead, &mapping, &cells, &[])? {
            Changes::Lead(c) => Ok(*c),
            _ => unreachable!(),
        }
    }

    #[test]
    fn option_labels_become_enum_values_whatever_their_case() {
        let c = lead(&["status", "lifecycleStage"], &["Contact In Future", "MQL"]).unwrap();
        assert_eq!(c.status, Some(LeadStatus::ContactInFuture));
        assert_eq!(c.lifecycle_stage, Some(LifecycleStage::Mql));
        let refused = lead(&["status"], &["Lukewarm"]).unwrap_err();
        assert!(matches!(refused, AppError::BadInput { ref field, .. } if field == "status"));
    }

    #[test]
    fn blank_cells_keep_and_nul_bytes_are_refused() {
        let c = lead(&["email", "company"], &["  ", "Acme"]).unwrap();
        assert!(c.email.is_keep());
        assert_eq!(c.company, Patch::Set("Acme".into()));
        assert!(lead(&["company"], &["Ac\0me"]).is_err());
        assert_eq!(
            lead(&["employees"], &["1,200"]).unwrap().employees,
            Patch::Set(1200)
        );
    }

    #[test]
    fn the_key_is_the_canonical_email() {
        let c = Changes::Lead(Box::new(lead(&["email"], &[" Ada@Example.COM "]).unwrap()));
        assert_eq!(c.key(Some("email")).as_deref(), Some("ada@example.com"));
        assert_eq!(c.key(None), None);
    }
}
