//! Writes one imported row through the same services an API call uses: a lead through the sales
//! engine (scored and assigned as `createLead` does), contacts and accounts through their
//! services; audit rows, write rules and change events come with them. A row whose key names a
//! record the importer can see updates it; otherwise the dedupe rules have their say
//! ([`duplicates::check`]) and the row creates a record.

use entity::{account, contact, enums::CustomFieldRecordType, enums::ImportOutcome, lead};
use sea_orm::{ColumnTrait, DatabaseTransaction, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::Result,
    events::Event,
    quality::import::{
        duplicates::{self, Verdict},
        rows::Changes,
    },
    sales,
    services::{Services, accounts, contacts, scope},
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
    record_type: CustomFieldRecordType,
    changes: Changes,
    key: Option<&str>,
    events: &mut Vec<Event>,
) -> Result<Done> {
    let existing = match key {
        Some(key) => stored(txn, actor, &changes, key).await?,
        None => None,
    };
    let (target, outcome) = match existing {
        Some(id) => (Some(id), ImportOutcome::Updated),
        None => match duplicates::check(txn, actor, record_type, &changes).await? {
            Verdict::Distinct => (None, ImportOutcome::Created),
            Verdict::SameAs(id) => (Some(id), ImportOutcome::Merged),
            Verdict::Blocked { reason } => return Ok(Done::Blocked(reason)),
        },
    };
    let id = match (changes, target) {
        (Changes::Lead(c), None) => {
            sales::leads::create_in(txn, svc, actor, *c, events)
                .await?
                .id
        }
        (Changes::Lead(c), Some(id)) => {
            sales::leads::update_in(txn, svc, actor, id, *c, events)
                .await?
                .id
        }
        (Changes::Contact(c), None) => {
            contacts::create_in(svc, txn, actor, c)
                .await?
                .keep_event_in(events)
                .id
        }
        (Changes::Contact(c), Some(id)) => {
            contacts::update_in(svc, txn, actor, id, c)
                .await?
                .keep_event_in(events)
                .id
        }
        (Changes::Account(c), None) => {
            accounts::create_in(svc, txn, actor, c)
                .await?
                .keep_event_in(events)
                .id
        }
        (Changes::Account(c), Some(id)) => {
            accounts::update_in(svc, txn, actor, id, c)
                .await?
                .keep_event_in(events)
                .id
        }
    };
    Ok(Done::Wrote(outcome, id))
}

/// The live record the actor can see whose key is `key`. One the actor cannot see is not
/// found here; creating its twin then fails on the unique key, and the row is refused.
async fn stored(
    txn: &DatabaseTransaction,
    actor: &Actor,
    changes: &Changes,
    key: &str,
) -> Result<Option<Uuid>> {
    Ok(match changes {
        Changes::Lead(_) => {
            scope::visible::<lead::Entity>(actor)?
                .filter(lead::Column::Email.eq(key))
                .filter(lead::Column::ArchivedAt.is_null())
                .select_only()
                .column(lead::Column::Id)
                .into_tuple()
                .one(txn)
                .await?
        }
        Changes::Contact(_) => {
            scope::visible::<contact::Entity>(actor)?
                .filter(contact::Column::Email.eq(key))
                .filter(contact::Column::ArchivedAt.is_null())
                .select_only()
                .column(contact::Column::Id)
                .into_tuple()
                .one(txn)
                .await?
        }
        Changes::Account(_) => {
            scope::visible::<account::Entity>(actor)?
                .filter(account::Column::CanonicalDomain.eq(key))
                .filter(account::Column::ArchivedAt.is_null())
                .select_only()
                .column(account::Column::Id)
                .into_tuple()
                .one(txn)
                .await?
        }
    })
}
