use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::enums::{CustomFieldRecordType, DedupeAction, WeightsSource};

/// How records of one type are judged duplicates: the fields compared and how, the
/// Fellegi-Sunter weights, the match probability that counts, and what a write does then.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "dedupe_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub record_type: CustomFieldRecordType,
    pub name: String,
    pub action: DedupeAction,
    /// `[{"field": "last_name", "comparator": "jaro_winkler"}, …]`
    pub fields: Json,
    /// Match probability from which a pair is a duplicate, in (0, 1].
    pub threshold: f64,
    /// `m` and `u` per field and level and the prior; `None` until set or estimated.
    pub weights: Option<Json>,
    pub weights_source: WeightsSource,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
