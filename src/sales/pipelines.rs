//! Shaping pipelines: admins create, rename and archive pipelines, and add, change, reorder and
//! archive their stages, under the rules a CRM admin expects. A probability is a percentage; a
//! stage is won or lost or neither; a pipeline always keeps an open stage for new deals; names
//! are unique (pipelines among pipelines, stages within their pipeline); a stage is archived
//! only once its open deals have somewhere to go, and they move through the record lifecycle,
//! so their stage history shows the move.
//!
//! Every change is a record write ([`records`]), so it is audited; edits of one pipeline take
//! turns on PostgreSQL ([`crate::db::lock`]), so two admins cannot each archive one of its last
//! two open stages.

use entity::{opportunity, pipeline, pipeline_stage};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Set, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    events::Event,
    services::{Services, input::SHORT_TEXT, opportunities, pipeline as read, records, scope},
    validate,
};

/// A stage as an admin describes it.
#[derive(Clone, Debug)]
pub struct NewStage {
    pub name: String,
    /// Percent, 0 to 100.
    pub probability: i32,
    pub is_won: bool,
    pub is_lost: bool,
}

/// What an admin changes of a stage; `None` keeps the field.
#[derive(Clone, Debug, Default)]
pub struct StageChanges {
    pub name: Option<String>,
    pub probability: Option<i32>,
    pub is_won: Option<bool>,
    pub is_lost: Option<bool>,
}

/// Creates a pipeline after the others, with its stages in the order given; one of them must
/// be open.
pub async fn create(
    svc: &Services,
    actor: &Actor,
    name: &str,
    stages: Vec<NewStage>,
) -> Result<(pipeline::Model, Vec<pipeline_stage::Model>)> {
    scope::ensure_writer::<pipeline::Entity>(actor)?;
    let name = validate::required_text("name", name, SHORT_TEXT)?;
    let stages = stages
        .into_iter()
        .enumerate()
        .map(|(i, stage)| checked(&format!("stages.{i}"), stage))
        .collect::<Result<Vec<_>>>()?;
    if !stages.iter().any(|s| !s.is_won && !s.is_lost) {
        return Err(AppError::bad_input(
            "stages",
            "a pipeline needs at least one open stage (neither won nor lost)",
        ));
    }
    let mut names: Vec<String> = stages.iter().map(|s| s.name.to_lowercase()).collect();
    names.sort();
    if names.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err(AppError::conflict("stages", "two stages share a name"));
    }
    writing(svc, &[], async |txn, _| {
        ensure_pipeline_name_free(txn, &name, None).await?;
        let position = next_position(
            pipeline::Entity::find().select_only(),
            pipeline::Column::Position,
            txn,
        )
        .await?;
        let created = records::insert_in::<pipeline::Entity>(
            txn,
            actor,
            pipeline::ActiveModel {
                id: Set(Uuid::now_v7()),
                name: Set(name),
                position: Set(position),
                archived_at: Set(None),
            },
        )
        .await?
        .model;
        let mut made = Vec::with_capacity(stages.len());
        for (position, stage) in (1..).zip(stages) {
            made.push(insert_stage(txn, actor, created.id, position, stage).await?);
        }
        Ok((created, made))
    })
    .await
}

pub async fn rename(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    name: &str,
) -> Result<pipeline::Model> {
    scope::ensure_writer::<pipeline::Entity>(actor)?;
    let name = validate::required_text("name", name, SHORT_TEXT)?;
    writing(svc, &[id], async |txn, _| {
        ensure_pipeline_name_free(txn, &name, Some(id)).await?;
        let renamed = records::update_in::<pipeline::Entity, _>(
            txn,
            actor,
            id,
            "rename",
            async |_, _, pipeline| {
                pipeline.name = Set(name);
                Ok(())
            },
        )
        .await?;
        Ok(renamed.model)
    })
    .await
}

/// Archives a pipeline that holds no open deals; the last live pipeline stays, so new deals
/// always have somewhere to start.
pub async fn archive(svc: &Services, actor: &Actor, id: Uuid) -> Result<pipeline::Model> {
    scope::ensure_writer::<pipeline::Entity>(actor)?;
    writing(svc, &[id], async |txn, _| {
        let current = live_pipeline(txn, actor, id).await?;
        let others = pipeline::Entity::find()
            .filter(pipeline::Column::ArchivedAt.is_null())
            .filter(pipeline::Column::Id.ne(current.id))
            .count(txn)
            .await?;
        if others == 0 {
            return Err(AppError::conflict(
                "id",
                "the last live pipeline cannot be archived",
            ));
        }
        let stages: Vec<Uuid> = read::stages_of(txn, actor, &[id], true)
            .await?
            .iter()
            .map(|s| s.id)
            .collect();
        let open = open_deals(txn, &stages).await?;
        if !open.is_empty() {
            return Err(AppError::conflict(
                "id",
                format!(
                    "the pipeline still holds {} open deals; move or close them first",
                    open.len()
                ),
            ));
        }
        Ok(records::archive_in::<pipeline::Entity>(txn, actor, id)
            .await?
            .model)
    })
    .await
}

