//! Checks a list filter's custom field tests against the definitions of the listed type, before
//! the filter becomes SQL: the typed tests (`hasAny`, `hasAll`, `money`) need a field the
//! caller may use, of the type they test, and options it offers; a single select's `eq` and
//! `in` name options too. A key no definition names keeps the untyped text, number and date
//! tests (web forms leave such keys), but a removed field's key or one the caller's role may not
//! use is refused for every test, as in an order.

use entity::{custom_field_def, enums::CustomFieldRecordType, enums::CustomFieldType};
use sea_orm::{ColumnTrait, ConnectionTrait};

use crate::{
    actor::Actor,
    error::{AppError, Result},
    services::{
        custom_fields::{self, printable},
        filter::{CustomFieldFilter, Filter},
    },
};

/// Types the filter's custom field tests by their definitions, or says why one is refused.
pub async fn check<C: ConnectionTrait, Col: ColumnTrait>(
    conn: &C,
    actor: &Actor,
    record_type: CustomFieldRecordType,
    filter: &mut Filter<Col>,
) -> Result<()> {
    let tests = filter.custom_tests_mut();
    if tests.is_empty() {
        return Ok(());
    }
    let definitions = custom_fields::queryable(conn, actor, record_type).await?;
    for test in tests {
        // A key that could not sit in SQL is refused when the filter is built, without
        // echoing it here.
        let plain = !test.key.is_empty()
            && test
                .key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain {
            continue;
        }
        let typed = test.has_any.is_some() || test.has_all.is_some() || test.money.is_some();
        let defined = definitions.iter().any(|d| d.key == test.key);
        if !typed && !defined {
            continue;
        }
        let field = format!("customFields.{}", printable(&test.key));
        let definition =
            custom_fields::queryable_key(actor, &definitions, record_type, &field, &test.key)?;
        check_options(&field, definition, test)?;
        test.typed = Some(definition.field_type);
    }
    Ok(())
}

/// Refuses an option value the select does not offer: such a test could never match, which is
/// a mistake (often a label given for a value) better told than answered with nothing.
fn check_options(
    field: &str,
    definition: &custom_field_def::Model,
    test: &CustomFieldFilter,
) -> Result<()> {
    let lists: Vec<(&str, Option<&[String]>)> = match definition.field_type {
        CustomFieldType::MultiSelect => vec![
            ("hasAny", test.has_any.as_deref()),
            ("hasAll", test.has_all.as_deref()),
        ],
        CustomFieldType::SingleSelect => vec![
            ("eq", test.eq.as_ref().map(std::slice::from_ref)),
            ("in", test.in_.as_deref()),
        ],
        _ => Vec::new(),
    };
    for (name, values) in lists {
        if let Some(values) = values {
            offered(field, name, definition, values)?;
        }
    }
    Ok(())
}

fn offered(
    field: &str,
    name: &str,
    definition: &custom_field_def::Model,
    values: &[String],
) -> Result<()> {
    let options = custom_fields::option_values(definition);
    match values
        .iter()
        .find(|v| !options.iter().any(|(option, _)| option == *v))
    {
        Some(unknown) => Err(AppError::bad_input(
            format!("{field}.{name}"),
            format!(
                "`{}` is not one of the options; filters name option values",
                printable(unknown)
            ),
        )),
        None => Ok(()),
    }
}
