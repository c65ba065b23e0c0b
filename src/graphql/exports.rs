//! The arguments of an export, read as the list query of the same type reads them: a JSON
//! object `{"filter": …, "orderBy": […]}` in the shape of the `filter` and `orderBy` arguments,
//! checked against the same input limits, translated into the services' filter and order.

use async_graphql::{EnumType, InputType, Name, Pos, Value, Variables};
use entity::{account, contact, lead};
use sea_orm::DatabaseConnection;

use crate::{
    actor::Actor,
    config::Config,
    error::{AppError, Result},
    graphql::{
        filters::{
            AccountFilter, AccountOrderField, ContactFilter, ContactOrderField, FilterInput,
            LeadFilter, LeadOrderField, List, RecordOrderBy, with_custom_fields,
        },
        inputs,
    },
    services::{accounts, contacts, custom_order::WithCustomFields, leads},
};

/// Who asks, on which store, under which limits: what reading an export's arguments needs.
pub struct Caller<'a> {
    pub db: &'a DatabaseConnection,
    pub actor: &'a Actor,
    pub config: &'a Config,
}

pub async fn leads(
    caller: Caller<'_>,
    body: serde_json::Value,
) -> Result<List<lead::Column, leads::LeadOrderField>> {
    list::<lead::Entity, LeadFilter, LeadOrderField>(caller, body).await
}

pub async fn contacts(
    caller: Caller<'_>,
    body: serde_json::Value,
) -> Result<List<contact::Column, contacts::ContactOrderField>> {
    list::<contact::Entity, ContactFilter, ContactOrderField>(caller, body).await
}

pub async fn accounts(
    caller: Caller<'_>,
    body: serde_json::Value,
) -> Result<List<account::Column, accounts::AccountOrderField>> {
    list::<account::Entity, AccountFilter, AccountOrderField>(caller, body).await
}

async fn list<E, F, O>(
    caller: Caller<'_>,
    body: serde_json::Value,
) -> Result<List<E::Column, E::OrderField>>
where
    E: WithCustomFields,
    F: FilterInput<Column = E::Column> + InputType,
    O: EnumType + InputType + Into<E::OrderField>,
    RecordOrderBy<O>: InputType,
{
    let object = match body {
        serde_json::Value::Null => serde_json::Map::new(),
        serde_json::Value::Object(object) => object,
        _ => {
            return Err(AppError::bad_input(
                "body",
                "expected an object with `filter` and `orderBy`",
            ));
        }
    };
    if let Some(unknown) = object
        .keys()
        .find(|k| !["filter", "orderBy"].contains(&k.as_str()))
    {
        return Err(AppError::bad_input(
            "body",
            format!(
                "unknown key `{}`; expected `filter` and `orderBy`",
                unknown.chars().take(64).collect::<String>()
            ),
        ));
    }
    let arguments = Variables::from_json(serde_json::Value::Object(object));
    inputs::check_variables(&arguments, caller.config.max_input_depth)?;
    let filter = parse::<Option<F>>(&arguments, "filter")?;
    let order_by = parse::<Option<Vec<RecordOrderBy<O>>>>(&arguments, "orderBy")?;
    with_custom_fields::<E, F, O>(caller.db, caller.actor, filter, order_by).await
}

/// The argument `name` as `T`. Input objects parsed outside a document ignore fields they do
/// not have, which validation would have refused; a misspelt filter must not export every
/// record, so the value read back must hold every field that was given.
fn parse<T: InputType>(arguments: &Variables, name: &str) -> Result<T> {
    let given = arguments.get(&Name::new(name)).cloned();
    let parsed = T::parse(given.clone())
        .map_err(|e| AppError::bad_input(name, e.into_server_error(Pos::default()).message))?;
    if let Some(given) = &given
        && let Some(path) = unknown_field(given, &parsed.to_value(), name)
    {
        return Err(AppError::bad_input(path, "no such field"));
    }
    Ok(parsed)
}

/// The path of the first field in `given` that `known` (the parsed value) does not have.
fn unknown_field(given: &Value, known: &Value, path: &str) -> Option<String> {
    match (given, known) {
        (Value::Object(given), Value::Object(known)) => given.iter().find_map(|(key, value)| {
            let path = format!("{path}.{}", key.chars().take(64).collect::<String>());
            match known.get(key) {
                Some(known) => unknown_field(value, known, &path),
                None => Some(path),
            }
        }),
        (Value::List(given), Value::List(known)) => given
            .iter()
            .zip(known)
            .enumerate()
            .find_map(|(i, (given, known))| unknown_field(given, known, &format!("{path}.{i}"))),
        _ => None,
    }
}
