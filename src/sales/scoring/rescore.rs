//! Scores over the store: one lead inside the transaction that changed it (a touch the worker
//! recorded, a field a rep edited), or every lead, a chunk at a time, after a model change and
//! periodically as touches age.
//!
//! Scores are derived values: they are written directly, without an audit row per lead, and
//! can always be computed again. The lifecycle moves they cause are real changes and go
//! through the record lifecycle, with the rule or touch as their cause.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, SubsecRound, Utc};
use entity::{
    enums::{Direction, LifecycleStage, RunState, TouchpointChannel},
    lead, scoring_run, touchpoint,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
    TryIntoModel, Unchanged,
    prelude::Expr,
    sea_query::{ExprTrait, SimpleExpr},
};
use uuid::Uuid;

use super::{
    evaluate::{Breakdown, Touch, evaluate},
    model::TouchKind,
    versions::{self, Version},
};
use crate::{
    actor::Actor,
    error::{AppError, Result},
    events::{Event, Events},
    services::records,
};

/// Leads scored per transaction when a whole population is.
const CHUNK: u64 = 1_000;

/// What made a lead's scores worth computing again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The hub recorded this touchpoint on it: a booked meeting makes an SQL.
    Touch(Uuid),
    /// A person edited its fields.
    Edit,
    /// A person set its lifecycle stage: that choice stands, nothing moves it in the same write.
    StageSetByHand,
}

/// A lead's scores as just computed, with the model version that computed them.
#[derive(Clone, Debug)]
pub struct Scored {
    version: Version,
    breakdown: Breakdown,
}

/// Scores `lead` now, inside the caller's transaction, moves it forward through the lifecycle
/// where the criteria say so, and answers it as stored.
pub async fn lead_in(
    txn: &DatabaseTransaction,
    lead: lead::Model,
    trigger: Trigger,
    events: &mut Vec<Event>,
) -> Result<lead::Model> {
    let scored = score(txn, &lead).await?;
    let breakdown = &scored.breakdown;
    let mut lead = lead;
    let wrote = changed(&lead, breakdown);
    if wrote {
        if scores_differ(&lead, breakdown) {
            events.push(Event::LeadChanged { lead_id: lead.id });
        }
        let mut active = lead::ActiveModel {
            id: Unchanged(lead.id),
            ..Default::default()
        };
        set_scores(&mut active, breakdown);
        lead = active.update(txn).await?;
    }
    qualify(txn, lead, &scored, trigger, events, wrote).await
}

/// Scores the lead as `active` would leave it, now, and sets the scores on `active`: for a
/// caller that is writing the lead's row anyway (the hub's update for a touch), so the row is
/// written once rather than twice. Hand the answer to [`qualify_in`] once the row is written.
pub async fn score_into(
    txn: &DatabaseTransaction,
    active: &mut lead::ActiveModel,
) -> Result<Scored> {
    let lead: lead::Model = active.clone().try_into_model()?;
    let scored = score(txn, &lead).await?;
    set_scores(active, &scored.breakdown);
    Ok(scored)
}

/// Moves a lead whose scores are `scored` (and stored) forward through the lifecycle where the
/// criteria say so; answers it as stored. `lead` is the row as the caller's transaction just
/// wrote it.
pub async fn qualify_in(
    txn: &DatabaseTransaction,
    lead: lead::Model,
    scored: &Scored,
    trigger: Trigger,
    events: &mut Vec<Event>,
) -> Result<lead::Model> {
    qualify(txn, lead, scored, trigger, events, true).await
}

/// [`qualify_in`]; unless the transaction `holds` the lead as given, its stage is read again.
async fn qualify(
    txn: &DatabaseTransaction,
    lead: lead::Model,
    scored: &Scored,
    trigger: Trigger,
    events: &mut Vec<Event>,
    holds: bool,
) -> Result<lead::Model> {
    if trigger == Trigger::StageSetByHand {
        return Ok(lead);
    }
    // Only the touch being recorded can be the meeting that makes an SQL: a meeting long
    // booked must not undo a rep's later move back.
    let meeting = match trigger {
        Trigger::Touch(id) => scored
            .breakdown
            .engagement
            .touches
            .iter()
            .find(|t| t.touch_id == id && t.kind == TouchKind::MeetingBooked)
            .map(|t| t.touch_id),
        _ => None,
    };
    let moved = move_stage(
        txn,
        &scored.version,
        &lead,
        &scored.breakdown,
        meeting,
        holds,
    )
    .await?;
    match moved {
        Some(moved) => Ok(moved.keep_event_in(events)),
        None => Ok(lead),
    }
}

