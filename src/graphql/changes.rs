//! The inputs of create and update mutations, as GraphQL input objects, and their translation
//! into the services' change sets. GraphQL tells a field left out (keep it) from `null` (clear
//! it); the services' [`Patch`] says the same in plain Rust. Ids arrive as GraphQL `ID`s and are
//! parsed here, naming the field that held a malformed one; everything else is checked by the
//! service.

use async_graphql::{ID, InputObject, Json, MaybeUndefined};
use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{
    AccountStatus, ActivityKind, CampaignStatus, LeadStatus, LifecycleStage, Role,
};
use uuid::Uuid;

use crate::{
    error::{AppError, Result},
    services::{
        accounts::AccountChanges,
        activities::ActivityChanges,
        campaigns::CampaignChanges,
        contacts::ContactChanges,
        custom_fields::FieldValue,
        input::{MoneyText, Patch},
        leads::LeadChanges,
        opportunities::OpportunityChanges,
        users::{NewUser, UserChanges},
    },
};

/// The record an `ID` names; `field` names the argument or input field in the error.
pub fn uuid(field: &str, id: &ID) -> Result<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| AppError::bad_input(field, "not a valid id"))
}

impl<T> From<MaybeUndefined<T>> for Patch<T> {
    fn from(value: MaybeUndefined<T>) -> Self {
        match value {
            MaybeUndefined::Undefined => Patch::Keep,
            MaybeUndefined::Null => Patch::Clear,
            MaybeUndefined::Value(v) => Patch::Set(v),
        }
    }
}

/// A nullable reference to another record.
fn id_patch(field: &str, value: MaybeUndefined<ID>) -> Result<Patch<Uuid>> {
    Ok(match value {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(id) => Patch::Set(uuid(field, &id)?),
    })
}

/// One custom field value to write: the field's key, and its value as JSON shaped by the
/// field's type (see `CustomFieldValue`; MONEY takes `{"amount": "12.50", "currency": "EUR"}`),
/// or null to clear it.
#[derive(InputObject, Clone, Debug)]
pub struct CustomFieldValueInput {
    pub key: String,
    pub value: Option<Json<serde_json::Value>>,
}

/// The values of an input; none given is an empty write, still held to required fields and
/// given defaults on create.
fn values(input: Option<Vec<CustomFieldValueInput>>) -> Vec<FieldValue> {
    input
        .unwrap_or_default()
        .into_iter()
        .map(|v| FieldValue {
            key: v.key,
            value: v.value.map(|Json(value)| value),
        })
        .collect()
}

/// An amount of money: a decimal string (`"1234.50"`) and an ISO 4217 code.
#[derive(InputObject, Clone, Debug)]
pub struct MoneyInput {
    pub amount: String,
    pub currency: String,
}

impl From<MoneyInput> for MoneyText {
    fn from(money: MoneyInput) -> Self {
        MoneyText {
            amount: money.amount,
            currency: money.currency,
        }
    }
}

fn money_patch(value: MaybeUndefined<MoneyInput>) -> Patch<MoneyText> {
    Patch::from(value.map_value(MoneyText::from))
}

/// Fields of a lead a user may set. On create, at least one of email, phone, last name or
/// company is required; the owner defaults to the creating sales rep.
#[derive(InputObject, Default)]
pub struct LeadInput {
    pub first_name: MaybeUndefined<String>,
    pub last_name: MaybeUndefined<String>,
    pub email: MaybeUndefined<String>,
    /// Any common notation; stored as E.164, read in the server's default region when no
    /// country code is given.
    pub phone: MaybeUndefined<String>,
    pub company: MaybeUndefined<String>,
    pub title: MaybeUndefined<String>,
    pub website: MaybeUndefined<String>,
    pub industry: MaybeUndefined<String>,
    /// Head count of the lead's company, 0 to 10,000,000.
    pub employees: MaybeUndefined<i32>,
    /// ISO 3166-1 alpha-2 (`IE`), any case.
    pub country: MaybeUndefined<String>,
    /// State, province or county.
    pub region: MaybeUndefined<String>,
    pub postcode: MaybeUndefined<String>,
    pub status: Option<LeadStatus>,
    pub lifecycle_stage: Option<LifecycleStage>,
    pub lead_source: MaybeUndefined<String>,
    pub owner_id: MaybeUndefined<ID>,
    /// BANT: the budget the lead has for this purchase.
    pub budget: MaybeUndefined<MoneyInput>,
    /// BANT: who decides, and whether we are talking to them.
    pub authority: MaybeUndefined<String>,
    /// BANT: the problem the lead needs solved.
    pub need: MaybeUndefined<String>,
    /// BANT: when the lead means to buy.
    pub timeline: MaybeUndefined<String>,
    pub competitors: Option<Vec<String>>,
    pub objections: Option<Vec<String>>,
    /// A JSON object of custom field values; replaces the stored object. At most 16 KB as JSON,
    /// 100 keys in all, nested 3 deep.
    pub custom_fields: Option<Json<serde_json::Map<String, serde_json::Value>>>,
    /// Custom field values to set, merged into the stored ones: a key left out keeps its
    /// value, a null value clears it. Checked against the type's definitions.
    pub custom_field_values: Option<Vec<CustomFieldValueInput>>,
}

