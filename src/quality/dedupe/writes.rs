//! Creating and editing the record types dedupe covers, each write checked against its type's
//! rules before it commits (see [`check::guarded`]). The API writes through these; so does the
//! import.

use entity::{account, contact, lead, opportunity};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::Result,
    quality::dedupe::check::{self, Checked},
    sales,
    services::{
        Services,
        accounts::{self, AccountChanges},
        contacts::{self, ContactChanges},
        leads::LeadChanges,
        opportunities::{self, OpportunityChanges},
    },
};

pub async fn create_lead(
    svc: &Services,
    actor: &Actor,
    input: LeadChanges,
) -> Result<Checked<lead::Model>> {
    check::guarded::<lead::Entity>(svc, actor, async |txn, events| {
        sales::leads::create_in(txn, svc, actor, input, events).await
    })
    .await
}

pub async fn update_lead(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    input: LeadChanges,
) -> Result<Checked<lead::Model>> {
    check::guarded::<lead::Entity>(svc, actor, async |txn, events| {
        sales::leads::update_in(txn, svc, actor, id, input, events).await
    })
    .await
}

pub async fn create_contact(
    svc: &Services,
    actor: &Actor,
    input: ContactChanges,
) -> Result<Checked<contact::Model>> {
    check::guarded::<contact::Entity>(svc, actor, async |txn, events| {
        Ok(contacts::create_in(svc, txn, actor, input)
            .await?
            .keep_event_in(events))
    })
    .await
}

pub async fn update_contact(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    input: ContactChanges,
) -> Result<Checked<contact::Model>> {
    check::guarded::<contact::Entity>(svc, actor, async |txn, events| {
        Ok(contacts::update_in(svc, txn, actor, id, input)
            .await?
            .keep_event_in(events))
    })
    .await
}

pub async fn create_account(
    svc: &Services,
    actor: &Actor,
    input: AccountChanges,
) -> Result<Checked<account::Model>> {
    check::guarded::<account::Entity>(svc, actor, async |txn, events| {
        Ok(accounts::create_in(svc, txn, actor, input)
            .await?
            .keep_event_in(events))
    })
    .await
}

pub async fn update_account(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    input: AccountChanges,
) -> Result<Checked<account::Model>> {
    check::guarded::<account::Entity>(svc, actor, async |txn, events| {
        Ok(accounts::update_in(svc, txn, actor, id, input)
            .await?
            .keep_event_in(events))
    })
    .await
}

pub async fn create_opportunity(
    svc: &Services,
    actor: &Actor,
    input: OpportunityChanges,
) -> Result<Checked<opportunity::Model>> {
    check::guarded::<opportunity::Entity>(svc, actor, async |txn, events| {
        Ok(opportunities::create_in(svc, txn, actor, input)
            .await?
            .keep_event_in(events))
    })
    .await
}

pub async fn update_opportunity(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    input: OpportunityChanges,
) -> Result<Checked<opportunity::Model>> {
    check::guarded::<opportunity::Entity>(svc, actor, async |txn, events| {
        Ok(opportunities::update_in(svc, txn, actor, id, input)
            .await?
            .keep_event_in(events))
    })
    .await
}
