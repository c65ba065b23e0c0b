//! Ordering a list by a custom field, typed by its definition: numbers and money (by the amount
//! in minor units, whatever the currency) numerically, dates chronologically, booleans false
//! first, text and single selects as ASCII-folded text, a multi select by its first chosen
//! value. Records without a value sort last in either direction (see
//! [`crate::services::page::SortField::missing`]), and the id breaks ties as in every list.
//!
//! A [`CustomSort`] is only made from a definition the caller may use ([`resolve`]), so a
//! list cannot be ordered by a key that is unknown, removed, or hidden from the caller's role.

use entity::{
    custom_field_def,
    enums::{CustomFieldRecordType, CustomFieldType},
};
use sea_orm::{
    ConnectionTrait, DbBackend, IdenStatic,
    sea_query::{ExprTrait, SimpleExpr},
};
use serde_json::Value;

use crate::{
    actor::Actor,
    error::Result,
    services::{
        custom_fields,
        custom_sql::JsonKey,
        page::{SortDirection, SortKind, SortValue},
        records::Record,
    },
};

/// A record type whose records hold custom field values: its type among the definitions, and
/// the column the values sit in.
pub trait WithCustomFields: Record<OrderField: From<CustomSort>> {
    const RECORD_TYPE: CustomFieldRecordType;
    fn custom_fields_column() -> Self::Column;
}

/// One entry of an order as a caller asks for it: a field of the record, or a custom field's
/// key, with `field` naming it in errors.
pub enum OrderTerm<F> {
    Field(F),
    Custom { field: String, key: String },
}

/// The order `terms` stand for, each custom key resolved by [`sort_by`]; the definitions are
/// read once, and only when a key is asked for.
pub async fn resolve<E: WithCustomFields, C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    terms: Vec<(OrderTerm<E::OrderField>, SortDirection)>,
) -> Result<Vec<(E::OrderField, SortDirection)>> {
    let mut definitions = None;
    let mut order = Vec::with_capacity(terms.len());
    for (term, direction) in terms {
        let field = match term {
            OrderTerm::Field(field) => field,
            OrderTerm::Custom { field, key } => {
                let definitions = match &mut definitions {
                    Some(definitions) => definitions,
                    None => definitions
                        .insert(custom_fields::queryable(conn, actor, E::RECORD_TYPE).await?),
                };
                let backend = conn.get_database_backend();
                sort_by::<E>(actor, definitions, &field, &key, backend)?.into()
            }
        };
        order.push((field, direction));
    }
    Ok(order)
}

/// The custom field a list is ordered by, read from the JSON column it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomSort {
    key: String,
    field_type: CustomFieldType,
    json: JsonKey,
}

/// The order by the custom field `key` of `E` among `definitions` (from
/// [`custom_fields::queryable`]); `field` names the key in errors.
fn sort_by<E: WithCustomFields>(
    actor: &Actor,
    definitions: &[custom_field_def::Model],
    field: &str,
    key: &str,
    backend: DbBackend,
) -> Result<CustomSort> {
    let definition = custom_fields::queryable_key(actor, definitions, E::RECORD_TYPE, field, key)?;
    let column = E::custom_fields_column();
    Ok(CustomSort {
        key: definition.key.clone(),
        field_type: definition.field_type,
        json: JsonKey::new(field, column.as_str(), &definition.key, backend)?,
    })
}

impl CustomSort {
    /// The value as the store sorts it: NULL when the record has none of the field's type.
    fn raw(&self) -> SimpleExpr {
        use CustomFieldType as T;
        match self.field_type {
            T::Number => self.json.number(),
            T::Money => self.json.money_minor(),
            T::Date => self.json.date(),
            T::Boolean => self.json.boolean(),
            T::MultiSelect => self.json.first_item_folded(),
            T::Text | T::SingleSelect | T::Url | T::Email | T::Phone => self.json.folded(),
        }
    }

    /// The value as the store sorts it, a record without one reading as the kind's blank.
    pub fn expr(&self) -> SimpleExpr {
        let blank: sea_orm::Value = match self.kind() {
            SortKind::Float => 0.0_f64.into(),
            SortKind::Int => 0_i64.into(),
            SortKind::Text | SortKind::Time => "".into(),
        };
        sea_orm::sea_query::Func::coalesce([self.raw(), blank.into()]).into()
    }

    /// 1 for a record without a value, 0 for the rest.
    pub fn missing(&self) -> SimpleExpr {
        sea_orm::sea_query::Expr::case(self.raw().is_null(), 1)
            .finally(0)
            .into()
    }

    pub fn kind(&self) -> SortKind {
        use CustomFieldType as T;
        match self.field_type {
            T::Number | T::Money => SortKind::Float,
            T::Boolean => SortKind::Int,
            _ => SortKind::Text,
        }
    }

    /// The sort value of a record whose custom values are `stored`, as [`Self::expr`] reads it
    /// in SQL: the same type guards, the same folding.
    pub fn value(&self, stored: &Value) -> SortValue {
        match (self.read(stored), self.kind()) {
            (Some(value), _) => value,
            (None, SortKind::Float) => SortValue::Float(0.0),
            (None, SortKind::Int) => SortValue::Int(0),
            (None, _) => SortValue::Text(String::new()),
        }
    }

    pub fn is_missing(&self, stored: &Value) -> bool {
        self.read(stored).is_none()
    }

    fn read(&self, stored: &Value) -> Option<SortValue> {
        use CustomFieldType as T;
        let value = stored.get(&self.key)?;
        let folded = |v: &Value| Some(SortValue::Text(v.as_str()?.to_ascii_lowercase()));
        match self.field_type {
            T::Number => value.as_f64().map(SortValue::Float),
            T::Money => value.get("minor")?.as_f64().map(SortValue::Float),
            T::Date => {
                let day = value.as_str()?;
                let shaped = day.chars().count() == 10
                    && day.chars().nth(4) == Some('-')
                    && day.chars().nth(7) == Some('-');
                shaped.then(|| SortValue::Text(day.to_owned()))
            }
            T::Boolean => value.as_bool().map(|b| SortValue::Int(i64::from(b))),
            T::MultiSelect => folded(value.as_array()?.first()?),
            T::Text | T::SingleSelect | T::Url | T::Email | T::Phone => folded(value),
        }
    }
}
