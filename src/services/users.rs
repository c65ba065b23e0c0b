//! Users and teams: who may sign in, with which role, in which team.

use chrono::Utc;
use entity::{enums::Role, team, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, Set,
};
use uuid::Uuid;

use crate::{
    actor::Actor,
    auth::password,
    error::{AppError, Result},
    services::{
        Services, audit,
        input::{Patch, SHORT_TEXT},
        page::{self, PageRequest, SortDirection, SortField, SortKind, SortValue},
        records::{self, Record},
        scope, sessions,
    },
    validate,
};

#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// At least 10 characters. Leave out for users who sign in through the identity provider.
    pub password: Option<String>,
    pub team_id: Option<Uuid>,
}

/// What to change about a user; `None` and [`Patch::Keep`] keep the stored value.
#[derive(Clone, Debug, Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub team_id: Patch<Uuid>,
    pub active: Option<bool>,
    pub password: Option<String>,
}

impl Record for user::Entity {
    type OrderField = ByName;
    const KIND: &'static str = "user";
    /// Every signed-in user sees users: assignment pickers and owner names need them.
    const READERS: &'static [Role] = scope::EVERY_ROLE;
    const WRITERS: &'static [Role] = &[Role::Admin];
    fn default_order() -> Vec<(ByName, SortDirection)> {
        vec![(ByName, SortDirection::Asc)]
    }
    fn id_column() -> user::Column {
        user::Column::Id
    }
    fn owner_column() -> Option<user::Column> {
        None
    }
    /// A user who leaves is deactivated, not archived: their records keep their owner.
    fn archived_at_column() -> Option<user::Column> {
        None
    }
    fn updated_at_column() -> Option<user::Column> {
        Some(user::Column::UpdatedAt)
    }
}

/// The users among `ids`; every signed-in user may see who their colleagues are.
pub async fn by_ids(db: &DatabaseConnection, ids: &[Uuid]) -> Result<Vec<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

fn ensure_admin(actor: &Actor) -> Result<()> {
    if actor.is(Role::Admin) {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "only an admin can manage users and teams",
        ))
    }
}

pub async fn create(db: &DatabaseConnection, actor: &Actor, input: NewUser) -> Result<user::Model> {
    ensure_admin(actor)?;
    let email = validate::email("email", &input.email)?;
    let name = validate::required_text("name", &input.name, SHORT_TEXT)?;
    let team_id = input.team_id;
    let password_hash = match input.password {
        Some(password) => Some(password::hash(password).await?),
        None => None,
    };
    let txn = crate::db::begin_write(db).await?;
    if let Some(team) = team_id {
        ensure_team(&txn, team).await?;
    }
    let now = Utc::now();
    let user = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email),
        name: Set(name),
        password_hash: Set(password_hash),
        role: Set(input.role),
        team_id: Set(team_id),
        active: Set(true),
        away_from: Set(None),
        away_until: Set(None),
        max_open_leads: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    // Users have no change event: nothing is heard about a new one.
    let created = records::insert_in::<user::Entity>(&txn, actor, user)
        .await?
        .model;
    txn.commit().await?;
    Ok(created)
}

/// Changes a user. A new role, team or active state applies to their live tokens and open
/// WebSockets at once.
pub async fn update(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    input: UserChanges,
) -> Result<user::Model> {
    ensure_admin(actor)?;
    let password_hash = match input.password {
        Some(password) => Some(password::hash(password).await?),
        None => None,
    };
    let txn = crate::db::begin_write(&svc.db).await?;
    let before = user::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let mut user: user::ActiveModel = before.clone().into();
    if let Some(name) = input.name {
        user.name = Set(validate::required_text("name", &name, SHORT_TEXT)?);
    }
    if let Some(role) = input.role {
        user.role = Set(role);
    }
    if let Some(team) = input.team_id.change() {
        if let Some(team) = team {
            ensure_team(&txn, team).await?;
        }
        user.team_id = Set(team);
    }
    if let Some(active) = input.active {
        user.active = Set(active);
    }
    if let Some(hash) = password_hash {
        user.password_hash = Set(Some(hash));
    }
    user.updated_at = Set(Utc::now());
    let after = user.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        "user",
        "update",
        id,
        Some(&before),
        Some(&after),
    )
    .await?;
    txn.commit().await?;
    let rights = |u: &user::Model| (u.role, u.team_id, u.active);
    if rights(&before) != rights(&after) {
        sessions::access_changed(svc, id).await;
    }
    Ok(after)
}

