//! Merging duplicates into one record that can be taken apart again. A merge chooses the
//! survivor's values field by field ([`fields`]), moves every row that pointed at the merged
//! records to the survivor ([`relations`]), and leaves each merged record as a tombstone:
//! archived, pointing at the survivor, so reads and the hub's identity resolution that reach it
//! land on the survivor. All of it commits in one transaction together with a `merges` row
//! holding the records as they were and the rows moved, which [`undo`] reads to restore them.
//! A dry run does the same writes and rolls them back, so it answers exactly what the merge
//! would do, refusals included, and leaves nothing behind.
//!
//! Records are written through the services' lifecycle, so the write rules apply to the
//! survivor and to every merged record alike (a rep merges only what they may edit), and each
//! gets its audit row and change event.

pub mod fields;
pub mod kinds;
pub mod relations;
mod undo;

use chrono::{Duration, Utc};
use entity::{
    account, contact,
    enums::{ClusterStatus, CustomFieldRecordType},
    lead, merge, opportunity,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Set, Value,
};
use serde_json::json;
use std::str::FromStr;
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    events::Event,
    quality::dedupe::scan,
    sales::scoring,
    services::{Services, records, scope},
};
pub use fields::{Choice, FieldPlan};
use kinds::Mergeable;
pub use relations::Move;
pub use undo::undo;

/// Most records one merge folds into a survivor.
pub const MAX_MERGED: usize = 50;

/// A merge as its caller asks for it.
#[derive(Debug, Clone)]
pub struct MergeRequest {
    pub record_type: CustomFieldRecordType,
    pub survivor_id: Uuid,
    pub merged_ids: Vec<Uuid>,
    pub choices: Vec<Choice>,
    pub dry_run: bool,
}

/// What a merge did, or with a dry run would do.
#[derive(Debug, Clone)]
pub struct Merged {
    pub survivor_id: Uuid,
    pub merged_ids: Vec<Uuid>,
    pub fields: Vec<FieldPlan>,
    pub moves: Vec<Move>,
    /// The stored merge, for undoing it; `None` after a dry run.
    pub merge: Option<merge::Model>,
}

/// Merges `request.merged_ids` into the survivor, or rehearses it with `dry_run`.
pub async fn merge(svc: &Services, actor: &Actor, request: MergeRequest) -> Result<Merged> {
    check(&request)?;
    records::together_or_rehearsed(svc, request.dry_run, async |txn, events| {
        merge_in(svc, txn, actor, &request, events).await
    })
    .await
}

/// Merges the members of a duplicate cluster into `survivor` (by default its earliest record)
/// and marks the cluster merged, in one transaction.
pub async fn merge_cluster(
    svc: &Services,
    actor: &Actor,
    cluster_id: Uuid,
    survivor: Option<Uuid>,
    choices: Vec<Choice>,
    dry_run: bool,
) -> Result<Merged> {
    records::together_or_rehearsed(svc, dry_run, async |txn, events| {
        let cluster = scan::review_in(txn, actor, cluster_id, ClusterStatus::Merged)
            .await?
            .keep_event_in(events);
        let members = scan::member_ids(&cluster);
        let survivor_id = match survivor {
            Some(id) if members.contains(&id) => id,
            Some(_) => {
                return Err(AppError::bad_input(
                    "survivorId",
                    "not a member of the cluster",
                ));
            }
            // Ids are time-ordered: the first member is the record made first.
            None => members.first().copied().unwrap_or_default(),
        };
        let request = MergeRequest {
            record_type: cluster.record_type,
            survivor_id,
            merged_ids: members
                .into_iter()
                .filter(|id| *id != survivor_id)
                .collect(),
            choices,
            dry_run,
        };
        check(&request)?;
        merge_in(svc, txn, actor, &request, events).await
    })
    .await
}

