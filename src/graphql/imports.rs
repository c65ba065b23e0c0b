//! The imports API: follow a run (progress and totals, over a query or the `importProgressed`
//! subscription), page its per-row report, and ask which fields a file's headers would map to
//! before uploading it. Files are uploaded over `POST /imports`; the report downloads from the
//! run's `reportUrl`.

use async_graphql::{
    Context, ID, Object, SimpleObject,
    connection::{Connection, Edge, EmptyFields},
};
use chrono::{DateTime, Utc};
use entity::{
    enums::{CustomFieldRecordType, ImportOutcome, ImportStatus},
    import_run,
};
use futures_util::{Stream, StreamExt};

use crate::{
    error::{AppError, Result},
    events::Event,
    graphql::{
        ContextExt,
        changes::uuid,
        connection::{Totals, page_size},
    },
    quality::import::{mapping, report},
    services::custom_fields,
};

/// One import: what it reads, how far it got, and what became of the rows read so far.
/// `created + updated + merged + skipped + refused` is `rowsDone`, which is `totalRows` once
/// the run is done.
pub struct ImportRun(pub import_run::Model);

/// A column of the file and the field it fills (`custom.<key>` for a custom field), or null
/// when it is left out.
#[derive(SimpleObject)]
pub struct ImportColumn {
    pub header: String,
    pub field: Option<String>,
}

/// What became of one row of the file (numbered from 1 after the header).
#[derive(SimpleObject)]
pub struct ImportRowReport {
    pub row: i32,
    /// Null while the row waits its turn.
    pub outcome: Option<ImportOutcome>,
    /// The field a refusal names, or the key a duplicate shares.
    pub field: Option<String>,
    pub reason: Option<String>,
    /// The record written (never in a dry run).
    pub record_id: Option<ID>,
}

pub type ImportRowConnection = Connection<String, ImportRowReport, Totals, EmptyFields>;

#[Object]
impl ImportRun {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn record_type(&self) -> CustomFieldRecordType {
        self.0.record_type
    }
    async fn status(&self) -> ImportStatus {
        self.0.status
    }
    /// Rows are checked and reported as the import would write them; no record is written.
    async fn dry_run(&self) -> bool {
        self.0.dry_run
    }
    async fn file_name(&self) -> &str {
        &self.0.file_name
    }
    /// The field existing records are found by (`email`, `domain`); null creates every row.
    async fn upsert_key(&self) -> Option<&str> {
        self.0.upsert_key.as_deref()
    }
    /// Rows a dedupe rule finds to be an existing record are merged into it.
    async fn merge_duplicates(&self) -> bool {
        self.0.merge_duplicates
    }
    async fn columns(&self) -> Vec<ImportColumn> {
        let headers: Vec<String> =
            serde_json::from_value(self.0.headers.clone()).unwrap_or_default();
        let fields: Vec<Option<String>> =
            serde_json::from_value(self.0.mapping.clone()).unwrap_or_default();
        headers
            .into_iter()
            .zip(fields)
            .map(|(header, field)| ImportColumn { header, field })
            .collect()
    }
    async fn total_rows(&self) -> i32 {
        self.0.total_rows
    }
    async fn rows_done(&self) -> i32 {
        self.0.rows_done
    }
    async fn created(&self) -> i32 {
        self.0.created
    }
    async fn updated(&self) -> i32 {
        self.0.updated
    }
    async fn merged(&self) -> i32 {
        self.0.merged
    }
    async fn skipped(&self) -> i32 {
        self.0.skipped
    }
    async fn refused(&self) -> i32 {
        self.0.refused
    }
    /// Why a failed run stopped.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// The report as CSV (GET with the bearer token).
    async fn report_url(&self) -> String {
        format!("/imports/{}/report.csv", self.0.id)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }

    /// The per-row report in row order, of one outcome or all.
    #[graphql(complexity = "super::limits::page_cost(first, None, child_complexity)")]
    async fn rows(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        outcome: Option<ImportOutcome>,
    ) -> Result<ImportRowConnection> {
        let first = page_size(ctx, "first", first)?;
        let after = match after {
            Some(cursor) => cursor
                .parse::<i32>()
                .map_err(|_| AppError::bad_input("after", "not a cursor of this list"))?,
            None => 0,
        };
        let (rows, more, total) =
            report::rows(&ctx.services().db, &self.0, after, first, outcome).await?;
        let mut connection =
            Connection::with_additional_fields(after > 0, more, Totals { total_count: total });
        connection.edges.extend(rows.into_iter().map(|row| {
            Edge::new(
                row.row_no.to_string(),
                ImportRowReport {
                    row: row.row_no,
                    outcome: row.outcome,
                    field: row.field,
                    reason: row.reason,
                    record_id: row.record_id.map(|id| ID(id.to_string())),
                },
            )
        }));
        Ok(connection)
    }
}

#[derive(Default)]
pub struct ImportsQuery;

#[Object]
impl ImportsQuery {
    /// An import the caller started (any import, for an admin).
    async fn import_run(&self, ctx: &Context<'_>, id: ID) -> Result<ImportRun> {
        let run = report::get(&ctx.services().db, ctx.actor()?, uuid("id", &id)?).await?;
        Ok(ImportRun(run))
    }

    /// The fields a file with these headers would fill, as an upload maps them unless told
    /// otherwise.
    async fn import_mapping(
        &self,
        ctx: &Context<'_>,
        record_type: CustomFieldRecordType,
        headers: Vec<String>,
    ) -> Result<Vec<ImportColumn>> {
        if headers.len() > crate::quality::import::parse::MAX_COLUMNS {
            return Err(AppError::bad_input("headers", "too many columns"));
        }
        let definitions =
            custom_fields::definitions(&ctx.services().db, ctx.actor()?, record_type, false)
                .await?;
        Ok(headers
            .into_iter()
            .map(|header| ImportColumn {
                field: mapping::suggest(record_type, &header, &definitions),
                header,
            })
            .collect())
    }
}

/// The run now and after each batch it works, until it is done or failed: the
/// `importProgressed` subscription.
pub async fn progress(
    ctx: &Context<'_>,
    id: ID,
) -> Result<impl Stream<Item = async_graphql::Result<ImportRun>> + use<>> {
    let (svc, actor) = (ctx.services().clone(), ctx.actor()?.clone());
    let id = uuid("id", &id)?;
    // Subscribed before the first read, so no batch between them goes unheard.
    let events = svc.events.subscribe();
    let now = report::get(&svc.db, &actor, id).await?;
    let finished =
        |run: &import_run::Model| matches!(run.status, ImportStatus::Done | ImportStatus::Failed);
    let heard = Box::pin(events.filter(move |event| {
        std::future::ready(matches!(event, Event::ImportProgressed { run_id } if *run_id == id))
    }));
    // Ends right after the run's last state rather than at the next event, which never comes.
    let state = (heard, Some(now), false);
    Ok(futures_util::stream::unfold(
        state,
        move |(mut heard, pending, ended)| {
            let (svc, actor) = (svc.clone(), actor.clone());
            async move {
                if ended {
                    return None;
                }
                let run = match pending {
                    Some(run) => run,
                    None => {
                        heard.next().await?;
                        match report::get(&svc.db, &actor, id).await {
                            Ok(run) => run,
                            Err(error) => return Some((Err(error.into()), (heard, None, true))),
                        }
                    }
                };
                let ended = finished(&run);
                Some((Ok(ImportRun(run)), (heard, None, ended)))
            }
        },
    ))
}
