//! Connectors and their deliveries, for admins: create and configure a provider integration,
//! rotate its secret with a grace period, enable, disable or delete it, read how its
//! deliveries went, and replay those that failed. Secrets go in sealed and never come out;
//! the API shows a hint.

use chrono::{Duration, Utc};
use entity::{
    connector, delivery,
    enums::{ConnectorKind, DeliveryStatus, Role},
};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    QuerySelect, Set,
    sea_query::{Expr, ExprTrait, SimpleExpr},
};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    hub::{self, Hub, inbox, secrets},
    services::{
        Services,
        filter::{EnumFilter, FieldTest, Filter, IdFilter, col},
        input::{Patch, SHORT_TEXT},
        page::PageRequest,
        page::{SortDirection, SortField, SortKind, SortValue},
        records::{self, Record},
        scope,
    },
};

/// How long a replaced secret keeps working when the admin names no grace period: a day, time
/// to update the provider's side.
pub const DEFAULT_GRACE_SECS: i64 = 24 * 3600;

impl Record for connector::Entity {
    type OrderField = CreationOrder;
    const KIND: &'static str = "connector";
    const READERS: &'static [Role] = &[Role::Admin];
    const WRITERS: &'static [Role] = &[Role::Admin];
    fn default_order() -> Vec<(CreationOrder, SortDirection)> {
        vec![(CreationOrder, SortDirection::Asc)]
    }
    fn id_column() -> connector::Column {
        connector::Column::Id
    }
    fn owner_column() -> Option<connector::Column> {
        None
    }
    /// A deleted connector answers its provider 404 and leaves the lists; its deliveries stay.
    fn archived_at_column() -> Option<connector::Column> {
        Some(connector::Column::DeletedAt)
    }
    fn updated_at_column() -> Option<connector::Column> {
        Some(connector::Column::UpdatedAt)
    }
}

impl Record for delivery::Entity {
    type OrderField = ReceivedOrder;
    const KIND: &'static str = "delivery";
    const READERS: &'static [Role] = &[Role::Admin];
    const WRITERS: &'static [Role] = &[Role::Admin];
    fn default_order() -> Vec<(ReceivedOrder, SortDirection)> {
        vec![(ReceivedOrder, SortDirection::Desc)]
    }
    fn id_column() -> delivery::Column {
        delivery::Column::Id
    }
    fn owner_column() -> Option<delivery::Column> {
        None
    }
    fn archived_at_column() -> Option<delivery::Column> {
        None
    }
    fn updated_at_column() -> Option<delivery::Column> {
        None
    }
}

/// Connectors list in the order they were made.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CreationOrder;

impl SortField<connector::Model> for CreationOrder {
    fn expr(&self) -> SimpleExpr {
        col(connector::Column::CreatedAt)
    }
    fn value(&self, connector: &connector::Model) -> SortValue {
        SortValue::Time(connector.created_at)
    }
    fn kind(&self) -> SortKind {
        SortKind::Time
    }
}

/// Deliveries list newest first.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ReceivedOrder;

impl SortField<delivery::Model> for ReceivedOrder {
    fn expr(&self) -> SimpleExpr {
        col(delivery::Column::ReceivedAt)
    }
    fn value(&self, delivery: &delivery::Model) -> SortValue {
        SortValue::Time(delivery.received_at)
    }
    fn kind(&self) -> SortKind {
        SortKind::Time
    }
}

pub struct NewConnector {
    pub kind: ConnectorKind,
    pub name: String,
    /// The provider's signing secret (or verification key, or credentials); required by every
    /// kind that signs its requests.
    pub secret: Option<String>,
    /// The provider module's settings: field mappings, tolerances. See the connector's docs.
    pub settings: Option<serde_json::Value>,
    /// Whether deliveries are accepted; true unless given.
    pub enabled: Option<bool>,
}

/// What to change about a connector; clearing the settings empties them.
#[derive(Default)]
pub struct ConnectorChanges {
    pub name: Option<String>,
    pub settings: Patch<serde_json::Value>,
}

