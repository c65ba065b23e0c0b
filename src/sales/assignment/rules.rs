//! The ordered assignment rules and the default lead owner, as admins edit them. Each edit runs
//! in one transaction with its audit row; positions are kept dense (0, 1, 2, …) so the order is
//! the list's order. Everyone who assigns leads (admins and managers) may read the rules.

use chrono::Utc;
use entity::{assignment_rule, enums::AssignmentStrategy, enums::Role, setting, team, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, IntoActiveModel, JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
    sea_query::{ConditionType, Expr, IntoCondition},
};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    sales::assignment::conditions::{self, Condition},
    services::{audit, input::SHORT_TEXT},
    validate,
};

/// Most rules a store keeps; each new lead is matched against them in order.
pub const MAX_RULES: u64 = 200;
/// Longest SLA a rule may set: a year, in minutes.
pub const MAX_SLA_MINUTES: i32 = 525_600;

const DEFAULT_OWNER: &str = "assignment_default_owner";

/// What to set on a rule; `None` keeps the stored value (on create: the default, or a refusal
/// for what a rule needs).
#[derive(Debug, Clone, Default)]
pub struct RuleChanges {
    pub name: Option<String>,
    pub active: Option<bool>,
    pub conditions: Option<Vec<Condition>>,
    pub strategy: Option<AssignmentStrategy>,
    /// `Some(None)` clears.
    pub user_id: Option<Option<Uuid>>,
    pub team_id: Option<Option<Uuid>>,
    pub sla_minutes: Option<Option<i32>>,
    pub reassign_on_breach: Option<bool>,
    /// Where a new rule goes; at the end when left out.
    pub position: Option<i32>,
}

fn ensure_admin(actor: &Actor) -> Result<()> {
    if actor.is(Role::Admin) {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "only an admin can change assignment rules",
        ))
    }
}

/// Admins and managers: the people who assign leads by hand and need to know the rules.
pub fn ensure_assigner(actor: &Actor) -> Result<()> {
    if actor.is_any(&[Role::Admin, Role::Manager]) {
        Ok(())
    } else {
        Err(AppError::forbidden(format!(
            "the {} role cannot assign leads or read assignment rules",
            actor.role.as_str()
        )))
    }
}

/// Every rule, in evaluation order.
pub async fn list(
    conn: &impl ConnectionTrait,
    actor: &Actor,
) -> Result<Vec<assignment_rule::Model>> {
    ensure_assigner(actor)?;
    ordered(conn).await
}

/// Every rule in evaluation order, each with the people it names (its user, or its team's
/// members, in id order): what the assigner reads, in one statement.
pub(super) async fn ordered_with_people(
    conn: &impl ConnectionTrait,
) -> Result<Vec<(assignment_rule::Model, Vec<user::Model>)>> {
    let names = assignment_rule::Entity::belongs_to(user::Entity)
        .from(assignment_rule::Column::TeamId)
        .to(user::Column::TeamId)
        .on_condition(|rule, user| {
            use sea_orm::ExprTrait as _;
            Expr::col((rule, assignment_rule::Column::UserId))
                .equals((user, user::Column::Id))
                .into_condition()
        })
        .condition_type(ConditionType::Any)
        .into();
    let rows = assignment_rule::Entity::find()
        .select_also(user::Entity)
        .join(JoinType::LeftJoin, names)
        .order_by_asc(assignment_rule::Column::Position)
        .order_by_asc(assignment_rule::Column::Id)
        .order_by_asc(user::Column::Id)
        .all(conn)
        .await?;
    let mut rules: Vec<(assignment_rule::Model, Vec<user::Model>)> = Vec::new();
    for (rule, user) in rows {
        if rules.last().is_none_or(|(last, _)| last.id != rule.id) {
            rules.push((rule, Vec::new()));
        }
        let Some((rule, people)) = rules.last_mut() else {
            continue;
        };
        // The join matched on either column; a rule names its user or its team, by strategy.
        let named = match (rule.strategy, rule.user_id) {
            (AssignmentStrategy::User, Some(id)) => user.as_ref().is_some_and(|u| u.id == id),
            _ => user
                .as_ref()
                .is_some_and(|u| u.team_id.is_some() && u.team_id == rule.team_id),
        };
        if let Some(user) = user.filter(|_| named) {
            people.push(user);
        }
    }
    Ok(rules)
}

