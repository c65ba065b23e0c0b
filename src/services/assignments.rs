//! The record of every lead assignment, read within the lead's row rules, and the first response
//! that stops an assignment's SLA clock. The sales engine writes the assignments
//! (`sales::assignment`); this module is the part the record lifecycle's other writers need (an
//! activity logged on a lead, an outbound touch), which may not reach into the sales engine.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{assignment, lead};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::{actor::Actor, error::Result, services::records};

/// Most assignments a lead's history answers, newest first.
pub const HISTORY_LIMIT: u64 = 100;

/// A lead's assignments, newest first, when the actor may see the lead; NOT_FOUND otherwise.
pub async fn of_lead(
    db: &DatabaseConnection,
    actor: &Actor,
    lead_id: Uuid,
    limit: u64,
) -> Result<Vec<assignment::Model>> {
    records::get::<lead::Entity>(db, actor, lead_id).await?;
    Ok(assignment::Entity::find()
        .filter(assignment::Column::LeadId.eq(lead_id))
        .order_by_desc(assignment::Column::CreatedAt)
        .order_by_desc(assignment::Column::Id)
        .limit(limit.min(HISTORY_LIMIT))
        .all(db)
        .await?)
}

/// The current assignment of each of `leads` that has one, in one query: for leads the caller
/// has just read within their rows.
pub async fn latest_of_leads(
    db: &DatabaseConnection,
    leads: &[Uuid],
) -> Result<HashMap<Uuid, assignment::Model>> {
    let rows = assignment::Entity::find()
        .filter(assignment::Column::LeadId.is_in(leads.iter().copied()))
        .order_by_asc(assignment::Column::CreatedAt)
        .order_by_asc(assignment::Column::Id)
        .all(db)
        .await?;
    // Oldest first, so each lead's latest is the one left standing.
    Ok(rows.into_iter().map(|row| (row.lead_id, row)).collect())
}

/// The lead's current assignment: its latest.
pub async fn latest(
    conn: &impl ConnectionTrait,
    lead_id: Uuid,
) -> Result<Option<assignment::Model>> {
    Ok(assignment::Entity::find()
        .filter(assignment::Column::LeadId.eq(lead_id))
        .order_by_desc(assignment::Column::CreatedAt)
        .order_by_desc(assignment::Column::Id)
        .one(conn)
        .await?)
}

/// Stamps the first response on the lead's current assignment, if it has none yet: an activity
/// a person logged on the lead, or an outbound touch. Called inside the writing transaction.
pub async fn note_response_in(
    conn: &impl ConnectionTrait,
    lead_id: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    let Some(current) = latest(conn, lead_id).await? else {
        return Ok(());
    };
    if current.first_response_at.is_some() || current.owner_id.is_none() || at < current.created_at
    {
        return Ok(());
    }
    let secs = (at - current.created_at).num_seconds();
    let mut responded = current.into_active_model();
    responded.first_response_at = Set(Some(at));
    responded.first_response_secs = Set(Some(secs));
    responded.update(conn).await?;
    Ok(())
}
