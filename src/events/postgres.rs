//! The PostgreSQL leg of the event bus: NOTIFY on one channel to publish, one LISTEN
//! connection per replica to receive, reopened with backoff when it drops.

use std::time::Duration;

use sea_orm::sqlx::{self, PgPool, postgres::PgListener};
use tokio::sync::broadcast;

use super::Event;

/// The NOTIFY channel every replica listens on. Channels are per database, so replicas of
/// different installations on one server do not hear each other.
const CHANNEL: &str = "touchbase_events";
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(10);

pub(super) async fn notify(pool: &PgPool, event: &Event) -> anyhow::Result<()> {
    let payload = serde_json::to_string(event)?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(payload)
        .execute(pool)
        .await?;
    Ok(())
}

/// A connection that is already listening, so no notification sent after it returns is missed.
pub(super) async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Hands every notification to the local subscribers, for as long as the task runs. A lost
/// connection is replaced; what was sent while it was down is gone.
pub(super) async fn relay(pool: PgPool, mut listener: PgListener, local: broadcast::Sender<Event>) {
    loop {
        match listener.recv().await {
            Ok(notification) => match serde_json::from_str::<Event>(notification.payload()) {
                // Fails only when nobody is subscribed, which is fine.
                Ok(event) => drop(local.send(event)),
                Err(error) => {
                    tracing::warn!(%error, payload = notification.payload(), "ignored an unreadable event");
                }
            },
            Err(error) => {
                tracing::warn!(%error, "the event listener lost its connection");
                drop(listener);
                listener = reconnect(&pool).await;
                tracing::info!("the event listener is listening again");
            }
        }
    }
}

async fn reconnect(pool: &PgPool) -> PgListener {
    let mut wait = FIRST_RETRY;
    loop {
        tokio::time::sleep(wait).await;
        match listen(pool).await {
            Ok(listener) => return listener,
            Err(error) => {
                wait = (wait * 2).min(LAST_RETRY);
                tracing::warn!(%error, retry_in = ?wait, "the event listener could not reconnect");
            }
        }
    }
}
