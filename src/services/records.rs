//! The record lifecycle every CRM type shares: find within the row rules, insert, update and
//! archive inside one transaction that also writes the audit row, and tell subscribers once it
//! is committed. Every write is checked against [`scope::authorize`] on what it changes.

use chrono::Utc;
use entity::enums::Role;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, Value,
};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    events::Event,
    services::{Services, audit, filter::Filter, page, projection::Columns, scope},
};

/// What happened to a record, for [`Record::event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
}

/// A CRM record type and the rules that govern it.
pub trait Record:
    EntityTrait<
        Model: Serialize + IntoActiveModel<Self::ActiveModel> + Send + Sync,
        ActiveModel: ActiveModelTrait<Entity = Self> + ActiveModelBehavior + Send,
    >
{
    /// Singular name used in audit actions and messages (`lead`).
    const KIND: &'static str;
    const READERS: &'static [Role];
    const WRITERS: &'static [Role];
    fn id_column() -> Self::Column;
    /// The column the row rules read, when the type has per-user ownership.
    fn owner_column() -> Option<Self::Column>;
    /// The input field that sets the owner, as the API spells it.
    const OWNER_FIELD: &'static str = "ownerId";
    /// The fields a list of these records can be ordered by.
    type OrderField: page::SortField<Self::Model> + Send + Sync;
    /// The order of a list when the caller asks for none; the id (creation order) when empty.
    fn default_order() -> Vec<(Self::OrderField, page::SortDirection)> {
        Vec::new()
    }
    /// Set when the record is archived; `None` for history that is never archived.
    fn archived_at_column() -> Option<Self::Column>;
    fn updated_at_column() -> Option<Self::Column>;
    /// The model whose fields stand in for columns a list did not read; lists of a type without
    /// one always read whole rows. See [`crate::services::projection`].
    fn blank() -> Option<Self::Model> {
        None
    }
    /// Refuses a list the actor may not ask for, such as one filtered or ordered by a field the
    /// actor may not read; any list by default.
    fn ensure_listable(
        actor: &Actor,
        filter: &Filter<Self::Column>,
        order: &[(Self::OrderField, page::SortDirection)],
    ) -> Result<()> {
        let _ = (actor, filter, order);
        Ok(())
    }
    /// What subscribers hear once a change to a record of this type is committed; nothing
    /// unless the type says so.
    fn event(change: Change, model: &Self::Model) -> Option<Event> {
        let _ = (change, model);
        None
    }
}

