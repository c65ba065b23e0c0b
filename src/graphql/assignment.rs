//! Lead assignment's API: the ordered rules and the default owner (admins edit them, managers
//! read them), a user's availability, assigning leads on demand, and why a lead has its owner
//! (`Lead.assignment`, `Lead.assignmentHistory`).

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    activity, assignment as assignment_row, assignment_rule,
    enums::{AssignmentField, AssignmentStrategy, ConditionOperator},
};
use uuid::Uuid;

use crate::{
    error::{AppError, Result},
    graphql::{
        ContextExt,
        changes::uuid,
        filters::{FilterInput, LeadFilter},
        types::{Activity, Lead, Team, User},
    },
    sales::assignment::{
        self, Assigned,
        choice::{Candidate, Outcome},
        conditions::{Condition, Matched},
        rules::{self, RuleChanges},
    },
    services::{assignments, records, users},
};

/// One test a lead must pass: `field` (`key` names the custom field) compared by `operator`
/// with `values`. Text compares without regard to case.
#[derive(InputObject, Clone)]
pub struct AssignmentConditionInput {
    pub field: AssignmentField,
    pub key: Option<String>,
    pub operator: ConditionOperator,
    #[graphql(default)]
    pub values: Vec<String>,
}

/// A rule's settings; on update, what is left out stays as it is.
#[derive(InputObject, Default)]
pub struct AssignmentRuleInput {
    pub name: Option<String>,
    pub active: Option<bool>,
    /// Every one must hold; none matches every lead.
    pub conditions: Option<Vec<AssignmentConditionInput>>,
    pub strategy: Option<AssignmentStrategy>,
    /// The owner, for the USER strategy.
    pub user_id: MaybeUndefined<ID>,
    /// The team whose members share the leads, for the other strategies.
    pub team_id: MaybeUndefined<ID>,
    /// Minutes the new owner has to respond; their follow-up task is due then.
    pub sla_minutes: MaybeUndefined<i32>,
    /// Hand the lead to the next person when the SLA passes without a response.
    pub reassign_on_breach: Option<bool>,
    /// Where the rule goes in the order, from 0; a new rule goes last when left out.
    pub position: Option<i32>,
}

impl AssignmentRuleInput {
    fn into_changes(self) -> Result<RuleChanges> {
        let id = |field: &str, value: MaybeUndefined<ID>| -> Result<Option<Option<Uuid>>> {
            Ok(match value {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(id) => Some(Some(uuid(field, &id)?)),
            })
        };
        Ok(RuleChanges {
            name: self.name,
            active: self.active,
            conditions: self.conditions.map(|list| {
                list.into_iter()
                    .map(|c| Condition {
                        field: c.field,
                        key: c.key,
                        operator: c.operator,
                        values: c.values,
                    })
                    .collect()
            }),
            strategy: self.strategy,
            user_id: id("userId", self.user_id)?,
            team_id: id("teamId", self.team_id)?,
            sla_minutes: match self.sla_minutes {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(m) => Some(Some(m)),
            },
            reassign_on_breach: self.reassign_on_breach,
            position: self.position,
        })
    }
}

/// When a user is out of office and how many open leads they take; `null` clears a value.
#[derive(InputObject, Default)]
pub struct AvailabilityInput {
    pub away_from: MaybeUndefined<NaiveDate>,
    pub away_until: MaybeUndefined<NaiveDate>,
    pub max_open_leads: MaybeUndefined<i32>,
}

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
    async fn open_leads(&self) -> i64 {
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
pub struct Assignment(pub assignment_row::Model);

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
        let Some(id) = self.0.task_id else { return Ok(None) };
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

async fn user_of(ctx: &Context<'_>, id: Option<Uuid>) -> Result<Option<User>> {
    let Some(id) = id else { return Ok(None) };
    Ok(ctx.loaders()?.users.load_one(id).await?.map(User))
}

/// `Lead.assignment`: the lead's latest assignment.
pub async fn latest_of(ctx: &Context<'_>, lead: Uuid) -> Result<Option<Assignment>> {
    let list = assignments::of_lead(&ctx.services().db, ctx.actor()?, lead, 1).await?;
    Ok(list.into_iter().next().map(Assignment))
}

/// `Lead.assignmentHistory`: the lead's assignments, newest first.
pub async fn history_of(ctx: &Context<'_>, lead: Uuid) -> Result<Vec<Assignment>> {
    let limit = assignments::HISTORY_LIMIT;
    let list = assignments::of_lead(&ctx.services().db, ctx.actor()?, lead, limit).await?;
    Ok(list.into_iter().map(Assignment).collect())
}

/// What assigning a lead did.
#[derive(SimpleObject)]
pub struct AssignLeadPayload {
    pub lead: Lead,
    pub assignment: Assignment,
}

impl From<Assigned> for AssignLeadPayload {
    fn from(a: Assigned) -> Self {
        AssignLeadPayload {
            lead: Lead(a.lead),
            assignment: Assignment(a.assignment),
        }
    }
}

#[derive(SimpleObject)]
pub struct ReassignLeadsPayload {
    /// How many leads the rules ran for.
    pub count: i32,
    pub assignments: Vec<AssignLeadPayload>,
}

#[derive(Default)]
pub struct AssignmentQuery;

#[Object]
impl AssignmentQuery {
    /// The lead assignment rules in evaluation order (admins and managers).
    async fn assignment_rules(&self, ctx: &Context<'_>) -> Result<Vec<AssignmentRule>> {
        let list = rules::list(&ctx.services().db, ctx.actor()?).await?;
        Ok(list.into_iter().map(AssignmentRule).collect())
    }

    /// Who takes the leads no rule places (admins and managers).
    async fn default_lead_owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        rules::ensure_assigner(ctx.actor()?)?;
        let owner = rules::default_owner(&ctx.services().db).await?;
        user_of(ctx, owner).await
    }
}

