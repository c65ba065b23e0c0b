//! Starting an import: the file read and mapped, checked before anything is stored (the
//! importer's right to write the type, the mapping, the upsert key), then stored as a pending
//! run with one row per data row, for the workers ([`job`](super::job)) to take.

use chrono::Utc;
use entity::{
    custom_field_def,
    enums::{CustomFieldRecordType, ImportOutcome, ImportStatus},
    import_row, import_run,
};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde_json::json;
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    events::Event,
    quality::import::{
        mapping,
        parse::{self, Format},
    },
    services::{Services, custom_fields, scope},
};

/// Rows stored per statement when a file is saved: well inside both stores' parameter limits.
const ROWS_PER_INSERT: usize = 500;

/// An import as its starter describes it.
pub struct NewImport {
    pub record_type: CustomFieldRecordType,
    pub file_name: String,
    pub bytes: Vec<u8>,
    /// Header → target overrides of the suggested mapping.
    pub overrides: Vec<(String, String)>,
    /// `None` takes the type's key when a column maps to it; `Some("")` upserts on nothing.
    pub upsert_key: Option<String>,
    /// Merge a row a dedupe rule finds to be an existing record into it.
    pub merge_duplicates: bool,
    pub dry_run: bool,
}

/// Reads the file, maps its columns and stores it as a pending run for the workers. Refused
/// before anything is stored: a role that may not write the type, an unreadable file, a bad
/// mapping, an upsert key no column fills.
pub async fn store(svc: &Services, actor: &Actor, new: NewImport) -> Result<import_run::Model> {
    ensure_importer(actor, new.record_type)?;
    let format = Format::sniff(&new.bytes);
    let table = parse::read(&new.bytes, format, svc.config.import_max_rows)?;
    let definitions = definitions(&svc.db, actor, new.record_type).await?;
    let mapping = mapping::resolve(
        new.record_type,
        &table.headers,
        &new.overrides,
        &definitions,
    )?;
    let upsert_key = upsert_key(new.record_type, &mapping, new.upsert_key)?;
    let now = Utc::now();
    let run = import_run::ActiveModel {
        id: Set(Uuid::now_v7()),
        record_type: Set(new.record_type),
        status: Set(ImportStatus::Pending),
        dry_run: Set(new.dry_run),
        file_name: Set(mapping::printable(&new.file_name)),
        headers: Set(json!(table.headers)),
        mapping: Set(json!(mapping)),
        upsert_key: Set(upsert_key),
        merge_duplicates: Set(new.merge_duplicates),
        created_by: Set(actor.user_id),
        total_rows: Set(i32::try_from(table.rows.len()).map_err(AppError::internal)?),
        rows_done: Set(0),
        created: Set(0),
        updated: Set(0),
        merged: Set(0),
        skipped: Set(0),
        refused: Set(0),
        error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
    };
    let txn = crate::db::begin_write(&svc.db).await?;
    let run = run.insert(&txn).await?;
    for (chunk_no, chunk) in table.rows.chunks(ROWS_PER_INSERT).enumerate() {
        let rows = chunk.iter().enumerate().map(|(i, cells)| {
            let (cells, refused_field) = without_nul(cells, &mapping);
            import_row::ActiveModel {
                run_id: Set(run.id),
                row_no: Set((chunk_no * ROWS_PER_INSERT + i + 1) as i32),
                cells: Set(json!(cells)),
                key: Set(None),
                outcome: Set(refused_field.as_ref().map(|_| ImportOutcome::Refused)),
                reason: Set(refused_field
                    .as_ref()
                    .map(|_| "no NUL characters".to_owned())),
                field: Set(refused_field),
                record_id: Set(None),
            }
        });
        import_row::Entity::insert_many(rows).exec(&txn).await?;
    }
    txn.commit().await?;
    // Wakes the workers on every replica.
    svc.events
        .publish(Event::ImportProgressed { run_id: run.id })
        .await;
    Ok(run)
}

/// The cells without NUL characters, which no store keeps in text; with the field of the first
/// mapped cell that held one, whose row is then refused as it is stored. An unmapped cell is
/// never read, so its NUL does not matter.
fn without_nul(cells: &[String], mapping: &[Option<String>]) -> (Vec<String>, Option<String>) {
    let refused = cells
        .iter()
        .zip(mapping)
        .find_map(|(cell, target)| target.as_ref().filter(|_| cell.contains('\0')).cloned());
    let cells = cells.iter().map(|cell| cell.replace('\0', "")).collect();
    (cells, refused)
}

/// Who may import a type: whoever may write it.
fn ensure_importer(actor: &Actor, record_type: CustomFieldRecordType) -> Result<()> {
    match record_type {
        CustomFieldRecordType::Lead => scope::ensure_writer::<entity::lead::Entity>(actor),
        CustomFieldRecordType::Contact => scope::ensure_writer::<entity::contact::Entity>(actor),
        CustomFieldRecordType::Account => scope::ensure_writer::<entity::account::Entity>(actor),
        CustomFieldRecordType::Opportunity => Err(AppError::bad_input(
            "type",
            "opportunities cannot be imported yet; import leads, contacts or accounts",
        )),
    }
}

pub(super) async fn definitions<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    record_type: CustomFieldRecordType,
) -> Result<Vec<custom_field_def::Model>> {
    custom_fields::definitions(conn, actor, record_type, false).await
}

/// The upsert key the run uses: the one asked for, which a column must fill, or by default the
/// type's key when a column fills it.
fn upsert_key(
    record_type: CustomFieldRecordType,
    mapping: &[Option<String>],
    asked: Option<String>,
) -> Result<Option<String>> {
    let fills = |field: &str| mapping.iter().any(|t| t.as_deref() == Some(field));
    let natural = mapping::default_key(record_type);
    match asked.as_deref().map(str::trim) {
        None => Ok(fills(natural).then(|| natural.to_owned())),
        Some("") => Ok(None),
        Some(key) if key == natural && fills(natural) => Ok(Some(natural.to_owned())),
        // An external id: a custom field a column fills.
        Some(key) if key.starts_with(mapping::CUSTOM_PREFIX) && fills(key) => {
            Ok(Some(key.to_owned()))
        }
        Some(key) if key == natural => Err(AppError::bad_input(
            "key",
            format!("no column maps to `{natural}`"),
        )),
        Some(key) => Err(AppError::bad_input(
            "key",
            format!(
                "{}s upsert on `{natural}` or on a custom field a column fills \
                 (`custom.<key>`); `{}` is not a key",
                record_type.as_str(),
                mapping::printable(key)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upsert_key_needs_a_column() {
        let lead = CustomFieldRecordType::Lead;
        let with_email = [Some("email".to_owned())];
        assert_eq!(
            upsert_key(lead, &with_email, None).unwrap().as_deref(),
            Some("email")
        );
        assert_eq!(upsert_key(lead, &[None], None).unwrap(), None);
        assert_eq!(
            upsert_key(lead, &with_email, Some(String::new())).unwrap(),
            None
        );
        assert!(upsert_key(lead, &[None], Some("email".into())).is_err());
        assert!(upsert_key(lead, &with_email, Some("phone".into())).is_err());
    }
}
