//! Leads: people or companies sales has not yet qualified into a contact and account.

use async_graphql::{Enum, ID, InputObject, Json, MaybeUndefined};
use chrono::Utc;
use entity::{
    enums::{LeadStatus, LifecycleStage, Role, SourceCategory},
    lead,
};
use sea_orm::{Condition, DbBackend, Set, sea_query::SimpleExpr};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    events::Event,
    services::{
        Services,
        filter::{
            Conditions, CustomFieldFilter, DateTimeFilter, EnumFilter, IdFilter, IntFilter,
            StringFilter, col,
        },
        input::{self, LONG_TEXT, MoneyInput, SHORT_TEXT, patch, patch_text},
        page::{SortField, SortKind, SortValue, text_key},
        records::{self, Change, Record},
        scope,
    },
    validate,
};

impl Record for lead::Entity {
    type OrderField = LeadOrderField;
    const KIND: &'static str = "lead";
    const READERS: &'static [Role] = &[Role::Admin, Role::Manager, Role::Sales, Role::Marketing];
    const WRITERS: &'static [Role] = &[Role::Admin, Role::Manager, Role::Sales, Role::Marketing];
    fn id_column() -> lead::Column {
        lead::Column::Id
    }
    fn owner_column() -> Option<lead::Column> {
        Some(lead::Column::OwnerId)
    }
    fn archived_at_column() -> Option<lead::Column> {
        Some(lead::Column::ArchivedAt)
    }
    fn updated_at_column() -> Option<lead::Column> {
        Some(lead::Column::UpdatedAt)
    }
    fn event(_: Change, lead: &lead::Model) -> Option<Event> {
        Some(Event::LeadChanged { lead_id: lead.id })
    }
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
}

pub async fn create(svc: &Services, actor: &Actor, input: LeadInput) -> Result<lead::Model> {
    let identified = [&input.email, &input.phone, &input.last_name, &input.company]
        .iter()
        .any(|field| matches!(field, MaybeUndefined::Value(v) if !v.trim().is_empty()));
    if !identified {
        return Err(AppError::bad_input(
            "input",
            "a lead needs an email, a phone, a last name or a company",
        ));
    }
    let mut lead = blank();
    lead.owner_id = Set(actor.is(Role::Sales).then_some(actor.user_id));
    apply(svc, actor, input, &mut lead)?;
    records::insert::<lead::Entity>(svc, actor, lead).await
}

