//! Breached follow-up SLAs. The follow-up task falls due when the SLA runs out, so the
//! `activityDue` announcement ([`crate::services::reminders`]) tells the owner; this job then
//! marks each current assignment whose SLA passed without a response as breached and, where its
//! rule says so, hands the lead to the next person the rule names ("SLA breached").
//!
//! Replicas run it side by side: each breach is claimed by one conditional UPDATE, so only the
//! replica whose claim lands reassigns the lead.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{assignment, lead};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr};
use tokio::time::MissedTickBehavior;

use crate::{
    auth::system_actor,
    error::Result,
    sales::assignment::{Trigger, assign_in},
    services::{Services, assignments, records},
};

/// Breaches one pass handles; the rest wait for the next pass.
const BATCH: u64 = 100;

/// Runs [`handle_breaches`] every `every`, for as long as the task runs.
#[tracing::instrument(name = "assignment_sla", skip_all)]
pub async fn run(svc: Services, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(error) = handle_breaches(&svc, Utc::now()).await {
            tracing::warn!(?error, "could not handle breached assignment SLAs");
        }
    }
}

/// Marks the assignments whose SLA ran out by `now` without a response as breached and
/// reassigns those whose rule says so; answers how many it marked. `now` is a parameter so a
/// test can look past an SLA without waiting for it.
pub async fn handle_breaches(svc: &Services, now: DateTime<Utc>) -> Result<usize> {
    let due = assignment::Entity::find()
        .filter(assignment::Column::SlaDueAt.lte(now))
        .filter(assignment::Column::BreachedAt.is_null())
        .filter(assignment::Column::FirstResponseAt.is_null())
        .order_by_asc(assignment::Column::SlaDueAt)
        .limit(BATCH)
        .all(&svc.db)
        .await?;
    let mut handled = 0;
    for breached in due {
        if handle(svc, breached, now).await? {
            handled += 1;
        }
    }
    Ok(handled)
}

async fn handle(svc: &Services, breached: assignment::Model, now: DateTime<Utc>) -> Result<bool> {
    records::together(svc, async |txn, events| {
        let claimed = assignment::Entity::update_many()
            .col_expr(assignment::Column::BreachedAt, Expr::value(now))
            .filter(assignment::Column::Id.eq(breached.id))
            .filter(assignment::Column::BreachedAt.is_null())
            .filter(assignment::Column::FirstResponseAt.is_null())
            .exec(txn)
            .await?;
        if claimed.rows_affected != 1 {
            return Ok(false);
        }
        // Only the lead's current assignment is handed on, and only while its owner still has
        // it: a later assignment, or a person moving the lead, has settled it already.
        let current = assignments::latest(txn, breached.lead_id).await?;
        let lead = lead::Entity::find_by_id(breached.lead_id)
            .filter(lead::Column::ArchivedAt.is_null())
            .one(txn)
            .await?;
        if let (Some(owner), Some(lead)) = (breached.owner_id, lead)
            && breached.reassign_on_breach
            && current.is_some_and(|c| c.id == breached.id)
            && lead.owner_id == Some(owner)
        {
            let trigger = Trigger::SlaBreached {
                rule: breached.rule_id,
                owner,
            };
            assign_in(txn, &system_actor(), lead, trigger, events, now).await?;
        }
        Ok(true)
    })
    .await
}
