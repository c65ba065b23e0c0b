//! The moves of records between states, kept as they happen: every change of a column a record
//! type tracks ([`Record::tracked`]: a lead's status and lifecycle stage, an opportunity's
//! stage) is a row with the value before and after, when and by whom, written by the record
//! lifecycle in the transaction that made the change. A new record's first state counts as a
//! move from nothing.

use chrono::Utc;
use entity::transition;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IdenStatic, ModelTrait,
    QueryFilter, QueryOrder, Set, Value,
};
use uuid::Uuid;

use crate::{actor::Actor, error::Result, services::record_type::Record};

/// Writes a row for each tracked column whose value `after` differs from `before`.
pub async fn record<E: Record>(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    before: Option<&E::Model>,
    after: &E::Model,
) -> Result<()> {
    let now = Utc::now();
    for column in E::tracked() {
        let from = before.and_then(|model| stored(model.get(column)));
        let to = stored(after.get(column));
        if from == to {
            continue;
        }
        transition::ActiveModel {
            id: Set(Uuid::now_v7()),
            record_type: Set(E::KIND.to_owned()),
            record_id: Set(id),
            field: Set(column.as_str().to_owned()),
            from_value: Set(from),
            to_value: Set(to),
            actor_id: Set((!actor.is_system()).then_some(actor.user_id)),
            cause: Set(actor.cause.clone()),
            at: Set(now),
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}

/// The moves of one record's `column`, oldest first. The caller has checked the record is
/// visible to whoever asks.
pub async fn of<E: Record>(
    conn: &impl ConnectionTrait,
    id: Uuid,
    column: E::Column,
) -> Result<Vec<transition::Model>> {
    Ok(transition::Entity::find()
        .filter(transition::Column::RecordId.eq(id))
        .filter(transition::Column::Field.eq(column.as_str()))
        .order_by_asc(transition::Column::At)
        .order_by_asc(transition::Column::Id)
        .all(conn)
        .await?)
}

/// A column's value as text, as the store keeps it (an enumeration's stored value, an id).
fn stored(value: Value) -> Option<String> {
    match value {
        Value::String(Some(text)) => Some(text.to_string()),
        Value::Uuid(Some(id)) => Some(id.to_string()),
        Value::Int(Some(n)) => Some(n.to_string()),
        Value::BigInt(Some(n)) => Some(n.to_string()),
        Value::Bool(Some(b)) => Some(b.to_string()),
        _ => None,
    }
}