impl LeadInput {
    pub fn into_changes(self) -> Result<LeadChanges> {
        Ok(LeadChanges {
            first_name: self.first_name.into(),
            last_name: self.last_name.into(),
            email: self.email.into(),
            phone: self.phone.into(),
            company: self.company.into(),
            title: self.title.into(),
            website: self.website.into(),
            industry: self.industry.into(),
            employees: self.employees.into(),
            country: self.country.into(),
            region: self.region.into(),
            postcode: self.postcode.into(),
            status: self.status,
            lifecycle_stage: self.lifecycle_stage,
            lead_source: self.lead_source.into(),
            owner_id: id_patch("ownerId", self.owner_id)?,
            budget: money_patch(self.budget),
            authority: self.authority.into(),
            need: self.need.into(),
            timeline: self.timeline.into(),
            competitors: self.competitors,
            objections: self.objections,
            custom_fields: self.custom_fields.map(|Json(fields)| fields),
            custom_field_values: Some(values(self.custom_field_values)),
        })
    }
}

/// Fields of a contact a user may set. On create, an email, a phone or a last name is required.
#[derive(InputObject, Default)]
pub struct ContactInput {
    pub first_name: MaybeUndefined<String>,
    pub last_name: MaybeUndefined<String>,
    pub email: MaybeUndefined<String>,
    pub phone: MaybeUndefined<String>,
    pub title: MaybeUndefined<String>,
    pub account_id: MaybeUndefined<ID>,
    pub owner_id: MaybeUndefined<ID>,
    /// Custom field values to set, merged into the stored ones: a key left out keeps its
    /// value, a null value clears it. Checked against the type's definitions.
    pub custom_field_values: Option<Vec<CustomFieldValueInput>>,
    pub lifecycle_stage: Option<LifecycleStage>,
}

impl ContactInput {
    pub fn into_changes(self) -> Result<ContactChanges> {
        Ok(ContactChanges {
            first_name: self.first_name.into(),
            last_name: self.last_name.into(),
            email: self.email.into(),
            phone: self.phone.into(),
            title: self.title.into(),
            account_id: id_patch("accountId", self.account_id)?,
            owner_id: id_patch("ownerId", self.owner_id)?,
            lifecycle_stage: self.lifecycle_stage,
            custom_field_values: Some(values(self.custom_field_values)),
        })
    }
}

/// Fields of an account a user may set. `name` is required on create; the owner defaults to the
/// creating sales rep.
#[derive(InputObject, Default)]
pub struct AccountInput {
    pub name: Option<String>,
    pub domain: MaybeUndefined<String>,
    pub industry: MaybeUndefined<String>,
    pub phone: MaybeUndefined<String>,
    /// The parent in the account hierarchy; a parent that would make a loop is refused.
    pub parent_id: MaybeUndefined<ID>,
    pub status: Option<AccountStatus>,
    pub territory: MaybeUndefined<String>,
    pub owner_id: MaybeUndefined<ID>,
    /// Custom field values to set, merged into the stored ones: a key left out keeps its
    /// value, a null value clears it. Checked against the type's definitions.
    pub custom_field_values: Option<Vec<CustomFieldValueInput>>,
}

impl AccountInput {
    pub fn into_changes(self) -> Result<AccountChanges> {
        Ok(AccountChanges {
            name: self.name,
            domain: self.domain.into(),
            industry: self.industry.into(),
            phone: self.phone.into(),
            parent_id: id_patch("parentId", self.parent_id)?,
            status: self.status,
            territory: self.territory.into(),
            owner_id: id_patch("ownerId", self.owner_id)?,
            custom_field_values: Some(values(self.custom_field_values)),
        })
    }
}

