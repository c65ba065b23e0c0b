//! Sales pipelines and their stages as records: who reads and writes them, and the lookups the
//! rest of the services need (the stage a new deal starts in, whether a stage takes deals). The
//! first migration seeds the default pipeline; admins edit pipelines through `sales::pipelines`.

use entity::{enums::Role, opportunity, pipeline, pipeline_stage};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Query, SimpleExpr},
};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    services::{
        filter::{FieldTest, IdFilter, Related, col},
        page::{SortField, SortKind, SortValue},
        record_type::Record,
        scope,
    },
};

/// Everyone who reads deals reads the pipelines they move through; only admins shape them.
const READERS: &[Role] = <opportunity::Entity as Record>::READERS;
const WRITERS: &[Role] = &[Role::Admin];

impl Record for pipeline::Entity {
    type OrderField = ByPosition;
    const KIND: &'static str = "pipeline";
    const READERS: &'static [Role] = READERS;
    const WRITERS: &'static [Role] = WRITERS;
    fn id_column() -> pipeline::Column {
        pipeline::Column::Id
    }
    fn owner_column() -> Option<pipeline::Column> {
        None
    }
    fn archived_at_column() -> Option<pipeline::Column> {
        Some(pipeline::Column::ArchivedAt)
    }
    fn updated_at_column() -> Option<pipeline::Column> {
        None
    }
}

impl Record for pipeline_stage::Entity {
    type OrderField = ByPosition;
    const KIND: &'static str = "stage";
    const READERS: &'static [Role] = READERS;
    const WRITERS: &'static [Role] = WRITERS;
    fn id_column() -> pipeline_stage::Column {
        pipeline_stage::Column::Id
    }
    fn owner_column() -> Option<pipeline_stage::Column> {
        None
    }
    fn archived_at_column() -> Option<pipeline_stage::Column> {
        Some(pipeline_stage::Column::ArchivedAt)
    }
    fn updated_at_column() -> Option<pipeline_stage::Column> {
        None
    }
}

/// Pipelines and stages are listed in the order admins gave them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ByPosition {
    Position,
}

impl SortField<pipeline::Model> for ByPosition {
    fn expr(&self) -> SimpleExpr {
        col(pipeline::Column::Position)
    }
    fn value(&self, model: &pipeline::Model) -> SortValue {
        SortValue::Int(model.position.into())
    }
    fn kind(&self) -> SortKind {
        SortKind::Int
    }
}

impl SortField<pipeline_stage::Model> for ByPosition {
    fn expr(&self) -> SimpleExpr {
        col(pipeline_stage::Column::Position)
    }
    fn value(&self, model: &pipeline_stage::Model) -> SortValue {
        SortValue::Int(model.position.into())
    }
    fn kind(&self) -> SortKind {
        SortKind::Int
    }
}

/// The pipelines in order; archived ones only when asked for.
pub async fn pipelines<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    include_archived: bool,
) -> Result<Vec<pipeline::Model>> {
    let mut select = scope::visible::<pipeline::Entity>(actor)?;
    if !include_archived {
        select = select.filter(pipeline::Column::ArchivedAt.is_null());
    }
    Ok(select
        .order_by_asc(pipeline::Column::Position)
        .order_by_asc(pipeline::Column::Id)
        .all(conn)
        .await?)
}

/// The stages of each of `pipelines`, in order; archived ones only when asked for.
pub async fn stages_of<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    pipelines: &[Uuid],
    include_archived: bool,
) -> Result<Vec<pipeline_stage::Model>> {
    let mut select = scope::visible::<pipeline_stage::Entity>(actor)?
        .filter(pipeline_stage::Column::PipelineId.is_in(pipelines.iter().copied()));
    if !include_archived {
        select = select.filter(pipeline_stage::Column::ArchivedAt.is_null());
    }
    Ok(select
        .order_by_asc(pipeline_stage::Column::Position)
        .order_by_asc(pipeline_stage::Column::Id)
        .all(conn)
        .await?)
}

/// The default pipeline's live stages in order: the first live pipeline's.
pub async fn stages<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
) -> Result<Vec<pipeline_stage::Model>> {
    let Some(first) = pipelines(conn, actor, false).await?.into_iter().next() else {
        return Ok(Vec::new());
    };
    stages_of(conn, actor, &[first.id], false).await
}

/// The stage an input field names, if it may take deals: it and its pipeline are live. An
/// unknown stage and an archived one are refused, naming the field.
pub async fn stage<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    field: &str,
) -> Result<pipeline_stage::Model> {
    let stage = pipeline_stage::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::bad_input(field, "no such stage"))?;
    if stage.archived_at.is_some() {
        return Err(AppError::bad_input(field, "this stage is archived"));
    }
    let pipeline_archived = pipeline::Entity::find_by_id(stage.pipeline_id)
        .select_only()
        .column(pipeline::Column::ArchivedAt)
        .into_tuple::<Option<chrono::DateTime<chrono::Utc>>>()
        .one(conn)
        .await?
        .flatten()
        .is_some();
    if pipeline_archived {
        return Err(AppError::bad_input(
            field,
            "this stage's pipeline is archived",
        ));
    }
    Ok(stage)
}

/// The stage new deals start in: the first open (neither won nor lost) live stage of
/// `pipeline`, or of the first live pipeline when none is named.
pub async fn first_stage<C: ConnectionTrait>(
    conn: &C,
    pipeline: Option<Uuid>,
) -> Result<pipeline_stage::Model> {
    let live_pipelines = Query::select()
        .column(pipeline::Column::Id)
        .from(pipeline::Entity)
        .and_where(pipeline::Column::ArchivedAt.is_null())
        .take();
    let mut select = pipeline_stage::Entity::find()
        .filter(pipeline_stage::Column::ArchivedAt.is_null())
        .filter(pipeline_stage::Column::IsWon.eq(false))
        .filter(pipeline_stage::Column::IsLost.eq(false))
        .filter(pipeline_stage::Column::PipelineId.in_subquery(live_pipelines));
    if let Some(pipeline) = pipeline {
        select = select.filter(pipeline_stage::Column::PipelineId.eq(pipeline));
    } else {
        let first = pipeline::Entity::find()
            .filter(pipeline::Column::ArchivedAt.is_null())
            .order_by_asc(pipeline::Column::Position)
            .order_by_asc(pipeline::Column::Id)
            .one(conn)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("no live pipeline")))?;
        select = select.filter(pipeline_stage::Column::PipelineId.eq(first.id));
    }
    select
        .order_by_asc(pipeline_stage::Column::Position)
        .order_by_asc(pipeline_stage::Column::Id)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::bad_input("pipelineId", "no such live pipeline"))
}

/// The stages among `ids`, archived ones included: deals' histories name them.
pub async fn stages_by_ids<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
) -> Result<Vec<pipeline_stage::Model>> {
    Ok(pipeline_stage::Entity::find()
        .filter(pipeline_stage::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?)
}

/// The pipelines among `ids`, archived ones included.
pub async fn pipelines_by_ids<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
) -> Result<Vec<pipeline::Model>> {
    Ok(pipeline::Entity::find()
        .filter(pipeline::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?)
}

/// A test on a deal's stage column that holds when the stage belongs to a pipeline `test`
/// accepts: how deals are filtered by pipeline.
pub fn in_pipeline(test: IdFilter) -> FieldTest {
    FieldTest::Related(Box::new(Related {
        table: "pipeline_stages",
        key: "id",
        column: "pipeline_id",
        test: FieldTest::Id(test),
    }))
}
