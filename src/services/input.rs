//! Shared shapes and parsers for what callers ask services to write. A field of a change set is
//! either left alone (keep the stored value), cleared, or set to a value that is parsed first.

use crate::{
    error::{AppError, Result},
    validate,
};

pub const SHORT_TEXT: usize = 200;
pub const LONG_TEXT: usize = 10_000;
pub const MAX_LIST_ITEMS: usize = 50;

/// What a change does to one nullable field.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Patch<T> {
    /// Keep the stored value.
    #[default]
    Keep,
    /// Set the field to null.
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }

    /// The value being set, if any.
    pub fn value(&self) -> Option<&T> {
        match self {
            Patch::Set(value) => Some(value),
            _ => None,
        }
    }

    /// `None` keeps the field, `Some(None)` clears it.
    pub fn change(self) -> Option<Option<T>> {
        match self {
            Patch::Keep => None,
            Patch::Clear => Some(None),
            Patch::Set(v) => Some(Some(v)),
        }
    }

    /// Parses a value being set; `None` keeps the field, `Some(None)` clears it.
    pub fn parse<U>(self, parse: impl FnOnce(T) -> Result<U>) -> Result<Option<Option<U>>> {
        match self {
            Patch::Keep => Ok(None),
            Patch::Clear => Ok(Some(None)),
            Patch::Set(v) => parse(v).map(|parsed| Some(Some(parsed))),
        }
    }
}

impl Patch<String> {
    /// A nullable text field: trimmed, length-checked; an empty string clears it.
    pub fn text(self, field: &str, max: usize) -> Result<Option<Option<String>>> {
        Ok(self
            .parse(|text| validate::optional_text(field, &text, max))?
            .map(|v| v.filter(|t| !t.is_empty())))
    }

    /// Whether the change sets a text that is not blank.
    pub fn has_text(&self) -> bool {
        self.value().is_some_and(|v| !v.trim().is_empty())
    }
}

/// An amount of money as a caller writes it: a decimal string (`"1234.50"`) and an ISO 4217
/// code.
#[derive(Clone, Debug, PartialEq)]
pub struct MoneyText {
    pub amount: String,
    pub currency: String,
}

pub struct Money {
    pub minor: i64,
    pub currency: String,
}

impl MoneyText {
    pub fn parse(&self, field: &str) -> Result<Money> {
        let currency = validate::currency(&format!("{field}.currency"), &self.currency)?;
        let minor = validate::amount_minor(&format!("{field}.amount"), &self.amount, currency)?;
        Ok(Money {
            minor,
            currency: currency.code().to_owned(),
        })
    }
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
