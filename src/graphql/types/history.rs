//! The moves of a record between states (a lead's status, an opportunity's stage), as the API
//! shows them: typed values, when, and who made the move.

use std::collections::HashMap;

use async_graphql::{Context, OutputType, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{
    enums::{LeadStatus, LifecycleStage},
    transition,
};
use uuid::Uuid;

use crate::{
    error::Result,
    graphql::{
        ContextExt,
        types::{PipelineStage, User},
    },
    services::{record_type::Record, transitions},
};

/// One move: from (null when the record began in `to`), to, when, and who made it.
#[derive(SimpleObject)]
#[graphql(concrete(name = "LeadStatusChange", params(LeadStatus)))]
#[graphql(concrete(name = "LifecycleStageChange", params(LifecycleStage)))]
#[graphql(concrete(name = "PipelineStageChange", params(PipelineStage)))]
pub struct Change<T: OutputType> {
    pub from: Option<T>,
    pub to: Option<T>,
    pub at: DateTime<Utc>,
    /// Who made the move; null when the system did.
    pub by: Option<User>,
    /// What made the move when no person did.
    pub cause: Option<String>,
}

/// The moves of an enumeration column of a record the caller can see, oldest first.
pub async fn of_enum<E, T>(ctx: &Context<'_>, id: Uuid, column: E::Column) -> Result<Vec<Change<T>>>
where
    E: Record,
    T: OutputType + sea_orm::ActiveEnum<Value = String>,
{
    let rows = transitions::of::<E>(&ctx.services().db, id, column).await?;
    let parse = |stored: &Option<String>| stored.clone().and_then(|v| T::try_from_value(&v).ok());
    let values: Vec<_> = rows
        .iter()
        .map(|row| (parse(&row.from_value), parse(&row.to_value)))
        .collect();
    changes(ctx, rows, values).await
}

/// The moves of an opportunity between pipeline stages, oldest first.
pub async fn of_stage<E: Record>(
    ctx: &Context<'_>,
    id: Uuid,
    column: E::Column,
) -> Result<Vec<Change<PipelineStage>>> {
    let rows = transitions::of::<E>(&ctx.services().db, id, column).await?;
    let id_of = |stored: &Option<String>| stored.as_deref().and_then(|v| Uuid::parse_str(v).ok());
    let ids: Vec<Uuid> = rows
        .iter()
        .flat_map(|row| [id_of(&row.from_value), id_of(&row.to_value)])
        .flatten()
        .collect();
    let stages = ctx.loaders()?.stages.load_many(ids).await?;
    let stage = |stored: &Option<String>| {
        id_of(stored)
            .and_then(|id| stages.get(&id).cloned())
            .map(PipelineStage)
    };
    let values: Vec<_> = rows
        .iter()
        .map(|row| (stage(&row.from_value), stage(&row.to_value)))
        .collect();
    changes(ctx, rows, values).await
}

async fn changes<T: OutputType>(
    ctx: &Context<'_>,
    rows: Vec<transition::Model>,
    values: Vec<(Option<T>, Option<T>)>,
) -> Result<Vec<Change<T>>> {
    let actors: Vec<Uuid> = rows.iter().filter_map(|row| row.actor_id).collect();
    let users: HashMap<Uuid, _> = ctx.loaders()?.users.load_many(actors).await?;
    Ok(rows
        .into_iter()
        .zip(values)
        .map(|(row, (from, to))| Change {
            from,
            to,
            at: row.at,
            by: row
                .actor_id
                .and_then(|id| users.get(&id).cloned())
                .map(User),
            cause: row.cause,
        })
        .collect())
}
