use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::enums::ConnectorKind;

/// A configured provider integration: where its webhooks post and how they are verified.
/// Delivery health is read from its `deliveries`; only refused requests, which are never
/// stored, are counted here.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "connectors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: ConnectorKind,
    pub name: String,
    pub enabled: bool,
    /// The provider module's settings (field mappings, tolerances).
    pub settings: Json,
    /// Sealed with the server's secret key; never serialized.
    #[serde(skip)]
    pub secret_sealed: Option<String>,
    pub secret_hint: Option<String>,
    /// The secret a rotation replaced, still accepted until `previous_secret_expires_at`.
    #[serde(skip)]
    pub previous_secret_sealed: Option<String>,
    pub previous_secret_expires_at: Option<DateTimeUtc>,
    pub signature_failures: i64,
    pub last_signature_failure_at: Option<DateTimeUtc>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
