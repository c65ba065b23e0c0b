//! Leads: people or companies sales has not yet qualified into a contact and account.

use chrono::Utc;
use entity::{
    enums::{CustomFieldRecordType, CustomFieldRecordType::Lead, LeadStatus, LifecycleStage, Role},
    lead,
};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, QueryFilter, QueryOrder, Set,
    sea_query::{Query, SelectStatement, SimpleExpr},
};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    events::Event,
    services::{
        Services,
        custom_fields::{self, FieldValue},
        custom_order::{CustomSort, WithCustomFields},
        filter::col,
        input::{self, LONG_TEXT, MoneyText, Patch, SHORT_TEXT},
        match_keys,
        page::{SortField, SortKind, SortValue, text_key},
        records::{self, Change, Record, Written},
        scope,
    },
    validate,
};

impl WithCustomFields for lead::Entity {
    const RECORD_TYPE: CustomFieldRecordType = CustomFieldRecordType::Lead;
    fn custom_fields_column() -> lead::Column {
        lead::Column::CustomFields
    }
}

impl Record for lead::Entity {
    fn match_keys(lead: &lead::Model) -> Option<(CustomFieldRecordType, Vec<String>)> {
        let keys = match_keys::person(
            lead.email.as_deref(),
            lead.phone.as_deref(),
            lead.first_name.as_deref(),
            lead.last_name.as_deref(),
            lead.company.as_deref(),
        );
        Some((Lead, keys))
    }
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
    fn search_text() -> Option<(lead::Column, Vec<lead::Column>)> {
        Some((
            lead::Column::SearchText,
            vec![
                lead::Column::FirstName,
                lead::Column::LastName,
                lead::Column::Email,
                lead::Column::Company,
                lead::Column::Phone,
            ],
        ))
    }
    fn archived_at_column() -> Option<lead::Column> {
        Some(lead::Column::ArchivedAt)
    }
    fn updated_at_column() -> Option<lead::Column> {
        Some(lead::Column::UpdatedAt)
    }
    fn merged_into_column() -> Option<lead::Column> {
        Some(lead::Column::MergedIntoId)
    }
    fn event(_: Change, lead: &lead::Model) -> Option<Event> {
        Some(Event::LeadChanged { lead_id: lead.id })
    }
    fn tracked() -> Vec<lead::Column> {
        vec![lead::Column::Status, lead::Column::LifecycleStage]
    }
}

/// Fields of a lead a user may set; what is left as [`Patch::Keep`] stays as it is. On create,
/// at least one of email, phone, last name or company is required; the owner defaults to the
/// creating sales rep.
#[derive(Clone, Debug, Default)]
pub struct LeadChanges {
    pub first_name: Patch<String>,
    pub last_name: Patch<String>,
    pub email: Patch<String>,
    /// Any common notation; stored as E.164, read in the default region when no country code
    /// is given.
    pub phone: Patch<String>,
    pub company: Patch<String>,
    pub title: Patch<String>,
    pub website: Patch<String>,
    pub industry: Patch<String>,
    /// Head count of the lead's company.
    pub employees: Patch<i32>,
    /// ISO 3166-1 alpha-2.
    pub country: Patch<String>,
    pub region: Patch<String>,
    pub postcode: Patch<String>,
    pub status: Option<LeadStatus>,
    pub lifecycle_stage: Option<LifecycleStage>,
    pub lead_source: Patch<String>,
    pub owner_id: Patch<Uuid>,
    pub budget: Patch<MoneyText>,
    pub authority: Patch<String>,
    pub need: Patch<String>,
    pub timeline: Patch<String>,
    pub competitors: Option<Vec<String>>,
    pub objections: Option<Vec<String>>,
    /// Replaces the stored object, untyped: the keys the inbox worker brings from forms.
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// Custom field values to set, merged into the stored ones; `None` for a writer that
    /// sets none (see [`custom_fields::write_into`]).
    pub custom_field_values: Option<Vec<FieldValue>>,
}

