//! Announces open activities as their due time passes, each once, across restarts and replicas.
//! The replicas share one watermark in `settings`: a pass moves it from where it was to now,
//! and only the replica whose move lands announces the activities that fell due in between.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use entity::{activity, setting};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set, sea_query::Expr,
};
use tokio::time::MissedTickBehavior;
use uuid::Uuid;

use crate::{
    error::{AppError, Result},
    events::Event,
    services::Services,
};

const WATERMARK: &str = "activities_due_announced_until";

/// Runs [`announce_due`] every `every`, for as long as the task runs.
#[tracing::instrument(name = "due_activities", skip_all)]
pub async fn run(svc: Services, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(error) = announce_due(&svc).await {
            tracing::warn!(?error, "could not announce due activities");
        }
    }
}

/// Announces the open activities that fell due since the last pass on any replica, and returns
/// how many. The first pass ever only sets the watermark: older due dates are not news.
pub async fn announce_due(svc: &Services) -> Result<usize> {
    // Stored timestamps have microseconds; a finer `now` could split one between two windows.
    let now = Utc::now().trunc_subsecs(6);
    let Some(since) = claim_window(&svc.db, now).await? else {
        return Ok(0);
    };
    let due: Vec<Uuid> = activity::Entity::find()
        .select_only()
        .column(activity::Column::Id)
        .filter(activity::Column::DueAt.gt(since))
        .filter(activity::Column::DueAt.lte(now))
        .filter(activity::Column::Done.eq(false))
        .filter(activity::Column::ArchivedAt.is_null())
        .into_tuple()
        .all(&svc.db)
        .await?;
    for &activity_id in &due {
        svc.events.publish(Event::ActivityDue { activity_id }).await;
    }
    Ok(due.len())
}

/// Moves the watermark to `now` and returns where it was, or `None` when there is nothing to
/// claim: the watermark is new, already at `now`, or another replica moved it first.
async fn claim_window(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let Some(stored) = setting::Entity::find_by_id(WATERMARK).one(db).await? else {
        let first = setting::ActiveModel {
            key: Set(WATERMARK.into()),
            value: Set(stamp(now)),
        };
        setting::Entity::insert(first)
            .on_conflict_do_nothing_on([setting::Column::Key])
            .exec(db)
            .await?;
        return Ok(None);
    };
    let since = DateTime::parse_from_rfc3339(&stored.value)
        .map_err(AppError::internal)?
        .with_timezone(&Utc);
    if since >= now {
        return Ok(None);
    }
    let moved = setting::Entity::update_many()
        .col_expr(setting::Column::Value, Expr::value(stamp(now)))
        .filter(setting::Column::Key.eq(WATERMARK))
        .filter(setting::Column::Value.eq(stored.value))
        .exec(db)
        .await?;
    Ok((moved.rows_affected == 1).then_some(since))
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