/// The merges into `survivor_id`, newest first, for a caller who may see that record.
pub async fn history(
    db: &impl ConnectionTrait,
    actor: &Actor,
    record_type: CustomFieldRecordType,
    survivor_id: Uuid,
) -> Result<Vec<merge::Model>> {
    match record_type {
        CustomFieldRecordType::Lead => records::get_exactly::<lead::Entity>(db, actor, survivor_id)
            .await
            .map(|_| ())?,
        CustomFieldRecordType::Contact => {
            records::get_exactly::<contact::Entity>(db, actor, survivor_id)
                .await
                .map(|_| ())?
        }
        CustomFieldRecordType::Account => {
            records::get_exactly::<account::Entity>(db, actor, survivor_id)
                .await
                .map(|_| ())?
        }
        CustomFieldRecordType::Opportunity => {
            records::get_exactly::<opportunity::Entity>(db, actor, survivor_id)
                .await
                .map(|_| ())?
        }
    }
    Ok(merge::Entity::find()
        .filter(merge::Column::RecordType.eq(record_type))
        .filter(merge::Column::SurvivorId.eq(survivor_id))
        .order_by_desc(merge::Column::CreatedAt)
        .order_by_desc(merge::Column::Id)
        .all(db)
        .await?)
}

fn check(request: &MergeRequest) -> Result<()> {
    if request.merged_ids.is_empty() {
        return Err(AppError::bad_input(
            "mergedIds",
            "name at least one record to merge",
        ));
    }
    if request.merged_ids.len() > MAX_MERGED {
        return Err(AppError::bad_input(
            "mergedIds",
            format!("at most {MAX_MERGED} records merge at once"),
        ));
    }
    for (i, id) in request.merged_ids.iter().enumerate() {
        if *id == request.survivor_id {
            return Err(AppError::bad_input(
                format!("mergedIds.{i}"),
                "the survivor itself",
            ));
        }
        if request.merged_ids[..i].contains(id) {
            return Err(AppError::bad_input(format!("mergedIds.{i}"), "named twice"));
        }
    }
    Ok(())
}

/// [`merge`] inside the caller's transaction: for a writer that merges as part of a larger
/// write (an import row); `request.dry_run` is the caller's to honour.
pub async fn merge_in(
    svc: &Services,
    txn: &DatabaseTransaction,
    actor: &Actor,
    request: &MergeRequest,
    events: &mut Vec<Event>,
) -> Result<Merged> {
    use CustomFieldRecordType as T;
    match request.record_type {
        T::Lead => {
            let mut outcome =
                Box::pin(merge_typed::<lead::Entity>(txn, actor, request, events)).await?;
            // Touches moved onto the survivor: its scores and stage follow them.
            outcome.survivor = Box::pin(scoring::lead_in(
                txn,
                outcome.survivor,
                scoring::Trigger::Edit,
                events,
            ))
            .await?;
            finish::<lead::Entity>(svc, txn, actor, request, outcome).await
        }
        T::Contact => {
            let outcome =
                Box::pin(merge_typed::<contact::Entity>(txn, actor, request, events)).await?;
            finish::<contact::Entity>(svc, txn, actor, request, outcome).await
        }
        T::Account => {
            let outcome =
                Box::pin(merge_typed::<account::Entity>(txn, actor, request, events)).await?;
            finish::<account::Entity>(svc, txn, actor, request, outcome).await
        }
        T::Opportunity => {
            let outcome = Box::pin(merge_typed::<opportunity::Entity>(
                txn, actor, request, events,
            ))
            .await?;
            finish::<opportunity::Entity>(svc, txn, actor, request, outcome).await
        }
    }
}

/// A merge of one type as written, before its history is stored.
struct Outcome<M> {
    fields: Vec<FieldPlan>,
    moves: Vec<Move>,
    survivor_before: M,
    merged_before: Vec<M>,
    survivor: M,
}

