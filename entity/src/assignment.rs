use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::enums::AssignmentStrategy;

/// One assignment of a lead and why it went that way, written in the transaction that moved the
/// owner. The latest row of a lead is its current assignment.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "assignments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub lead_id: Uuid,
    /// `None` when nobody could take the lead; `reason` says why.
    pub owner_id: Option<Uuid>,
    pub previous_owner_id: Option<Uuid>,
    /// Why this owner, in a sentence.
    pub reason: String,
    pub rule_id: Option<Uuid>,
    /// The rule's name when it matched (rules are renamed and deleted later).
    pub rule_name: Option<String>,
    pub strategy: Option<AssignmentStrategy>,
    /// JSON array of the conditions that held, with the lead's value for each.
    pub matched: Json,
    /// JSON array of the people considered, each with why it was chosen or skipped.
    pub candidates: Json,
    /// Who asked; `None` for the system (a new lead, the SLA job).
    pub actor_id: Option<Uuid>,
    /// The follow-up task the new owner got.
    pub task_id: Option<Uuid>,
    pub sla_due_at: Option<DateTimeUtc>,
    pub reassign_on_breach: bool,
    /// When the SLA was found breached (and the lead handed on, where the rule says so).
    pub breached_at: Option<DateTimeUtc>,
    /// The first activity logged on the lead by a person, or its first outbound touch.
    pub first_response_at: Option<DateTimeUtc>,
    pub first_response_secs: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
