use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{LeadGrade, LeadStatus, LifecycleStage, SourceCategory};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "leads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[sea_orm(unique)]
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub title: Option<String>,
    pub website: Option<String>,
    pub industry: Option<String>,
    /// Head count of the lead's company.
    pub employees: Option<i32>,
    /// ISO 3166-1 alpha-2, uppercase.
    pub country: Option<String>,
    /// State, province or county, as the lead gives it.
    pub region: Option<String>,
    pub postcode: Option<String>,
    pub status: LeadStatus,
    pub lifecycle_stage: LifecycleStage,
    /// Free-text origin as sales records it ("trade show", "stripe").
    pub lead_source: Option<String>,
    pub owner_id: Option<Uuid>,
    // BANT qualification.
    pub budget_minor: Option<i64>,
    pub budget_currency: Option<String>,
    pub authority: Option<String>,
    pub need: Option<String>,
    pub timeline: Option<String>,
    /// JSON array of competitor names.
    pub competitors: Json,
    /// JSON array of objections heard.
    pub objections: Json,
    pub fit_score: i32,
    pub engagement_score: i32,
    pub score: i32,
    /// Fit band × engagement band; `None` until the lead is first scored.
    pub grade: Option<LeadGrade>,
    /// When the scores were last computed: the moment their decay was measured at.
    pub scored_at: Option<DateTimeUtc>,
    /// The scoring model version that computed them.
    pub score_version: Option<i32>,
    // First touch attribution.
    pub first_source: Option<String>,
    pub first_medium: Option<String>,
    pub first_campaign: Option<String>,
    pub first_source_category: Option<SourceCategory>,
    pub first_touch_at: Option<DateTimeUtc>,
    // Latest touch attribution.
    pub latest_source: Option<String>,
    pub latest_medium: Option<String>,
    pub latest_campaign: Option<String>,
    pub latest_source_category: Option<SourceCategory>,
    pub latest_touch_at: Option<DateTimeUtc>,
    /// JSON object of custom field values keyed by field name.
    pub custom_fields: Json,
    pub converted_at: Option<DateTimeUtc>,
    pub converted_contact_id: Option<Uuid>,
    pub converted_account_id: Option<Uuid>,
    pub converted_opportunity_id: Option<Uuid>,
    /// The record's searchable fields folded into words (see `canonical::fold`): what both
    /// stores' full-text indexes read. Written by the services on every insert and update.
    #[serde(skip_serializing, default)]
    pub search_text: Option<String>,
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
