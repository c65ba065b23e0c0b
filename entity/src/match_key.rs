use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::enums::CustomFieldRecordType;

/// A key a record can be found by when looking for its duplicates (its email, its phone, its
/// folded name's start): records sharing a key are compared.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "match_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub record_type: CustomFieldRecordType,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub record_id: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
