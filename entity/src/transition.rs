use sea_orm::entity::prelude::*;

/// One move of a record between states (a lead's status, an opportunity's stage), written in
/// the transaction that made it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "transitions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The record type as the audit log names it (`lead`).
    pub record_type: String,
    pub record_id: Uuid,
    /// The column that moved (`status`, `lifecycle_stage`, `stage_id`).
    pub field: String,
    /// The stored value before; `None` when the record was created.
    pub from_value: Option<String>,
    pub to_value: Option<String>,
    /// Who moved it; `None` for the system.
    pub actor_id: Option<Uuid>,
    /// What moved it when no person did (a rule, a touch).
    pub cause: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
