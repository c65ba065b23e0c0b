//! An import as a durable job: once the file is stored as a run ([`upload`]), a worker takes
//! the run a batch at a time. Each batch writes its records, each row's
//! outcome and the run's cursor in one transaction, so a process killed mid-batch leaves the
//! batch undone and the next worker starts it again from the cursor: no row written twice,
//! none skipped. The claim is the batch transaction's first statement, as the inbox's is
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL; the write lock on SQLite), so two workers never
//! hold one run.
//!
//! A dry run goes through the very same steps, but each row's writes are rolled back once they
//! have passed every check: the report says what the import would do, and no record changes.

use chrono::Utc;
use entity::{
    custom_field_def,
    enums::{ImportOutcome, ImportStatus},
    import_row, import_run, user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    FromQueryResult, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
    TransactionTrait,
};
use uuid::Uuid;

use crate::{
    actor::Actor,
    auth,
    error::{AppError, Result},
    events::Event,
    quality::import::{
        rows,
        upload::definitions,
        write::{self, Done},
    },
    services::Services,
};

/// Claims the run most in need of a batch and works one batch of it; `None` when no run
/// waits. Runs take turns batch by batch (the one worked longest ago goes next).
pub async fn work_next(svc: &Services) -> Result<Option<import_run::Model>> {
    let txn = crate::db::begin_write(&svc.db).await?;
    let Some(run) = claim(&txn, None).await? else {
        txn.rollback().await?;
        return Ok(None);
    };
    batch(svc, txn, run).await.map(Some)
}

/// Works one batch of the run `id` (the CLI works its own run to the end this way); `None`
/// when the run is finished or another worker holds it.
pub async fn work_run(svc: &Services, id: Uuid) -> Result<Option<import_run::Model>> {
    let txn = crate::db::begin_write(&svc.db).await?;
    let Some(run) = claim(&txn, Some(id)).await? else {
        txn.rollback().await?;
        return Ok(None);
    };
    batch(svc, txn, run).await.map(Some)
}

/// Marks the oldest-touched unfinished run (or run `only`) running, as the transaction's first
/// statement.
async fn claim(txn: &DatabaseTransaction, only: Option<Uuid>) -> Result<Option<import_run::Model>> {
    let backend = txn.get_database_backend();
    let (p1, p2, p3, skip_locked) = match backend {
        DbBackend::Postgres => ("$1", "$2", "$3", "FOR UPDATE SKIP LOCKED"),
        _ => ("?", "?", "?", ""),
    };
    let sql = format!(
        "UPDATE import_runs SET status = 'running', updated_at = {p1} \
         WHERE id = (SELECT id FROM import_runs \
                     WHERE status IN ('pending', 'running') AND ({p2} OR id = {p3}) \
                     ORDER BY updated_at, id LIMIT 1 {skip_locked}) \
         RETURNING *"
    );
    let values = [
        Utc::now().into(),
        only.is_none().into(),
        only.unwrap_or_default().into(),
    ];
    let statement = Statement::from_sql_and_values(backend, sql, values);
    Ok(import_run::Model::find_by_statement(statement)
        .one(txn)
        .await?)
}

/// Outcomes counted per batch, added to the run's totals.
#[derive(Default)]
struct Tally {
    created: i32,
    updated: i32,
    merged: i32,
    skipped: i32,
    refused: i32,
}

impl Tally {
    fn count(&mut self, outcome: ImportOutcome) {
        *match outcome {
            ImportOutcome::Created => &mut self.created,
            ImportOutcome::Updated => &mut self.updated,
            ImportOutcome::Merged => &mut self.merged,
            ImportOutcome::Skipped => &mut self.skipped,
            ImportOutcome::Refused => &mut self.refused,
        } += 1;
    }
}

/// What became of one row, before it is stored.
struct RowOutcome {
    outcome: ImportOutcome,
    key: Option<String>,
    field: Option<String>,
    reason: Option<String>,
    record_id: Option<Uuid>,
}