/// Adds a stage at the end of a live pipeline.
pub async fn add_stage(
    svc: &Services,
    actor: &Actor,
    pipeline_id: Uuid,
    stage: NewStage,
) -> Result<pipeline_stage::Model> {
    scope::ensure_writer::<pipeline_stage::Entity>(actor)?;
    let stage = checked("input", stage)?;
    writing(svc, &[pipeline_id], async |txn, _| {
        live_pipeline(txn, actor, pipeline_id).await?;
        ensure_stage_name_free(txn, pipeline_id, &stage.name, None).await?;
        let position = next_position(
            pipeline_stage::Entity::find()
                .select_only()
                .filter(pipeline_stage::Column::PipelineId.eq(pipeline_id)),
            pipeline_stage::Column::Position,
            txn,
        )
        .await?;
        insert_stage(txn, actor, pipeline_id, position, stage).await
    })
    .await
}

/// Renames a live stage or changes its probability or whether it is won or lost. Deals already
/// in it keep their close stamps: a stage's meaning changes from now on.
pub async fn update_stage(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    changes: StageChanges,
) -> Result<pipeline_stage::Model> {
    scope::ensure_writer::<pipeline_stage::Entity>(actor)?;
    let name = changes
        .name
        .map(|name| validate::required_text("input.name", &name, SHORT_TEXT))
        .transpose()?;
    if let Some(probability) = changes.probability {
        check_probability("input.probability", probability)?;
    }
    let before = live_stage(&svc.db, actor, id).await?;
    writing(svc, &[before.pipeline_id], async |txn, _| {
        let before = live_stage(txn, actor, id).await?;
        let is_won = changes.is_won.unwrap_or(before.is_won);
        let is_lost = changes.is_lost.unwrap_or(before.is_lost);
        if is_won && is_lost {
            return Err(AppError::bad_input(
                "input",
                "a stage is won or lost, not both",
            ));
        }
        if let Some(name) = &name {
            ensure_stage_name_free(txn, before.pipeline_id, name, Some(id)).await?;
        }
        if is_won || is_lost {
            ensure_another_open_stage(txn, actor, &before).await?;
        }
        let updated = records::update_in::<pipeline_stage::Entity, _>(
            txn,
            actor,
            id,
            "update",
            async |_, _, stage| {
                if let Some(name) = name {
                    stage.name = Set(name);
                }
                if let Some(probability) = changes.probability {
                    stage.probability = Set(probability);
                }
                stage.is_won = Set(is_won);
                stage.is_lost = Set(is_lost);
                Ok(())
            },
        )
        .await?;
        Ok(updated.model)
    })
    .await
}

