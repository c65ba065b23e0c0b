use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::enums::DeliveryStatus;

/// A delivery: one provider request exactly as it was received (headers and raw body), and how
/// processing it went. Stored before the provider is answered, so an acknowledged delivery is
/// never lost.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub connector_id: Uuid,
    /// The provider's key for the delivery (its event id, or a digest of the body); unique per
    /// connector, so a repeat is stored once.
    pub external_id: String,
    /// Lowercase header names to values.
    pub headers: Json,
    #[serde(skip)]
    pub body: Vec<u8>,
    /// The public URL the provider posted to.
    pub url: String,
    /// Whether the request proved who sent it (passed its connector's signature or shared
    /// secret); false when the connector has no secret and accepts anyone (a public web form).
    pub verified: bool,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub last_error: Option<String>,
    pub touchpoint_count: i32,
    /// When the hub received it; connectors place touches without a time of their own here.
    pub received_at: DateTimeUtc,
    pub processed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