impl RowOutcome {
    fn refused(field: Option<String>, reason: String, key: Option<String>) -> Self {
        RowOutcome {
            outcome: ImportOutcome::Refused,
            key,
            field,
            reason: Some(reason),
            record_id: None,
        }
    }
}

async fn batch(
    svc: &Services,
    txn: DatabaseTransaction,
    run: import_run::Model,
) -> Result<import_run::Model> {
    let Some(actor) = importer(&txn, &run).await? else {
        return finish_failed(
            svc,
            txn,
            run,
            "the user who started the import can no longer act",
        )
        .await;
    };
    let definitions = definitions(&txn, &actor, run.record_type).await?;
    let mapping: Vec<Option<String>> =
        serde_json::from_value(run.mapping.clone()).map_err(AppError::internal)?;
    let rows = import_row::Entity::find()
        .filter(import_row::Column::RunId.eq(run.id))
        .filter(import_row::Column::RowNo.gt(run.rows_done))
        .order_by_asc(import_row::Column::RowNo)
        .limit(svc.config.import_batch_rows.max(1) as u64)
        .all(&txn)
        .await?;
    let mut tally = Tally::default();
    let mut events = Vec::new();
    let mut rows_done = run.rows_done;
    for row in rows {
        // Refused as it was stored (see `without_nul`).
        if let Some(outcome) = row.outcome {
            tally.count(outcome);
            rows_done = row.row_no;
            continue;
        }
        let cells: Vec<String> = serde_json::from_value(row.cells.clone()).unwrap_or_default();
        let outcome = one_row(
            svc,
            &txn,
            &actor,
            &run,
            &mapping,
            &definitions,
            row.row_no,
            &cells,
            &mut events,
        )
        .await?;
        tally.count(outcome.outcome);
        rows_done = row.row_no;
        let mut stored = row.into_active_model();
        stored.outcome = Set(Some(outcome.outcome));
        stored.key = Set(outcome.key);
        stored.field = Set(outcome.field);
        stored.reason = Set(outcome.reason);
        stored.record_id = Set(outcome.record_id);
        stored.update(&txn).await?;
    }
    let now = Utc::now();
    let finished = rows_done >= run.total_rows;
    let mut progress = run.clone().into_active_model();
    progress.rows_done = Set(rows_done);
    progress.created = Set(run.created + tally.created);
    progress.updated = Set(run.updated + tally.updated);
    progress.merged = Set(run.merged + tally.merged);
    progress.skipped = Set(run.skipped + tally.skipped);
    progress.refused = Set(run.refused + tally.refused);
    progress.updated_at = Set(now);
    if finished {
        progress.status = Set(ImportStatus::Done);
        progress.finished_at = Set(Some(now));
    }
    let run = progress.update(&txn).await?;
    txn.commit().await?;
    events.push(Event::ImportProgressed { run_id: run.id });
    let mut announced = Vec::with_capacity(events.len());
    for event in events {
        if !announced.contains(&event) {
            svc.events.publish(event).await;
            announced.push(event);
        }
    }
    Ok(run)
}

