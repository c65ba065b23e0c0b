use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::enums::CustomFieldRecordType;

/// One merge of records into a survivor, with what it takes to undo it: the records as they
/// were and every relation row it moved.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "merges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub record_type: CustomFieldRecordType,
    pub survivor_id: Uuid,
    /// JSON array of the ids merged into the survivor, which are now its tombstones.
    pub merged_ids: Json,
    pub actor_id: Option<Uuid>,
    /// The survivor's row before and after the merge.
    pub survivor_before: Json,
    pub survivor_after: Json,
    /// JSON array of the merged records' rows as they were.
    pub merged_before: Json,
    /// JSON array of `{"relation", "table", "column", "from", "ids"}`: the rows of `table`
    /// whose `column` pointed at `from` (a merged record) and now point at the survivor.
    pub moves: Json,
    pub created_at: DateTimeUtc,
    /// The last moment the merge may be undone.
    pub undo_until: DateTimeUtc,
    pub undone_at: Option<DateTimeUtc>,
    pub undone_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