pub async fn create(
    svc: &Services,
    hub: &Hub,
    actor: &Actor,
    input: NewConnector,
) -> Result<connector::Model> {
    scope::ensure_writer::<connector::Entity>(actor)?;
    let kind = hub::provider(input.kind);
    let provider = kind.connector();
    let settings = checked_settings(provider, input.settings)?;
    let secret = input
        .secret
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if provider.requires_secret() && secret.is_none() {
        return Err(AppError::bad_input(
            "secret",
            "this kind of connector needs the provider's secret",
        ));
    }
    let id = Uuid::now_v7();
    let now = Utc::now();
    let mut row = connector::ActiveModel {
        id: Set(id),
        kind: Set(input.kind),
        name: Set(crate::validate::required_text(
            "name",
            &input.name,
            SHORT_TEXT,
        )?),
        enabled: Set(input.enabled.unwrap_or(true)),
        settings: Set(settings),
        secret_sealed: Set(None),
        secret_hint: Set(None),
        previous_secret_sealed: Set(None),
        previous_secret_expires_at: Set(None),
        signature_failures: Set(0),
        last_signature_failure_at: Set(None),
        created_by: Set((!actor.user_id.is_nil()).then_some(actor.user_id)),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    };
    if let Some(secret) = secret {
        provider
            .check_secret(&secret)
            .map_err(|e| AppError::bad_input("secret", e.to_string()))?;
        row.secret_sealed = Set(Some(
            hub.secrets.seal(id, &secret).map_err(AppError::internal)?,
        ));
        row.secret_hint = Set(Some(secrets::hint(&secret)));
    }
    records::insert::<connector::Entity>(svc, actor, row).await
}

pub async fn update(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    input: ConnectorChanges,
) -> Result<connector::Model> {
    records::update::<connector::Entity, _>(svc, actor, id, "update", async |_, before, row| {
        if let Some(name) = &input.name {
            row.name = Set(crate::validate::required_text("name", name, SHORT_TEXT)?);
        }
        match input.settings {
            Patch::Keep => {}
            Patch::Clear => row.settings = Set(serde_json::json!({})),
            Patch::Set(settings) => {
                let provider = hub::provider(before.kind).connector();
                row.settings = Set(checked_settings(provider, Some(settings))?);
            }
        }
        Ok(())
    })
    .await
}

/// Replaces the secret; the old one keeps verifying for `grace_secs` so the provider's side can
/// be switched without refusing deliveries in between.
pub async fn rotate_secret(
    svc: &Services,
    hub: &Hub,
    actor: &Actor,
    id: Uuid,
    secret: String,
    grace_secs: Option<i64>,
) -> Result<connector::Model> {
    let secret = secret.trim().to_owned();
    if secret.is_empty() {
        return Err(AppError::bad_input("secret", "required"));
    }
    let grace = grace_secs.unwrap_or(DEFAULT_GRACE_SECS);
    if !(0..=30 * 24 * 3600).contains(&grace) {
        return Err(AppError::bad_input("graceSeconds", "between 0 and 30 days"));
    }
    records::update::<connector::Entity, _>(
        svc,
        actor,
        id,
        "rotate_secret",
        async |_, before, row| {
            hub::provider(before.kind)
                .connector()
                .check_secret(&secret)
                .map_err(|e| AppError::bad_input("secret", e.to_string()))?;
            row.previous_secret_sealed = Set(before.secret_sealed.clone());
            row.previous_secret_expires_at = Set(before
                .secret_sealed
                .as_ref()
                .map(|_| Utc::now() + Duration::seconds(grace)));
            row.secret_sealed = Set(Some(
                hub.secrets.seal(id, &secret).map_err(AppError::internal)?,
            ));
            row.secret_hint = Set(Some(secrets::hint(&secret)));
            Ok(())
        },
    )
    .await
}

pub async fn set_enabled(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    enabled: bool,
) -> Result<connector::Model> {
    let verb = if enabled { "enable" } else { "disable" };
    records::update::<connector::Entity, _>(svc, actor, id, verb, async |_, _, row| {
        row.enabled = Set(enabled);
        Ok(())
    })
    .await
}

/// Deletes the connector: its webhook URL answers 404 from now on; its deliveries and the
/// touchpoints they made stay.
pub async fn delete(svc: &Services, actor: &Actor, id: Uuid) -> Result<connector::Model> {
    records::update::<connector::Entity, _>(svc, actor, id, "delete", async |_, _, row| {
        row.deleted_at = Set(Some(Utc::now()));
        row.enabled = Set(false);
        Ok(())
    })
    .await
}

