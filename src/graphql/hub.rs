//! The integrations hub's admin API: connectors, their deliveries and health, replays.

use async_graphql::{Context, Enum, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{
    connector, delivery,
    enums::{ConnectorKind, DeliveryStatus},
};

use crate::{
    error::{AppError, Result},
    graphql::{
        ContextExt,
        changes::uuid,
        connection::{Conn, Paging, connection},
    },
    hub::admin::{self as connectors, ConnectorChanges, NewConnector},
    services::{filter::Filter, input::Patch, records},
};

#[derive(InputObject)]
pub struct NewConnectorInput {
    pub kind: ConnectorKind,
    pub name: String,
    /// The provider's signing secret (or verification key, or credentials); required by every
    /// kind that signs its requests.
    pub secret: Option<String>,
    /// The provider module's settings: field mappings, tolerances. See the connector's docs.
    pub settings: Option<Json<serde_json::Value>>,
    /// Whether deliveries are accepted; true unless given.
    pub enabled: Option<bool>,
}

impl From<NewConnectorInput> for NewConnector {
    fn from(input: NewConnectorInput) -> Self {
        NewConnector {
            kind: input.kind,
            name: input.name,
            secret: input.secret,
            settings: input.settings.map(|Json(settings)| settings),
            enabled: input.enabled,
        }
    }
}

#[derive(InputObject, Default)]
pub struct ConnectorInput {
    pub name: Option<String>,
    pub settings: MaybeUndefined<Json<serde_json::Value>>,
}

impl From<ConnectorInput> for ConnectorChanges {
    fn from(input: ConnectorInput) -> Self {
        ConnectorChanges {
            name: input.name,
            settings: Patch::from(input.settings.map_value(|Json(settings)| settings)),
        }
    }
}

/// The kind of provider a connector talks to.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorFamily {
    Billing,
    Telephony,
    Email,
    WebForm,
    Generic,
}

impl From<::connectors::Family> for ConnectorFamily {
    fn from(family: ::connectors::Family) -> Self {
        match family {
            ::connectors::Family::Billing => Self::Billing,
            ::connectors::Family::Telephony => Self::Telephony,
            ::connectors::Family::Email => Self::Email,
            ::connectors::Family::WebForm => Self::WebForm,
            ::connectors::Family::Generic => Self::Generic,
        }
    }
}

pub struct Connector(pub connector::Model);

