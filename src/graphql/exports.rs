//! The arguments of an export, read as the list query of the same type reads them: a JSON
//! object `{"filter": …, "orderBy": […]}` in the shape of the `filter` and `orderBy` arguments,
//! checked against the same input limits, translated into the services' filter and order.

use async_graphql::{EnumType, InputType, Name, Pos, Variables};
use entity::{account, contact, lead};

use crate::{
    config::Config,
    error::{AppError, Result},
    graphql::{
        filters::{
            AccountFilter, AccountOrderField, ContactFilter, ContactOrderField, FilterInput,
            LeadFilter, LeadOrderField, OrderBy, order,
        },
        inputs,
    },
    services::{accounts, contacts, filter::Filter, leads, page::SortDirection},
};

/// A list's filter and order, as the services take them.
pub type List<C, O> = (Filter<C>, Vec<(O, SortDirection)>);

pub fn leads(
    config: &Config,
    body: serde_json::Value,
) -> Result<List<lead::Column, leads::LeadOrderField>> {
    list::<LeadFilter, LeadOrderField, _>(config, body)
}

pub fn contacts(
    config: &Config,
    body: serde_json::Value,
) -> Result<List<contact::Column, contacts::ContactOrderField>> {
    list::<ContactFilter, ContactOrderField, _>(config, body)
}

pub fn accounts(
    config: &Config,
    body: serde_json::Value,
) -> Result<List<account::Column, accounts::AccountOrderField>> {
    list::<AccountFilter, AccountOrderField, _>(config, body)
}

fn list<F, O, S>(config: &Config, body: serde_json::Value) -> Result<List<F::Column, S>>
where
    F: FilterInput + InputType,
    O: EnumType + InputType + Into<S>,
    OrderBy<O>: InputType,
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
    inputs::check_variables(&arguments, config.max_input_depth)?;
    let filter = parse::<Option<F>>(&arguments, "filter")?
        .map(F::into_filter)
        .transpose()?
        .unwrap_or_default();
    let order_by = parse::<Option<Vec<OrderBy<O>>>>(&arguments, "orderBy")?;
    Ok((filter, order(order_by)))
}

fn parse<T: InputType>(arguments: &Variables, name: &str) -> Result<T> {
    T::parse(arguments.get(&Name::new(name)).cloned())
        .map_err(|e| AppError::bad_input(name, e.into_server_error(Pos::default()).message))
}
