//! Lead assignment: who owns a new lead, and why. Admins keep an ordered list of rules
//! ([`rules`]); the first active rule whose conditions all hold ([`conditions`]) names a user or
//! a team and how to pick in it ([`choice`]); people who are inactive, away or at capacity are
//! passed over, and the default owner catches the rest. The new owner gets a follow-up task due
//! at the rule's SLA, and a breached SLA can hand the lead on ([`sla`]).
//!
//! Every assignment writes the lead through the record lifecycle (`records::update_in`: audit
//! row, change event, write rules) and one `assignments` row saying why, in the caller's
//! transaction: the API's `createLead`, the inbox worker creating a lead, `assignLead`, a bulk
//! reassignment and the SLA job all come through [`assign_in`].

pub mod choice;
pub mod conditions;
pub mod rules;
pub mod sla;

use chrono::{DateTime, Duration, Utc};
use entity::{
    activity, assignment, assignment_rule,
    enums::{ActivityKind, AssignmentStrategy, LeadStatus},
    lead, user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, ExprTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    actor::Actor,
    auth::system_actor,
    error::{AppError, Result},
    events::Event,
    services::{
        Services, activities, assignments,
        filter::Filter,
        records::{self, Record},
        scope,
    },
};
use choice::{Candidate, Person};
use conditions::{Condition, LeadFacts, Matched};

/// Most leads one bulk reassignment moves; a wider filter is refused rather than cut short.
pub const MAX_BULK: u64 = 500;

/// Statuses after which a lead no longer counts toward its owner's open leads.
pub const CLOSED_STATUSES: [LeadStatus; 4] = [
    LeadStatus::Converted,
    LeadStatus::Lost,
    LeadStatus::Junk,
    LeadStatus::NotInterested,
];

/// Why an assignment is being made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A new lead without an owner.
    Created,
    /// Someone asked (`assignLead`, a bulk reassignment).
    Requested,
    /// The owner let the SLA of `rule` pass without responding; the lead goes to the next
    /// person the rule names, anyone but `owner`.
    SlaBreached { rule: Option<Uuid>, owner: Uuid },
}

/// A lead as assigned, and the record of why.
#[derive(Debug, Clone)]
pub struct Assigned {
    pub lead: lead::Model,
    pub assignment: assignment::Model,
}

/// Assigns a lead just created inside the caller's transaction, unless it already has an owner.
/// The rules are the admins', so the system applies them whoever created the lead.
pub async fn assign_new_in(
    txn: &DatabaseTransaction,
    lead: lead::Model,
    events: &mut Vec<Event>,
) -> Result<lead::Model> {
    if lead.owner_id.is_some() {
        return Ok(lead);
    }
    let assigned = assign_in(
        txn,
        &system_actor(),
        lead,
        Trigger::Created,
        events,
        Utc::now(),
    )
    .await?;
    Ok(assigned.lead)
}

/// Runs the rules for one lead the actor can see (admins and managers), now.
pub async fn assign_lead(svc: &Services, actor: &Actor, id: Uuid) -> Result<Assigned> {
    rules::ensure_assigner(actor)?;
    scope::ensure_writer::<lead::Entity>(actor)?;
    records::together(svc, async |txn, events| {
        let lead = records::get::<lead::Entity>(txn, actor, id).await?;
        assign_in(txn, actor, lead, Trigger::Requested, events, Utc::now()).await
    })
    .await
}

/// Runs the rules again for every live lead the actor can see that `filter` selects, all in
/// one transaction: all of them are reassigned, or (on any refusal) none.
pub async fn reassign(
    svc: &Services,
    actor: &Actor,
    filter: &Filter<lead::Column>,
) -> Result<Vec<Assigned>> {
    rules::ensure_assigner(actor)?;
    scope::ensure_writer::<lead::Entity>(actor)?;
    lead::Entity::ensure_listable(actor, filter, &[])?;
    let condition = filter.condition(svc.db.get_database_backend())?;
    records::together(svc, async |txn, events| {
        let leads = scope::visible::<lead::Entity>(actor)?
            .filter(condition)
            .filter(lead::Column::ArchivedAt.is_null())
            .order_by_asc(lead::Column::Id)
            .limit(MAX_BULK + 1)
            .all(txn)
            .await?;
        if leads.len() as u64 > MAX_BULK {
            return Err(AppError::bad_input(
                "filter",
                format!("selects more than {MAX_BULK} leads; narrow it"),
            ));
        }
        let now = Utc::now();
        let mut assigned = Vec::with_capacity(leads.len());
        for lead in leads {
            assigned.push(assign_in(txn, actor, lead, Trigger::Requested, events, now).await?);
        }
        Ok(assigned)
    })
    .await
}

