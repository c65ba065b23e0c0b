//! Undoing a merge within its window: the survivor's fields go back to what they were (those
//! nobody has edited since), the moved rows return to the records they came from, and each
//! tombstone becomes the record it was, all in one transaction.

use chrono::Utc;
use entity::{account, contact, enums::CustomFieldRecordType, lead, merge, opportunity};
use sea_orm::{
    ActiveModelTrait, DatabaseTransaction, EntityTrait, IdenStatic, IntoActiveModel, Iterable,
    ModelTrait, Set,
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    events::Event,
    quality::merge::{
        kinds::Mergeable,
        relations::{self, Move},
    },
    sales::scoring,
    services::{Services, records},
};

/// Columns an undo never writes back: the lifecycle keeps them.
const KEPT: &[&str] = &["id", "search_text", "created_at", "updated_at"];

/// Undoes merge `id`; refused once undone, once its window has passed, and while its survivor
/// is itself merged into another record (that merge is undone first).
pub async fn undo(svc: &Services, actor: &Actor, id: Uuid) -> Result<merge::Model> {
    records::together(svc, async |txn, events| {
        let stored = merge::Entity::find_by_id(id)
            .one(txn)
            .await?
            .ok_or(AppError::NotFound("merge"))?;
        if let Some(at) = stored.undone_at {
            return Err(conflict(format!("this merge was undone at {at}")));
        }
        if Utc::now() > stored.undo_until {
            return Err(conflict(format!(
                "this merge could be undone until {}",
                stored.undo_until
            )));
        }
        use CustomFieldRecordType as T;
        match stored.record_type {
            T::Lead => {
                let survivor =
                    Box::pin(undo_typed::<lead::Entity>(txn, actor, &stored, events)).await?;
                // Its touches went back: its scores and stage follow them.
                let _ = Box::pin(scoring::lead_in(
                    txn,
                    survivor,
                    scoring::Trigger::Edit,
                    events,
                ))
                .await?;
            }
            T::Contact => {
                Box::pin(undo_typed::<contact::Entity>(txn, actor, &stored, events)).await?;
            }
            T::Account => {
                Box::pin(undo_typed::<account::Entity>(txn, actor, &stored, events)).await?;
            }
            T::Opportunity => {
                Box::pin(undo_typed::<opportunity::Entity>(
                    txn, actor, &stored, events,
                ))
                .await?;
            }
        }
        let mut undone = stored.into_active_model();
        undone.undone_at = Set(Some(Utc::now()));
        undone.undone_by = Set(Some(actor.user_id));
        Ok(undone.update(txn).await?)
    })
    .await
}

fn conflict(message: String) -> AppError {
    AppError::Conflict {
        field: Some("id".into()),
        message,
    }
}

fn stored<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T> {
    serde_json::from_value(value.clone())
        .map_err(|e| AppError::internal(anyhow::anyhow!("a stored merge does not read back: {e}")))
}

async fn undo_typed<E>(
    txn: &DatabaseTransaction,
    actor: &Actor,
    merge: &merge::Model,
    events: &mut Vec<Event>,
) -> Result<E::Model>
where
    E: Mergeable,
    E::Model: DeserializeOwned,
{
    let before: E::Model = stored(&merge.survivor_before)?;
    let after: E::Model = stored(&merge.survivor_after)?;
    let merged_before: Vec<E::Model> = stored(&merge.merged_before)?;
    let moves: Vec<Move> = stored(&merge.moves)?;
    let current = records::get_exactly::<E>(txn, actor, merge.survivor_id).await?;
    if let Some(into) = records::merged_into::<E>(&current) {
        return Err(conflict(format!(
            "the survivor was merged into {into} since; undo that merge first"
        )));
    }
    let restorable = || E::Column::iter().filter(|c| !KEPT.contains(&c.as_str()));
    // The survivor first: a unique value it took from a merged record is freed for its owner.
    let survivor =
        records::update_held_in::<E, _>(txn, actor, current, "unmerge", async |_, now, active| {
            for column in restorable() {
                let merged_value = after.get(column);
                if merged_value != before.get(column) && now.get(column) == merged_value {
                    active.set(column, before.get(column));
                }
            }
            Ok(())
        })
        .await?
        .keep_event_in(events);
    relations::put_back(txn, E::RELATIONS, merge.survivor_id, &moves).await?;
    for was in &merged_before {
        let id = records::id_of::<E>(was);
        let tombstone = records::get_exactly::<E>(txn, actor, id).await?;
        records::update_held_in::<E, _>(txn, actor, tombstone, "unmerge", async |_, _, active| {
            for column in restorable() {
                active.set(column, was.get(column));
            }
            Ok(())
        })
        .await?
        .keep_event_in(events);
    }
    Ok(survivor)
}