/// `lead`'s scores now, under the model in force.
async fn score(txn: &DatabaseTransaction, lead: &lead::Model) -> Result<Scored> {
    let now = now();
    let (mut touches, in_force) = touches(txn, (lead.id, lead.id), now).await?;
    let version = match in_force {
        Some(number) => versions::numbered(txn, number).await?,
        None => versions::current(txn).await?,
    };
    let touches = touches.remove(&lead.id).unwrap_or_default();
    let breakdown = evaluate(&version.model, version.number, lead, &touches, now);
    Ok(Scored { version, breakdown })
}

/// Rescores every lead as of now under the model in force, a chunk per transaction, counting
/// progress on `run`. A lead the worker scored after this began keeps its fresher scores. Stops
/// early, as superseded, when the model changes again meanwhile. Answers the leads scored.
pub async fn all(db: &DatabaseConnection, announce: &Events, run: Uuid) -> Result<u64> {
    let result = all_unrecorded(db, announce, run).await;
    let (state, error) = match &result {
        Ok(_) => (RunState::Done, None),
        Err(error) => (RunState::Failed, Some(error.to_string())),
    };
    scoring_run::Entity::update_many()
        .col_expr(scoring_run::Column::State, Expr::value(state.as_str()))
        .col_expr(scoring_run::Column::Error, Expr::value(error))
        .col_expr(scoring_run::Column::FinishedAt, Expr::value(Utc::now()))
        .filter(scoring_run::Column::Id.eq(run))
        .exec(db)
        .await?;
    result
}

async fn all_unrecorded(db: &DatabaseConnection, announce: &Events, run: Uuid) -> Result<u64> {
    let version = versions::current(db).await?;
    let as_of = now();
    let mut after: Option<Uuid> = None;
    let mut done = 0;
    loop {
        let mut select = lead::Entity::find()
            .order_by_asc(lead::Column::Id)
            .limit(CHUNK);
        if let Some(after) = after {
            select = select.filter(lead::Column::Id.gt(after));
        }
        let leads = select.all(db).await?;
        let (Some(first), Some(last)) = (leads.first(), leads.last()) else {
            return Ok(done);
        };
        let range = (first.id, last.id);
        after = Some(last.id);
        if versions::current(db).await?.number != version.number {
            return Err(AppError::conflict(
                "version",
                "superseded: the scoring model changed again during the run",
            ));
        }
        let (touches, _) = touches(db, range, as_of).await?;
        let scored: Vec<(lead::Model, Breakdown)> = leads
            .into_iter()
            .map(|lead| {
                let touches = touches.get(&lead.id).map(Vec::as_slice).unwrap_or_default();
                let breakdown = evaluate(&version.model, version.number, &lead, touches, as_of);
                (lead, breakdown)
            })
            .collect();
        let count = scored.len() as u64;
        let txn = crate::db::begin_write(db).await?;
        let changed: Vec<&(lead::Model, Breakdown)> =
            scored.iter().filter(|(lead, b)| changed(lead, b)).collect();
        let mut events: Vec<Event> = changed
            .iter()
            .filter(|(lead, b)| scores_differ(lead, b))
            .map(|(lead, _)| Event::LeadChanged { lead_id: lead.id })
            .collect();
        store(&txn, &changed, version.number, as_of).await?;
        for (lead, breakdown) in &scored {
            // Read before this transaction began: read again under the write.
            if let Some(moved) = move_stage(&txn, &version, lead, breakdown, None, false).await? {
                moved.keep_event_in(&mut events);
            }
        }
        txn.commit().await?;
        for event in events {
            announce.publish(event).await;
        }
        done += count;
        scoring_run::Entity::update_many()
            .col_expr(scoring_run::Column::Done, Expr::value(done as i64))
            .filter(scoring_run::Column::Id.eq(run))
            .exec(db)
            .await?;
    }
}