/// The decision for one lead, before anything is written.
#[derive(Debug, Clone)]
pub struct Decision {
    owner: Option<Uuid>,
    reason: String,
    rule: Option<assignment_rule::Model>,
    matched: Vec<Matched>,
    candidates: Vec<Candidate>,
}

impl Decision {
    /// The owner the rules give the lead, if anyone.
    pub fn owner(&self) -> Option<Uuid> {
        self.owner
    }
}

/// Assigns `lead` inside the caller's transaction as `actor` (the system for new leads and the
/// SLA job) and records why. The lead's owner changes through the record lifecycle; a new owner
/// gets a follow-up task due at the rule's SLA.
pub async fn assign_in(
    txn: &DatabaseTransaction,
    actor: &Actor,
    lead: lead::Model,
    trigger: Trigger,
    events: &mut Vec<Event>,
    now: DateTime<Utc>,
) -> Result<Assigned> {
    let mut decision = decide(txn, &lead, trigger, now).await?;
    if let Trigger::SlaBreached { owner, .. } = trigger
        && decision.owner.is_none_or(|new| new == owner)
    {
        // Nobody else can take it: better the late owner than none.
        decision.owner = Some(owner);
        decision.reason = format!(
            "{}; nobody else was available, so the owner keeps it",
            decision.reason
        );
    }
    let previous = lead.owner_id;
    let lead = if decision.owner != previous {
        let owner = decision.owner;
        records::update_in::<lead::Entity, _>(
            txn,
            actor,
            lead.id,
            "assign",
            async |_, _, active| {
                active.owner_id = Set(owner);
                Ok(())
            },
        )
        .await?
        .keep_event_in(events)
    } else {
        lead
    };
    record_in(txn, actor, lead, previous, decision, now).await
}

/// What the rules decide for a lead being created, which has no owner yet: for a caller that
/// writes the owner with the rest of the new lead (the hub), then calls [`record_in`].
pub async fn decide_new(
    txn: &DatabaseTransaction,
    lead: &lead::Model,
    now: DateTime<Utc>,
) -> Result<Decision> {
    decide(txn, lead, Trigger::Created, now).await
}

/// Records a decision whose owner `lead` (as stored) now has, having had `previous`: the new
/// owner's follow-up task due at the rule's SLA, and the assignment row saying why.
pub async fn record_in(
    txn: &DatabaseTransaction,
    actor: &Actor,
    lead: lead::Model,
    previous: Option<Uuid>,
    decision: Decision,
    now: DateTime<Utc>,
) -> Result<Assigned> {
    let moved = decision.owner != previous;
    let sla_minutes = decision.rule.as_ref().and_then(|r| r.sla_minutes);
    let sla_due_at = sla_minutes.map(|m| now + Duration::minutes(i64::from(m)));
    let task_id = match decision.owner {
        Some(owner) if moved => Some(match left_open(txn, &lead, previous).await? {
            Some(task) => hand_on(txn, actor, task, owner, sla_due_at).await?,
            None => follow_up_task(txn, actor, &lead, owner, sla_due_at).await?,
        }),
        _ => None,
    };
    let matched = serde_json::to_value(&decision.matched).map_err(AppError::internal)?;
    let candidates = serde_json::to_value(&decision.candidates).map_err(AppError::internal)?;
    let record = assignment::ActiveModel {
        id: Set(Uuid::now_v7()),
        lead_id: Set(lead.id),
        owner_id: Set(decision.owner),
        previous_owner_id: Set(previous),
        reason: Set(decision.reason),
        rule_id: Set(decision.rule.as_ref().map(|r| r.id)),
        rule_name: Set(decision.rule.as_ref().map(|r| r.name.clone())),
        strategy: Set(decision.rule.as_ref().map(|r| r.strategy)),
        matched: Set(matched),
        candidates: Set(candidates),
        actor_id: Set((!actor.is_system()).then_some(actor.user_id)),
        task_id: Set(task_id),
        sla_due_at: Set(sla_due_at.filter(|_| task_id.is_some())),
        reassign_on_breach: Set(
            decision.rule.as_ref().is_some_and(|r| r.reassign_on_breach) && task_id.is_some()
        ),
        breached_at: Set(None),
        first_response_at: Set(None),
        first_response_secs: Set(None),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(Assigned {
        lead,
        assignment: record,
    })
}

async fn decide(
    txn: &DatabaseTransaction,
    lead: &lead::Model,
    trigger: Trigger,
    now: DateTime<Utc>,
) -> Result<Decision> {
    let facts = facts_of(lead);
    let rules = rules::ordered_with_people(txn).await?;
    let (rule, matched) = match trigger {
        Trigger::SlaBreached { rule: Some(id), .. } => {
            let rule = rules.into_iter().find(|(r, _)| r.id == id && r.active);
            let matched = match &rule {
                Some((rule, _)) => {
                    conditions::matches(&conditions_of(rule)?, &facts).unwrap_or_default()
                }
                None => Vec::new(),
            };
            (rule, matched)
        }
        _ => first_match(rules, &facts)?,
    };
    let prefix = match trigger {
        Trigger::SlaBreached { .. } => "SLA breached: ",
        _ => "",
    };
    let excluded: Vec<Uuid> = match trigger {
        Trigger::SlaBreached { owner, .. } => vec![owner],
        _ => Vec::new(),
    };
    let Some((rule, users)) = rule else {
        let (owner, why) = fallback(txn, &excluded).await?;
        return Ok(Decision {
            owner,
            reason: format!("{prefix}no rule matched; {why}"),
            rule: None,
            matched,
            candidates: Vec::new(),
        });
    };
    let turn = take_turn(txn, rule.id).await?;
    let people = people_of(txn, &rule, users).await?;
    let (pick, candidates) =
        choice::choose(rule.strategy, &people, turn, now.date_naive(), &excluded);
    let (owner, reason) = match pick {
        Some(owner) => (
            Some(owner),
            format!(
                "{prefix}rule \"{}\" matched; {}",
                rule.name,
                phrase(rule.strategy)
            ),
        ),
        None => {
            let (owner, why) = fallback(txn, &excluded).await?;
            (
                owner,
                format!(
                    "{prefix}rule \"{}\" matched but nobody it names was available; {why}",
                    rule.name
                ),
            )
        }
    };
    Ok(Decision {
        owner,
        reason,
        rule: Some(rule),
        matched,
        candidates,
    })
}

fn phrase(strategy: AssignmentStrategy) -> &'static str {
    match strategy {
        AssignmentStrategy::User => "its user",
        AssignmentStrategy::RoundRobin => "the next in turn in its team",
        AssignmentStrategy::FewestOpen => "the team member with the fewest open leads",
        AssignmentStrategy::WeightedByCapacity => {
            "the team member with the most room for their capacity"
        }
    }
}

