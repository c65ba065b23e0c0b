//! Match keys on file: each record of the types dedupe covers is filed under the keys
//! [`canonical::keys`] gives it (its email, its phone, the starts of its folded names), and the
//! lifecycle rewrites them on every write that changes them, for every writer (API, hub,
//! import, merge). Records sharing a key are the ones compared.

use entity::{enums::CustomFieldRecordType, match_key};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::error::Result;

pub use canonical::keys::{company, deal, person};

/// Files `record_id` under `keys` in place of `old`: only the keys that changed are written.
pub async fn replace_in(
    db: &impl ConnectionTrait,
    record_type: CustomFieldRecordType,
    record_id: Uuid,
    old: &[String],
    keys: &[String],
) -> Result<()> {
    let gone: Vec<&String> = old.iter().filter(|k| !keys.contains(k)).collect();
    let mut new: Vec<&String> = keys.iter().filter(|k| !old.contains(k)).collect();
    new.sort();
    new.dedup();
    if !gone.is_empty() {
        match_key::Entity::delete_many()
            .filter(match_key::Column::RecordType.eq(record_type))
            .filter(match_key::Column::RecordId.eq(record_id))
            .filter(match_key::Column::Key.is_in(gone.iter().map(|k| k.as_str())))
            .exec(db)
            .await?;
    }
    if !new.is_empty() {
        match_key::Entity::insert_many(new.into_iter().map(|key| match_key::ActiveModel {
            record_type: Set(record_type),
            key: Set(key.clone()),
            record_id: Set(record_id),
        }))
        .on_conflict_do_nothing()
        .exec(db)
        .await?;
    }
    Ok(())
}

/// Records sharing one key beyond which the key tells nobody apart (a switchboard number, a
/// surname initial everyone in a file shares): neither a write's check nor a scan compares
/// through it, so a check stays bounded however common a key grows.
pub const MAX_BLOCK: usize = 1000;

/// The ids of records of `record_type` filed under any of `keys` whose block is at most
/// [`MAX_BLOCK`] records, other than `except`, the newest `limit` of them. Each key is read
/// through the index on its own and at most one past the cap, so the cost does not grow with
/// the table.
pub async fn sharing(
    db: &impl ConnectionTrait,
    record_type: CustomFieldRecordType,
    keys: &[String],
    except: Uuid,
    limit: u64,
) -> Result<Vec<Uuid>> {
    use sea_orm::{QueryOrder, QuerySelect};
    let mut ids: Vec<Uuid> = Vec::new();
    let mut keys: Vec<&String> = keys.iter().collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let block: Vec<Uuid> = match_key::Entity::find()
            .select_only()
            .column(match_key::Column::RecordId)
            .filter(match_key::Column::RecordType.eq(record_type))
            .filter(match_key::Column::Key.eq(key.as_str()))
            .order_by_desc(match_key::Column::RecordId)
            .limit(MAX_BLOCK as u64 + 1)
            .into_tuple()
            .all(db)
            .await?;
        if block.len() > MAX_BLOCK {
            continue;
        }
        ids.extend(block.into_iter().filter(|id| *id != except));
    }
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids.dedup();
    ids.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(ids)
}
