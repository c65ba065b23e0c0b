//! What an import did, row by row: read by the user who started it and by admins, paged or as
//! one CSV file. Every read row has exactly one outcome once the run is done, so the outcomes
//! add up to the rows read.

use entity::{
    enums::{ImportOutcome, Role},
    import_row, import_run,
};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
};

/// One row's line in the report (its cells stay out: they may be large and are the user's own).
#[derive(Debug, Clone, FromQueryResult)]
pub struct RowReport {
    pub row_no: i32,
    pub outcome: Option<ImportOutcome>,
    pub field: Option<String>,
    pub reason: Option<String>,
    pub record_id: Option<Uuid>,
}

/// The run, for its starter or an admin; NOT_FOUND alike for a missing and another's run.
pub async fn get(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> Result<import_run::Model> {
    import_run::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|run| actor.is(Role::Admin) || run.created_by == actor.user_id)
        .ok_or(AppError::NotFound("import"))
}

/// Rows after row `after`, at most `first`, of one outcome or all; with whether more follow
/// and how many there are in all.
pub async fn rows(
    db: &DatabaseConnection,
    run: &import_run::Model,
    after: i32,
    first: u64,
    outcome: Option<ImportOutcome>,
) -> Result<(Vec<RowReport>, bool, u64)> {
    let mut select = import_row::Entity::find().filter(import_row::Column::RunId.eq(run.id));
    if let Some(outcome) = outcome {
        select = select.filter(import_row::Column::Outcome.eq(outcome));
    }
    let total = select.clone().count(db).await?;
    let mut page = select
        .filter(import_row::Column::RowNo.gt(after))
        .select_only()
        .columns([
            import_row::Column::RowNo,
            import_row::Column::Outcome,
            import_row::Column::Field,
            import_row::Column::Reason,
            import_row::Column::RecordId,
        ])
        .order_by_asc(import_row::Column::RowNo)
        .limit(first + 1)
        .into_model::<RowReport>()
        .all(db)
        .await?;
    let more = page.len() as u64 > first;
    page.truncate(first as usize);
    Ok((page, more, total))
}

/// The whole report as CSV: `row,outcome,record_id,field,reason`, a row not yet worked with an
/// empty outcome.
pub async fn csv(db: &DatabaseConnection, run: &import_run::Model) -> Result<Vec<u8>> {
    const PAGE: u64 = 5_000;
    let mut out = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::internal(e);
    out.write_record(["row", "outcome", "record_id", "field", "reason"])
        .map_err(fail)?;
    let mut after = 0;
    loop {
        let (page, more, _) = rows(db, run, after, PAGE, None).await?;
        for row in &page {
            out.write_record([
                row.row_no.to_string(),
                row.outcome
                    .map(|o| o.as_str())
                    .unwrap_or_default()
                    .to_owned(),
                row.record_id.map(|id| id.to_string()).unwrap_or_default(),
                row.field.clone().unwrap_or_default(),
                row.reason.clone().unwrap_or_default(),
            ])
            .map_err(fail)?;
        }
        match page.last() {
            Some(last) if more => after = last.row_no,
            _ => break,
        }
    }
    out.into_inner()
        .map_err(|e| AppError::internal(e.into_error()))
}
