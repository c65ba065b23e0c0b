//! Lead scoring: how well a lead fits (admin rules over its fields, in capped groups), how
//! engaged it is (its touches, weighted by kind and halving with age), the grade of the two,
//! and the lifecycle moves they earn (MQL, SQL). Every score can be explained:
//! [`breakdown`] recomputes it from the model version and the moment it was stored at, so the
//! parts shown always add up to the stored figures.

mod evaluate;
mod model;
mod rescore;
mod versions;

use entity::{enums::Role, lead, scoring_run};
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder, QuerySelect};

pub use evaluate::Breakdown;
pub use model::{
    FitField, FitGroup, FitRule, GradeBands, LifecycleCriteria, Operator, ScoringModel, Thresholds,
    TouchKind, TouchWeight,
};
pub use rescore::{Scored, Trigger, lead_in, periodically, qualify_in, score_into};
pub use versions::Version;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    events::Events,
    services::Services,
};

/// The model in force; anyone signed in may read it, so a rep can see what counts.
pub async fn model(db: &DatabaseConnection) -> Result<Version> {
    versions::current(db).await
}

/// Stores `model` as the next version and starts rescoring every lead under it in the
/// background; answers the version and the run, whose progress admins can follow.
pub async fn change_model(
    svc: &Services,
    actor: &Actor,
    model: ScoringModel,
) -> Result<(Version, scoring_run::Model)> {
    let version = save_model(&svc.db, actor, model).await?;
    let run = rescore::start_run(&svc.db, Some(actor.user_id)).await?;
    let (db, events, id) = (svc.db.clone(), svc.events.clone(), run.id);
    tokio::spawn(async move {
        if let Err(error) = rescore::all(&db, &events, id).await {
            tracing::warn!(?error, run = %id, "rescoring after a model change stopped");
        }
    });
    Ok((version, run))
}

/// Stores `model`, checked, as the next version (admins only); leads keep the scores of the
/// version that gave them until they are rescored.
pub async fn save_model(
    db: &DatabaseConnection,
    actor: &Actor,
    model: ScoringModel,
) -> Result<Version> {
    ensure_admin(actor)?;
    let txn = crate::db::begin_write(db).await?;
    let version = versions::add(&txn, actor, model).await?;
    txn.commit().await?;
    Ok(version)
}

/// Rescores every lead under the version in force now, as a recorded run; answers how many
/// leads it scored.
pub async fn rescore_everyone(
    db: &DatabaseConnection,
    announce: &Events,
    requested_by: Option<uuid::Uuid>,
) -> Result<u64> {
    let run = rescore::start_run(db, requested_by).await?;
    rescore::all(db, announce, run.id).await
}

/// The latest rescoring runs, newest first; for admins.
pub async fn runs(
    db: &DatabaseConnection,
    actor: &Actor,
    limit: u64,
) -> Result<Vec<scoring_run::Model>> {
    ensure_admin(actor)?;
    Ok(scoring_run::Entity::find()
        .order_by_desc(scoring_run::Column::StartedAt)
        .limit(limit.min(100))
        .all(db)
        .await?)
}

/// The breakdown of a lead the caller has already been allowed to read.
pub async fn explain(db: &DatabaseConnection, lead: &lead::Model) -> Result<Option<Breakdown>> {
    let (Some(as_of), Some(number)) = (lead.scored_at, lead.score_version) else {
        return Ok(None);
    };
    let version = versions::of(db, number).await?.ok_or_else(|| {
        AppError::internal(anyhow::anyhow!("scoring model version {number} is gone"))
    })?;
    let touches = rescore::touches_of(db, lead.id, as_of).await?;
    Ok(Some(evaluate::evaluate(
        &version.model,
        number,
        lead,
        &touches,
        as_of,
    )))
}

fn ensure_admin(actor: &Actor) -> Result<()> {
    if actor.is(Role::Admin) {
        Ok(())
    } else {
        Err(AppError::forbidden("only admins change lead scoring"))
    }
}
