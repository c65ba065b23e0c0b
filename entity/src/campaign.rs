use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::enums::CampaignStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// The `utm_campaign` value that ties touchpoints to this campaign.
    #[sea_orm(unique)]
    pub utm_campaign: Option<String>,
    pub channel: Option<String>,
    pub status: CampaignStatus,
    pub cost_minor: Option<i64>,
    pub currency: Option<String>,
    pub starts_on: Option<Date>,
    pub ends_on: Option<Date>,
    pub archived_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