fn conditions_of(rule: &assignment_rule::Model) -> Result<Vec<Condition>> {
    serde_json::from_value(rule.conditions.clone()).map_err(AppError::internal)
}

/// A rule and the people it names.
type Staffed = (assignment_rule::Model, Vec<user::Model>);

/// The first active rule whose conditions all hold (with its people), and how they held.
fn first_match(rules: Vec<Staffed>, facts: &LeadFacts) -> Result<(Option<Staffed>, Vec<Matched>)> {
    for (rule, users) in rules.into_iter().filter(|(r, _)| r.active) {
        if let Some(matched) = conditions::matches(&conditions_of(&rule)?, facts) {
            return Ok((Some((rule, users)), matched));
        }
    }
    Ok((None, Vec::new()))
}

/// The default owner when there is an active one (and it is not the excluded owner), with the
/// reason either way.
async fn fallback(txn: &DatabaseTransaction, excluded: &[Uuid]) -> Result<(Option<Uuid>, String)> {
    let Some(owner) = rules::default_owner(txn).await? else {
        return Ok((
            None,
            "no default owner is set, so the lead stays unassigned".into(),
        ));
    };
    let active = user::Entity::find_by_id(owner)
        .filter(user::Column::Active.eq(true))
        .one(txn)
        .await?;
    Ok(match active {
        Some(_) if !excluded.contains(&owner) => (Some(owner), "the default owner".into()),
        Some(_) => (
            None,
            "the default owner is the one who breached the SLA".into(),
        ),
        None => (
            None,
            "the default owner is inactive, so the lead stays unassigned".into(),
        ),
    })
}

/// Counts one more assignment through the rule and answers how many came before. The UPDATE
/// takes the rule's row lock on PostgreSQL until the transaction ends (SQLite has one writer
/// anyway), so concurrent assignments through one rule take distinct turns in order and each
/// counts the open leads the ones before it committed.
async fn take_turn(txn: &DatabaseTransaction, rule: Uuid) -> Result<u64> {
    let turns: Option<i64> = assignment_rule::Entity::update_many()
        .col_expr(
            assignment_rule::Column::Turns,
            Expr::col(assignment_rule::Column::Turns).add(1),
        )
        .filter(assignment_rule::Column::Id.eq(rule))
        .exec_with_returning(txn)
        .await?
        .first()
        .map(|rule| rule.turns);
    Ok(u64::try_from(turns.unwrap_or(1) - 1).unwrap_or_default())
}