#[Object]
impl Connector {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> ConnectorKind {
        self.0.kind
    }
    async fn family(&self) -> ConnectorFamily {
        crate::hub::provider(self.0.kind).family().into()
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Whether deliveries are accepted; a disabled connector's URL answers 410.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// Where the provider must post: `{TOUCHBASE_PUBLIC_URL}/hooks/{id}`.
    async fn webhook_url(&self, ctx: &Context<'_>) -> String {
        format!("{}/hooks/{}", ctx.services().config.public_url(), self.0.id)
    }
    /// Enough of the secret to tell it apart (`whsec_…a1b2`); the secret itself is never shown.
    async fn secret_hint(&self) -> Option<&str> {
        self.0.secret_hint.as_deref()
    }
    /// Until when the secret replaced by the last rotation is still accepted.
    async fn previous_secret_expires_at(&self) -> Option<DateTime<Utc>> {
        self.0
            .previous_secret_expires_at
            .filter(|expires| *expires > Utc::now())
    }
    async fn settings(&self) -> Json<serde_json::Value> {
        Json(self.0.settings.clone())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn health(&self, ctx: &Context<'_>) -> Result<ConnectorHealth> {
        let health = connectors::health(&ctx.services().db, self.0.id).await?;
        let failed = health.retrying + health.dead;
        let settled = health.processed + failed;
        Ok(ConnectorHealth {
            window_hours: connectors::HEALTH_WINDOW_HOURS as i32,
            last_success_at: health.last_success_at,
            received: health.received,
            processed: health.processed,
            pending: health.pending,
            retrying: health.retrying,
            dead: health.dead,
            failure_rate: if settled == 0 {
                0.0
            } else {
                failed as f64 / settled as f64
            },
            signature_failures: self.0.signature_failures,
            last_signature_failure_at: self.0.last_signature_failure_at,
        })
    }
    /// Deliveries, newest first.
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        status: Option<Vec<DeliveryStatus>>,
    ) -> Result<Conn<Delivery>> {
        let request = Paging::new(first, after, last, before).request(ctx)?;
        let (db, actor) = (&ctx.services().db, ctx.actor()?);
        let page = connectors::deliveries(db, actor, self.0.id, status, request).await?;
        Ok(connection(page, Delivery))
    }
}

/// How a connector's deliveries went over the recent window.
#[derive(SimpleObject)]
pub struct ConnectorHealth {
    /// The window the counts cover, in hours.
    pub window_hours: i32,
    /// When a delivery was last processed successfully (any time).
    pub last_success_at: Option<DateTime<Utc>>,
    pub received: u64,
    pub processed: u64,
    pub pending: u64,
    pub retrying: u64,
    pub dead: u64,
    /// Share of settled deliveries that failed (retrying or dead), 0 to 1.
    pub failure_rate: f64,
    /// Requests refused for a bad or missing signature, since the connector was made.
    pub signature_failures: i64,
    pub last_signature_failure_at: Option<DateTime<Utc>>,
}

/// One request a provider made, as stored, and how processing it went.
pub struct Delivery(pub delivery::Model);

#[Object]
impl Delivery {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn connector(&self, ctx: &Context<'_>) -> Result<Connector> {
        let connector = ctx
            .loaders()?
            .connectors
            .load_one(self.0.connector_id)
            .await?
            .ok_or(AppError::NotFound("connector"))?;
        Ok(Connector(connector))
    }
    /// The provider's id for the delivery (its event id, or a digest of the body).
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }
    async fn status(&self) -> DeliveryStatus {
        self.0.status
    }
    /// Whether the request proved who sent it (its connector's signature or shared secret);
    /// false for a connector that accepts anyone, such as a web form without a secret.
    async fn verified(&self) -> bool {
        self.0.verified
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == DeliveryStatus::Retrying).then_some(self.0.next_attempt_at)
    }
    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at
    }
    async fn processed_at(&self) -> Option<DateTime<Utc>> {
        self.0.processed_at
    }
    /// From arrival to processed, in milliseconds.
    async fn latency_ms(&self) -> Option<i64> {
        self.0
            .processed_at
            .map(|done| (done - self.0.received_at).num_milliseconds())
    }
    async fn touchpoint_count(&self) -> i32 {
        self.0.touchpoint_count
    }
    /// The URL the provider posted to, credentials in its query masked.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// The request's headers, names lowercased, credentials masked.
    async fn headers(&self) -> Json<serde_json::Value> {
        Json(self.0.headers.clone())
    }
    /// The body as the provider sent it, credential fields masked (invalid UTF-8 shown as
    /// U+FFFD).
    async fn body(&self) -> String {
        String::from_utf8_lossy(&self.0.body).into_owned()
    }
}

#[derive(SimpleObject)]
pub struct ConnectorPayload {
    pub connector: Connector,
}

#[derive(SimpleObject)]
pub struct DeliveryPayload {
    pub delivery: Delivery,
}

#[derive(Default)]
pub struct HubQuery;

