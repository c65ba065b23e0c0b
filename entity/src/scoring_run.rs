use sea_orm::entity::prelude::*;

use crate::enums::RunState;

/// A rescoring of every lead under one model version, run in the background.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scoring_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub version: i32,
    pub state: RunState,
    /// Leads to score, counted when the run started.
    pub total: i32,
    pub done: i32,
    pub requested_by: Option<Uuid>,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
