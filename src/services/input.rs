//! Shared shapes and parsers for mutation inputs. An input field is either left out (keep the
//! stored value), `null` (clear it) or a value (parse, then set it).

use async_graphql::{ID, InputObject, MaybeUndefined};
use uuid::Uuid;

use crate::{
    error::{AppError, Result},
    validate,
};

pub const SHORT_TEXT: usize = 200;
pub const LONG_TEXT: usize = 10_000;
pub const MAX_LIST_ITEMS: usize = 50;

/// An amount of money: a decimal string (`"1234.50"`) and an ISO 4217 code.
#[derive(InputObject, Clone, Debug)]
pub struct MoneyInput {
    pub amount: String,
    pub currency: String,
}

pub struct Money {
    pub minor: i64,
    pub currency: String,
}

impl MoneyInput {
    pub fn parse(&self, field: &str) -> Result<Money> {
        let currency = validate::currency(&format!("{field}.currency"), &self.currency)?;
        let minor = validate::amount_minor(&format!("{field}.amount"), &self.amount, currency)?;
        Ok(Money {
            minor,
            currency: currency.code().to_owned(),
        })
    }
}

/// What an update does to one nullable field: `None` keeps it, `Some(None)` clears it.
pub fn patch<T, U>(
    value: MaybeUndefined<T>,
    parse: impl FnOnce(T) -> Result<U>,
) -> Result<Option<Option<U>>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(v) => parse(v).map(|parsed| Some(Some(parsed))),
    }
}

/// A nullable text field: trimmed, length-checked; an empty string clears it.
pub fn patch_text(
    field: &str,
    value: MaybeUndefined<String>,
    max: usize,
) -> Result<Option<Option<String>>> {
    Ok(
        patch(value, |text| validate::optional_text(field, &text, max))?
            .map(|v| v.filter(|t| !t.is_empty())),
    )
}

pub fn uuid(field: &str, id: &ID) -> Result<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| AppError::bad_input(field, "not a valid id"))
}

/// A list of short labels (competitors, objections), trimmed, without blanks or repeats.
pub fn labels(field: &str, items: Vec<String>) -> Result<serde_json::Value> {
    if items.len() > MAX_LIST_ITEMS {
        return Err(AppError::bad_input(
            field,
            format!("at most {MAX_LIST_ITEMS} items"),
        ));
    }
    let mut clean: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let label = validate::optional_text(field, &item, SHORT_TEXT)?;
        if !label.is_empty() && !clean.contains(&label) {
            clean.push(label);
        }
    }
    Ok(serde_json::Value::from(clean))
}