/// Creates a lead inside the caller's transaction; see [`records::insert_in`]. The sales engine
/// wraps it (`sales::leads`) so every new lead is scored and assigned as it is written.
pub async fn create_in(
    txn: &DatabaseTransaction,
    svc: &Services,
    actor: &Actor,
    mut input: LeadChanges,
) -> Result<Written<lead::Model>> {
    let identified = [&input.email, &input.phone, &input.last_name, &input.company]
        .iter()
        .any(|field| field.has_text());
    if !identified {
        return Err(AppError::bad_input(
            "input",
            "a lead needs an email, a phone, a last name or a company",
        ));
    }
    let mut lead = blank();
    lead.owner_id = Set(actor.is(Role::Sales).then_some(actor.user_id));
    let values = input.custom_field_values.take();
    apply(svc, actor, input, &mut lead)?;
    let region = &svc.config.default_phone_region;
    custom_fields::write_into(txn, region, Lead, &mut lead.custom_fields, values, true).await?;
    records::insert_in::<lead::Entity>(txn, actor, lead).await
}

/// The ids of the leads converted into `contact`, as a subquery.
pub fn converted_into(contact: Uuid) -> SelectStatement {
    Query::select()
        .column(lead::Column::Id)
        .from(lead::Entity)
        .and_where(lead::Column::ConvertedContactId.eq(contact))
        .to_owned()
}

