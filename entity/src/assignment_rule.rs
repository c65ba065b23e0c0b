use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::enums::AssignmentStrategy;

/// One of the ordered lead assignment rules; the first active rule whose conditions all hold
/// decides a new lead's owner.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "assignment_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// Evaluation order, from 0; rewritten whole on every reorder.
    pub position: i32,
    pub active: bool,
    /// JSON array of `{field, key?, operator, values}`; every one must hold.
    pub conditions: Json,
    pub strategy: AssignmentStrategy,
    /// The owner, for the single-user strategy.
    pub user_id: Option<Uuid>,
    /// The team whose members share the leads, for the team strategies.
    pub team_id: Option<Uuid>,
    /// Minutes the new owner has to act on the lead before the SLA is breached.
    pub sla_minutes: Option<i32>,
    /// A breached SLA hands the lead to the next candidate.
    pub reassign_on_breach: bool,
    /// How many assignments the rule has made: the round robin's turn.
    pub turns: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
