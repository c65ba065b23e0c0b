//! Writes one imported row through the same services an API call uses: a lead through the sales
//! engine (scored and assigned as `createLead` does), contacts and accounts through their
//! services; audit rows, write rules and change events come with them. A row whose key names a
//! record the importer can see updates it; otherwise it creates a record. Either way the record
//! written is checked against its type's dedupe rules as an API write is
//! ([`check::guard_in`]): a blocking rule's match skips the row as a duplicate. With
//! `merge_duplicates`, a created record a warning rule finds to be an existing one of its type
//! is merged into it ([`merge`]): the existing record keeps its values and fills its blanks
//! from the row, and the merge can be undone like any other.

use entity::{account, contact, enums::ImportOutcome, import_run, lead};
use std::str::FromStr;

use sea_orm::{
    Condition, ConnectionTrait, DatabaseTransaction, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    events::Event,
    quality::dedupe::check::{self, Subject},
    quality::import::{mapping::CUSTOM_PREFIX, rows::Changes},
    quality::merge::{self, MergeRequest},
    sales,
    services::{Services, accounts, contacts, custom_sql::JsonKey, records::Record, scope},
};

/// What writing a row did.
pub enum Done {
    Wrote(ImportOutcome, Uuid),
    Blocked(String),
}

/// Upserts `changes` on the canonical `key` (when the row has one); the events of the writes go
/// into `events`, for the caller to publish once its transaction commits.
pub async fn row(
    txn: &DatabaseTransaction,
    svc: &Services,
    actor: &Actor,
    run: &import_run::Model,
    changes: Changes,
    key: Option<&str>,
    events: &mut Vec<Event>,
) -> Result<Done> {
    let (record_type, merge_duplicates) = (run.record_type, run.merge_duplicates);
    let key_name = run.upsert_key.as_deref().unwrap_or_default();
    let mut changes = changes;
    let existing = match key {
        Some(key) => stored(txn, actor, &changes, key_name, key).await?,
        None => None,
    };
    if let Some(Found::MergedInto(_)) = existing {
        changes.keep_key(key_name);
    }
    let existing = existing.map(Found::id);
    let (target, outcome) = match existing {
        Some(id) => (Some(id), ImportOutcome::Updated),
        None => (None, ImportOutcome::Created),
    };
    let subject = match (changes, target) {
        (Changes::Lead(c), None) => {
            let lead = sales::leads::create_in(txn, svc, actor, *c, events).await?;
            Subject::of::<lead::Entity>(&lead)
        }
        (Changes::Lead(c), Some(id)) => {
            let lead = sales::leads::update_in(txn, svc, actor, id, *c, events).await?;
            Subject::of::<lead::Entity>(&lead)
        }
        (Changes::Contact(c), None) => {
            let contact = contacts::create_in(svc, txn, actor, c)
                .await?
                .keep_event_in(events);
            Subject::of::<contact::Entity>(&contact)
        }
        (Changes::Contact(c), Some(id)) => {
            let contact = contacts::update_in(svc, txn, actor, id, c)
                .await?
                .keep_event_in(events);
            Subject::of::<contact::Entity>(&contact)
        }
        (Changes::Account(c), None) => {
            let account = accounts::create_in(svc, txn, actor, c)
                .await?
                .keep_event_in(events);
            Subject::of::<account::Entity>(&account)
        }
        (Changes::Account(c), Some(id)) => {
            let account = accounts::update_in(svc, txn, actor, id, c)
                .await?
                .keep_event_in(events);
            Subject::of::<account::Entity>(&account)
        }
    };
    let Some(subject) = subject else {
        return Err(AppError::internal(anyhow::anyhow!(
            "an imported record dedupe cannot read"
        )));
    };
    match check::guard_in(txn, actor, &subject).await {
        Ok(found) => {
            let existing = found.iter().find(|c| c.record_type == record_type);
            match existing {
                Some(existing) if merge_duplicates && outcome == ImportOutcome::Created => {
                    let request = MergeRequest {
                        record_type,
                        survivor_id: existing.id,
                        merged_ids: vec![subject.id],
                        choices: Vec::new(),
                        dry_run: false,
                    };
                    Box::pin(merge::merge_in(svc, txn, actor, &request, events)).await?;
                    Ok(Done::Wrote(ImportOutcome::Merged, existing.id))
                }
                _ => Ok(Done::Wrote(outcome, subject.id)),
            }
        }
        // The caller rolls the row's savepoint back: the duplicate is not kept.
        Err(AppError::Conflict { message, .. }) => Ok(Done::Blocked(message)),
        Err(other) => Err(other),
    }
}

/// The live record the actor can see whose `key_name` is `key`, or the record a tombstone with
/// that key was merged into. One the actor cannot see is not found here; creating its twin then
/// fails on the unique key (email, domain), and the row is refused.
async fn stored(
    txn: &DatabaseTransaction,
    actor: &Actor,
    changes: &Changes,
    key_name: &str,
    key: &str,
) -> Result<Option<Found>> {
    match changes {
        Changes::Lead(_) => stored_as::<lead::Entity>(txn, actor, key_name, key).await,
        Changes::Contact(_) => stored_as::<contact::Entity>(txn, actor, key_name, key).await,
        Changes::Account(_) => stored_as::<account::Entity>(txn, actor, key_name, key).await,
    }
}

async fn stored_as<E: Record>(
    txn: &DatabaseTransaction,
    actor: &Actor,
    key_name: &str,
    key: &str,
) -> Result<Option<Found>> {
    let column = |name: &str| {
        E::Column::from_str(name)
            .map_err(|_| AppError::internal(anyhow::anyhow!("{} has no {name}", E::KIND)))
    };
    let matches = match key_name.strip_prefix(CUSTOM_PREFIX) {
        // An external id kept in a custom field.
        Some(custom) => {
            let backend = txn.get_database_backend();
            JsonKey::new("key", "custom_fields", custom, backend)?
                .any_as_text()
                .eq(key)
        }
        None if key_name == "domain" => Expr::col(column("canonical_domain")?).eq(key),
        None => Expr::col(column(key_name)?).eq(key),
    };
    let merged_into = column("merged_into_id")?;
    let found: Option<(Uuid, Option<Uuid>)> = scope::visible::<E>(actor)?
        .filter(matches)
        .filter(
            Condition::any()
                .add(Expr::col(column("archived_at")?).is_null())
                .add(Expr::col(merged_into).is_not_null()),
        )
        .select_only()
        .column(E::id_column())
        .column(merged_into)
        .into_tuple()
        .one(txn)
        .await?;
    Ok(found.map(|(id, merged_into)| match merged_into {
        Some(survivor) => Found::MergedInto(survivor),
        None => Found::Live(id),
    }))
}

/// The record a row's key names: itself, or the survivor of the tombstone that holds the key.
enum Found {
    Live(Uuid),
    MergedInto(Uuid),
}

impl Found {
    fn id(self) -> Uuid {
        match self {
            Found::Live(id) | Found::MergedInto(id) => id,
        }
    }
}
