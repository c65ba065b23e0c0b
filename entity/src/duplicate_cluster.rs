use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::enums::{ClusterStatus, CustomFieldRecordType};

/// Records a scan found to be one person or company, for someone to review and merge.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "duplicate_clusters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub record_type: CustomFieldRecordType,
    pub rule_id: Uuid,
    /// `[{"id": "…", "probability": 0.98}, …]`: each member with its best match probability.
    pub members: Json,
    pub size: i32,
    pub top_probability: f64,
    pub status: ClusterStatus,
    pub found_at: DateTimeUtc,
    pub reviewed_at: Option<DateTimeUtc>,
    pub reviewed_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
