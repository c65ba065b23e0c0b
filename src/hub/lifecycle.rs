//! The seam between the hub and the lead's scores, lifecycle stage and owner. Every touchpoint
//! the hub records on a lead it may change passes through here inside its transaction, so
//! scoring and the MQL/SQL criteria see each touch once and commit with it, and a lead the
//! touch made is assigned by the rules. An unverified touch on a lead that existed before it
//! does not pass: it may not move a score or a stage (and rescoring leaves it out for the same
//! reason).

use chrono::Utc;
use entity::{lead, touchpoint};
use sea_orm::{DatabaseTransaction, TryIntoModel};

use crate::{
    auth::system_actor,
    error::Result,
    events::Event,
    sales::{assignment, scoring},
};

/// What was worked out inside the touch's own update of the lead, so the row is written once:
/// its scores and, for a lead the touch made, the owner the rules give it.
pub struct Prepared {
    scored: scoring::Scored,
    decision: Option<assignment::Decision>,
}

/// Called inside the touch's update of the lead, with the row as the touch leaves it: sets the
/// scores and, on a new lead without an owner (`made_by_touch`), the owner the rules choose
/// (they can read its sources, fields and grade by now). Hand the answer to
/// [`touchpoint_recorded`].
pub async fn prepare(
    txn: &DatabaseTransaction,
    active: &mut lead::ActiveModel,
    made_by_touch: bool,
) -> Result<Prepared> {
    let scored = scoring::score_into(txn, active).await?;
    let mut decision = None;
    if made_by_touch {
        let lead = active.clone().try_into_model()?;
        if lead.owner_id.is_none() {
            let decided = assignment::decide_new(txn, &lead, Utc::now()).await?;
            active.owner_id = sea_orm::Set(decided.owner());
            decision = Some(decided);
        }
    }
    Ok(Prepared { scored, decision })
}

/// Called once per recorded touchpoint on a lead, after its update: scores it (unless
/// [`prepare`] did), moves it forward through the lifecycle where the criteria say so, and
/// assigns a lead the touch made (or records the assignment `prepare` decided). Answers the
/// lead as stored.
pub async fn touchpoint_recorded(
    txn: &DatabaseTransaction,
    lead: lead::Model,
    touchpoint: &touchpoint::Model,
    prepared: Option<Prepared>,
    made_by_touch: bool,
    events: &mut Vec<Event>,
) -> Result<lead::Model> {
    let trigger = scoring::Trigger::Touch(touchpoint.id);
    let (lead, decision) = match prepared {
        Some(Prepared { scored, decision }) => (
            scoring::qualify_in(txn, lead, &scored, trigger, events).await?,
            decision,
        ),
        None => (scoring::lead_in(txn, lead, trigger, events).await?, None),
    };
    match decision {
        Some(decision) => {
            let system = system_actor();
            let assigned =
                assignment::record_in(txn, &system, lead, None, decision, Utc::now()).await?;
            Ok(assigned.lead)
        }
        // `assign_new_in` leaves a lead that has an owner as it is.
        None if made_by_touch => assignment::assign_new_in(txn, lead, events).await,
        None => Ok(lead),
    }
}
