//! The seam between the hub and the lead's scores, lifecycle stage and owner. Every touchpoint
//! the hub records on a lead it may change passes through here inside its transaction, so
//! scoring and the MQL/SQL criteria see each touch once and commit with it. An unverified touch on a lead
//! that existed before it does not pass: it may not move a score or a stage (and rescoring
//! leaves it out for the same reason).

use entity::{lead, touchpoint};
use sea_orm::DatabaseTransaction;

use crate::{
    error::Result,
    events::Event,
    sales::{assignment, scoring},
};

/// Scores the lead as the touch's own update leaves it, inside that update, so the row is
/// written once; its answer goes to [`touchpoint_recorded`].
pub use scoring::score_into;

/// Called once per recorded touchpoint on a lead: rescores it with the touch (unless the
/// touch's own update of the lead did, `scored`) and moves it forward through the lifecycle
/// where the criteria say so. A lead the touch made is then assigned by the rules, which can
/// read its sources, fields and grade by now. Answers the lead as stored.
pub async fn touchpoint_recorded(
    txn: &DatabaseTransaction,
    lead: lead::Model,
    touchpoint: &touchpoint::Model,
    scored: Option<scoring::Scored>,
    made_by_touch: bool,
    events: &mut Vec<Event>,
) -> Result<lead::Model> {
    let trigger = scoring::Trigger::Touch(touchpoint.id);
    let lead = match scored {
        Some(scored) => scoring::qualify_in(txn, lead, &scored, trigger, events).await?,
        None => scoring::lead_in(txn, lead, trigger, events).await?,
    };
    if made_by_touch {
        return assignment::assign_new_in(txn, lead, events).await;
    }
    Ok(lead)
}