/// The people a rule names (`users`, in id order) with their open leads, counted where the
/// strategy or a capacity needs them.
async fn people_of(
    txn: &DatabaseTransaction,
    rule: &assignment_rule::Model,
    users: Vec<user::Model>,
) -> Result<Vec<Person>> {
    let every_count = matches!(
        rule.strategy,
        AssignmentStrategy::FewestOpen | AssignmentStrategy::WeightedByCapacity
    );
    let ids: Vec<Uuid> = users
        .iter()
        .filter(|u| every_count || u.max_open_leads.is_some())
        .map(|u| u.id)
        .collect();
    if ids.is_empty() {
        return Ok(users.into_iter().map(|u| person(u, None)).collect());
    }
    let counts: Vec<(Option<Uuid>, i64)> = lead::Entity::find()
        .select_only()
        .column(lead::Column::OwnerId)
        .column_as(lead::Column::Id.count(), "open")
        .filter(lead::Column::OwnerId.is_in(ids.iter().copied()))
        .filter(lead::Column::ArchivedAt.is_null())
        .filter(lead::Column::Status.is_not_in(CLOSED_STATUSES))
        .group_by(lead::Column::OwnerId)
        .into_tuple()
        .all(txn)
        .await?;
    Ok(users
        .into_iter()
        .map(|u| {
            let counted = ids.contains(&u.id);
            let open = counts
                .iter()
                .find(|(owner, _)| *owner == Some(u.id))
                .map_or(0, |(_, n)| *n);
            person(u, counted.then_some(open))
        })
        .collect())
}

fn person(user: user::Model, open_leads: Option<i64>) -> Person {
    Person {
        id: user.id,
        active: user.active,
        away_from: user.away_from,
        away_until: user.away_until,
        max_open_leads: user.max_open_leads,
        open_leads,
    }
}

/// What the rules read of a lead.
pub fn facts_of(lead: &lead::Model) -> LeadFacts {
    LeadFacts {
        country: lead.country.clone(),
        region: lead.region.clone(),
        postcode: lead.postcode.clone(),
        industry: lead.industry.clone(),
        employees: lead.employees.map(i64::from),
        lead_source: lead.lead_source.clone(),
        source_category: lead.first_source_category.map(|c| c.as_str().to_owned()),
        grade: lead.grade.map(|g| g.as_str().to_ascii_uppercase()),
        custom_fields: lead.custom_fields.clone(),
    }
}

/// The follow-up task the lead's last assignment gave `previous`, while it is still open and
/// theirs: it moves with the lead rather than stay on a list it no longer belongs to.
async fn left_open(
    txn: &DatabaseTransaction,
    lead: &lead::Model,
    previous: Option<Uuid>,
) -> Result<Option<activity::Model>> {
    let Some(previous) = previous else {
        return Ok(None);
    };
    let Some(task) = assignments::latest(txn, lead.id)
        .await?
        .and_then(|last| last.task_id)
    else {
        return Ok(None);
    };
    Ok(activity::Entity::find_by_id(task)
        .filter(activity::Column::Done.eq(false))
        .filter(activity::Column::ArchivedAt.is_null())
        .filter(activity::Column::AssigneeId.eq(previous))
        .one(txn)
        .await?)
}

/// Gives the open follow-up `task` to the new owner, due at their SLA.
async fn hand_on(
    txn: &DatabaseTransaction,
    actor: &Actor,
    task: activity::Model,
    owner: Uuid,
    due: Option<DateTime<Utc>>,
) -> Result<Uuid> {
    let moved = records::update_held_in::<activity::Entity, _>(
        txn,
        actor,
        task,
        "reassign",
        async |_, _, active| {
            active.assignee_id = Set(Some(owner));
            active.due_at = Set(due);
            Ok(())
        },
    )
    .await?;
    Ok(moved.model.id)
}

/// The new owner's follow-up task on the lead, due when the SLA runs out.
async fn follow_up_task(
    txn: &DatabaseTransaction,
    actor: &Actor,
    lead: &lead::Model,
    owner: Uuid,
    due: Option<DateTime<Utc>>,
) -> Result<Uuid> {
    let name = [lead.first_name.as_deref(), lead.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let who = [
        Some(name.as_str()).filter(|n| !n.is_empty()),
        lead.company.as_deref(),
        lead.email.as_deref(),
    ]
    .into_iter()
    .flatten()
    .next()
    .unwrap_or("a new lead");
    let task = activity::ActiveModel {
        kind: Set(ActivityKind::Task),
        subject: Set(format!("Follow up with {who}").chars().take(200).collect()),
        due_at: Set(due),
        lead_id: Set(Some(lead.id)),
        ..activities::blank(Some(owner))
    };
    let created = records::insert_in::<activity::Entity>(txn, actor, task).await?;
    Ok(created.model.id)
}
