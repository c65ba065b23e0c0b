//! Intake: a provider's request, a delivery, is verified with its connector's scheme over the
//! raw bytes and stored (headers, body, URL, the time it was received, which parsing reads as
//! the request's own) before anyone answers the provider. What is stored is the request
//! with its credentials masked (a basic-auth password, a key in the URL, a form's secret: see
//! `connectors::credentials`), after verification has used them; everything parsing reads is
//! kept. The same delivery stored twice is one row, because `(connector, external id)` is
//! unique; a repeat is answered with the delivery stored first. Refused requests are never
//! stored, only counted.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use connectors::{ConnectorError, InboundRequest, credentials::StoredRequest};
use entity::{connector, delivery, enums::DeliveryStatus, replay_nonce};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set,
    TryInsertResult,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{
    error::{AppError, Result},
    hub::{Hub, bounds, secrets::SecretBox},
};

/// Why a delivery was refused and not stored.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("no such connector")]
    UnknownConnector,
    #[error("this connector is disabled")]
    Disabled,
    #[error("{0}")]
    Unverified(String),
    #[error("{0}")]
    Malformed(String),
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<sea_orm::DbErr> for Refusal {
    #[track_caller]
    fn from(error: sea_orm::DbErr) -> Self {
        Refusal::Store(AppError::internal(error))
    }
}

/// A stored delivery: its id, the provider's key for it, and whether this request was a repeat
/// of one stored before (then `id` is the first one's).
#[derive(Debug)]
pub struct Receipt {
    pub id: Uuid,
    pub external_id: String,
    pub duplicate: bool,
}

/// A delivery as it reached the hook route, before it is verified and stored.
pub struct NewDelivery {
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    /// The public URL the provider posted to, query included.
    pub url: String,
    pub received_at: DateTime<Utc>,
}

