use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::enums::ContactPointKind;

/// An address, number or provider customer id a person is reached by, linked to their lead or
/// contact, with what providers reported about it (bounces, unsubscribes, spam reports).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "contact_points")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: ContactPointKind,
    /// The provider of a customer id (`stripe`); empty for emails and phones.
    pub provider: String,
    pub value: String,
    /// The value is canonical (a lowercased address, an E.164 number); false for a sender kept
    /// as it came because it could not be normalised (`ACME`, `+15550001111`).
    pub normalized: bool,
    pub lead_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub bounced_at: Option<DateTimeUtc>,
    pub unsubscribed_at: Option<DateTimeUtc>,
    pub spam_reported_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
