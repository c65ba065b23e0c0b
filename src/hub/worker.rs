//! The inbox worker: claims one due delivery at a time and processes it in the transaction that
//! claimed it. On PostgreSQL the claim skips rows other workers hold (`FOR UPDATE SKIP LOCKED`),
//! so any number of replicas share the inbox without processing a delivery twice; on SQLite
//! the claim is the transaction's first write, which makes it the only writer until it commits.
//! A process killed mid-delivery never commits, so the delivery stays due and is done again.
//!
//! A failed delivery is tried again after an exponential, jittered delay, and dead-lettered
//! with its error kept once it has used its attempts; an admin can replay it from there.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use entity::{connector, delivery, enums::DeliveryStatus};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    EntityTrait, FromQueryResult, IntoActiveModel, Set, Statement, TransactionTrait,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    auth::system_actor,
    config::Config,
    error::{AppError, Result},
    events::Events,
    hub::{Hub, process, storable},
    services::Services,
};

/// What a worker needs, and nothing more: the store, the settings, the hub (secrets and the
/// doorbell new deliveries ring) and the event bus it tells subscribers on.
#[derive(Clone)]
pub struct WorkerContext {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub hub: Hub,
    pub events: Events,
}

impl WorkerContext {
    pub fn new(svc: &Services, hub: Hub) -> Self {
        Self {
            db: svc.db.clone(),
            config: svc.config.clone(),
            hub,
            events: svc.events.clone(),
        }
    }
}

/// The running workers: work that must not be cut off halfway when the process stops.
#[derive(Clone, Default)]
pub struct Workers {
    stopping: CancellationToken,
    tasks: TaskTracker,
}

impl Workers {
    /// Starts `count` workers.
    pub fn start(count: usize, context: &WorkerContext) -> Self {
        let workers = Workers::default();
        for _ in 0..count {
            let stopping = workers.stopping.clone();
            workers.tasks.spawn(run(context.clone(), stopping));
        }
        workers
    }

    /// Tells the workers to claim nothing more and waits up to `grace` for the work in hand
    /// to finish. Work still running then is dropped with its transaction uncommitted, so
    /// its delivery stays due for the next start. True when everything finished.
    pub async fn stop(&self, grace: Duration) -> bool {
        self.stopping.cancel();
        self.tasks.close();
        tokio::time::timeout(grace, self.tasks.wait()).await.is_ok()
    }
}

/// Processes due deliveries until `stopping` is cancelled; sleeps between them when there are
/// none. A delivery in hand is finished first: stopping is only heard between deliveries.
pub async fn run(svc: WorkerContext, stopping: CancellationToken) {
    let poll = Duration::from_millis(svc.config.hub_poll_interval_ms);
    while !stopping.is_cancelled() {
        match process_next(&svc).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(error) => tracing::error!(?error, "the inbox worker could not claim a delivery"),
        }
        tokio::select! {
            () = svc.hub.woken() => {}
            () = tokio::time::sleep(poll) => {}
            () = stopping.cancelled() => {}
        }
    }
}

