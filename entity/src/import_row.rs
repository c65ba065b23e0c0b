use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::enums::ImportOutcome;

/// One row of an uploaded file, numbered from 1 after the header, and once processed what
/// became of it: the record written, or the field and reason it was skipped or refused.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "import_rows")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub run_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub row_no: i32,
    /// The row's cells as text, in column order.
    pub cells: Json,
    /// The canonical upsert key the row gave, once processed; later rows with the same key
    /// are duplicates of it.
    pub key: Option<String>,
    pub outcome: Option<ImportOutcome>,
    pub field: Option<String>,
    pub reason: Option<String>,
    pub record_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