/// Fields of an opportunity a user may set. `name` and `amount` are required on create; the
/// stage defaults to the first open stage of `pipelineId`, or of the default pipeline.
#[derive(InputObject, Default)]
pub struct OpportunityInput {
    pub name: Option<String>,
    pub amount: Option<MoneyInput>,
    /// Archived stages, and stages of archived pipelines, take no deals.
    pub stage_id: Option<ID>,
    /// Without `stageId`, moves the deal to this pipeline's first open stage (unless it is in
    /// this pipeline already); with it, the pipeline that stage must be in.
    pub pipeline_id: Option<ID>,
    pub account_id: MaybeUndefined<ID>,
    pub contact_id: MaybeUndefined<ID>,
    pub lead_id: MaybeUndefined<ID>,
    pub close_date: MaybeUndefined<NaiveDate>,
    pub owner_id: MaybeUndefined<ID>,
    pub lost_reason: MaybeUndefined<String>,
    /// Custom field values to set, merged into the stored ones: a key left out keeps its
    /// value, a null value clears it. Checked against the type's definitions.
    pub custom_field_values: Option<Vec<CustomFieldValueInput>>,
}

impl OpportunityInput {
    pub fn into_changes(self) -> Result<OpportunityChanges> {
        Ok(OpportunityChanges {
            name: self.name,
            amount: self.amount.map(MoneyText::from),
            stage_id: self.stage_id.map(|id| uuid("stageId", &id)).transpose()?,
            pipeline_id: self
                .pipeline_id
                .map(|id| uuid("pipelineId", &id))
                .transpose()?,
            account_id: id_patch("accountId", self.account_id)?,
            contact_id: id_patch("contactId", self.contact_id)?,
            lead_id: id_patch("leadId", self.lead_id)?,
            close_date: self.close_date.into(),
            owner_id: id_patch("ownerId", self.owner_id)?,
            lost_reason: self.lost_reason.into(),
            custom_field_values: Some(values(self.custom_field_values)),
        })
    }
}

/// Fields of an activity a user may set. `kind` and `subject` are required on create; the
/// assignee defaults to the creator.
#[derive(InputObject, Default)]
pub struct ActivityInput {
    pub kind: Option<ActivityKind>,
    pub subject: Option<String>,
    pub body: MaybeUndefined<String>,
    pub due_at: MaybeUndefined<DateTime<Utc>>,
    /// Marking an activity done stamps `completedAt`; undoing it clears the stamp.
    pub done: Option<bool>,
    pub assignee_id: MaybeUndefined<ID>,
    pub lead_id: MaybeUndefined<ID>,
    pub contact_id: MaybeUndefined<ID>,
    pub account_id: MaybeUndefined<ID>,
    pub opportunity_id: MaybeUndefined<ID>,
}

impl ActivityInput {
    pub fn into_changes(self) -> Result<ActivityChanges> {
        Ok(ActivityChanges {
            kind: self.kind,
            subject: self.subject,
            body: self.body.into(),
            due_at: self.due_at.into(),
            done: self.done,
            assignee_id: id_patch("assigneeId", self.assignee_id)?,
            lead_id: id_patch("leadId", self.lead_id)?,
            contact_id: id_patch("contactId", self.contact_id)?,
            account_id: id_patch("accountId", self.account_id)?,
            opportunity_id: id_patch("opportunityId", self.opportunity_id)?,
        })
    }
}

/// Fields of a campaign a user may set. `name` is required on create.
#[derive(InputObject, Default)]
pub struct CampaignInput {
    pub name: Option<String>,
    /// The `utm_campaign` value that links touchpoints to this campaign; unique, lowercased.
    pub utm_campaign: MaybeUndefined<String>,
    pub channel: MaybeUndefined<String>,
    pub status: Option<CampaignStatus>,
    pub cost: MaybeUndefined<MoneyInput>,
    pub starts_on: MaybeUndefined<NaiveDate>,
    pub ends_on: MaybeUndefined<NaiveDate>,
}

impl CampaignInput {
    pub fn into_changes(self) -> CampaignChanges {
        CampaignChanges {
            name: self.name,
            utm_campaign: self.utm_campaign.into(),
            channel: self.channel.into(),
            status: self.status,
            cost: money_patch(self.cost),
            starts_on: self.starts_on.into(),
            ends_on: self.ends_on.into(),
        }
    }
}

#[derive(InputObject)]
pub struct NewUserInput {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// At least 10 characters. Leave out for users who sign in through the identity provider.
    pub password: Option<String>,
    pub team_id: Option<ID>,
}

impl NewUserInput {
    pub fn into_new(self) -> Result<NewUser> {
        Ok(NewUser {
            email: self.email,
            name: self.name,
            role: self.role,
            password: self.password,
            team_id: self.team_id.map(|id| uuid("teamId", &id)).transpose()?,
        })
    }
}

#[derive(InputObject, Default)]
pub struct UserChangesInput {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub team_id: MaybeUndefined<ID>,
    pub active: Option<bool>,
    pub password: Option<String>,
}

impl UserChangesInput {
    pub fn into_changes(self) -> Result<UserChanges> {
        Ok(UserChanges {
            name: self.name,
            role: self.role,
            team_id: id_patch("teamId", self.team_id)?,
            active: self.active,
            password: self.password,
        })
    }
}