/// When a user is out of office and how many open leads they take at most: what lead
/// assignment reads to pass them over. [`Patch::Keep`] keeps the stored value.
#[derive(Clone, Debug, Default)]
pub struct Availability {
    pub away_from: Patch<chrono::NaiveDate>,
    pub away_until: Patch<chrono::NaiveDate>,
    pub max_open_leads: Patch<i32>,
}

/// Most open leads a capacity may name.
pub const MAX_OPEN_LEADS: i32 = 100_000;

/// Sets a user's availability: an admin for anyone, a manager for their team and themselves;
/// anyone else may set their own out-of-office dates, not their capacity.
pub async fn set_availability(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    input: Availability,
) -> Result<user::Model> {
    let txn = crate::db::begin_write(db).await?;
    let before = user::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let allowed = match actor.role {
        Role::Admin => true,
        Role::Manager => {
            id == actor.user_id || (before.team_id.is_some() && before.team_id == actor.team_id)
        }
        _ => id == actor.user_id && input.max_open_leads.is_keep(),
    };
    if !allowed {
        return Err(AppError::forbidden(
            "only an admin, the user's manager or the user (for their own dates) may change this",
        ));
    }
    let mut user: user::ActiveModel = before.clone().into();
    if let Some(day) = input
        .away_from
        .parse(|d| validate::date("awayFrom", &d).map(|()| d))?
    {
        user.away_from = Set(day);
    }
    if let Some(day) = input
        .away_until
        .parse(|d| validate::date("awayUntil", &d).map(|()| d))?
    {
        user.away_until = Set(day);
    }
    if let Some(max) = input.max_open_leads.parse(|max| {
        if (0..=MAX_OPEN_LEADS).contains(&max) {
            Ok(max)
        } else {
            Err(AppError::bad_input(
                "maxOpenLeads",
                format!("from 0 to {MAX_OPEN_LEADS}"),
            ))
        }
    })? {
        user.max_open_leads = Set(max);
    }
    if let (Some(from), Some(until)) = (user.away_from.as_ref(), user.away_until.as_ref())
        && from > until
    {
        return Err(AppError::bad_input("awayUntil", "ends before awayFrom"));
    }
    user.updated_at = Set(Utc::now());
    let after = user.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        "user",
        "availability",
        id,
        Some(&before),
        Some(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Users are visible to every signed-in user: assignment pickers and owner names need them.
pub async fn get<C: ConnectionTrait>(conn: &C, _actor: &Actor, id: Uuid) -> Result<user::Model> {
    user::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("user"))
}

pub async fn list(
    db: &DatabaseConnection,
    _actor: &Actor,
    request: PageRequest,
) -> Result<page::Page<user::Model>> {
    page::fetch(
        db,
        user::Entity::find(),
        user::Column::Id,
        &[(ByName, SortDirection::Asc)],
        request,
    )
    .await
}

pub async fn create_team(
    db: &DatabaseConnection,
    actor: &Actor,
    name: &str,
) -> Result<team::Model> {
    ensure_admin(actor)?;
    let txn = crate::db::begin_write(db).await?;
    let created = team::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(validate::required_text("name", name, SHORT_TEXT)?),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        "team",
        "create",
        created.id,
        None,
        Some(&created),
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

pub async fn team<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<team::Model> {
    team::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("team"))
}

async fn ensure_team<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<()> {
    team::Entity::find_by_id(id)
        .one(conn)
        .await?
        .map(|_| ())
        .ok_or_else(|| AppError::bad_input("teamId", "no such team"))
}

/// Creates the first admin from the settings when the store has no user yet.
pub async fn bootstrap_admin(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
) -> Result<Option<user::Model>> {
    if user::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    let input = NewUser {
        email: email.to_owned(),
        name: "Administrator".into(),
        role: Role::Admin,
        password: Some(password.to_owned()),
        team_id: None,
    };
    create(db, &crate::auth::system_actor(), input)
        .await
        .map(Some)
}

/// People lists read alphabetically.
#[derive(Clone, Copy)]
pub struct ByName;

impl SortField<user::Model> for ByName {
    fn expr(&self) -> sea_orm::sea_query::SimpleExpr {
        crate::services::filter::col(user::Column::Name)
    }

    fn value(&self, user: &user::Model) -> SortValue {
        SortValue::Text(user.name.clone())
    }

    fn kind(&self) -> SortKind {
        SortKind::Text
    }
}
