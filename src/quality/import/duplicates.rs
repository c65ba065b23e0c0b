//! The one place an imported row is checked against the stored records for duplicates before
//! it is written, after the exact upsert key and the file's own earlier rows have had their say.
//! The dedupe rules (`quality::dedupe`) answer here; until a rule says otherwise every row is
//! its own record.

use entity::enums::CustomFieldRecordType;
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

use crate::{actor::Actor, error::Result, quality::import::rows::Changes};

/// What the dedupe rules make of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No stored record is this row's: it is created (or upserted on its key).
    Distinct,
    /// The row is this stored record: it is written into it and reported as merged.
    SameAs(Uuid),
    /// A rule blocks the row as a duplicate of a stored record: it is skipped with `reason`.
    Blocked { reason: String },
}

/// The dedupe rules' verdict on `changes`, read inside the import's transaction as `actor`.
pub async fn check(
    _txn: &DatabaseTransaction,
    _actor: &Actor,
    _record_type: CustomFieldRecordType,
    _changes: &Changes,
) -> Result<Verdict> {
    Ok(Verdict::Distinct)
}