/// Claims and processes one due delivery; false when none is due.
pub async fn process_next(svc: &WorkerContext) -> Result<bool> {
    let now = Utc::now();
    let txn = crate::db::begin_write(&svc.db).await?;
    let Some(delivery) = claim(&txn, now).await? else {
        txn.rollback().await?;
        return Ok(false);
    };
    let connector = connector::Entity::find_by_id(delivery.connector_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("a delivery's connector is gone")))?;
    let actor = system_actor();
    let cx = process::Context {
        actor: &actor,
        phone_region: &svc.config.default_phone_region,
        sales_engine: svc.config.hub_sales_engine,
    };
    let started = std::time::Instant::now();
    let savepoint = txn.begin().await?;
    let outcome = process::delivery(&savepoint, &cx, &connector, &delivery).await;
    let mut row = delivery.clone().into_active_model();
    let (status, published) = match outcome {
        Ok(processed) => {
            savepoint.commit().await?;
            row.processed_at = Set(Some(Utc::now()));
            row.touchpoint_count = Set(processed.touchpoints);
            row.last_error = Set(None);
            (DeliveryStatus::Processed, processed.events)
        }
        Err(error) => {
            savepoint.rollback().await?;
            let (status, next) = after_failure(&svc.config, delivery.attempts, now);
            let error = error_text(&error);
            tracing::warn!(delivery = %delivery.id, attempts = delivery.attempts, ?status, error, "a delivery failed");
            row.next_attempt_at = Set(next);
            row.last_error = Set(Some(error));
            (status, Vec::new())
        }
    };
    row.status = Set(status);
    row.update(&txn).await?;
    txn.commit().await?;
    metrics::counter!("hub_deliveries_processed_total", "status" => status.as_str()).increment(1);
    metrics::histogram!("hub_delivery_processing_seconds").record(started.elapsed().as_secs_f64());
    for event in published {
        svc.events.publish(event).await;
    }
    Ok(true)
}

/// Takes the oldest due delivery and counts the attempt, as the transaction's first statement.
async fn claim(txn: &DatabaseTransaction, now: DateTime<Utc>) -> Result<Option<delivery::Model>> {
    let backend = txn.get_database_backend();
    let (placeholder, skip_locked) = match backend {
        DbBackend::Postgres => ("$1", "FOR UPDATE SKIP LOCKED"),
        _ => ("?", ""),
    };
    let sql = format!(
        "UPDATE deliveries SET attempts = attempts + 1 \
         WHERE id = (SELECT id FROM deliveries \
                     WHERE status IN ('pending', 'retrying') AND next_attempt_at <= {placeholder} \
                     ORDER BY next_attempt_at, id LIMIT 1 {skip_locked}) \
         RETURNING *"
    );
    let statement = Statement::from_sql_and_values(backend, sql, [now.into()]);
    Ok(delivery::Model::find_by_statement(statement)
        .one(txn)
        .await?)
}

/// Where a delivery goes after its `attempts`-th try failed: tried again after a delay that
/// doubles each time (within ±20 % so a burst of failures does not retry in lockstep), or
/// dead once the attempts are used up.
fn after_failure(
    config: &Config,
    attempts: i32,
    now: DateTime<Utc>,
) -> (DeliveryStatus, DateTime<Utc>) {
    if attempts >= config.hub_max_attempts as i32 {
        return (DeliveryStatus::Dead, now);
    }
    let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
    let delay = config
        .hub_retry_base_ms
        .saturating_mul(1 << doublings)
        .min(config.hub_retry_max_ms);
    let jittered = delay as f64 * (0.8 + 0.4 * fastrand::f64());
    let next = now + chrono::Duration::milliseconds(jittered as i64);
    (DeliveryStatus::Retrying, next)
}

/// What a failed attempt leaves in the delivery's row, for the admin who reads it: the field
/// and the reason, or an internal error's causes, without source locations; storable, since it
/// may quote the provider.
fn error_text(error: &AppError) -> String {
    storable::text(&error.brief())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_with_jitter_and_then_die() {
        let config = Config {
            hub_retry_base_ms: 1_000,
            hub_retry_max_ms: 60_000,
            hub_max_attempts: 5,
            ..Config::default()
        };
        let now = Utc::now();
        for (attempts, base) in [(1, 1_000), (2, 2_000), (3, 4_000), (4, 8_000)] {
            let (status, next) = after_failure(&config, attempts, now);
            assert_eq!(status, DeliveryStatus::Retrying);
            let waited = (next - now).num_milliseconds();
            assert!(
                (base * 8 / 10..=base * 12 / 10).contains(&waited),
                "attempt {attempts}: {waited} ms"
            );
        }
        assert_eq!(after_failure(&config, 5, now).0, DeliveryStatus::Dead);
        let capped = Config {
            hub_max_attempts: 40,
            ..config
        };
        let (_, next) = after_failure(&capped, 30, now);
        assert!((next - now).num_milliseconds() <= 72_000);
    }
}
