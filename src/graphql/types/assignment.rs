//! Lead assignment as the API shows it: the rules, and why a lead has its owner (the rule, the
//! conditions that held, everyone considered and the follow-up), read within the lead's rows.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{
    activity, assignment, assignment_rule,
    enums::{AssignmentField, AssignmentStrategy, ConditionOperator},
};
use uuid::Uuid;

use crate::{
    error::{AppError, Result},
    graphql::{
        ContextExt,
        types::{Activity, Team, User},
    },
    sales::assignment::{
        choice::{Candidate, Outcome},
        conditions::{Condition, Matched},
    },
    services::{assignments, records, users},
};

#[derive(SimpleObject)]
pub struct AssignmentCondition {
    pub field: AssignmentField,
    pub key: Option<String>,
    pub operator: ConditionOperator,
    pub values: Vec<String>,
}

impl From<Condition> for AssignmentCondition {
    fn from(c: Condition) -> Self {
        AssignmentCondition {
            field: c.field,
            key: c.key,
            operator: c.operator,
            values: c.values,
        }
    }
}

pub struct AssignmentRule(pub assignment_rule::Model);

#[Object]
impl AssignmentRule {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Evaluation order, from 0; the first active rule that matches decides.
    async fn position(&self) -> i32 {
        self.0.position
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn conditions(&self) -> Result<Vec<AssignmentCondition>> {
        let list: Vec<Condition> =
            serde_json::from_value(self.0.conditions.clone()).map_err(AppError::internal)?;
        Ok(list.into_iter().map(Into::into).collect())
    }
    async fn strategy(&self) -> AssignmentStrategy {
        self.0.strategy
    }
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        user_of(ctx, self.0.user_id).await
    }
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        match self.0.team_id {
            Some(id) => Ok(Some(Team(users::team(&ctx.services().db, id).await?))),
            None => Ok(None),
        }
    }
    async fn sla_minutes(&self) -> Option<i32> {
        self.0.sla_minutes
    }
    async fn reassign_on_breach(&self) -> bool {
        self.0.reassign_on_breach
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A condition that held, and the lead's value that made it hold.
#[derive(SimpleObject)]
pub struct MatchedCondition {
    pub field: AssignmentField,
    pub key: Option<String>,
    pub operator: ConditionOperator,
    pub values: Vec<String>,
    pub lead_value: Option<String>,
}

/// A person an assignment considered, and why they were chosen or not.
pub struct AssignmentCandidate(Candidate);

#[Object]
impl AssignmentCandidate {
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        user_of(ctx, Some(self.0.user_id)).await
    }
    async fn outcome(&self) -> CandidateOutcome {
        match self.0.outcome {
            Outcome::Chosen => CandidateOutcome::Chosen,
            Outcome::Passed => CandidateOutcome::Passed,
            Outcome::Skipped => CandidateOutcome::Skipped,
        }
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    /// Their open leads when the lead was assigned.
    /// Null when the strategy did not need to count them (a round robin without capacities).
    async fn open_leads(&self) -> Option<i64> {
        self.0.open_leads
    }
    async fn max_open_leads(&self) -> Option<i32> {
        self.0.max_open_leads
    }
    async fn away(&self) -> bool {
        self.0.away
    }
}

/// CHOSEN took the lead; PASSED was available but the strategy preferred another; SKIPPED was
/// not available (inactive, away, at capacity, or the owner whose SLA was breached).
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
pub enum CandidateOutcome {
    Chosen,
    Passed,
    Skipped,
}

/// Why a lead has its owner: the rule, the conditions that held, the strategy and everyone it
/// considered, who asked, and how the follow-up went.
pub struct Assignment(pub assignment::Model);

#[Object]
impl Assignment {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Null when nobody could take the lead; `reason` says why.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        user_of(ctx, self.0.owner_id).await
    }
    async fn previous_owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        user_of(ctx, self.0.previous_owner_id).await
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    /// The rule that matched, as it was named then (it may since be renamed or deleted).
    async fn rule_id(&self) -> Option<ID> {
        self.0.rule_id.map(|id| ID(id.to_string()))
    }
    async fn rule_name(&self) -> Option<&str> {
        self.0.rule_name.as_deref()
    }
    async fn strategy(&self) -> Option<AssignmentStrategy> {
        self.0.strategy
    }
    async fn matched(&self) -> Result<Vec<MatchedCondition>> {
        let list: Vec<Matched> =
            serde_json::from_value(self.0.matched.clone()).map_err(AppError::internal)?;
        Ok(list
            .into_iter()
            .map(|m| MatchedCondition {
                field: m.condition.field,
                key: m.condition.key,
                operator: m.condition.operator,
                values: m.condition.values,
                lead_value: m.lead_value,
            })
            .collect())
    }
    async fn candidates(&self) -> Result<Vec<AssignmentCandidate>> {
        let list: Vec<Candidate> =
            serde_json::from_value(self.0.candidates.clone()).map_err(AppError::internal)?;
        Ok(list.into_iter().map(AssignmentCandidate).collect())
    }
    /// Who asked; null for the system (a new lead, an SLA breach).
    async fn by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        user_of(ctx, self.0.actor_id).await
    }
    /// The new owner's follow-up task, when the caller may see it.
    async fn task(&self, ctx: &Context<'_>) -> Result<Option<Activity>> {
        let Some(id) = self.0.task_id else {
            return Ok(None);
        };
        let db = &ctx.services().db;
        match records::get::<activity::Entity>(db, ctx.actor()?, id).await {
            Ok(task) => Ok(Some(Activity(task))),
            Err(AppError::NotFound(_) | AppError::Forbidden(_)) => Ok(None),
            Err(other) => Err(other),
        }
    }
    async fn sla_due_at(&self) -> Option<DateTime<Utc>> {
        self.0.sla_due_at
    }
    /// When the SLA was found passed without a response.
    async fn breached_at(&self) -> Option<DateTime<Utc>> {
        self.0.breached_at
    }
    /// The first activity a person logged on the lead, or its first outbound touch, after this
    /// assignment.
    async fn first_response_at(&self) -> Option<DateTime<Utc>> {
        self.0.first_response_at
    }
    async fn first_response_seconds(&self) -> Option<i64> {
        self.0.first_response_secs
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub(in crate::graphql) async fn user_of(
    ctx: &Context<'_>,
    id: Option<Uuid>,
) -> Result<Option<User>> {
    let Some(id) = id else { return Ok(None) };
    Ok(ctx.loaders()?.users.load_one(id).await?.map(User))
}

/// `Lead.assignment`: the lead's latest assignment.
/// The lead in hand was read within the caller's rows in this request, so a page of leads
/// loads its assignments in one batch.
pub async fn latest_of(ctx: &Context<'_>, lead: Uuid) -> Result<Option<Assignment>> {
    ctx.actor()?;
    Ok(ctx
        .loaders()?
        .assignments
        .load_one(lead)
        .await?
        .map(Assignment))
}

/// `Lead.assignmentHistory`: the lead's assignments, newest first.
pub async fn history_of(ctx: &Context<'_>, lead: Uuid) -> Result<Vec<Assignment>> {
    let limit = assignments::HISTORY_LIMIT;
    let list = assignments::of_lead(&ctx.services().db, ctx.actor()?, lead, limit).await?;
    Ok(list.into_iter().map(Assignment).collect())
}
