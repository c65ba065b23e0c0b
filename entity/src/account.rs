use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{AccountStatus, RfmSegment};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub phone: Option<String>,
    pub parent_id: Option<Uuid>,
    pub status: AccountStatus,
    pub territory: Option<String>,
    pub owner_id: Option<Uuid>,
    /// Days since the last purchase.
    pub rfm_recency_days: Option<i32>,
    /// Purchases in the scoring window.
    pub rfm_frequency: Option<i32>,
    /// Revenue in the scoring window, in minor units of `rfm_currency`.
    pub rfm_monetary_minor: Option<i64>,
    pub rfm_currency: Option<String>,
    /// 1 (worst) to 5 (best) against every paying account, by recency.
    pub rfm_recency_score: Option<i16>,
    pub rfm_frequency_score: Option<i16>,
    pub rfm_monetary_score: Option<i16>,
    pub rfm_segment: Option<RfmSegment>,
    /// `domain` as `canonical::domain` reads it: what makes an account unique.
    pub canonical_domain: Option<String>,
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
