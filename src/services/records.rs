//! The record lifecycle every CRM type shares: find within the row rules, insert, update and
//! archive inside one transaction that also writes the audit row and the moves of the type's
//! tracked columns ([`transitions`]), and tell subscribers once it is committed. Every write is
//! checked against [`scope::authorize`] on what it changes.
//!
//! Each write comes twice: `insert`, `update`, `archive` and `restore` run in a transaction of
//! their own and publish the change event after committing it, for a caller writing one record
//! (a mutation); `insert_in`, `update_in`, `archive_in` and `restore_in` run inside the
//! caller's transaction and return the event as part of [`Written`], for a caller whose writes
//! commit together (the inbox worker, a job, the CLI). Nothing else writes records, so audit
//! rows, write rules and change events exist once.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, IntoActiveModel,
    QueryFilter, Value,
};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    events::{Event, Events},
    services::{
        Services, audit, filter::Filter, match_keys, page, projection::Columns, scope, transitions,
    },
};

pub use super::record_type::{Change, Parent, Record};

/// How many tombstones a read follows: merges point every tombstone at the final survivor, so
/// one step is the norm and more means a chain that should not exist.
const MAX_TOMBSTONE_STEPS: usize = 4;

/// The record with `id`, if the actor may see it; NOT_FOUND alike for a missing and a hidden one.
/// A record merged into another answers the record it became.
pub async fn get<E: Record>(
    db: &impl sea_orm::ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> Result<E::Model> {
    let mut id = id;
    for _ in 0..=MAX_TOMBSTONE_STEPS {
        let found = get_exactly::<E>(db, actor, id).await?;
        match merged_into::<E>(&found) {
            Some(survivor) => id = survivor,
            None => return Ok(found),
        }
    }
    Err(AppError::internal(anyhow::anyhow!(
        "{} {id} is a chain of merges",
        E::KIND
    )))
}

/// The record with `id` itself, if the actor may see it, a tombstone as it is: for the merge
/// that made it and its undo. NOT_FOUND alike for a missing and a hidden one.
pub async fn get_exactly<E: Record>(
    db: &impl sea_orm::ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> Result<E::Model> {
    scope::visible::<E>(actor)?
        .filter(E::id_column().eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound(E::KIND))
}

/// The record a tombstone was merged into; `None` for a live record.
pub fn merged_into<E: Record>(model: &E::Model) -> Option<Uuid> {
    E::merged_into_column().and_then(|c| as_uuid(sea_orm::ModelTrait::get(model, c)))
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

/// One page of the live records the actor may see that meet `condition`, in the type's default
/// order: for lists a service shapes itself (a contact's history includes the lead it was).
pub(in crate::services) async fn list_where<E: Record>(
    db: &DatabaseConnection,
    actor: &Actor,
    condition: sea_orm::Condition,
    request: page::PageRequest,
) -> Result<page::Page<E::Model>> {
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

/// A record written inside a caller's transaction, and what subscribers are to hear about it
/// once that transaction commits. Publishing before the commit could announce a change that
/// is then rolled back, so the `*_in` functions hand the event back instead of sending it.
#[derive(Debug)]
#[must_use = "the event is to be published once the transaction commits"]
pub struct Written<M> {
    pub model: M,
    pub event: Option<Event>,
}

impl<M> Written<M> {
    /// The record, its event kept in `events`: for a caller that publishes the events of all
    /// its writes together once its transaction commits.
    pub fn keep_event_in(self, events: &mut Vec<Event>) -> M {
        events.extend(self.event);
        self.model
    }

    /// Tells subscribers, for a caller whose transaction has committed; returns the record.
    pub async fn publish(self, events: &Events) -> M {
        if let Some(event) = self.event {
            events.publish(event).await;
        }
        self.model
    }
}

/// Creates a record in its own transaction and tells subscribers once it is committed: for a
/// caller that writes this one record. A caller that writes more in one transaction (the inbox
/// worker, a job) uses [`insert_in`].
pub async fn insert<E: Record>(
    svc: &Services,
    actor: &Actor,
    model: E::ActiveModel,
) -> Result<E::Model> {
    alone::<E>(svc, actor, async |txn| {
        insert_in::<E>(txn, actor, model).await
    })
    .await
}

/// Creates a record inside the caller's transaction: checks the write rule, inserts it and
/// writes its audit row. The caller publishes the returned event after its commit.
pub async fn insert_in<E: Record>(
    txn: &DatabaseTransaction,
    actor: &Actor,
    mut model: E::ActiveModel,
) -> Result<Written<E::Model>> {
    fold_search_text::<E>(&mut model);
    let owner = owner_in::<E>(&model);
    scope::authorize::<E>(txn, actor, scope::Write::Create { owner }).await?;
    let created = model.insert(txn).await?;
    file_match_keys::<E>(txn, None, &created).await?;
    audit::record(
        txn,
        actor,
        E::KIND,
        "create",
        id_of::<E>(&created),
        None,
        Some(&created),
    )
    .await?;
    transitions::record::<E>(txn, actor, id_of::<E>(&created), None, &created).await?;
    Ok(written::<E>(Change::Created, created))
}

/// Changes a record in its own transaction and tells subscribers once it is committed; see
/// [`update_in`] for what it does and when to use that instead.
pub async fn update<E, F>(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    verb: &str,
    change: F,
) -> Result<E::Model>
where
    E: Record,
    F: AsyncFnOnce(&DatabaseTransaction, &E::Model, &mut E::ActiveModel) -> Result<()>,
{
    alone::<E>(svc, actor, async |txn| {
        update_in::<E, F>(txn, actor, id, verb, change).await
    })
    .await
}

/// Loads the record within the actor's rows, lets `change` edit it, checks the write rule on
/// what the edit changed, and saves it with an audit row whose action is `verb`, all inside
/// the caller's transaction; the caller publishes the returned event after its commit.
/// `change` sees the transaction so its checks read a consistent state.
pub async fn update_in<E, F>(
    txn: &DatabaseTransaction,
    actor: &Actor,
    id: Uuid,
    verb: &str,
    change: F,
) -> Result<Written<E::Model>>
where
    E: Record,
    F: AsyncFnOnce(&DatabaseTransaction, &E::Model, &mut E::ActiveModel) -> Result<()>,
{
    scope::ensure_writer::<E>(actor)?;
    let before = get_exactly::<E>(txn, actor, id).await?;
    // A tombstone stands for its survivor and changes only with its merge (and its undo).
    if let Some(survivor) = merged_into::<E>(&before) {
        return Err(AppError::Conflict {
            field: Some("id".into()),
            message: format!(
                "this {} was merged into {survivor}; change that one",
                E::KIND
            ),
        });
    }
    update_held_in::<E, F>(txn, actor, before, verb, change).await
}

/// [`update_in`] for a record this transaction has just read or written, visible to the actor:
/// `before` is taken as the stored row rather than read again.
pub async fn update_held_in<E, F>(
    txn: &DatabaseTransaction,
    actor: &Actor,
    before: E::Model,
    verb: &str,
    change: F,
) -> Result<Written<E::Model>>
where
    E: Record,
    F: AsyncFnOnce(&DatabaseTransaction, &E::Model, &mut E::ActiveModel) -> Result<()>,
{
    scope::ensure_writer::<E>(actor)?;
    let id = id_of::<E>(&before);
    let mut active = before.clone().into_active_model();
    change(txn, &before, &mut active).await?;
    fold_search_text::<E>(&mut active);
    scope::authorize::<E>(txn, actor, write_of::<E>(&before, &active)).await?;
    if let Some(updated_at) = E::updated_at_column() {
        active.set(updated_at, Value::from(Utc::now()));
    }
    let after = active.update(txn).await?;
    file_match_keys::<E>(txn, Some(&before), &after).await?;
    audit::record(txn, actor, E::KIND, verb, id, Some(&before), Some(&after)).await?;
    transitions::record::<E>(txn, actor, id, Some(&before), &after).await?;
    Ok(written::<E>(Change::Updated, after))
}

/// Hides the record from lists; it stays readable by id, with its history.
pub async fn archive<E: Record>(svc: &Services, actor: &Actor, id: Uuid) -> Result<E::Model> {
    alone::<E>(svc, actor, async |txn| {
        archive_in::<E>(txn, actor, id).await
    })
    .await
}

pub async fn restore<E: Record>(svc: &Services, actor: &Actor, id: Uuid) -> Result<E::Model> {
    alone::<E>(svc, actor, async |txn| {
        restore_in::<E>(txn, actor, id).await
    })
    .await
}

/// [`archive`] inside the caller's transaction; the caller publishes the event after its commit.
pub async fn archive_in<E: Record>(
    txn: &DatabaseTransaction,
    actor: &Actor,
    id: Uuid,
) -> Result<Written<E::Model>> {
    set_archived_at::<E>(txn, actor, id, "archive", Some(Utc::now())).await
}

/// [`restore`] inside the caller's transaction; the caller publishes the event after its commit.
pub async fn restore_in<E: Record>(
    txn: &DatabaseTransaction,
    actor: &Actor,
    id: Uuid,
) -> Result<Written<E::Model>> {
    set_archived_at::<E>(txn, actor, id, "restore", None).await
}

async fn set_archived_at<E: Record>(
    txn: &DatabaseTransaction,
    actor: &Actor,
    id: Uuid,
    verb: &str,
    at: Option<chrono::DateTime<Utc>>,
) -> Result<Written<E::Model>> {
    let column = E::archived_at_column().ok_or_else(|| {
        AppError::forbidden(format!("{}s are history and cannot be archived", E::KIND))
    })?;
    update_in::<E, _>(txn, actor, id, verb, async |_, _, active| {
        active.set(column, Value::from(at));
        Ok(())
    })
    .await
}

/// The record an input field refers to, or a refusal naming the field when the actor cannot see
/// it; an unknown id and an invisible one answer alike.
pub async fn ensure_reference<E: Record>(
    conn: &impl sea_orm::ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    field: &str,
) -> Result<E::Model> {
    let found = scope::visible::<E>(actor)?
        .filter(E::id_column().eq(id))
        .one(conn)
        .await?;
    found.ok_or_else(|| AppError::bad_input(field, format!("no such {}", E::KIND)))
}

/// Writes the folded words of the record's searchable columns into its search column, when they
/// changed, so that search finds what the record says now on either store.
/// Files the record under its match keys, writing only those that changed since `before`.
async fn file_match_keys<E: Record>(
    txn: &DatabaseTransaction,
    before: Option<&E::Model>,
    after: &E::Model,
) -> Result<()> {
    let Some((record_type, keys)) = E::match_keys(after) else {
        return Ok(());
    };
    let old = before
        .and_then(E::match_keys)
        .map(|(_, keys)| keys)
        .unwrap_or_default();
    if old == keys {
        return Ok(());
    }
    match_keys::replace_in(txn, record_type, id_of::<E>(after), &old, &keys).await
}

fn fold_search_text<E: Record>(model: &mut E::ActiveModel) {
    let Some((target, sources)) = E::search_text() else {
        return;
    };
    // A stored row none of whose searchable columns an edit set keeps its folded text: the
    // worker's many edits of a lead's sources and scores need not fold it again.
    let stored = matches!(model.get(target), sea_orm::ActiveValue::Unchanged(_));
    if stored && !sources.iter().any(|column| model.get(*column).is_set()) {
        return;
    }
    let text: Vec<String> = sources
        .into_iter()
        .filter_map(|column| match model.get(column).into_value() {
            Some(Value::String(Some(text))) => Some(text),
            _ => None,
        })
        .collect();
    let folded = Value::from(canonical::fold(&text.join(" ")));
    if model.get(target).into_value().as_ref() != Some(&folded) {
        model.set(target, folded);
    }
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

/// Runs one write to `E` in a transaction of its own and tells subscribers once it commits. A
/// role that may not write such records at all is refused before it waits for (or holds) the
/// write lock.
pub async fn alone<E: Record>(
    svc: &Services,
    actor: &Actor,
    write: impl AsyncFnOnce(&DatabaseTransaction) -> Result<Written<E::Model>>,
) -> Result<E::Model> {
    scope::ensure_writer::<E>(actor)?;
    together(svc, async |txn, events| {
        Ok(write(txn).await?.keep_event_in(events))
    })
    .await
}

/// Runs writes to several records in one transaction and tells subscribers what they changed
/// once it commits, each change once (a lead written twice is announced once).
pub async fn together<T>(
    svc: &Services,
    write: impl AsyncFnOnce(&DatabaseTransaction, &mut Vec<Event>) -> Result<T>,
) -> Result<T> {
    together_or_rehearsed(svc, false, write).await
}

/// [`together`], or with `rehearsal` the same writes rolled back and nobody told: a dry run
/// checked and answered exactly as the real one would be, which leaves nothing behind.
pub async fn together_or_rehearsed<T>(
    svc: &Services,
    rehearsal: bool,
    write: impl AsyncFnOnce(&DatabaseTransaction, &mut Vec<Event>) -> Result<T>,
) -> Result<T> {
    let txn = crate::db::begin_write(&svc.db).await?;
    let mut events = Vec::new();
    let done = write(&txn, &mut events).await?;
    if rehearsal {
        txn.rollback().await?;
        return Ok(done);
    }
    txn.commit().await?;
    let mut announced = Vec::with_capacity(events.len());
    for event in events {
        if !announced.contains(&event) {
            svc.events.publish(event).await;
            announced.push(event);
        }
    }
    Ok(done)
}

fn written<E: Record>(change: Change, model: E::Model) -> Written<E::Model> {
    let event = E::event(change, &model);
    Written { model, event }
}

/// The id of a record of any type.
pub fn id_of<E: Record>(model: &E::Model) -> Uuid {
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
