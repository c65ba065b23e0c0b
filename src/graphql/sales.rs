//! The sales engine's API: converting leads, scoring customers.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{NaiveDate, Utc};
use entity::enums::Role;

use crate::{
    error::{AppError, Result},
    graphql::{
        ContextExt,
        changes::{MoneyInput, uuid},
        types::{Account, Contact, Lead, Opportunity},
    },
    sales::{
        conversion::{self, Conversion},
        rfm,
    },
    services::{input::Patch, opportunities::OpportunityChanges},
};

/// How to convert a lead. Left out, the contact is the one with the lead's email or a new one,
/// the account the one whose domain is the lead's website's or a new one named after its
/// company, and no deal is opened.
#[derive(InputObject, Default)]
pub struct ConvertLeadInput {
    /// Link this contact instead.
    pub contact_id: Option<ID>,
    /// Link this account instead.
    pub account_id: Option<ID>,
    /// Open this deal with the account, the contact and the lead.
    pub opportunity: Option<NewDealInput>,
}

/// A deal opened by a conversion; its stage defaults to the pipeline's first.
#[derive(InputObject)]
pub struct NewDealInput {
    pub name: String,
    pub amount: MoneyInput,
    pub stage_id: Option<ID>,
    pub close_date: MaybeUndefined<NaiveDate>,
    pub owner_id: Option<ID>,
}

impl ConvertLeadInput {
    fn into_conversion(self) -> Result<Conversion> {
        let id = |field: &str, id: Option<ID>| id.map(|id| uuid(field, &id)).transpose();
        let opportunity = match self.opportunity {
            Some(deal) => Some(OpportunityChanges {
                name: Some(deal.name),
                amount: Some(deal.amount.into()),
                stage_id: id("opportunity.stageId", deal.stage_id)?,
                close_date: deal.close_date.into(),
                owner_id: id("opportunity.ownerId", deal.owner_id)?.map_or(Patch::Keep, Patch::Set),
                ..Default::default()
            }),
            None => None,
        };
        Ok(Conversion {
            contact_id: id("contactId", self.contact_id)?,
            account_id: id("accountId", self.account_id)?,
            opportunity,
        })
    }
}

/// What a conversion made or linked.
#[derive(SimpleObject)]
pub struct ConvertLeadPayload {
    pub lead: Lead,
    pub contact: Contact,
    pub account: Option<Account>,
    pub opportunity: Option<Opportunity>,
}

#[derive(Default)]
pub struct SalesMutation;

#[Object]
impl SalesMutation {
    /// Computes every account's and contact's RFM scores and segment now rather than at the
    /// next scheduled run (admins only); answers how many paying accounts and contacts were
    /// scored.
    async fn recompute_rfm(&self, ctx: &Context<'_>) -> Result<i32> {
        let actor = ctx.actor()?;
        if !actor.is(Role::Admin) {
            return Err(AppError::forbidden(
                "only an admin can recompute RFM scores",
            ));
        }
        let svc = ctx.services();
        let config = &svc.config;
        let (currency, quiet) = (&config.rfm_currency, config.rfm_quiet_days);
        let scored = rfm::recompute(&svc.db, &svc.events, currency, quiet, Utc::now()).await?;
        Ok(i32::try_from(scored).unwrap_or(i32::MAX))
    }

    /// Converts a lead into a contact, an account and optionally a deal, in one step; the lead
    /// keeps status CONVERTED and links to what it became. Converting a lead twice is CONFLICT.
    async fn convert_lead(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: Option<ConvertLeadInput>,
    ) -> Result<ConvertLeadPayload> {
        let id = uuid("id", &id)?;
        let conversion = input.unwrap_or_default().into_conversion()?;
        let converted = conversion::convert(ctx.services(), ctx.actor()?, id, conversion).await?;
        Ok(ConvertLeadPayload {
            lead: Lead(converted.lead),
            contact: Contact(converted.contact),
            account: converted.account.map(Account),
            opportunity: converted.opportunity.map(Opportunity),
        })
    }
}