#[Object]
impl HubQuery {
    /// Configured provider integrations (admins only).
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn connectors(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Connector>> {
        let request = Paging::new(first, after, last, before).request(ctx)?;
        let page = records::list::<connector::Entity>(
            &ctx.services().db,
            ctx.actor()?,
            &Filter::default(),
            Vec::new(),
            request,
        )
        .await?;
        Ok(connection(page, Connector))
    }

    async fn connector(&self, ctx: &Context<'_>, id: ID) -> Result<Connector> {
        records::get::<connector::Entity>(&ctx.services().db, ctx.actor()?, uuid("id", &id)?)
            .await
            .map(Connector)
    }

    async fn delivery(&self, ctx: &Context<'_>, id: ID) -> Result<Delivery> {
        records::get::<delivery::Entity>(&ctx.services().db, ctx.actor()?, uuid("id", &id)?)
            .await
            .map(Delivery)
    }
}

#[derive(Default)]
pub struct HubMutation;

#[Object]
impl HubMutation {
    /// Adds a provider integration; give the provider its `webhookUrl`.
    async fn create_connector(
        &self,
        ctx: &Context<'_>,
        input: NewConnectorInput,
    ) -> Result<ConnectorPayload> {
        let connector =
            connectors::create(ctx.services(), ctx.hub(), ctx.actor()?, input.into()).await?;
        Ok(ConnectorPayload {
            connector: Connector(connector),
        })
    }

    async fn update_connector(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: ConnectorInput,
    ) -> Result<ConnectorPayload> {
        let id = uuid("id", &id)?;
        let connector = connectors::update(ctx.services(), ctx.actor()?, id, input.into()).await?;
        Ok(ConnectorPayload {
            connector: Connector(connector),
        })
    }

    /// Replaces the connector's secret. The old one is still accepted for `graceSeconds`
    /// (a day unless given) while the provider's side is switched.
    async fn rotate_connector_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
        secret: String,
        grace_seconds: Option<i32>,
    ) -> Result<ConnectorPayload> {
        let id = uuid("id", &id)?;
        let connector = connectors::rotate_secret(
            ctx.services(),
            ctx.hub(),
            ctx.actor()?,
            id,
            secret,
            grace_seconds.map(i64::from),
        )
        .await?;
        Ok(ConnectorPayload {
            connector: Connector(connector),
        })
    }

    async fn enable_connector(&self, ctx: &Context<'_>, id: ID) -> Result<ConnectorPayload> {
        let id = uuid("id", &id)?;
        let connector = connectors::set_enabled(ctx.services(), ctx.actor()?, id, true).await?;
        Ok(ConnectorPayload {
            connector: Connector(connector),
        })
    }

    /// Stops accepting deliveries: the provider is answered 410 until it is enabled again.
    async fn disable_connector(&self, ctx: &Context<'_>, id: ID) -> Result<ConnectorPayload> {
        let id = uuid("id", &id)?;
        let connector = connectors::set_enabled(ctx.services(), ctx.actor()?, id, false).await?;
        Ok(ConnectorPayload {
            connector: Connector(connector),
        })
    }

    /// Deletes the connector; its URL answers 404. Its deliveries and touchpoints stay.
    async fn delete_connector(&self, ctx: &Context<'_>, id: ID) -> Result<ConnectorPayload> {
        let id = uuid("id", &id)?;
        let connector = connectors::delete(ctx.services(), ctx.actor()?, id).await?;
        Ok(ConnectorPayload {
            connector: Connector(connector),
        })
    }

    /// Processes one delivery again, whatever its state; nothing it recorded is recorded twice.
    async fn replay_delivery(&self, ctx: &Context<'_>, id: ID) -> Result<DeliveryPayload> {
        let id = uuid("id", &id)?;
        let delivery = connectors::replay(ctx.services(), ctx.hub(), ctx.actor()?, id).await?;
        Ok(DeliveryPayload {
            delivery: Delivery(delivery),
        })
    }

    /// Processes every dead delivery of the connector again; answers how many were queued.
    async fn replay_dead_deliveries(&self, ctx: &Context<'_>, connector_id: ID) -> Result<u64> {
        let id = uuid("connectorId", &connector_id)?;
        connectors::replay_dead(ctx.services(), ctx.hub(), ctx.actor()?, id).await
    }
}
