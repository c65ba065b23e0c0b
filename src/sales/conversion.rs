//! Converting a qualified lead: the person becomes a contact, their company an account, and a
//! deal may open, all in one transaction, the lead keeping where it went. An account whose
//! domain is the lead's website's (`https://www.Acme.com/about` is `acme.com`) is linked
//! rather than made twice, and so is a contact with the lead's email. The lead's touchpoints
//! and activities stay where they were and read from the contact too, and the hub hands the
//! person's later touches to the contact.

use chrono::Utc;
use entity::{
    account, contact,
    enums::{LeadStatus, LifecycleStage},
    lead, opportunity,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, QueryFilter, QuerySelect, Set,
};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    events::Event,
    services::{
        Services,
        accounts::{self, AccountChanges},
        contacts::{self, ContactChanges},
        input::Patch,
        opportunities::{self, OpportunityChanges},
        records::{self, Written},
        scope,
    },
    validate,
};

/// How to convert a lead; by default a new or matching contact and account and no deal.
#[derive(Clone, Debug, Default)]
pub struct Conversion {
    /// Link this contact instead of creating one.
    pub contact_id: Option<Uuid>,
    /// Link this account instead of matching or creating one.
    pub account_id: Option<Uuid>,
    /// Open this deal on the account, with the contact and the lead.
    pub opportunity: Option<OpportunityChanges>,
}

/// What a conversion made or linked.
#[derive(Clone, Debug)]
pub struct Converted {
    pub lead: lead::Model,
    pub contact: contact::Model,
    pub account: Option<account::Model>,
    pub opportunity: Option<opportunity::Model>,
}

pub async fn convert(
    svc: &Services,
    actor: &Actor,
    lead_id: Uuid,
    conversion: Conversion,
) -> Result<Converted> {
    scope::ensure_writer::<lead::Entity>(actor)?;
    records::together(svc, async |txn, events| {
        let lead = claim(txn, actor, lead_id).await?;
        let account = match conversion.account_id {
            Some(id) => Some(
                records::ensure_reference::<account::Entity>(txn, actor, id, "accountId").await?,
            ),
            None => account_for(svc, txn, actor, &lead, events).await?,
        };
        let account_id = account.as_ref().map(|a| a.id);
        let contact = match conversion.contact_id {
            Some(id) => {
                records::ensure_reference::<contact::Entity>(txn, actor, id, "contactId").await?
            }
            None => contact_for(svc, txn, actor, &lead, account_id, events).await?,
        };
        let opportunity = match conversion.opportunity {
            Some(deal) => {
                let deal = OpportunityChanges {
                    account_id: account_id.map_or(Patch::Keep, Patch::Set),
                    contact_id: Patch::Set(contact.id),
                    lead_id: Patch::Set(lead.id),
                    ..deal
                };
                let written = opportunities::create_in(svc, txn, actor, deal).await?;
                Some(written.keep_event_in(events))
            }
            None => None,
        };
        let links = (contact.id, account_id, opportunity.as_ref().map(|o| o.id));
        let lead = records::update_in::<lead::Entity, _>(
            txn,
            actor,
            lead.id,
            "convert",
            async |_, _, lead| {
                let (contact, account, opportunity) = links;
                lead.status = Set(LeadStatus::Converted);
                lead.converted_at = Set(Some(Utc::now()));
                lead.converted_contact_id = Set(Some(contact));
                lead.converted_account_id = Set(account);
                lead.converted_opportunity_id = Set(opportunity);
                Ok(())
            },
        )
        .await?
        .keep_event_in(events);
        Ok(Converted {
            lead,
            contact,
            account,
            opportunity,
        })
    })
    .await
}

/// The lead, held until the conversion commits so two conversions of it cannot both go
/// ahead: on PostgreSQL its row is locked; SQLite's writer lock holds everything already.
async fn claim(txn: &DatabaseTransaction, actor: &Actor, id: Uuid) -> Result<lead::Model> {
    let mut select = scope::visible::<lead::Entity>(actor)?.filter(lead::Column::Id.eq(id));
    if txn.get_database_backend() == DbBackend::Postgres {
        select = select.lock_exclusive();
    }
    let lead = select.one(txn).await?.ok_or(AppError::NotFound("lead"))?;
    if lead.converted_at.is_some() {
        return Err(AppError::conflict("id", "the lead is already converted"));
    }
    Ok(lead)
}

/// The account the lead's company is: one the caller can see whose domain is the lead's
/// website's, else a new one named after the company (or the domain), else none for a lead
/// who named neither.
async fn account_for(
    svc: &Services,
    txn: &DatabaseTransaction,
    actor: &Actor,
    lead: &lead::Model,
    events: &mut Vec<Event>,
) -> Result<Option<account::Model>> {
    let domain = lead.website.as_deref().and_then(validate::canonical_domain);
    if let Some(domain) = &domain {
        let same = scope::visible::<account::Entity>(actor)?
            .filter(account::Column::CanonicalDomain.eq(domain.as_str()))
            .filter(account::Column::ArchivedAt.is_null())
            .one(txn)
            .await?;
        if same.is_some() {
            return Ok(same);
        }
    }
    let Some(name) = lead.company.clone().or_else(|| domain.clone()) else {
        return Ok(None);
    };
    let new = AccountChanges {
        name: Some(name),
        domain: domain.map_or(Patch::Keep, Patch::Set),
        owner_id: lead.owner_id.map_or(Patch::Keep, Patch::Set),
        ..Default::default()
    };
    let written = accounts::create_in(svc, txn, actor, new).await?;
    Ok(Some(written.keep_event_in(events)))
}

/// The contact the lead becomes: one the caller can see with the lead's email, else a new one
/// with the lead's name, email, phone, title, owner and stage.
async fn contact_for(
    svc: &Services,
    txn: &DatabaseTransaction,
    actor: &Actor,
    lead: &lead::Model,
    account_id: Option<Uuid>,
    events: &mut Vec<Event>,
) -> Result<contact::Model> {
    if let Some(email) = &lead.email {
        let same = scope::visible::<contact::Entity>(actor)?
            .filter(contact::Column::Email.eq(email.as_str()))
            .one(txn)
            .await?;
        if let Some(contact) = same {
            return Ok(contact);
        }
    }
    let set = |value: &Option<String>| value.clone().map_or(Patch::Keep, Patch::Set);
    let new = ContactChanges {
        first_name: set(&lead.first_name),
        last_name: set(&lead.last_name),
        email: set(&lead.email),
        phone: set(&lead.phone),
        title: set(&lead.title),
        account_id: account_id.map_or(Patch::Keep, Patch::Set),
        owner_id: lead.owner_id.map_or(Patch::Keep, Patch::Set),
        lifecycle_stage: Some(stage_after_conversion(lead.lifecycle_stage)),
        // A lead's custom fields are its type's; contacts define their own.
        custom_field_values: None,
    };
    let written: Written<contact::Model> = contacts::create_in(svc, txn, actor, new).await?;
    Ok(written.keep_event_in(events))
}

/// A converted lead is at least a sales-qualified lead; a later stage it had stays.
fn stage_after_conversion(stage: LifecycleStage) -> LifecycleStage {
    use LifecycleStage as S;
    match stage {
        S::Subscriber | S::Lead | S::Mql => S::Sql,
        later => later,
    }
}
