//! Writing a lead with its consequences: every create and edit is scored in the same
//! transaction, so a lead is never seen with scores its fields no longer earn, and a stage a
//! rep moves by hand keeps the reason given.

use entity::{enums::LifecycleStage, lead};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::Result,
    sales::scoring::{self, Trigger},
    services::{
        Services,
        input::SHORT_TEXT,
        leads::{self, LeadChanges},
        records::{self, Written},
    },
    validate,
};

pub async fn create(svc: &Services, actor: &Actor, input: LeadChanges) -> Result<lead::Model> {
    records::alone::<lead::Entity>(svc, actor, async |txn| {
        let trigger = trigger_of(&input);
        let created = leads::create_in(txn, svc, actor, input).await?;
        scored(txn, created, trigger).await
    })
    .await
}

pub async fn update(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    input: LeadChanges,
) -> Result<lead::Model> {
    records::alone::<lead::Entity>(svc, actor, async |txn| {
        let trigger = trigger_of(&input);
        let updated = leads::update_in(txn, svc, actor, id, input).await?;
        scored(txn, updated, trigger).await
    })
    .await
}

/// Moves a lead to `stage` by hand, either way, keeping who moved it and `reason`.
pub async fn move_stage(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    stage: LifecycleStage,
    reason: Option<String>,
) -> Result<lead::Model> {
    let reason = reason
        .map(|text| validate::optional_text("reason", &text, SHORT_TEXT))
        .transpose()?
        .filter(|text| !text.is_empty());
    let actor = match reason {
        Some(reason) => actor.because(reason),
        None => actor.clone(),
    };
    let changes = LeadChanges {
        lifecycle_stage: Some(stage),
        ..LeadChanges::default()
    };
    update(svc, &actor, id, changes).await
}

/// A stage set in the edit is the person's choice, which scoring leaves as it is.
fn trigger_of(input: &LeadChanges) -> Trigger {
    if input.lifecycle_stage.is_some() {
        Trigger::StageSetByHand
    } else {
        Trigger::Edit
    }
}

/// The written lead rescored in the same transaction, its own event kept; the scoring's events
/// announce the same lead, so one is enough.
async fn scored(
    txn: &sea_orm::DatabaseTransaction,
    written: Written<lead::Model>,
    trigger: Trigger,
) -> Result<Written<lead::Model>> {
    let mut events = Vec::new();
    let model = scoring::lead_in(txn, written.model, trigger, &mut events).await?;
    Ok(Written {
        model,
        event: written.event.or(events.into_iter().next()),
    })
}
