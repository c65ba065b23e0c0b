//! Row and write rules. A sales rep sees their own and unassigned records, a manager the team's
//! and unassigned ones, everyone else with read access sees all. Built into the `Select` itself,
//! so lists, lookups by id, nested fields and updates share one definition.
//!
//! Every write to a record passes [`authorize`], called by `services::records` on what the write
//! actually changes, so no service, resolver or input shape can move an owner or archive a row
//! past it.

use entity::{enums::Role, user};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Select, sea_query::Query,
};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    services::record_type::Record,
};

/// Every role, for the types everyone may read (or write).
pub const EVERY_ROLE: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::Sales,
    Role::Marketing,
    Role::Support,
];

/// The rows of `E` that `actor` may see.
pub fn visible<E: Record>(actor: &Actor) -> Result<Select<E>> {
    if !actor.is_any(E::READERS) {
        return Err(AppError::forbidden(format!(
            "the {} role cannot read {}s",
            actor.role.as_str(),
            E::KIND
        )));
    }
    let select = E::find();
    let Some(owner) = E::owner_column() else {
        return Ok(select);
    };
    Ok(match actor.role {
        Role::Sales => select.filter(
            Condition::any()
                .add(owner.eq(actor.user_id))
                .add(owner.is_null()),
        ),
        Role::Manager => {
            let mut mine = Condition::any()
                .add(owner.eq(actor.user_id))
                .add(owner.is_null());
            if let Some(team) = actor.team_id {
                let members = Query::select()
                    .column(user::Column::Id)
                    .from(user::Entity)
                    .and_where(user::Column::TeamId.eq(team))
                    .to_owned();
                mine = mine.add(owner.in_subquery(members));
            }
            select.filter(mine)
        }
        Role::Admin | Role::Marketing | Role::Support => select,
    })
}

/// A write to a record of a type with owners, as the write rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// A new record that will belong to `owner`.
    Create { owner: Option<Uuid> },
    /// A change to a visible record that belongs to `owner`: its fields, links and parent
    /// always; with `reassign`, a new owner (`None` releases it to the shared pool); with
    /// `archive`, archiving or restoring it.
    Change {
        owner: Option<Uuid>,
        reassign: Option<Option<Uuid>>,
        archive: bool,
    },
}

/// The write rule, on a record the actor can already see (the row rules hid the rest):
/// - a role writes only the types it is a writer of, and then may edit fields, links and
///   parents of every record it sees;
/// - owners move and records are archived or restored only by an admin, the owner, or a
///   manager of the owner's team ([`ensure_steward`]);
/// - a new owner is someone the actor may give work to ([`ensure_assignable`]).
///
/// Types without owners (campaigns, connectors) are governed by their writer roles alone. The
/// system actor is an admin that answers to no team: what it writes follows from the records
/// themselves (a logged call goes to the lead's owner, even one who has since left), so no
/// owner rule refuses it.
pub async fn authorize<E: Record>(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    write: Write,
) -> Result<()> {
    ensure_writer::<E>(actor)?;
    if E::owner_column().is_none() || actor.is_system() {
        return Ok(());
    }
    match write {
        Write::Create { owner } => ensure_assignable(conn, actor, owner, E::OWNER_FIELD).await,
        Write::Change {
            owner,
            reassign,
            archive,
        } => {
            if let Some(to) = reassign {
                ensure_steward::<E>(conn, actor, owner, Stewardship::Reassign).await?;
                ensure_assignable(conn, actor, to, E::OWNER_FIELD).await?;
            }
            if archive {
                ensure_steward::<E>(conn, actor, owner, Stewardship::Archive).await?;
            }
            Ok(())
        }
    }
}

/// Refuses a write by a role that may not write records of `E`.
pub fn ensure_writer<E: Record>(actor: &Actor) -> Result<()> {
    if actor.is_any(E::WRITERS) {
        Ok(())
    } else {
        Err(AppError::forbidden(format!(
            "the {} role cannot change {}s",
            actor.role.as_str(),
            E::KIND
        )))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stewardship {
    Reassign,
    Archive,
}

/// Who decides about a record's owner and whether it is archived: an admin, the owner, or a
/// manager of the owner's team. An unowned record sits in a shared pool: a sales rep or a
/// manager may claim it, and only an admin or a manager archives or restores it (a rep claims
/// it first). Marketing and support never take records from a rep or from the pool.
async fn ensure_steward<E: Record>(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    owner: Option<Uuid>,
    stewardship: Stewardship,
) -> Result<()> {
    let allowed = match (actor.role, owner) {
        (Role::Admin, _) => true,
        (_, Some(owner)) if owner == actor.user_id => true,
        (Role::Manager, Some(owner)) => in_team_of(conn, actor, owner).await?,
        (Role::Manager, None) => true,
        (Role::Sales, None) => stewardship == Stewardship::Reassign,
        _ => false,
    };
    if allowed {
        return Ok(());
    }
    let what = match stewardship {
        Stewardship::Reassign => format!("change the {} of", E::OWNER_FIELD),
        Stewardship::Archive => "archive or restore".to_owned(),
    };
    Err(AppError::forbidden(match owner {
        Some(_) => format!(
            "only an admin, the owner or the owner's manager may {what} this {}",
            E::KIND
        ),
        None => format!(
            "the {} role may not {what} an unassigned {}",
            actor.role.as_str(),
            E::KIND
        ),
    }))
}

/// Who may be made owner or assignee by `actor`: anyone for an admin, the team for a manager,
/// oneself for everyone else; never an unknown or inactive user. No owner is always allowed.
async fn ensure_assignable(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    to: Option<Uuid>,
    field: &str,
) -> Result<()> {
    let Some(to) = to else { return Ok(()) };
    let target = user::Entity::find_by_id(to)
        .filter(user::Column::Active.eq(true))
        .one(conn)
        .await?
        .ok_or_else(|| AppError::bad_input(field, "no such active user"))?;
    let allowed = match actor.role {
        Role::Admin => true,
        Role::Manager => {
            target.id == actor.user_id
                || (target.team_id.is_some() && target.team_id == actor.team_id)
        }
        Role::Sales | Role::Marketing | Role::Support => target.id == actor.user_id,
    };
    if allowed {
        Ok(())
    } else {
        Err(AppError::forbidden(format!(
            "{field}: you cannot assign records to this user"
        )))
    }
}

/// Whether `user` is in the team `actor` belongs to (as it stands now, not when the record was
/// assigned).
async fn in_team_of(conn: &impl ConnectionTrait, actor: &Actor, user: Uuid) -> Result<bool> {
    let Some(team) = actor.team_id else {
        return Ok(false);
    };
    let member = user::Entity::find_by_id(user)
        .filter(user::Column::TeamId.eq(team))
        .one(conn)
        .await?;
    Ok(member.is_some())
}

/// Field rule: marketing sees no money amounts of deals, leads' budgets and invoices.
pub fn can_see_amounts(actor: &Actor) -> bool {
    !actor.is(Role::Marketing)
}

/// Field rule on lists of scored customers: a role that may not see amounts may not filter or
/// order them by monetary score either, which would rank them by what they paid.
pub fn ensure_not_ranked_by_money(actor: &Actor, by_money: bool, kind: &str) -> Result<()> {
    if by_money && !can_see_amounts(actor) {
        return Err(AppError::forbidden(format!(
            "the {} role cannot filter or order {kind}s by monetary score",
            actor.role.as_str()
        )));
    }
    Ok(())
}