/// The leads the actor can see that were converted into `contact`, oldest first: where the
/// contact came from, with their sources.
pub async fn converted_into_contact(
    db: &DatabaseConnection,
    actor: &Actor,
    contact: Uuid,
) -> Result<Vec<lead::Model>> {
    Ok(scope::visible::<lead::Entity>(actor)?
        .filter(lead::Column::ConvertedContactId.eq(contact))
        .order_by_asc(lead::Column::ConvertedAt)
        .all(db)
        .await?)
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

/// Changes a lead inside the caller's transaction; see [`records::update_in`] and
/// `sales::leads`, which scores it again.
pub async fn update_in(
    txn: &DatabaseTransaction,
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    mut input: LeadChanges,
) -> Result<Written<lead::Model>> {
    records::update_in::<lead::Entity, _>(txn, actor, id, "update", async |txn, _, lead| {
        let values = input.custom_field_values.take();
        apply(svc, actor, input, lead)?;
        let region = &svc.config.default_phone_region;
        custom_fields::write_into(txn, region, Lead, &mut lead.custom_fields, values, false).await
    })
    .await
}

fn apply(
    svc: &Services,
    actor: &Actor,
    input: LeadChanges,
    lead: &mut lead::ActiveModel,
) -> Result<()> {
    let region = &svc.config.default_phone_region;
    if let Some(v) = input.first_name.text("firstName", SHORT_TEXT)? {
        lead.first_name = Set(v);
    }
    if let Some(v) = input.last_name.text("lastName", SHORT_TEXT)? {
        lead.last_name = Set(v);
    }
    if let Some(v) = input.email.parse(|e| validate::email("email", &e))? {
        lead.email = Set(v);
    }
    if let Some(v) = input
        .phone
        .parse(|p| validate::phone("phone", &p, region))?
    {
        lead.phone = Set(v);
    }
    if let Some(v) = input.company.text("company", SHORT_TEXT)? {
        lead.company = Set(v);
    }
    if let Some(v) = input.title.text("title", SHORT_TEXT)? {
        lead.title = Set(v);
    }
    if let Some(v) = input.website.text("website", SHORT_TEXT)? {
        lead.website = Set(v);
    }
    if let Some(v) = input.industry.text("industry", SHORT_TEXT)? {
        lead.industry = Set(v);
    }
    if let Some(v) = input.employees.parse(|n| head_count("employees", n))? {
        lead.employees = Set(v);
    }
    if let Some(v) = input.country.parse(|c| validate::country("country", &c))? {
        lead.country = Set(v);
    }
    if let Some(v) = input.region.text("region", SHORT_TEXT)? {
        lead.region = Set(v);
    }
    if let Some(v) = input.postcode.text("postcode", SHORT_TEXT)? {
        lead.postcode = Set(v);
    }
    if let Some(status) = input.status {
        lead.status = Set(status);
    }
    if let Some(stage) = input.lifecycle_stage {
        lead.lifecycle_stage = Set(stage);
    }
    if let Some(v) = input.lead_source.text("leadSource", SHORT_TEXT)? {
        lead.lead_source = Set(v);
    }
    if let Some(owner) = input.owner_id.change() {
        lead.owner_id = Set(owner);
    }
    // A field a role may not read, it may not overwrite blind either.
    if !input.budget.is_keep() && !scope::can_see_amounts(actor) {
        return Err(AppError::forbidden(format!(
            "the {} role cannot set a lead's budget",
            actor.role.as_str()
        )));
    }
    if let Some(budget) = input.budget.parse(|m| m.parse("budget"))? {
        lead.budget_currency = Set(budget.as_ref().map(|m| m.currency.clone()));
        lead.budget_minor = Set(budget.map(|m| m.minor));
    }
    if let Some(v) = input.authority.text("authority", SHORT_TEXT)? {
        lead.authority = Set(v);
    }
    if let Some(v) = input.need.text("need", LONG_TEXT)? {
        lead.need = Set(v);
    }
    if let Some(v) = input.timeline.text("timeline", SHORT_TEXT)? {
        lead.timeline = Set(v);
    }
    if let Some(items) = input.competitors {
        lead.competitors = Set(input::labels("competitors", items)?);
    }
    if let Some(items) = input.objections {
        lead.objections = Set(input::labels("objections", items)?);
    }
    if let Some(fields) = input.custom_fields {
        lead.custom_fields = Set(validate::custom_fields("customFields", fields)?);
    }
    Ok(())
}

/// The largest companies have a few million people; anything beyond is a typo.
fn head_count(field: &str, n: i32) -> Result<i32> {
    if (0..=10_000_000).contains(&n) {
        Ok(n)
    } else {
        Err(AppError::bad_input(
            field,
            "must be between 0 and 10,000,000",
        ))
    }
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub enum LeadOrderField {
    CreatedAt,
    UpdatedAt,
    Email,
    FirstName,
    LastName,
    Company,
    Score,
    FitScore,
    EngagementScore,
    /// A custom field, typed by its definition.
    Custom(CustomSort),
}

impl SortField<lead::Model> for LeadOrderField {
    fn expr(&self) -> SimpleExpr {
        match self {
            Self::CreatedAt => col(lead::Column::CreatedAt),
            Self::UpdatedAt => col(lead::Column::UpdatedAt),
            Self::Email => text_key(lead::Column::Email),
            Self::FirstName => text_key(lead::Column::FirstName),
            Self::LastName => text_key(lead::Column::LastName),
            Self::Company => text_key(lead::Column::Company),
            Self::Score => col(lead::Column::Score),
            Self::FitScore => col(lead::Column::FitScore),
            Self::EngagementScore => col(lead::Column::EngagementScore),
            Self::Custom(sort) => sort.expr(),
        }
    }

    fn value(&self, lead: &lead::Model) -> SortValue {
        let text = |v: &Option<String>| SortValue::Text(v.clone().unwrap_or_default());
        match self {
            Self::CreatedAt => SortValue::Time(lead.created_at),
            Self::UpdatedAt => SortValue::Time(lead.updated_at),
            Self::Email => text(&lead.email),
            Self::FirstName => text(&lead.first_name),
            Self::LastName => text(&lead.last_name),
            Self::Company => text(&lead.company),
            Self::Score => SortValue::Int(lead.score.into()),
            Self::FitScore => SortValue::Int(lead.fit_score.into()),
            Self::EngagementScore => SortValue::Int(lead.engagement_score.into()),
            Self::Custom(sort) => sort.value(&lead.custom_fields),
        }
    }

    fn kind(&self) -> SortKind {
        match self {
            Self::CreatedAt | Self::UpdatedAt => SortKind::Time,
            Self::Score | Self::FitScore | Self::EngagementScore => SortKind::Int,
            Self::Email | Self::FirstName | Self::LastName | Self::Company => SortKind::Text,
            Self::Custom(sort) => sort.kind(),
        }
    }

    fn missing(&self) -> Option<SimpleExpr> {
        match self {
            Self::Custom(sort) => Some(sort.missing()),
            _ => None,
        }
    }

    fn is_missing(&self, lead: &lead::Model) -> bool {
        matches!(self, Self::Custom(sort) if sort.is_missing(&lead.custom_fields))
    }
}

impl From<CustomSort> for LeadOrderField {
    fn from(sort: CustomSort) -> Self {
        Self::Custom(sort)
    }
}
