use sea_orm::entity::prelude::*;
use serde::Serialize;

/// One stage of a pipeline; its name is unique within the pipeline.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "pipeline_stages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pipeline_id: Uuid,
    pub name: String,
    pub position: i32,
    /// Win probability in percent, 0–100.
    pub probability: i32,
    pub is_won: bool,
    pub is_lost: bool,
    /// Set when the stage takes no more deals; deals' histories still name it.
    pub archived_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