/// Reads, checks and writes one row in a savepoint of the batch: a refused row leaves nothing
/// behind, and in a dry run no row does.
#[allow(clippy::too_many_arguments)]
async fn one_row(
    svc: &Services,
    txn: &DatabaseTransaction,
    actor: &Actor,
    run: &import_run::Model,
    mapping: &[Option<String>],
    definitions: &[custom_field_def::Model],
    row_no: i32,
    cells: &[String],
    events: &mut Vec<Event>,
) -> Result<RowOutcome> {
    let changes = match rows::changes(run.record_type, mapping, cells, definitions) {
        Ok(changes) => changes,
        Err(error) => return Ok(refusal(error, None)),
    };
    let key = changes.key(run.upsert_key.as_deref());
    if let Some(key) = &key
        && let Some(first) = earlier_row_with(txn, run.id, row_no, key).await?
    {
        return Ok(RowOutcome {
            outcome: ImportOutcome::Skipped,
            key: None,
            field: run.upsert_key.clone(),
            reason: Some(format!("duplicate of row {first} (same {})", key_name(run))),
            record_id: None,
        });
    }
    let savepoint = txn.begin().await?;
    let mut row_events = Vec::new();
    let written = write::row(
        &savepoint,
        svc,
        actor,
        run,
        changes,
        key.as_deref(),
        &mut row_events,
    )
    .await;
    match written {
        Ok(Done::Wrote(outcome, id)) => {
            if run.dry_run {
                savepoint.rollback().await?;
            } else {
                savepoint.commit().await?;
                events.extend(row_events);
            }
            Ok(RowOutcome {
                outcome,
                key,
                field: None,
                reason: None,
                record_id: (!run.dry_run).then_some(id),
            })
        }
        Ok(Done::Blocked(reason)) => {
            savepoint.rollback().await?;
            Ok(RowOutcome {
                outcome: ImportOutcome::Skipped,
                key: None,
                field: None,
                reason: Some(reason),
                record_id: None,
            })
        }
        Err(error) => {
            savepoint.rollback().await?;
            Ok(refusal(error, None))
        }
    }
}

fn key_name(run: &import_run::Model) -> &str {
    run.upsert_key.as_deref().unwrap_or("key")
}

/// A refused row's field and reason, from the error the services gave.
fn refusal(error: AppError, key: Option<String>) -> RowOutcome {
    match error {
        AppError::BadInput { field, message } => RowOutcome::refused(Some(field), message, key),
        AppError::Conflict { field, message } => RowOutcome::refused(field, message, key),
        AppError::Internal(source) => {
            tracing::warn!(error = ?source, "an imported row could not be written");
            RowOutcome::refused(None, "could not be written (internal error)".into(), key)
        }
        other => RowOutcome::refused(None, other.to_string(), key),
    }
}

/// The first row of the run before `row_no` that gave `key` and was written (or would have
/// been, in a dry run).
async fn earlier_row_with(
    txn: &DatabaseTransaction,
    run: Uuid,
    row_no: i32,
    key: &str,
) -> Result<Option<i32>> {
    Ok(import_row::Entity::find()
        .select_only()
        .column(import_row::Column::RowNo)
        .filter(import_row::Column::RunId.eq(run))
        .filter(import_row::Column::Key.eq(key))
        .filter(import_row::Column::RowNo.lt(row_no))
        .filter(import_row::Column::Outcome.is_in([
            ImportOutcome::Created,
            ImportOutcome::Updated,
            ImportOutcome::Merged,
        ]))
        .order_by_asc(import_row::Column::RowNo)
        .into_tuple()
        .one(txn)
        .await?)
}

/// The actor the run writes as: its starter with the role and team they have now, or `None`
/// when they may no longer act. The CLI's runs write as the system.
async fn importer(txn: &DatabaseTransaction, run: &import_run::Model) -> Result<Option<Actor>> {
    if run.created_by.is_nil() {
        return Ok(Some(auth::system_actor()));
    }
    let user = user::Entity::find_by_id(run.created_by).one(txn).await?;
    Ok(user
        .filter(|u| u.active)
        .map(|u| auth::actor_for(&u, None).because(format!("import {}", run.id))))
}

async fn finish_failed(
    svc: &Services,
    txn: DatabaseTransaction,
    run: import_run::Model,
    error: &str,
) -> Result<import_run::Model> {
    let mut failed = run.into_active_model();
    failed.status = Set(ImportStatus::Failed);
    failed.error = Set(Some(error.to_owned()));
    failed.finished_at = Set(Some(Utc::now()));
    let run = failed.update(&txn).await?;
    txn.commit().await?;
    svc.events
        .publish(Event::ImportProgressed { run_id: run.id })
        .await;
    Ok(run)
}