pub async fn get<E: Record>(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> Result<E::Model> {
    scope::visible::<E>(actor)?
        .filter(E::id_column().eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound(E::KIND))
}

/// One page of the live (not archived) records the actor may see, narrowed by `filter`, in
/// `order` (or the type's default order).
pub async fn list<E: Record>(
    db: &DatabaseConnection,
    actor: &Actor,
    filter: &Filter<E::Column>,
    order: Vec<(E::OrderField, page::SortDirection)>,
    request: page::PageRequest,
) -> Result<page::Page<E::Model>> {
    E::ensure_listable(actor, filter, &order)?;
    let condition = filter.condition(db.get_database_backend())?;
    page_of::<E>(db, actor, condition, order, request).await
}

/// Where a nested list hangs: the column of the listed type that holds its parent's id (the
/// lead of an activity, the account of a contact). Each type names its own, beside it.
pub struct Parent<E: Record>(pub E::Column);

impl<E: Record> Clone for Parent<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E: Record> Copy for Parent<E> {}

/// One page of the live children of `id` the actor may see, in the type's default order.
pub async fn list_under<E: Record>(
    db: &DatabaseConnection,
    actor: &Actor,
    parent: Parent<E>,
    id: Uuid,
    request: page::PageRequest,
) -> Result<page::Page<E::Model>> {
    let condition = sea_orm::Condition::all().add(parent.0.eq(id));
    page_of::<E>(db, actor, condition, Vec::new(), request).await
}

async fn page_of<E: Record>(
    db: &DatabaseConnection,
    actor: &Actor,
    condition: sea_orm::Condition,
    order: Vec<(E::OrderField, page::SortDirection)>,
    request: page::PageRequest,
) -> Result<page::Page<E::Model>> {
    let mut select = scope::visible::<E>(actor)?.filter(condition);
    if let Some(archived_at) = E::archived_at_column() {
        select = select.filter(archived_at.is_null());
    }
    let order = if order.is_empty() {
        E::default_order()
    } else {
        order
    };
    page::fetch(db, select, E::id_column(), &order, request).await
}

pub async fn insert<E: Record>(
    svc: &Services,
    actor: &Actor,
    model: E::ActiveModel,
) -> Result<E::Model> {
    let txn = crate::db::begin_write(&svc.db).await?;
    let owner = owner_in::<E>(&model);
    scope::authorize::<E>(&txn, actor, scope::Write::Create { owner }).await?;
    let created = model.insert(&txn).await?;
    audit::record(
        &txn,
        actor,
        E::KIND,
        "create",
        id_of::<E>(&created),
        None,
        Some(&created),
    )
    .await?;
    txn.commit().await?;
    announce::<E>(svc, Change::Created, &created).await;
    Ok(created)
}

/// Loads the record within the actor's rows, lets `change` edit it, checks the write rule on
/// what the edit changed, and saves it with an audit row. `change` sees the transaction so its
/// checks read a consistent state.
pub async fn update<E, F>(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    verb: &str,
    change: F,
) -> Result<E::Model>
where
    E: Record,
    F: AsyncFnOnce(&sea_orm::DatabaseTransaction, &E::Model, &mut E::ActiveModel) -> Result<()>,
{
    scope::ensure_writer::<E>(actor)?;
    let txn = crate::db::begin_write(&svc.db).await?;
    let before = scope::visible::<E>(actor)?
        .filter(E::id_column().eq(id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound(E::KIND))?;
    let mut active = before.clone().into_active_model();
    change(&txn, &before, &mut active).await?;
    scope::authorize::<E>(&txn, actor, write_of::<E>(&before, &active)).await?;
    if let Some(updated_at) = E::updated_at_column() {
        active.set(updated_at, Value::from(Utc::now()));
    }
    let after = active.update(&txn).await?;
    audit::record(&txn, actor, E::KIND, verb, id, Some(&before), Some(&after)).await?;
    txn.commit().await?;
    announce::<E>(svc, Change::Updated, &after).await;
    Ok(after)
}

/// Hides the record from lists; it stays readable by id, with its history.
pub async fn archive<E: Record>(svc: &Services, actor: &Actor, id: Uuid) -> Result<E::Model> {
    set_archived_at::<E>(svc, actor, id, "archive", Some(Utc::now())).await
}

pub async fn restore<E: Record>(svc: &Services, actor: &Actor, id: Uuid) -> Result<E::Model> {
    set_archived_at::<E>(svc, actor, id, "restore", None).await
}

async fn set_archived_at<E: Record>(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    verb: &str,
    at: Option<chrono::DateTime<Utc>>,
) -> Result<E::Model> {
    let column = E::archived_at_column().ok_or_else(|| {
        AppError::forbidden(format!("{}s are history and cannot be archived", E::KIND))
    })?;
    update::<E, _>(svc, actor, id, verb, async |_, _, active| {
        active.set(column, Value::from(at));
        Ok(())
    })
    .await
}

/// Refuses a reference to a record the actor cannot see, naming the input field; an unknown id
/// and an invisible one answer alike.
pub async fn ensure_reference<E: Record>(
    conn: &impl sea_orm::ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    field: &str,
) -> Result<()> {
    let found = scope::visible::<E>(actor)?
        .filter(E::id_column().eq(id))
        .one(conn)
        .await?;
    found
        .map(|_| ())
        .ok_or_else(|| AppError::bad_input(field, format!("no such {}", E::KIND)))
}

/// What an edit does to a record, read from the row rather than from the input: moving the
/// owner is a reassignment, and touching the archive stamp is archiving or restoring (even when
/// it is already in that state), however the edit came about.
fn write_of<E: Record>(before: &E::Model, after: &E::ActiveModel) -> scope::Write {
    let owner = E::owner_column().and_then(|c| as_uuid(sea_orm::ModelTrait::get(before, c)));
    let new_owner = E::owner_column().map(|_| owner_in::<E>(after));
    scope::Write::Change {
        owner,
        reassign: new_owner.filter(|new| *new != owner),
        archive: E::archived_at_column().is_some_and(|c| after.get(c).is_set()),
    }
}

/// The owner a record being written will have.
fn owner_in<E: Record>(model: &E::ActiveModel) -> Option<Uuid> {
    let column = E::owner_column()?;
    model.get(column).into_value().and_then(as_uuid)
}

fn as_uuid(value: Value) -> Option<Uuid> {
    match value {
        Value::Uuid(id) => id,
        _ => None,
    }
}

async fn announce<E: Record>(svc: &Services, change: Change, model: &E::Model) {
    if let Some(event) = E::event(change, model) {
        svc.events.publish(event).await;
    }
}

fn id_of<E: Record>(model: &E::Model) -> Uuid {
    as_uuid(sea_orm::ModelTrait::get(model, E::id_column())).unwrap_or_default()
}

/// The first page of live children of each parent the caller may see, in the type's default
/// order: one batch for any number of parents. With `columns`, the type's sort columns among
/// them, only those are read (when the type has a blank model).
pub async fn first_pages<E: Record>(
    db: &DatabaseConnection,
    actor: &Actor,
    Parent(parent): Parent<E>,
    parents: &[Uuid],
    first: u64,
    count_totals: bool,
    columns: Option<Columns>,
) -> Result<std::collections::HashMap<Uuid, page::Page<E::Model>>> {
    let mut select = scope::visible::<E>(actor)?;
    if let Some(archived_at) = E::archived_at_column() {
        select = select.filter(archived_at.is_null());
    }
    let blank = E::blank();
    let columns = match (columns, Columns::of::<E>([E::id_column(), parent]), &blank) {
        (Some(wanted), Some(keys), Some(_)) => Some(wanted.union(keys).list::<E>()),
        _ => None,
    };
    let projection = columns
        .as_deref()
        .zip(blank.as_ref())
        .map(|(columns, blank)| page::Projection { columns, blank });
    page::first_pages(
        db,
        select,
        E::id_column(),
        parent,
        parents,
        &E::default_order(),
        first,
        count_totals,
        projection,
    )
    .await
}

/// The records among `ids` the caller may see.
pub async fn visible_by_ids<E: Record>(
    db: &DatabaseConnection,
    actor: &Actor,
    ids: &[Uuid],
) -> Result<Vec<E::Model>> {
    Ok(scope::visible::<E>(actor)?
        .filter(E::id_column().is_in(ids.iter().copied()))
        .all(db)
        .await?)
}
