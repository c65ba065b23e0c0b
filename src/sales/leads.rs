//! Writing a lead with its consequences: every create and edit is scored in the same
//! transaction, so a lead is never seen with scores its fields no longer earn; a new lead
//! without an owner is assigned by the rules; a stage a rep moves by hand keeps the reason
//! given.

use entity::{enums::LifecycleStage, lead};
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::Result,
    events::Event,
    sales::{
        assignment,
        scoring::{self, Trigger},
    },
    services::{
        Services,
        input::SHORT_TEXT,
        leads::{self, LeadChanges},
        records, scope,
    },
    validate,
};

pub async fn create(svc: &Services, actor: &Actor, input: LeadChanges) -> Result<lead::Model> {
    written(svc, actor, async |txn, events| {
        create_in(txn, svc, actor, input, events).await
    })
    .await
}

/// [`create`] inside the caller's transaction (an import's batch); the events to publish once
/// it commits go into `events`.
pub async fn create_in(
    txn: &DatabaseTransaction,
    svc: &Services,
    actor: &Actor,
    input: LeadChanges,
    events: &mut Vec<Event>,
) -> Result<lead::Model> {
    let trigger = trigger_of(&input);
    let created = leads::create_in(txn, svc, actor, input)
        .await?
        .keep_event_in(events);
    let scored = scoring::lead_in(txn, created, trigger, events).await?;
    // Assigned once scored, so rules on the grade see it.
    assignment::assign_new_in(txn, scored, events).await
}

pub async fn update(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    input: LeadChanges,
) -> Result<lead::Model> {
    written(svc, actor, async |txn, events| {
        update_in(txn, svc, actor, id, input, events).await
    })
    .await
}

/// [`update`] inside the caller's transaction; the events go into `events`.
pub async fn update_in(
    txn: &DatabaseTransaction,
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    input: LeadChanges,
    events: &mut Vec<Event>,
) -> Result<lead::Model> {
    let trigger = trigger_of(&input);
    let updated = leads::update_in(txn, svc, actor, id, input)
        .await?
        .keep_event_in(events);
    scoring::lead_in(txn, updated, trigger, events).await
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

/// Runs `write` in one transaction (see [`records::together`]) for an actor who may write leads.
async fn written(
    svc: &Services,
    actor: &Actor,
    write: impl AsyncFnOnce(&DatabaseTransaction, &mut Vec<Event>) -> Result<lead::Model>,
) -> Result<lead::Model> {
    scope::ensure_writer::<lead::Entity>(actor)?;
    records::together(svc, write).await
}
