//! The audit trail: who did what to which record, with the state before and after.

use chrono::Utc;
use entity::audit_log;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
};

pub async fn record<C: ConnectionTrait, T: Serialize>(
    conn: &C,
    actor: &Actor,
    kind: &str,
    verb: &str,
    entity_id: Uuid,
    before: Option<&T>,
    after: Option<&T>,
) -> Result<()> {
    let json = |value: Option<&T>| {
        value
            .map(serde_json::to_value)
            .transpose()
            .map_err(AppError::internal)
    };
    audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        actor_id: Set((!actor.user_id.is_nil()).then_some(actor.user_id)),
        action: Set(format!("{kind}.{verb}")),
        entity_type: Set(kind.to_owned()),
        entity_id: Set(entity_id),
        before: Set(json(before)?),
        after: Set(json(after)?),
        request_id: Set(actor.request_id.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(conn)
    .await?;
    Ok(())
}
