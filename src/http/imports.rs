//! `POST /imports`: a CSV or XLSX file as the request body (up to `import_max_bytes`), with the
//! record type, column overrides, upsert key and dry-run flag in the query string; answered
//! with the run, which the workers then work (`importRun` over GraphQL follows it).
//! `GET /imports/{id}/report.csv`: the run's per-row report. Both need the bearer token; a
//! browser cannot send one cross-site without a preflight, which is the CSRF guard here.

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use entity::import_run;
use serde::Deserialize;
use serde_json::json;

use crate::{
    error::AppError,
    http::{
        AppState,
        caller::{refusal, signed_in},
    },
    quality::import::{
        mapping, report,
        upload::{self, NewImport},
    },
};

#[derive(Deserialize)]
pub struct ImportParams {
    /// `lead`, `contact` or `account`.
    #[serde(rename = "type")]
    record_type: String,
    /// `Header=field,Other=` overrides of the suggested mapping.
    map: Option<String>,
    /// The upsert key; empty for none.
    key: Option<String>,
    #[serde(rename = "dryRun", default)]
    dry_run: bool,
    /// Merge a row a dedupe rule finds to be an existing record into it.
    #[serde(rename = "mergeDuplicates", default)]
    merge_duplicates: bool,
    /// The file's name, for the report.
    name: Option<String>,
}

pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<ImportParams>,
    body: Bytes,
) -> Response {
    let actor = match signed_in(&state, &headers).await {
        Ok(actor) => actor,
        Err(response) => return response,
    };
    let started = async {
        let new = NewImport {
            record_type: mapping::record_type(&params.record_type)?,
            file_name: params.name.unwrap_or_else(|| "upload".into()),
            bytes: body.to_vec(),
            overrides: mapping::parse_overrides(params.map.as_deref().unwrap_or_default())?,
            upsert_key: params.key,
            merge_duplicates: params.merge_duplicates,
            dry_run: params.dry_run,
        };
        upload::store(&state.services, &actor, new).await
    };
    match started.await {
        Ok(run) => (StatusCode::ACCEPTED, axum::Json(summary(&run))).into_response(),
        Err(error) => refusal(error),
    }
}

pub async fn report_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let actor = match signed_in(&state, &headers).await {
        Ok(actor) => actor,
        Err(response) => return response,
    };
    let db = &state.services.db;
    let csv = async {
        let id = uuid::Uuid::parse_str(&id).map_err(|_| AppError::NotFound("import"))?;
        let run = report::get(db, &actor, id).await?;
        report::csv(db, &run).await
    };
    match csv.await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"import-report.csv\"",
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(error) => refusal(error),
    }
}

/// The run as the upload answers it: enough to follow it and to check the mapping.
fn summary(run: &import_run::Model) -> serde_json::Value {
    let headers: Vec<String> = serde_json::from_value(run.headers.clone()).unwrap_or_default();
    let targets: Vec<Option<String>> =
        serde_json::from_value(run.mapping.clone()).unwrap_or_default();
    let columns: Vec<serde_json::Value> = headers
        .iter()
        .zip(&targets)
        .map(|(header, field)| json!({ "header": header, "field": field }))
        .collect();
    json!({
        "id": run.id,
        "recordType": run.record_type.as_str(),
        "status": run.status.as_str(),
        "dryRun": run.dry_run,
        "totalRows": run.total_rows,
        "upsertKey": run.upsert_key,
        "mergeDuplicates": run.merge_duplicates,
        "columns": columns,
        "reportUrl": format!("/imports/{}/report.csv", run.id),
    })
}