#[derive(Default)]
pub struct AssignmentMutation;

#[Object]
impl AssignmentMutation {
    /// Adds a rule (admins only), last unless `position` says otherwise.
    async fn create_assignment_rule(
        &self,
        ctx: &Context<'_>,
        input: AssignmentRuleInput,
    ) -> Result<AssignmentRule> {
        let rule = rules::create(&ctx.services().db, ctx.actor()?, input.into_changes()?).await?;
        Ok(AssignmentRule(rule))
    }

    async fn update_assignment_rule(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: AssignmentRuleInput,
    ) -> Result<AssignmentRule> {
        let id = uuid("id", &id)?;
        let rule = rules::update(&ctx.services().db, ctx.actor()?, id, input.into_changes()?).await?;
        Ok(AssignmentRule(rule))
    }

    /// Deletes a rule; the assignments it made keep its name.
    async fn delete_assignment_rule(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        rules::delete(&ctx.services().db, ctx.actor()?, uuid("id", &id)?).await?;
        Ok(id)
    }

    /// Puts the rules in this order; `ids` names every rule once.
    async fn reorder_assignment_rules(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> Result<Vec<AssignmentRule>> {
        let ids = ids
            .iter()
            .enumerate()
            .map(|(i, id)| uuid(&format!("ids[{i}]"), id))
            .collect::<Result<Vec<_>>>()?;
        let list = rules::reorder(&ctx.services().db, ctx.actor()?, ids).await?;
        Ok(list.into_iter().map(AssignmentRule).collect())
    }

    /// Sets who takes the leads no rule places (admins only); null leaves them unassigned.
    async fn set_default_lead_owner(
        &self,
        ctx: &Context<'_>,
        user_id: Option<ID>,
    ) -> Result<Option<User>> {
        let owner = user_id.map(|id| uuid("userId", &id)).transpose()?;
        let owner = rules::set_default_owner(&ctx.services().db, ctx.actor()?, owner).await?;
        user_of(ctx, owner).await
    }

    /// Sets when a user is out of office and how many open leads they take: an admin for
    /// anyone, a manager for the team, anyone for their own dates.
    async fn set_user_availability(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        input: AvailabilityInput,
    ) -> Result<User> {
        let availability = users::Availability {
            away_from: input.away_from.into(),
            away_until: input.away_until.into(),
            max_open_leads: input.max_open_leads.into(),
        };
        let id = uuid("userId", &user_id)?;
        let user = users::set_availability(&ctx.services().db, ctx.actor()?, id, availability).await?;
        Ok(User(user))
    }

    /// Runs the assignment rules for one lead now (admins and managers).
    async fn assign_lead(&self, ctx: &Context<'_>, id: ID) -> Result<AssignLeadPayload> {
        let assigned = assignment::assign_lead(ctx.services(), ctx.actor()?, uuid("id", &id)?).await?;
        Ok(assigned.into())
    }

    /// Runs the assignment rules again for every live lead the filter selects (admins and
    /// managers, at most 500 leads, all or none).
    async fn reassign_leads(
        &self,
        ctx: &Context<'_>,
        filter: LeadFilter,
    ) -> Result<ReassignLeadsPayload> {
        let filter = filter.into_filter()?;
        let assigned = assignment::reassign(ctx.services(), ctx.actor()?, &filter).await?;
        Ok(ReassignLeadsPayload {
            count: i32::try_from(assigned.len()).unwrap_or(i32::MAX),
            assignments: assigned.into_iter().map(Into::into).collect(),
        })
    }
}
