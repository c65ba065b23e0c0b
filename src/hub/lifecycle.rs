//! The seam between the hub and the lead's scores and lifecycle stage. Every touchpoint the hub
//! records on a lead it may change passes through here inside its transaction, so scoring and
//! MQL/SQL rules, when they are written, see each touch once and commit with it. An unverified
//! touch on a lead that existed before it does not pass: it may not move a score or a stage.

use entity::{lead, touchpoint};
use sea_orm::DatabaseTransaction;

use crate::error::Result;

/// Called once per recorded touchpoint on a lead. Scores and lifecycle stages are not derived
/// from touches yet, so there is nothing to change.
pub async fn touchpoint_recorded(
    txn: &DatabaseTransaction,
    lead: &lead::Model,
    touchpoint: &touchpoint::Model,
) -> Result<()> {
    let _ = (txn, lead, touchpoint);
    Ok(())
}
