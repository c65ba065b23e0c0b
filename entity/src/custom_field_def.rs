use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::enums::{CustomFieldRecordType, CustomFieldType};

/// An admin's definition of a custom field on one record type. The key names the value in the
/// records' `custom_fields` object and never changes; the label is what people read.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "custom_field_defs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub record_type: CustomFieldRecordType,
    pub key: String,
    pub label: String,
    pub field_type: CustomFieldType,
    pub required: bool,
    /// The choices of a select, in order: `[{"value": "gold", "label": "Gold"}]`; `[]` else.
    pub options: Json,
    /// The value a new record gets when its creator gives none, stored as values are.
    pub default_value: Option<Json>,
    /// Set when the field is removed: its values stay on the records, out of reads.
    pub archived_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
