//! Live updates: what changed, told to every subscriber on every replica. On SQLite (a single
//! process by nature) events travel through an in-process broadcast. On PostgreSQL they go out
//! with NOTIFY and come back to each replica through its one LISTEN connection, so a subscriber
//! hears the same events wherever the write happened, and each of them once: a replica delivers
//! only what comes back through LISTEN, its own writes included.
//!
//! Events name records, never carry them: subscribers re-read the record with their own row
//! rules. Delivery is at most once; an event sent while a replica's listener is reconnecting
//! is lost to that replica's subscribers.

mod postgres;

use futures_util::{Stream, StreamExt, future};
use sea_orm::{DatabaseConnection, DbBackend};
use serde::{Deserialize, Serialize};
use tokio::{sync::broadcast, task::JoinSet};
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};
use uuid::Uuid;

/// Events a slow subscriber may fall behind by before it misses some.
const BUFFER: usize = 1024;

/// Something subscribers may want to hear about, as it travels between replicas (JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Event {
    /// A lead was created or changed (archiving and restoring included).
    LeadChanged { lead_id: Uuid },
    /// A touchpoint was recorded on a lead.
    TouchpointAdded { lead_id: Uuid, touchpoint_id: Uuid },
    /// An open activity's due time has passed.
    ActivityDue { activity_id: Uuid },
    /// A user's role, team or active state changed, or one of their sessions ended: whatever
    /// was decided about their rights must be decided again.
    AccessChanged { user_id: Uuid },
    /// An import was started, or worked a batch further, or finished.
    ImportProgressed { run_id: Uuid },
}

/// Publishes events and hands out subscriptions to them. Cheap to clone.
#[derive(Clone)]
pub struct Events {
    local: broadcast::Sender<Event>,
    transport: Transport,
}

#[derive(Clone)]
enum Transport {
    InProcess,
    Postgres(sea_orm::sqlx::PgPool),
}

impl Events {
    /// Events for this process only.
    pub fn in_process() -> Self {
        Self {
            local: broadcast::channel(BUFFER).0,
            transport: Transport::InProcess,
        }
    }

    /// Events shared the way the store allows. On PostgreSQL the listener is connected before
    /// this returns, so nothing committed afterwards is missed, and its relay runs in `tasks`.
    pub async fn start(db: &DatabaseConnection, tasks: &mut JoinSet<()>) -> anyhow::Result<Self> {
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(Self::in_process());
        }
        let pool = db.get_postgres_connection_pool().clone();
        let listener = postgres::listen(&pool).await?;
        let events = Self {
            local: broadcast::channel(BUFFER).0,
            transport: Transport::Postgres(pool.clone()),
        };
        tasks.spawn(postgres::relay(pool, listener, events.local.clone()));
        Ok(events)
    }

    /// Tells every subscriber on every replica. Call it after the change is committed. A
    /// failure is logged, not returned: the change itself stands, and the caller must not
    /// report it as failed.
    pub async fn publish(&self, event: Event) {
        match &self.transport {
            // Fails only when nobody is subscribed, which is fine.
            Transport::InProcess => drop(self.local.send(event)),
            Transport::Postgres(pool) => {
                if let Err(error) = postgres::notify(pool, &event).await {
                    tracing::error!(?event, %error, "could not publish an event");
                }
            }
        }
    }

    /// Every event published from now on, on any replica.
    pub fn subscribe(&self) -> impl Stream<Item = Event> + Send + use<> {
        BroadcastStream::new(self.local.subscribe()).filter_map(|received| {
            future::ready(match received {
                Ok(event) => Some(event),
                Err(BroadcastStreamRecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "a subscriber fell behind and missed events");
                    None
                }
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_travel_as_tagged_camel_case_json() {
        let id = Uuid::nil();
        let event = Event::TouchpointAdded {
            lead_id: id,
            touchpoint_id: id,
        };
        let json = serde_json::to_value(event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "type": "touchpointAdded", "leadId": id, "touchpointId": id })
        );
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), event);
    }
}