/// A new lead as every lead starts: not contacted, in the lead stage, unscored, with empty
/// lists and no owner; callers set what they know.
pub fn blank() -> lead::ActiveModel {
    let now = Utc::now();
    lead::ActiveModel {
        id: Set(Uuid::now_v7()),
        status: Set(LeadStatus::NotContacted),
        lifecycle_stage: Set(LifecycleStage::Lead),
        owner_id: Set(None),
        competitors: Set(serde_json::json!([])),
        objections: Set(serde_json::json!([])),
        custom_fields: Set(serde_json::json!({})),
        fit_score: Set(0),
        engagement_score: Set(0),
        score: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

pub async fn update(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    input: LeadInput,
) -> Result<lead::Model> {
    records::update::<lead::Entity, _>(svc, actor, id, "update", async |_, _, lead| {
        apply(svc, actor, input, lead)
    })
    .await
}

fn apply(
    svc: &Services,
    actor: &Actor,
    input: LeadInput,
    lead: &mut lead::ActiveModel,
) -> Result<()> {
    let region = &svc.config.default_phone_region;
    if let Some(v) = patch_text("firstName", input.first_name, SHORT_TEXT)? {
        lead.first_name = Set(v);
    }
    if let Some(v) = patch_text("lastName", input.last_name, SHORT_TEXT)? {
        lead.last_name = Set(v);
    }
    if let Some(v) = patch(input.email, |e| validate::email("email", &e))? {
        lead.email = Set(v);
    }
    if let Some(v) = patch(input.phone, |p| validate::phone("phone", &p, region))? {
        lead.phone = Set(v);
    }
    if let Some(v) = patch_text("company", input.company, SHORT_TEXT)? {
        lead.company = Set(v);
    }
    if let Some(v) = patch_text("title", input.title, SHORT_TEXT)? {
        lead.title = Set(v);
    }
    if let Some(v) = patch_text("website", input.website, SHORT_TEXT)? {
        lead.website = Set(v);
    }
    if let Some(status) = input.status {
        lead.status = Set(status);
    }
    if let Some(stage) = input.lifecycle_stage {
        lead.lifecycle_stage = Set(stage);
    }
    if let Some(v) = patch_text("leadSource", input.lead_source, SHORT_TEXT)? {
        lead.lead_source = Set(v);
    }
    if let Some(owner) = patch(input.owner_id, |id| input::uuid("ownerId", &id))? {
        lead.owner_id = Set(owner);
    }
    // A field a role may not read, it may not overwrite blind either.
    if !input.budget.is_undefined() && !scope::can_see_amounts(actor) {
        return Err(AppError::forbidden(format!(
            "the {} role cannot set a lead's budget",
            actor.role.as_str()
        )));
    }
    if let Some(budget) = patch(input.budget, |m| m.parse("budget"))? {
        lead.budget_currency = Set(budget.as_ref().map(|m| m.currency.clone()));
        lead.budget_minor = Set(budget.map(|m| m.minor));
    }
    if let Some(v) = patch_text("authority", input.authority, SHORT_TEXT)? {
        lead.authority = Set(v);
    }
    if let Some(v) = patch_text("need", input.need, LONG_TEXT)? {
        lead.need = Set(v);
    }
    if let Some(v) = patch_text("timeline", input.timeline, SHORT_TEXT)? {
        lead.timeline = Set(v);
    }
    if let Some(items) = input.competitors {
        lead.competitors = Set(input::labels("competitors", items)?);
    }
    if let Some(items) = input.objections {
        lead.objections = Set(input::labels("objections", items)?);
    }
    if let Some(Json(fields)) = input.custom_fields {
        lead.custom_fields = Set(validate::custom_fields("customFields", fields)?);
    }
    Ok(())
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum LeadOrderField {
    CreatedAt,
    UpdatedAt,
    Email,
    FirstName,
    LastName,
    Company,
    Score,
}

impl SortField<lead::Model> for LeadOrderField {
    fn expr(self) -> SimpleExpr {
        match self {
            Self::CreatedAt => col(lead::Column::CreatedAt),
            Self::UpdatedAt => col(lead::Column::UpdatedAt),
            Self::Email => text_key(lead::Column::Email),
            Self::FirstName => text_key(lead::Column::FirstName),
            Self::LastName => text_key(lead::Column::LastName),
            Self::Company => text_key(lead::Column::Company),
            Self::Score => col(lead::Column::Score),
        }
    }

    fn value(self, lead: &lead::Model) -> SortValue {
        let text = |v: &Option<String>| SortValue::Text(v.clone().unwrap_or_default());
        match self {
            Self::CreatedAt => SortValue::Time(lead.created_at),
            Self::UpdatedAt => SortValue::Time(lead.updated_at),
            Self::Email => text(&lead.email),
            Self::FirstName => text(&lead.first_name),
            Self::LastName => text(&lead.last_name),
            Self::Company => text(&lead.company),
            Self::Score => SortValue::Int(lead.score.into()),
        }
    }

    fn kind(self) -> SortKind {
        match self {
            Self::CreatedAt | Self::UpdatedAt => SortKind::Time,
            Self::Score => SortKind::Int,
            Self::Email | Self::FirstName | Self::LastName | Self::Company => SortKind::Text,
        }
    }
}

/// Narrows a list of leads; every field given must match, `and`/`or`/`not` combine filters.
#[derive(InputObject, Default)]
pub struct LeadFilter {
    pub and: Option<Vec<LeadFilter>>,
    pub or: Option<Vec<LeadFilter>>,
    pub not: Option<Box<LeadFilter>>,
    pub email: Option<StringFilter>,
    pub first_name: Option<StringFilter>,
    pub last_name: Option<StringFilter>,
    pub company: Option<StringFilter>,
    pub phone: Option<StringFilter>,
    pub status: Option<EnumFilter<LeadStatus>>,
    pub lifecycle_stage: Option<EnumFilter<LifecycleStage>>,
    pub owner_id: Option<IdFilter>,
    pub lead_source: Option<StringFilter>,
    pub first_source: Option<StringFilter>,
    pub first_medium: Option<StringFilter>,
    pub first_campaign: Option<StringFilter>,
    pub first_source_category: Option<EnumFilter<SourceCategory>>,
    pub latest_source: Option<StringFilter>,
    pub latest_medium: Option<StringFilter>,
    pub latest_campaign: Option<StringFilter>,
    pub latest_source_category: Option<EnumFilter<SourceCategory>>,
    pub score: Option<IntFilter>,
    pub fit_score: Option<IntFilter>,
    pub engagement_score: Option<IntFilter>,
    pub created_at: Option<DateTimeFilter>,
    pub updated_at: Option<DateTimeFilter>,
    /// Each entry must match: a custom field compared as text.
    pub custom_fields: Option<Vec<CustomFieldFilter>>,
}

impl LeadFilter {
    pub fn condition(&self, backend: DbBackend) -> Result<Condition> {
        use lead::Column as C;
        let mut conditions = Conditions::default()
            .on(&self.email, "email", C::Email)?
            .on(&self.first_name, "firstName", C::FirstName)?
            .on(&self.last_name, "lastName", C::LastName)?
            .on(&self.company, "company", C::Company)?
            .on(&self.phone, "phone", C::Phone)?
            .on(&self.status, "status", C::Status)?
            .on(&self.lifecycle_stage, "lifecycleStage", C::LifecycleStage)?
            .on(&self.owner_id, "ownerId", C::OwnerId)?
            .on(&self.lead_source, "leadSource", C::LeadSource)?
            .on(&self.first_source, "firstSource", C::FirstSource)?
            .on(&self.first_medium, "firstMedium", C::FirstMedium)?
            .on(&self.first_campaign, "firstCampaign", C::FirstCampaign)?
            .on(
                &self.first_source_category,
                "firstSourceCategory",
                C::FirstSourceCategory,
            )?
            .on(&self.latest_source, "latestSource", C::LatestSource)?
            .on(&self.latest_medium, "latestMedium", C::LatestMedium)?
            .on(&self.latest_campaign, "latestCampaign", C::LatestCampaign)?
            .on(
                &self.latest_source_category,
                "latestSourceCategory",
                C::LatestSourceCategory,
            )?
            .on(&self.score, "score", C::Score)?
            .on(&self.fit_score, "fitScore", C::FitScore)?
            .on(
                &self.engagement_score,
                "engagementScore",
                C::EngagementScore,
            )?
            .on(&self.created_at, "createdAt", C::CreatedAt)?
            .on(&self.updated_at, "updatedAt", C::UpdatedAt)?;
        for custom in self.custom_fields.iter().flatten() {
            conditions = conditions.with(custom.condition(backend, C::CustomFields)?);
        }
        conditions.combine(&self.and, &self.or, &self.not, |f| f.condition(backend))
    }
}