pub(super) async fn ordered(conn: &impl ConnectionTrait) -> Result<Vec<assignment_rule::Model>> {
    Ok(assignment_rule::Entity::find()
        .order_by_asc(assignment_rule::Column::Position)
        .order_by_asc(assignment_rule::Column::Id)
        .all(conn)
        .await?)
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: RuleChanges,
) -> Result<assignment_rule::Model> {
    ensure_admin(actor)?;
    let txn = crate::db::begin_write(db).await?;
    let count = assignment_rule::Entity::find().count(&txn).await?;
    if count >= MAX_RULES {
        return Err(AppError::bad_input(
            "input",
            format!("at most {MAX_RULES} assignment rules; delete one first"),
        ));
    }
    let now = Utc::now();
    let name = input
        .name
        .clone()
        .ok_or_else(|| AppError::bad_input("name", "required"))?;
    let strategy = input
        .strategy
        .ok_or_else(|| AppError::bad_input("strategy", "required"))?;
    let mut rule = assignment_rule::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        position: Set(i32::try_from(count).unwrap_or(i32::MAX)),
        active: Set(true),
        conditions: Set(serde_json::json!([])),
        strategy: Set(strategy),
        user_id: Set(None),
        team_id: Set(None),
        sla_minutes: Set(None),
        reassign_on_breach: Set(false),
        turns: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let position = input.position;
    apply(&txn, input, &mut rule).await?;
    let created = rule.insert(&txn).await?;
    audit::record(
        &txn,
        actor,
        "assignment_rule",
        "create",
        created.id,
        None,
        Some(&created),
    )
    .await?;
    let created = match position {
        Some(at) => move_to(&txn, created.id, at).await?,
        None => created,
    };
    txn.commit().await?;
    Ok(created)
}

pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    input: RuleChanges,
) -> Result<assignment_rule::Model> {
    ensure_admin(actor)?;
    let txn = crate::db::begin_write(db).await?;
    let before = find(&txn, id).await?;
    let mut rule = before.clone().into_active_model();
    let position = input.position;
    apply(&txn, input, &mut rule).await?;
    rule.updated_at = Set(Utc::now());
    let mut after = rule.update(&txn).await?;
    if let Some(at) = position {
        after = move_to(&txn, id, at).await?;
    }
    audit::record(
        &txn,
        actor,
        "assignment_rule",
        "update",
        id,
        Some(&before),
        Some(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

pub async fn delete(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> Result<()> {
    ensure_admin(actor)?;
    let txn = crate::db::begin_write(db).await?;
    let before = find(&txn, id).await?;
    assignment_rule::Entity::delete_by_id(id).exec(&txn).await?;
    let rest: Vec<Uuid> = ordered(&txn).await?.iter().map(|r| r.id).collect();
    renumber(&txn, &rest).await?;
    audit::record::<_, assignment_rule::Model>(
        &txn,
        actor,
        "assignment_rule",
        "delete",
        id,
        Some(&before),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Puts the rules in the order of `ids`, which must name every rule once.
pub async fn reorder(
    db: &DatabaseConnection,
    actor: &Actor,
    ids: Vec<Uuid>,
) -> Result<Vec<assignment_rule::Model>> {
    ensure_admin(actor)?;
    let txn = crate::db::begin_write(db).await?;
    let mut stored: Vec<Uuid> = ordered(&txn).await?.iter().map(|r| r.id).collect();
    let mut wanted = ids.clone();
    stored.sort_unstable();
    wanted.sort_unstable();
    if stored != wanted {
        return Err(AppError::bad_input(
            "ids",
            "must name every assignment rule exactly once",
        ));
    }
    renumber(&txn, &ids).await?;
    let after = ordered(&txn).await?;
    let order: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    audit::record(
        &txn,
        actor,
        "assignment_rule",
        "reorder",
        Uuid::nil(),
        None,
        Some(&order),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<assignment_rule::Model> {
    assignment_rule::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("assignment rule"))
}

/// Moves one rule to `at` (clamped to the list), the others keeping their order.
async fn move_to(txn: &DatabaseTransaction, id: Uuid, at: i32) -> Result<assignment_rule::Model> {
    let mut ids: Vec<Uuid> = ordered(txn)
        .await?
        .iter()
        .map(|r| r.id)
        .filter(|r| *r != id)
        .collect();
    let at = usize::try_from(at.max(0))
        .unwrap_or_default()
        .min(ids.len());
    ids.insert(at, id);
    renumber(txn, &ids).await?;
    find(txn, id).await
}

async fn renumber(txn: &DatabaseTransaction, ids: &[Uuid]) -> Result<()> {
    for (position, id) in ids.iter().enumerate() {
        assignment_rule::Entity::update_many()
            .col_expr(
                assignment_rule::Column::Position,
                sea_orm::sea_query::Expr::value(i32::try_from(position).unwrap_or(i32::MAX)),
            )
            .filter(assignment_rule::Column::Id.eq(*id))
            .exec(txn)
            .await?;
    }
    Ok(())
}

async fn apply(
    txn: &DatabaseTransaction,
    input: RuleChanges,
    rule: &mut assignment_rule::ActiveModel,
) -> Result<()> {
    if let Some(name) = input.name {
        rule.name = Set(validate::required_text("name", &name, SHORT_TEXT)?);
    }
    if let Some(active) = input.active {
        rule.active = Set(active);
    }
    if let Some(conditions) = input.conditions {
        let checked = conditions::validate(conditions)?;
        rule.conditions = Set(serde_json::to_value(checked).map_err(AppError::internal)?);
    }
    if let Some(strategy) = input.strategy {
        rule.strategy = Set(strategy);
    }
    if let Some(user) = input.user_id {
        rule.user_id = Set(user);
    }
    if let Some(team) = input.team_id {
        rule.team_id = Set(team);
    }
    if let Some(sla) = input.sla_minutes {
        if sla.is_some_and(|m| !(1..=MAX_SLA_MINUTES).contains(&m)) {
            return Err(AppError::bad_input(
                "slaMinutes",
                format!("from 1 to {MAX_SLA_MINUTES} minutes"),
            ));
        }
        rule.sla_minutes = Set(sla);
    }
    if let Some(reassign) = input.reassign_on_breach {
        rule.reassign_on_breach = Set(reassign);
    }
    ensure_target(txn, rule).await
}

/// A rule names exactly what its strategy needs: a user for the single-user strategy, a team
/// for the others, both existing; and reassigning on a breach needs an SLA to breach.
async fn ensure_target(
    txn: &DatabaseTransaction,
    rule: &assignment_rule::ActiveModel,
) -> Result<()> {
    let strategy = *rule.strategy.as_ref();
    let (user_id, team_id) = (*rule.user_id.as_ref(), *rule.team_id.as_ref());
    match strategy {
        AssignmentStrategy::User => {
            if team_id.is_some() {
                return Err(AppError::bad_input(
                    "teamId",
                    "the USER strategy takes a user, not a team",
                ));
            }
            let user = user_id
                .ok_or_else(|| AppError::bad_input("userId", "the USER strategy needs a user"))?;
            if user::Entity::find_by_id(user).one(txn).await?.is_none() {
                return Err(AppError::bad_input("userId", "no such user"));
            }
        }
        _ => {
            if user_id.is_some() {
                return Err(AppError::bad_input(
                    "userId",
                    "a team strategy takes a team, not a user",
                ));
            }
            let team = team_id
                .ok_or_else(|| AppError::bad_input("teamId", "a team strategy needs a team"))?;
            if team::Entity::find_by_id(team).one(txn).await?.is_none() {
                return Err(AppError::bad_input("teamId", "no such team"));
            }
        }
    }
    if *rule.reassign_on_breach.as_ref() && rule.sla_minutes.as_ref().is_none() {
        return Err(AppError::bad_input("reassignOnBreach", "needs slaMinutes"));
    }
    Ok(())
}

/// The owner of leads no rule places; `None` leaves them unassigned.
pub async fn default_owner(conn: &impl ConnectionTrait) -> Result<Option<Uuid>> {
    let stored = setting::Entity::find_by_id(DEFAULT_OWNER).one(conn).await?;
    Ok(stored.and_then(|s| s.value.parse().ok()))
}

/// Sets (or with `None` clears) the default lead owner, an active user (admins only).
pub async fn set_default_owner(
    db: &DatabaseConnection,
    actor: &Actor,
    owner: Option<Uuid>,
) -> Result<Option<Uuid>> {
    ensure_admin(actor)?;
    let txn = crate::db::begin_write(db).await?;
    if let Some(owner) = owner {
        let active = user::Entity::find_by_id(owner)
            .filter(user::Column::Active.eq(true))
            .one(&txn)
            .await?;
        if active.is_none() {
            return Err(AppError::bad_input("userId", "no such active user"));
        }
    }
    let before = default_owner(&txn).await?;
    setting::Entity::delete_by_id(DEFAULT_OWNER)
        .exec(&txn)
        .await?;
    if let Some(owner) = owner {
        setting::ActiveModel {
            key: Set(DEFAULT_OWNER.into()),
            value: Set(owner.to_string()),
        }
        .insert(&txn)
        .await?;
    }
    audit::record(
        &txn,
        actor,
        "setting",
        DEFAULT_OWNER,
        Uuid::nil(),
        Some(&before),
        Some(&owner),
    )
    .await?;
    txn.commit().await?;
    Ok(owner)
}