/// Starts a run over every lead under the version in force; answers it as started.
pub async fn start_run(
    db: &DatabaseConnection,
    requested_by: Option<Uuid>,
) -> Result<scoring_run::Model> {
    let version = versions::current(db).await?;
    let total = lead::Entity::find().count(db).await?;
    let run = scoring_run::ActiveModel {
        id: Set(Uuid::now_v7()),
        version: Set(version.number),
        state: Set(RunState::Running),
        total: Set(i32::try_from(total).unwrap_or(i32::MAX)),
        done: Set(0),
        requested_by: Set(requested_by),
        started_at: Set(Utc::now()),
        finished_at: Set(None),
        error: Set(None),
    };
    Ok(run.insert(db).await?)
}

/// Rescores every lead every `every` until the process stops, so scores follow their touches'
/// age; a failed run is logged and tried again at the next.
pub async fn periodically(db: DatabaseConnection, announce: Events, every: Duration) {
    // Scores are kept in the store: a start (or a test's server) need not recompute them at
    // once, so the first run is one interval in.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tick.tick().await;
        let outcome = async {
            // Every replica runs this job; one run per interval is enough for all of them.
            if ran_within(&db, every / 2).await? {
                return Ok(0);
            }
            super::rescore_everyone(&db, &announce, None).await
        };
        if let Err(error) = outcome.await {
            tracing::error!(?error, "rescoring leads failed");
        }
    }
}

/// Whether a rescoring run (this replica's, another's, or an admin's) started within `span`.
async fn ran_within(db: &DatabaseConnection, span: Duration) -> Result<bool> {
    let since = Utc::now() - chrono::Duration::from_std(span).map_err(AppError::internal)?;
    let recent = scoring_run::Entity::find()
        .filter(scoring_run::Column::StartedAt.gt(since))
        .count(db)
        .await?;
    Ok(recent > 0)
}

/// Moves `lead` to the stage the criteria give it, through the record lifecycle, the rule or
/// touch named as the cause. Unless the transaction already `holds` the lead as given (it just
/// wrote it), the stored stage is read again under the write, so a rep's move in between is
/// never undone.
async fn move_stage(
    txn: &DatabaseTransaction,
    version: &Version,
    lead: &lead::Model,
    breakdown: &Breakdown,
    meeting: Option<Uuid>,
    holds: bool,
) -> Result<Option<records::Written<lead::Model>>> {
    let stage_for = |stage: LifecycleStage| {
        version.model.stage_for(
            stage,
            breakdown.fit.total,
            breakdown.engagement.total,
            meeting,
        )
    };
    let Some((_, cause)) = stage_for(lead.lifecycle_stage) else {
        return Ok(None);
    };
    let rule: Actor = crate::auth::system_actor().because(cause);
    let change =
        async |_: &DatabaseTransaction, before: &lead::Model, active: &mut lead::ActiveModel| {
            if let Some((stage, _)) = stage_for(before.lifecycle_stage) {
                active.lifecycle_stage = Set(stage);
            }
            Ok(())
        };
    let moved = if holds {
        records::update_held_in::<lead::Entity, _>(
            txn,
            &rule,
            lead.clone(),
            "lifecycle_rule",
            change,
        )
        .await?
    } else {
        records::update_in::<lead::Entity, _>(txn, &rule, lead.id, "lifecycle_rule", change).await?
    };
    Ok(Some(moved))
}

/// Whether the stored scores, grade or version differ from the breakdown's.
fn changed(lead: &lead::Model, breakdown: &Breakdown) -> bool {
    scores_differ(lead, breakdown) || lead.score_version != Some(breakdown.version)
}

fn scores_differ(lead: &lead::Model, breakdown: &Breakdown) -> bool {
    (
        lead.fit_score,
        lead.engagement_score,
        lead.score,
        lead.grade,
    ) != (
        breakdown.fit.total,
        breakdown.engagement.total,
        breakdown.score,
        Some(breakdown.grade),
    )
}

/// Sets the breakdown's scores, and the moment and version that gave them, on a lead's row.
fn set_scores(active: &mut lead::ActiveModel, breakdown: &Breakdown) {
    active.fit_score = Set(breakdown.fit.total);
    active.engagement_score = Set(breakdown.engagement.total);
    active.score = Set(breakdown.score);
    active.grade = Set(Some(breakdown.grade));
    active.scored_at = Set(Some(breakdown.as_of));
    active.score_version = Set(Some(breakdown.version));
}

