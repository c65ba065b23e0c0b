//! Lead assignment's API: the ordered rules and the default owner (admins edit them, managers
//! read them), a user's availability, assigning leads on demand, and why a lead has its owner
//! (`Lead.assignment`, `Lead.assignmentHistory`).

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::NaiveDate;
use entity::enums::{AssignmentField, AssignmentStrategy, ConditionOperator};
use uuid::Uuid;

use crate::{
    error::Result,
    graphql::{
        ContextExt,
        changes::uuid,
        filters::{FilterInput, LeadFilter},
        types::{
            Lead, User,
            assignment::{Assignment, AssignmentRule, user_of},
        },
    },
    sales::{
        assignment as engine,
        assignment::{
            Assigned,
            conditions::Condition,
            rules::{self, RuleChanges},
        },
    },
    services::users,
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
        let rule =
            rules::update(&ctx.services().db, ctx.actor()?, id, input.into_changes()?).await?;
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
        let user =
            users::set_availability(&ctx.services().db, ctx.actor()?, id, availability).await?;
        Ok(User(user))
    }

    /// Runs the assignment rules for one lead now (admins and managers).
    async fn assign_lead(&self, ctx: &Context<'_>, id: ID) -> Result<AssignLeadPayload> {
        let assigned = engine::assign_lead(ctx.services(), ctx.actor()?, uuid("id", &id)?).await?;
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
        let assigned = engine::reassign(ctx.services(), ctx.actor()?, &filter).await?;
        Ok(ReassignLeadsPayload {
            count: i32::try_from(assigned.len()).unwrap_or(i32::MAX),
            assignments: assigned.into_iter().map(Into::into).collect(),
        })
    }
}
