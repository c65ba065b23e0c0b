//! Text both stores accept. PostgreSQL refuses the NUL character in text columns and in JSON
//! (`\u0000`) where SQLite keeps it, so a provider value carrying one would dead-letter its
//! delivery on one store and not on the other. Whatever the hub writes from a provider passes
//! through here first and loses its NULs, so both stores keep the same text.

use connectors::NormalizedTouchpoint;
use serde_json::Value;

use crate::error::{AppError, Result};

/// `value` without NUL characters.
pub fn text(value: &str) -> String {
    value.replace('\0', "")
}

/// The touchpoint with every text value in it cleaned: columns, mapped fields and their names,
/// the person, provider ids, whatever fields it gains later.
pub fn touchpoint(touchpoint: NormalizedTouchpoint) -> Result<NormalizedTouchpoint> {
    let mut value = serde_json::to_value(touchpoint).map_err(AppError::internal)?;
    clean(&mut value);
    serde_json::from_value(value).map_err(AppError::internal)
}

fn clean(value: &mut Value) {
    match value {
        Value::String(string) if string.contains('\0') => *string = text(string),
        Value::Array(items) => items.iter_mut().for_each(clean),
        Value::Object(members) => {
            let entries = std::mem::take(members);
            for (key, mut member) in entries {
                clean(&mut member);
                members.insert(text(&key), member);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use connectors::{Channel, Direction};

    use super::*;

    #[test]
    fn every_text_value_and_key_loses_its_nuls_and_nothing_else_changes() {
        let mut dirty = NormalizedTouchpoint::new(
            "form\0-1",
            "form_submitted",
            Channel::WebForm,
            Direction::Inbound,
            Utc::now(),
        );
        dirty.person.email = Some("ada\0@example.com".into());
        dirty.summary = Some("call\0 me".into());
        dirty
            .fields
            .insert("custom.team\0size".into(), "11\0-50".into());
        let mut expected = dirty.clone();
        expected.external_id = "form-1".into();
        expected.person.email = Some("ada@example.com".into());
        expected.summary = Some("call me".into());
        expected.fields = [("custom.teamsize".to_owned(), "11-50".to_owned())].into();

        assert_eq!(touchpoint(dirty).ok(), Some(expected));
    }
}