/// The connector a hook URL names, when it takes deliveries.
pub async fn connector(db: &DatabaseConnection, id: Uuid) -> Result<connector::Model, Refusal> {
    let connector = connector::Entity::find_by_id(id)
        .filter(connector::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or(Refusal::UnknownConnector)?;
    if !connector.enabled {
        return Err(Refusal::Disabled);
    }
    Ok(connector)
}

/// The largest body `connector` takes: its kind's cap, unless the settings set one for all.
pub fn max_body_bytes(config: &crate::config::Config, connector: &connector::Model) -> usize {
    config
        .max_webhook_body_bytes
        .unwrap_or_else(|| super::provider(connector.kind).connector().max_body_bytes())
}

pub async fn receive(
    db: &DatabaseConnection,
    hub: &Hub,
    connector: &connector::Model,
    delivery: NewDelivery,
) -> Result<Receipt, Refusal> {
    let provider = super::provider(connector.kind).connector();
    let request = InboundRequest {
        headers: &delivery.headers,
        body: &delivery.body,
        url: &delivery.url,
        received_at: delivery.received_at,
    };
    let secrets = live_secrets(&hub.secrets, connector, delivery.received_at)?;
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    // Only a connector that needs no secret accepts a request while it has none (a public web
    // form): the delivery is stored, but it proves nothing about who sent it.
    let verified = !secrets.is_empty();
    let mut external_id = match provider
        .verify(
            &request,
            &secrets,
            delivery.received_at,
            &connector.settings,
        )
        .and_then(|()| provider.external_id(&request))
    {
        Ok(id) => id,
        Err(ConnectorError::Malformed(reason)) => return Err(Refusal::Malformed(reason)),
        Err(error) => {
            count_refusal(db, connector.id).await?;
            return Err(Refusal::Unverified(error.to_string()));
        }
    };
    bounds::key(&mut external_id);
    let nonce = provider.replay_nonce(&request);

    let stored = StoredRequest {
        headers: delivery.headers,
        body: delivery.body,
        url: delivery.url,
        received_at: delivery.received_at,
    }
    .without_credentials(provider.credentials());
    let txn = crate::db::begin_write(db).await?;
    if let Some(nonce) = nonce
        && !nonce_is_fresh(&txn, connector.id, &nonce, &external_id, stored.received_at).await?
    {
        txn.rollback().await?;
        count_refusal(db, connector.id).await?;
        return Err(Refusal::Unverified(
            "this request's token was used before".into(),
        ));
    }
    let id = Uuid::now_v7();
    let inserted = delivery::Entity::insert(delivery::ActiveModel {
        id: Set(id),
        connector_id: Set(connector.id),
        external_id: Set(external_id.clone()),
        headers: Set(serde_json::to_value(&stored.headers).map_err(AppError::internal)?),
        body: Set(stored.body),
        url: Set(stored.url),
        verified: Set(verified),
        status: Set(DeliveryStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(stored.received_at),
        last_error: Set(None),
        touchpoint_count: Set(0),
        received_at: Set(stored.received_at),
        processed_at: Set(None),
    })
    .on_conflict_do_nothing_on([delivery::Column::ConnectorId, delivery::Column::ExternalId])
    .exec_without_returning(&txn)
    .await?;
    let duplicate = !matches!(inserted, TryInsertResult::Inserted(rows) if rows > 0);
    let id = if duplicate {
        stored_id(&txn, connector.id, &external_id).await?
    } else {
        id
    };
    txn.commit().await?;
    if !duplicate {
        hub.wake_worker();
    }
    metrics::counter!("hub_deliveries_received_total", "duplicate" => duplicate.to_string())
        .increment(1);
    Ok(Receipt {
        id,
        external_id,
        duplicate,
    })
}

/// The id of the delivery stored before under the provider's key.
async fn stored_id<C: ConnectionTrait>(
    conn: &C,
    connector_id: Uuid,
    external_id: &str,
) -> Result<Uuid> {
    delivery::Entity::find()
        .select_only()
        .column(delivery::Column::Id)
        .filter(delivery::Column::ConnectorId.eq(connector_id))
        .filter(delivery::Column::ExternalId.eq(external_id))
        .into_tuple::<Uuid>()
        .one(conn)
        .await?
        .ok_or_else(|| {
            AppError::internal(anyhow::anyhow!(
                "a duplicate delivery's first copy is not stored"
            ))
        })
}

/// The secrets a request may be signed with now: the current one, and the one a rotation
/// replaced while its grace period lasts.
fn live_secrets(
    secrets: &SecretBox,
    connector: &connector::Model,
    now: DateTime<Utc>,
) -> Result<Vec<String>> {
    let mut live = Vec::new();
    if let Some(sealed) = &connector.secret_sealed {
        live.push(
            secrets
                .open(connector.id, sealed)
                .map_err(AppError::internal)?,
        );
    }
    if let (Some(sealed), Some(expires)) = (
        &connector.previous_secret_sealed,
        connector.previous_secret_expires_at,
    ) && now < expires
    {
        live.push(
            secrets
                .open(connector.id, sealed)
                .map_err(AppError::internal)?,
        );
    }
    Ok(live)
}

/// Records the nonce; false when another delivery already used it (a replay). The same
/// delivery sent again (a provider's retry, with the same external id) may carry it again.
async fn nonce_is_fresh<C: ConnectionTrait>(
    conn: &C,
    connector_id: Uuid,
    nonce: &str,
    external_id: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    replay_nonce::Entity::insert(replay_nonce::ActiveModel {
        id: Set(Uuid::now_v7()),
        connector_id: Set(connector_id),
        nonce: Set(nonce.to_owned()),
        external_id: Set(external_id.to_owned()),
        seen_at: Set(now),
    })
    .on_conflict_do_nothing_on([
        replay_nonce::Column::ConnectorId,
        replay_nonce::Column::Nonce,
    ])
    .exec_without_returning(conn)
    .await?;
    let seen = replay_nonce::Entity::find()
        .filter(replay_nonce::Column::ConnectorId.eq(connector_id))
        .filter(replay_nonce::Column::Nonce.eq(nonce))
        .one(conn)
        .await?;
    Ok(seen.is_some_and(|seen| seen.external_id == external_id))
}

/// Counts a refused request in the connector's health; its own statement, as nothing else of
/// the request is kept.
async fn count_refusal(db: &DatabaseConnection, connector_id: Uuid) -> Result<()> {
    connector::Entity::update_many()
        .col_expr(
            connector::Column::SignatureFailures,
            Expr::col(connector::Column::SignatureFailures).add(1),
        )
        .col_expr(
            connector::Column::LastSignatureFailureAt,
            Expr::value(Utc::now()),
        )
        .filter(connector::Column::Id.eq(connector_id))
        .exec(db)
        .await?;
    metrics::counter!("hub_deliveries_refused_total").increment(1);
    Ok(())
}

/// Lets deliveries be processed again: one dead (or any) delivery, or all dead ones of a
/// connector.
pub async fn requeue<C: ConnectionTrait>(conn: &C, filter: sea_orm::Condition) -> Result<u64> {
    let result = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::Status,
            Expr::value(DeliveryStatus::Pending.as_str()),
        )
        .col_expr(delivery::Column::Attempts, Expr::value(0))
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(Utc::now()))
        .filter(filter)
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