/// Puts a pipeline's live stages in the order of `ids`, which names each of them once.
pub async fn reorder_stages(
    svc: &Services,
    actor: &Actor,
    pipeline_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<pipeline_stage::Model>> {
    scope::ensure_writer::<pipeline_stage::Entity>(actor)?;
    writing(svc, &[pipeline_id], async |txn, _| {
        live_pipeline(txn, actor, pipeline_id).await?;
        let stages = read::stages_of(txn, actor, &[pipeline_id], false).await?;
        let mut given = ids.to_vec();
        given.sort_unstable();
        let mut live: Vec<Uuid> = stages.iter().map(|s| s.id).collect();
        live.sort_unstable();
        if given != live {
            return Err(AppError::bad_input(
                "stageIds",
                format!(
                    "name each of the pipeline's {} live stages exactly once",
                    live.len()
                ),
            ));
        }
        let mut ordered = Vec::with_capacity(ids.len());
        for (position, id) in (1..).zip(ids) {
            let stage = stages.iter().find(|s| s.id == *id);
            if stage.is_some_and(|s| s.position == position) {
                ordered.extend(stage.cloned());
                continue;
            }
            let moved = records::update_in::<pipeline_stage::Entity, _>(
                txn,
                actor,
                *id,
                "reorder",
                async |_, _, stage| {
                    stage.position = Set(position);
                    Ok(())
                },
            )
            .await?;
            ordered.push(moved.model);
        }
        Ok(ordered)
    })
    .await
}

/// Archives a live stage. Its open deals move to `move_to`, a live stage of the same pipeline,
/// which is required while it holds any; closed deals keep it as their history. The pipeline
/// must keep another open stage.
pub async fn archive_stage(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    move_to: Option<Uuid>,
) -> Result<pipeline_stage::Model> {
    scope::ensure_writer::<pipeline_stage::Entity>(actor)?;
    let before = live_stage(&svc.db, actor, id).await?;
    writing(svc, &[before.pipeline_id], async |txn, events| {
        let stage = live_stage(txn, actor, id).await?;
        ensure_another_open_stage(txn, actor, &stage).await?;
        let open = open_deals(txn, &[id]).await?;
        if let Some(target) = move_to {
            let target = read::stage(txn, target, "moveOpenDealsTo").await?;
            if target.id == id || target.pipeline_id != stage.pipeline_id {
                return Err(AppError::bad_input(
                    "moveOpenDealsTo",
                    "name another live stage of the same pipeline",
                ));
            }
            for deal in open {
                opportunities::move_in(txn, actor, deal, target.id, "stage_archived")
                    .await?
                    .keep_event_in(events);
            }
        } else if !open.is_empty() {
            return Err(AppError::bad_input(
                "moveOpenDealsTo",
                format!(
                    "the stage holds {} open deals: name the stage to move them to",
                    open.len()
                ),
            ));
        }
        Ok(
            records::archive_in::<pipeline_stage::Entity>(txn, actor, id)
                .await?
                .model,
        )
    })
    .await
}

/// Runs `write` in a write transaction holding the edit locks of `pipelines`, and tells
/// subscribers what it moved once it commits.
async fn writing<T>(
    svc: &Services,
    pipelines: &[Uuid],
    write: impl AsyncFnOnce(&DatabaseTransaction, &mut Vec<Event>) -> Result<T>,
) -> Result<T> {
    let locks: Vec<String> = pipelines
        .iter()
        .map(|id| format!("pipeline {id}"))
        .collect();
    records::together(svc, async |txn, events| {
        crate::db::lock(txn, &locks).await?;
        write(txn, events).await
    })
    .await
}

fn check_probability(field: &str, probability: i32) -> Result<()> {
    if (0..=100).contains(&probability) {
        Ok(())
    } else {
        Err(AppError::bad_input(field, "a percentage from 0 to 100"))
    }
}

/// The stage as it will be stored, or why it cannot be; `field` is where it sits in the input.
fn checked(field: &str, stage: NewStage) -> Result<NewStage> {
    check_probability(&format!("{field}.probability"), stage.probability)?;
    if stage.is_won && stage.is_lost {
        return Err(AppError::bad_input(
            field,
            "a stage is won or lost, not both",
        ));
    }
    Ok(NewStage {
        name: validate::required_text(&format!("{field}.name"), &stage.name, SHORT_TEXT)?,
        ..stage
    })
}

async fn insert_stage(
    txn: &DatabaseTransaction,
    actor: &Actor,
    pipeline_id: Uuid,
    position: i32,
    stage: NewStage,
) -> Result<pipeline_stage::Model> {
    let stage = pipeline_stage::ActiveModel {
        id: Set(Uuid::now_v7()),
        pipeline_id: Set(pipeline_id),
        name: Set(stage.name),
        position: Set(position),
        probability: Set(stage.probability),
        is_won: Set(stage.is_won),
        is_lost: Set(stage.is_lost),
        archived_at: Set(None),
    };
    Ok(
        records::insert_in::<pipeline_stage::Entity>(txn, actor, stage)
            .await?
            .model,
    )
}

/// One past the highest position among the rows `select` finds.
async fn next_position<E: EntityTrait>(
    select: sea_orm::Select<E>,
    column: E::Column,
    txn: &DatabaseTransaction,
) -> Result<i32> {
    let highest = select
        .column_as(Expr::col(column).max(), "highest")
        .into_tuple::<Option<i32>>()
        .one(txn)
        .await?
        .flatten();
    Ok(highest.unwrap_or(0).saturating_add(1))
}

/// The pipeline, if it exists and is live; NOT_FOUND or CONFLICT otherwise.
async fn live_pipeline(
    txn: &DatabaseTransaction,
    actor: &Actor,
    id: Uuid,
) -> Result<pipeline::Model> {
    let found = records::get::<pipeline::Entity>(txn, actor, id).await?;
    if found.archived_at.is_some() {
        return Err(AppError::conflict("id", "the pipeline is archived"));
    }
    Ok(found)
}

/// The stage, if it exists and is live; NOT_FOUND or CONFLICT otherwise.
async fn live_stage(
    conn: &impl sea_orm::ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> Result<pipeline_stage::Model> {
    let found = records::get::<pipeline_stage::Entity>(conn, actor, id).await?;
    if found.archived_at.is_some() {
        return Err(AppError::conflict("id", "the stage is archived"));
    }
    Ok(found)
}

/// Refuses to take `stage` from its pipeline's open stages when it is the last one.
async fn ensure_another_open_stage(
    txn: &DatabaseTransaction,
    actor: &Actor,
    stage: &pipeline_stage::Model,
) -> Result<()> {
    let stages = read::stages_of(txn, actor, &[stage.pipeline_id], false).await?;
    let open_others = stages
        .iter()
        .filter(|s| s.id != stage.id && !s.is_won && !s.is_lost)
        .count();
    if open_others == 0 {
        return Err(AppError::conflict(
            "id",
            "a pipeline keeps at least one open stage (neither won nor lost)",
        ));
    }
    Ok(())
}

/// The live, open deals in any of `stages`.
async fn open_deals(txn: &DatabaseTransaction, stages: &[Uuid]) -> Result<Vec<Uuid>> {
    Ok(opportunity::Entity::find()
        .select_only()
        .column(opportunity::Column::Id)
        .filter(opportunity::Column::StageId.is_in(stages.iter().copied()))
        .filter(opportunity::Column::ArchivedAt.is_null())
        .filter(opportunity::Column::ClosedAt.is_null())
        .into_tuple::<Uuid>()
        .all(txn)
        .await?)
}

/// Names compare without case: "Renewals" and "renewals" would confuse everyone.
async fn ensure_pipeline_name_free(
    txn: &DatabaseTransaction,
    name: &str,
    except: Option<Uuid>,
) -> Result<()> {
    let names = pipeline::Entity::find()
        .select_only()
        .columns([pipeline::Column::Id, pipeline::Column::Name])
        .into_tuple::<(Uuid, String)>()
        .all(txn)
        .await?;
    if taken(&names, name, except) {
        return Err(AppError::conflict(
            "name",
            "a pipeline with this name exists (perhaps archived)",
        ));
    }
    Ok(())
}

async fn ensure_stage_name_free(
    txn: &DatabaseTransaction,
    pipeline_id: Uuid,
    name: &str,
    except: Option<Uuid>,
) -> Result<()> {
    let names = pipeline_stage::Entity::find()
        .select_only()
        .columns([pipeline_stage::Column::Id, pipeline_stage::Column::Name])
        .filter(pipeline_stage::Column::PipelineId.eq(pipeline_id))
        .into_tuple::<(Uuid, String)>()
        .all(txn)
        .await?;
    if taken(&names, name, except) {
        return Err(AppError::conflict(
            "name",
            "this pipeline has a stage with this name (perhaps archived)",
        ));
    }
    Ok(())
}

fn taken(names: &[(Uuid, String)], name: &str, except: Option<Uuid>) -> bool {
    let name = name.to_lowercase();
    names
        .iter()
        .any(|(id, existing)| Some(*id) != except && existing.to_lowercase() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(probability: i32, is_won: bool, is_lost: bool) -> NewStage {
        NewStage {
            name: " Demo ".into(),
            probability,
            is_won,
            is_lost,
        }
    }

    #[test]
    fn a_stage_has_a_percentage_and_is_not_both_won_and_lost() {
        assert_eq!(
            checked("input", stage(0, false, false)).unwrap().name,
            "Demo"
        );
        assert!(checked("input", stage(100, true, false)).is_ok());
        for bad in [stage(-1, false, false), stage(101, false, true)] {
            let err = checked("input", bad).unwrap_err();
            assert_eq!(
                err.to_string(),
                "input.probability: a percentage from 0 to 100"
            );
        }
        let err = checked("input", stage(50, true, true)).unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
    }

    #[test]
    fn names_are_taken_whatever_their_case_except_by_the_record_itself() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let names = [(a, "Renewals".to_owned()), (b, "New business".to_owned())];
        assert!(taken(&names, "renewals", None));
        assert!(taken(&names, "RENEWALS", Some(b)));
        assert!(!taken(&names, "renewals", Some(a)));
        assert!(!taken(&names, "Upsell", None));
    }
}