/// Puts one delivery back in the queue, whatever its state: replaying a processed delivery
/// records nothing twice, as touchpoints are unique per provider event.
pub async fn replay(svc: &Services, hub: &Hub, actor: &Actor, id: Uuid) -> Result<delivery::Model> {
    let delivery = records::get::<delivery::Entity>(&svc.db, actor, id).await?;
    inbox::requeue(
        &svc.db,
        Condition::all().add(delivery::Column::Id.eq(delivery.id)),
    )
    .await?;
    hub.wake_worker();
    records::get::<delivery::Entity>(&svc.db, actor, id).await
}

/// Puts every dead delivery of a connector back in the queue; answers how many.
pub async fn replay_dead(
    svc: &Services,
    hub: &Hub,
    actor: &Actor,
    connector_id: Uuid,
) -> Result<u64> {
    let connector = records::get::<connector::Entity>(&svc.db, actor, connector_id).await?;
    let count = inbox::requeue(
        &svc.db,
        Condition::all()
            .add(delivery::Column::ConnectorId.eq(connector.id))
            .add(delivery::Column::Status.eq(DeliveryStatus::Dead)),
    )
    .await?;
    hub.wake_worker();
    Ok(count)
}

/// A connector's deliveries over a recent window, by outcome.
#[derive(Debug, Default)]
pub struct Health {
    pub last_success_at: Option<chrono::DateTime<Utc>>,
    pub received: u64,
    pub processed: u64,
    pub pending: u64,
    pub retrying: u64,
    pub dead: u64,
}

pub const HEALTH_WINDOW_HOURS: i64 = 24;

pub async fn health(db: &DatabaseConnection, connector_id: Uuid) -> Result<Health> {
    #[derive(FromQueryResult)]
    struct Row {
        status: String,
        count: i64,
    }
    let since = Utc::now() - Duration::hours(HEALTH_WINDOW_HOURS);
    let rows = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::Status)
        .column_as(Expr::col(delivery::Column::Id).count(), "count")
        .filter(delivery::Column::ConnectorId.eq(connector_id))
        .filter(delivery::Column::ReceivedAt.gte(since))
        .group_by(delivery::Column::Status)
        .into_model::<Row>()
        .all(db)
        .await?;
    let last_success_at = delivery::Entity::find()
        .select_only()
        .column_as(
            Expr::col(delivery::Column::ProcessedAt).max(),
            "last_processed",
        )
        .filter(delivery::Column::ConnectorId.eq(connector_id))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Processed))
        .into_tuple::<Option<chrono::DateTime<Utc>>>()
        .one(db)
        .await?
        .flatten();
    let mut health = Health {
        last_success_at,
        ..Health::default()
    };
    for row in rows {
        let count = u64::try_from(row.count).unwrap_or(0);
        health.received += count;
        match row.status.as_str() {
            "processed" => health.processed += count,
            "pending" => health.pending += count,
            "retrying" => health.retrying += count,
            "dead" => health.dead += count,
            _ => {}
        }
    }
    Ok(health)
}

/// One page of a connector's deliveries, newest first, optionally only those in `statuses`.
pub async fn deliveries(
    db: &DatabaseConnection,
    actor: &Actor,
    connector_id: Uuid,
    statuses: Option<Vec<DeliveryStatus>>,
    request: PageRequest,
) -> Result<crate::services::page::Page<delivery::Model>> {
    use delivery::Column as C;
    let of_connector = IdFilter {
        eq: Some(connector_id),
        ..Default::default()
    };
    let filter = Filter::default()
        .on(
            "connectorId",
            C::ConnectorId,
            Some(FieldTest::Id(of_connector)),
        )
        .on(
            "status",
            C::Status,
            statuses.map(|s| FieldTest::Enum(EnumFilter::any_of(&s))),
        );
    records::list::<delivery::Entity>(db, actor, &filter, Vec::new(), request).await
}

fn checked_settings(
    provider: &dyn connectors::Connector,
    settings: Option<serde_json::Value>,
) -> Result<serde_json::Value> {
    let settings = match settings {
        None | Some(serde_json::Value::Null) => serde_json::json!({}),
        Some(settings) if settings.is_object() => settings,
        Some(_) => return Err(AppError::bad_input("settings", "must be a JSON object")),
    };
    provider
        .check_settings(&settings)
        .map_err(|e| AppError::bad_input("settings", e.to_string()))?;
    Ok(settings)
}
