use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{LifecycleStage, RfmSegment};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[sea_orm(unique)]
    pub email: Option<String>,
    pub phone: Option<String>,
    pub title: Option<String>,
    pub account_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub lifecycle_stage: LifecycleStage,
    /// Days since the last purchase.
    pub rfm_recency_days: Option<i32>,
    /// Purchases in the scoring window.
    pub rfm_frequency: Option<i32>,
    /// Revenue in the scoring window, in minor units of `rfm_currency`.
    pub rfm_monetary_minor: Option<i64>,
    pub rfm_currency: Option<String>,
    /// 1 (worst) to 5 (best) against every paying contact, by recency.
    pub rfm_recency_score: Option<i16>,
    pub rfm_frequency_score: Option<i16>,
    pub rfm_monetary_score: Option<i16>,
    pub rfm_segment: Option<RfmSegment>,
    /// The record's searchable fields folded into words (see `canonical::fold`): what both
    /// stores' full-text indexes read. Written by the services on every insert and update.
    #[serde(skip_serializing, default)]
    pub search_text: Option<String>,
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
