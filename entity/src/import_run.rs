use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::enums::{CustomFieldRecordType, ImportStatus};

/// One import: the file's headers, how its columns map onto a record type's fields, the key it
/// upserts on, and how far it got. `rows_done` is the cursor: rows below it have their outcome,
/// written in the same transaction as their records, so a restart resumes exactly there.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "import_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub record_type: CustomFieldRecordType,
    pub status: ImportStatus,
    /// Rows are validated and reported, their records never written.
    pub dry_run: bool,
    pub file_name: String,
    /// The header row, as read.
    pub headers: Json,
    /// One target per column, `null` for a column left out: `["email", null, "custom.tier"]`.
    pub mapping: Json,
    /// The field that finds an existing record to update (`email`, `domain`); none creates.
    pub upsert_key: Option<String>,
    /// A row a dedupe rule finds to be an existing record is merged into it (filling its
    /// blanks, undoable) rather than created beside it.
    pub merge_duplicates: bool,
    /// The user the rows are written as (the nil id for the CLI).
    pub created_by: Uuid,
    pub total_rows: i32,
    pub rows_done: i32,
    pub created: i32,
    pub updated: i32,
    pub merged: i32,
    pub skipped: i32,
    pub refused: i32,
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