/// Loads the records within the caller's rows, turns the merged ones into tombstones, moves
/// their relations and writes the survivor's chosen values.
async fn merge_typed<E: Mergeable>(
    txn: &DatabaseTransaction,
    actor: &Actor,
    request: &MergeRequest,
    events: &mut Vec<Event>,
) -> Result<Outcome<E::Model>> {
    scope::ensure_writer::<E>(actor)?;
    let mut models = vec![live::<E>(txn, actor, request.survivor_id, "survivorId").await?];
    for (i, id) in request.merged_ids.iter().enumerate() {
        models.push(live::<E>(txn, actor, *id, &format!("mergedIds.{i}")).await?);
    }
    let plan = fields::plan::<E>(actor, &models, &request.choices)?;
    let survivor_id = request.survivor_id;
    let now = Utc::now();
    // Tombstones first: a unique value (an email) the survivor takes from a merged record must
    // be given up before the survivor is written with it.
    for loser in &models[1..] {
        let given_up: Vec<E::Column> = E::UNIQUE
            .iter()
            .filter_map(|name| {
                let column = E::Column::from_str(name).ok()?;
                let value = sea_orm::ModelTrait::get(loser, column);
                (plan.final_value::<E>(&models, name) == Some(value.clone())
                    && value != value.as_null())
                .then_some(column)
            })
            .collect();
        let tombstone = E::merged_into_column().expect("mergeable types have tombstones");
        let archived = E::archived_at_column().expect("mergeable types archive");
        records::update_held_in::<E, _>(
            txn,
            actor,
            loser.clone(),
            "merge",
            async |_, _, active| {
                active.set(tombstone, Value::from(Some(survivor_id)));
                if sea_orm::ModelTrait::get(loser, archived)
                    == Value::from(None::<chrono::DateTime<Utc>>)
                {
                    active.set(archived, Value::from(Some(now)));
                }
                for column in &given_up {
                    let value = sea_orm::ModelTrait::get(loser, *column);
                    active.set(*column, value.as_null());
                }
                Ok(())
            },
        )
        .await?
        .keep_event_in(events);
    }
    let merged_ids = &request.merged_ids;
    let moves = relations::move_to(txn, E::RELATIONS, survivor_id, merged_ids).await?;
    let survivor = records::update_held_in::<E, _>(
        txn,
        actor,
        models[0].clone(),
        "merge",
        async |_, _, active| {
            plan.apply::<E>(&models, active);
            Ok(())
        },
    )
    .await?
    .keep_event_in(events);
    let mut models = models.into_iter();
    let survivor_before = models.next().expect("the survivor was loaded first");
    Ok(Outcome {
        fields: plan.fields,
        moves,
        survivor_before,
        merged_before: models.collect(),
        survivor,
    })
}

/// The live record `id` within the caller's rows; a tombstone is refused, naming what it was
/// merged into.
async fn live<E: Mergeable>(
    txn: &DatabaseTransaction,
    actor: &Actor,
    id: Uuid,
    field: &str,
) -> Result<E::Model> {
    let found = records::get_exactly::<E>(txn, actor, id).await?;
    if let Some(survivor) = records::merged_into::<E>(&found) {
        return Err(AppError::Conflict {
            field: Some(field.to_owned()),
            message: format!("this {} was merged into {survivor}", E::KIND),
        });
    }
    Ok(found)
}

/// Stores the merge's history and answers what it did.
async fn finish<E: Mergeable>(
    svc: &Services,
    txn: &DatabaseTransaction,
    actor: &Actor,
    request: &MergeRequest,
    outcome: Outcome<E::Model>,
) -> Result<Merged> {
    let now = Utc::now();
    let stored = merge::ActiveModel {
        id: Set(Uuid::now_v7()),
        record_type: Set(E::RECORD_TYPE),
        survivor_id: Set(request.survivor_id),
        merged_ids: Set(json!(request.merged_ids)),
        actor_id: Set(Some(actor.user_id)),
        survivor_before: Set(json!(outcome.survivor_before)),
        survivor_after: Set(json!(outcome.survivor)),
        merged_before: Set(json!(outcome.merged_before)),
        moves: Set(json!(outcome.moves)),
        created_at: Set(now),
        undo_until: Set(now + Duration::days(i64::from(svc.config.merge_undo_days))),
        undone_at: Set(None),
        undone_by: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(Merged {
        survivor_id: request.survivor_id,
        merged_ids: request.merged_ids.clone(),
        fields: outcome.fields,
        moves: outcome.moves,
        merge: (!request.dry_run).then_some(stored),
    })
}
