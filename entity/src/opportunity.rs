use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "opportunities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub account_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub lead_id: Option<Uuid>,
    pub stage_id: Uuid,
    /// Deal value in minor units of `currency`.
    pub amount_minor: i64,
    pub currency: String,
    pub close_date: Option<Date>,
    pub owner_id: Option<Uuid>,
    pub lost_reason: Option<String>,
    pub closed_at: Option<DateTimeUtc>,
    /// Values of the type's custom fields, keyed by definition key.
    pub custom_fields: Json,
    pub archived_at: Option<DateTimeUtc>,
    /// Set when this record was merged into another: it is then a tombstone, archived, and
    /// reads of it answer the record it became.
    pub merged_into_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