/// Writes the scores of a chunk with one UPDATE from a list of values, leaving alone any lead
/// scored after `as_of` (by the worker, while the chunk was computed).
async fn store(
    txn: &DatabaseTransaction,
    rows: &[&(lead::Model, Breakdown)],
    version: i32,
    as_of: DateTime<Utc>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let backend = txn.get_database_backend();
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(rows.len() * 5 + 3);
    let mut tuples = Vec::with_capacity(rows.len());
    // Numbered, as both stores allow: the SET clause names values pushed after the list's.
    let mut mark = |value: sea_orm::Value| {
        values.push(value);
        match backend {
            DbBackend::Postgres => format!("${}", values.len()),
            _ => format!("?{}", values.len()),
        }
    };
    for (lead, b) in rows {
        let grade: &str = b.grade.as_str();
        tuples.push(format!(
            "({}, {}, {}, {}, {})",
            mark(lead.id.into()),
            mark(b.fit.total.into()),
            mark(b.engagement.total.into()),
            mark(b.score.into()),
            mark(grade.into()),
        ));
    }
    let scored_at = mark(as_of.into());
    let score_version = mark(version.into());
    let not_after = mark(as_of.into());
    let sql = format!(
        "UPDATE leads SET fit_score = v.column2, engagement_score = v.column3, \
         score = v.column4, grade = v.column5, scored_at = {scored_at}, \
         score_version = {score_version} \
         FROM (VALUES {}) AS v \
         WHERE leads.id = v.column1 AND (leads.scored_at IS NULL OR leads.scored_at <= {not_after})",
        tuples.join(", ")
    );
    txn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(())
}

/// The touches that count toward engagement of the leads with ids within `range` (one lead's:
/// `(id, id)`), by lead, up to `as_of`, and the scoring model version in force,
/// read with them to save the worker a round trip per touch (`None` when there are no touches).
/// A touch counts when its delivery proved its sender, or when it made the lead: an unverified
/// touch on a lead that was already there changes nothing on it (see the hub's processing).
async fn touches(
    conn: &impl ConnectionTrait,
    range: (Uuid, Uuid),
    as_of: DateTime<Utc>,
) -> Result<(HashMap<Uuid, Vec<Touch>>, Option<i32>)> {
    let backend = conn.get_database_backend();
    let (flag, made_lead) = match backend {
        DbBackend::Postgres => (
            "(\"details\"->>'flag')",
            "(\"details\"->>'created_lead') = 'true'",
        ),
        _ => (
            "json_extract(\"details\", '$.flag')",
            "json_extract(\"details\", '$.created_lead') = 1",
        ),
    };
    let mut select = touchpoint::Entity::find()
        .select_only()
        .columns([
            touchpoint::Column::LeadId,
            touchpoint::Column::Id,
            touchpoint::Column::Channel,
            touchpoint::Column::Direction,
            touchpoint::Column::Event,
            touchpoint::Column::OccurredAt,
        ])
        .column_as(SimpleExpr::from(Expr::cust(flag)), "flag")
        .column_as(
            SimpleExpr::from(Expr::cust("(SELECT MAX(version) FROM scoring_models)")),
            "in_force",
        )
        .filter(
            touchpoint::Column::Verified
                .eq(true)
                .or(Expr::cust(made_lead)),
        )
        .filter(touchpoint::Column::OccurredAt.lte(as_of));
    select = select.filter(touchpoint::Column::LeadId.between(range.0, range.1));
    type Row = (
        Uuid,
        Uuid,
        TouchpointChannel,
        Option<Direction>,
        Option<String>,
        DateTime<Utc>,
        Option<String>,
        Option<i32>,
    );
    let rows: Vec<Row> = select.into_tuple().all(conn).await?;
    let in_force = rows.first().and_then(|row| row.7);
    let mut by_lead: HashMap<Uuid, Vec<Touch>> = HashMap::new();
    for (lead_id, id, channel, direction, event, at, flag, _) in rows {
        let kind = TouchKind::of(channel, direction, event.as_deref(), flag.as_deref());
        by_lead
            .entry(lead_id)
            .or_default()
            .push(Touch { id, kind, at });
    }
    Ok((by_lead, in_force))
}

/// The touches of one lead as they counted when it was last scored, for its breakdown.
pub async fn touches_of(
    conn: &impl ConnectionTrait,
    lead: Uuid,
    as_of: DateTime<Utc>,
) -> Result<Vec<Touch>> {
    Ok(touches(conn, (lead, lead), as_of)
        .await?
        .0
        .remove(&lead)
        .unwrap_or_default())
}

/// Now, to the microsecond both stores keep, so a breakdown recomputed as of the stored moment
/// is the one that was stored.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
