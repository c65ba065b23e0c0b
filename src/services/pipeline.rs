//! The sales pipeline's stages, seeded with the default pipeline by the first migration.

use entity::pipeline_stage;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
};

pub async fn stages<C: ConnectionTrait>(
    conn: &C,
    _actor: &Actor,
) -> Result<Vec<pipeline_stage::Model>> {
    Ok(pipeline_stage::Entity::find()
        .order_by_asc(pipeline_stage::Column::Position)
        .all(conn)
        .await?)
}

pub async fn stage<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    field: &str,
) -> Result<pipeline_stage::Model> {
    pipeline_stage::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::bad_input(field, "no such stage"))
}

/// The stage new opportunities start in.
pub async fn first_stage<C: ConnectionTrait>(conn: &C) -> Result<pipeline_stage::Model> {
    pipeline_stage::Entity::find()
        .order_by_asc(pipeline_stage::Column::Position)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("the pipeline has no stages")))
}

/// The stages among `ids`; every signed-in user may see the pipeline.
pub async fn stages_by_ids<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
) -> Result<Vec<pipeline_stage::Model>> {
    Ok(pipeline_stage::Entity::find()
        .filter(pipeline_stage::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?)
}
