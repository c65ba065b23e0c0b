use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::enums::{Direction, SourceCategory, TouchpointChannel};

/// One customer interaction, with the source that brought it. `Default` is the blank a list
/// that reads only some columns fills in.
#[derive(Clone, Debug, Default, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "touchpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub lead_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    pub campaign_id: Option<Uuid>,
    pub channel: TouchpointChannel,
    pub direction: Option<Direction>,
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub term: Option<String>,
    pub content: Option<String>,
    pub referrer: Option<String>,
    pub landing_page: Option<String>,
    pub gclid: Option<String>,
    pub fbclid: Option<String>,
    pub msclkid: Option<String>,
    pub source_category: Option<SourceCategory>,
    pub subject: Option<String>,
    pub summary: Option<String>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub occurred_at: DateTimeUtc,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    /// Set on touchpoints the integrations hub recorded: the connector and delivery they came
    /// from, the provider's id for the event (unique per connector), its name and order.
    pub connector_id: Option<Uuid>,
    pub delivery_id: Option<Uuid>,
    pub external_id: Option<String>,
    pub event: Option<String>,
    pub sequence: Option<i64>,
    /// Provider facts beyond the columns: call outcome, contact flags, mapped fields, ids.
    pub details: Option<Json>,
    /// False when it came from a delivery that proved nothing about its sender (an unsigned
    /// web form); such a touch on a record that already existed changed nothing on it.
    pub verified: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
