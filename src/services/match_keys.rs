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

/// The ids of records of `record_type` filed under any of `keys`, other than `except`, at most
/// `limit` of them.
pub async fn sharing(
    db: &impl ConnectionTrait,
    record_type: CustomFieldRecordType,
    keys: &[String],
    except: Uuid,
    limit: u64,
) -> Result<Vec<Uuid>> {
    use sea_orm::{QueryOrder, QuerySelect};
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = match_key::Entity::find()
        .select_only()
        .column(match_key::Column::RecordId)
        .distinct()
        .filter(match_key::Column::RecordType.eq(record_type))
        .filter(match_key::Column::Key.is_in(keys.iter().map(String::as_str)))
        .filter(match_key::Column::RecordId.ne(except))
        .order_by_desc(match_key::Column::RecordId)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids)
}
