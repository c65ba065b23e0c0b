//! Output types: thin wrappers around entity models. Nested fields go back through the services
//! with the caller's actor, so nesting reaches nothing a top-level query could not.

use std::sync::Arc;

use async_graphql::{Context, ID, Json, Object, OutputType, SimpleObject, dataloader::DataLoader};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    account, activity, campaign, contact,
    enums::{
        AccountStatus, ActivityKind, CampaignStatus, ContactPointKind, CustomFieldRecordType,
        Direction, LeadGrade, LeadStatus, LifecycleStage, RfmSegment, Role, SourceCategory,
        TouchpointChannel,
    },
    lead, opportunity, pipeline, pipeline_stage, team, touchpoint, user,
};
use uuid::Uuid;

pub mod assignment;
mod breakdown;
pub mod custom_fields;
mod history;

pub use breakdown::{ScoreBreakdown, TouchKind};
pub use custom_fields::{CustomFieldDefinition, CustomFieldValue};
use history::Change;

use crate::{
    error::{AppError, Result},
    graphql::{
        ContextExt,
        connection::{Conn, Paging, connection},
        loaders::{ContactPoints, FirstPage, FirstPages, Loaders, Referenced},
        projection::{self, Projected},
    },
    services::{
        self, activities, leads,
        page::Window,
        projection::Columns,
        records::{self, Record},
        scope, touchpoints, users,
    },
    validate::format_amount,
};

fn id(uuid: Uuid) -> ID {
    ID(uuid.to_string())
}

/// A sum of money: a decimal string in the currency's own precision, and its ISO 4217 code.
#[derive(SimpleObject)]
pub struct Money {
    /// Decimal amount, such as `"1234.50"`.
    pub amount: String,
    pub currency: String,
}

impl Money {
    fn from_minor(minor: Option<i64>, currency: Option<&str>) -> Option<Money> {
        let (minor, currency) = (minor?, currency?);
        Some(Money {
            amount: format_amount(minor, currency),
            currency: currency.to_owned(),
        })
    }
}

/// The RFM columns a scored record type (account, contact) keeps under the same names.
macro_rules! rfm_figures {
    ($model:expr) => {
        RfmFigures {
            recency_days: $model.rfm_recency_days,
            frequency: $model.rfm_frequency,
            monetary_minor: $model.rfm_monetary_minor,
            currency: $model.rfm_currency.as_deref(),
            recency_score: $model.rfm_recency_score,
            frequency_score: $model.rfm_frequency_score,
            monetary_score: $model.rfm_monetary_score,
            segment: $model.rfm_segment,
        }
    };
}

/// A record's stored RFM figures, before the field rule hides what the caller may not see.
struct RfmFigures<'a> {
    recency_days: Option<i32>,
    frequency: Option<i32>,
    monetary_minor: Option<i64>,
    currency: Option<&'a str>,
    recency_score: Option<i16>,
    frequency_score: Option<i16>,
    monetary_score: Option<i16>,
    segment: Option<RfmSegment>,
}

impl RfmFigures<'_> {
    /// As `actor` may see them; `None` for a record that never paid.
    fn shown(self, actor: &crate::actor::Actor) -> Option<Rfm> {
        if self.recency_days.is_none() && self.frequency.is_none() && self.monetary_minor.is_none()
        {
            return None;
        }
        let visible = scope::can_see_amounts(actor);
        let score = |s: Option<i16>| s.map(i32::from);
        Some(Rfm {
            recency_days: self.recency_days,
            frequency: self.frequency,
            monetary: Money::from_minor(self.monetary_minor, self.currency).filter(|_| visible),
            recency_score: score(self.recency_score),
            frequency_score: score(self.frequency_score),
            monetary_score: score(self.monetary_score).filter(|_| visible),
            segment: self.segment,
        })
    }
}

async fn user_by_id(ctx: &Context<'_>, id: Option<Uuid>) -> Result<Option<User>> {
    let Some(id) = id else { return Ok(None) };
    Ok(ctx.loaders()?.users.load_one(id).await?.map(User))
}

/// A related record the caller can see, or null when it is gone or hidden by the row rules.
async fn related<E: Referenced>(ctx: &Context<'_>, id: Option<Uuid>) -> Result<Option<E::Model>> {
    let Some(id) = id else { return Ok(None) };
    match E::loader(ctx.loaders()?).load_one(id).await {
        Ok(model) => Ok(model),
        Err(e) if matches!(e.as_ref(), AppError::Forbidden(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A list nested under a record the caller can see, in the listed type's default order. The
/// first page of every parent in a list loads in one batch, reading only `columns` when given;
/// later pages load on their own.
async fn nested_list<E: Record, T: OutputType>(
    ctx: &Context<'_>,
    pages: impl Fn(&Loaders) -> &DataLoader<FirstPages<E>>,
    parent: Uuid,
    paging: Paging,
    columns: Option<Columns>,
    wrap: impl Fn(E::Model) -> T,
) -> Result<Conn<T>>
where
    E::Model: Clone,
{
    let request = paging.request(ctx)?;
    if let Window::Forward { first, after: None } = request.window {
        let key = FirstPage {
            parent,
            size: first,
            count_total: request.count_total,
            columns,
        };
        let page = pages(ctx.loaders()?).load_one(key).await?;
        let page = page.map(Arc::unwrap_or_clone).unwrap_or_default();
        return Ok(connection(page, wrap));
    }
    let under = pages(ctx.loaders()?).loader().parent;
    let (db, actor) = (&ctx.services().db, ctx.actor()?);
    let page = records::list_under::<E>(db, actor, under, parent, request).await?;
    Ok(connection(page, wrap))
}

pub struct User(pub user::Model);

#[Object]
impl User {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn role(&self) -> Role {
        self.0.role
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Out of office from this day (inclusive): lead assignment passes them over.
    async fn away_from(&self) -> Option<NaiveDate> {
        self.0.away_from
    }
    /// Out of office until this day (inclusive).
    async fn away_until(&self) -> Option<NaiveDate> {
        self.0.away_until
    }
    /// Open leads they take at most; lead assignment passes them over at that many.
    async fn max_open_leads(&self) -> Option<i32> {
        self.0.max_open_leads
    }
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        match self.0.team_id {
            Some(team) => Ok(Some(Team(users::team(&ctx.services().db, team).await?))),
            None => Ok(None),
        }
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct Team(pub team::Model);

#[Object]
impl Team {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
}

pub struct Lead(pub lead::Model);

#[Object]
impl Lead {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// E.164.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    async fn company(&self) -> Option<&str> {
        self.0.company.as_deref()
    }
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    async fn website(&self) -> Option<&str> {
        self.0.website.as_deref()
    }
    async fn industry(&self) -> Option<&str> {
        self.0.industry.as_deref()
    }
    /// Head count of the lead's company.
    async fn employees(&self) -> Option<i32> {
        self.0.employees
    }
    /// ISO 3166-1 alpha-2.
    async fn country(&self) -> Option<&str> {
        self.0.country.as_deref()
    }
    async fn region(&self) -> Option<&str> {
        self.0.region.as_deref()
    }
    async fn postcode(&self) -> Option<&str> {
        self.0.postcode.as_deref()
    }
    async fn status(&self) -> LeadStatus {
        self.0.status
    }
    async fn lifecycle_stage(&self) -> LifecycleStage {
        self.0.lifecycle_stage
    }
    async fn lead_source(&self) -> Option<&str> {
        self.0.lead_source.as_deref()
    }
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        user_by_id(ctx, self.0.owner_id).await
    }
    /// Hidden (null) from roles that may not see money amounts.
    async fn budget(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let visible = scope::can_see_amounts(ctx.actor()?);
        Ok(visible
            .then(|| Money::from_minor(self.0.budget_minor, self.0.budget_currency.as_deref()))
            .flatten())
    }
    async fn authority(&self) -> Option<&str> {
        self.0.authority.as_deref()
    }
    async fn need(&self) -> Option<&str> {
        self.0.need.as_deref()
    }
    async fn timeline(&self) -> Option<&str> {
        self.0.timeline.as_deref()
    }
    async fn competitors(&self) -> Vec<String> {
        labels(&self.0.competitors)
    }
    async fn objections(&self) -> Vec<String> {
        labels(&self.0.objections)
    }
    async fn fit_score(&self) -> i32 {
        self.0.fit_score
    }
    async fn engagement_score(&self) -> i32 {
        self.0.engagement_score
    }
    async fn score(&self) -> i32 {
        self.0.score
    }
    /// Fit band (A best) × engagement band (1 most engaged); null until first scored.
    async fn grade(&self) -> Option<LeadGrade> {
        self.0.grade
    }
    /// Why the lead scores what it does: every rule and touch that counted; null until first
    /// scored.
    async fn score_breakdown(&self, ctx: &Context<'_>) -> Result<Option<ScoreBreakdown>> {
        let breakdown = crate::sales::scoring::explain(&ctx.services().db, &self.0).await?;
        Ok(breakdown.map(ScoreBreakdown::from))
    }
    /// Where the lead first came from.
    async fn first_touch(&self) -> Option<Attribution> {
        Attribution::new(
            self.0.first_touch_at,
            &self.0.first_source,
            &self.0.first_medium,
            &self.0.first_campaign,
            self.0.first_source_category,
        )
    }
    /// What brought the lead back most recently.
    async fn latest_touch(&self) -> Option<Attribution> {
        Attribution::new(
            self.0.latest_touch_at,
            &self.0.latest_source,
            &self.0.latest_medium,
            &self.0.latest_campaign,
            self.0.latest_source_category,
        )
    }
    async fn custom_fields(&self) -> Json<serde_json::Value> {
        Json(self.0.custom_fields.clone())
    }
    /// The addresses, numbers and provider customer ids seen for the lead, with bounce,
    /// unsubscribe and spam flags from the providers.
    async fn contact_points(&self, ctx: &Context<'_>) -> Result<Vec<ContactPoint>> {
        contact_points(ctx, |loaders| &loaders.lead_contact_points, self.0.id).await
    }
    async fn converted_at(&self) -> Option<DateTime<Utc>> {
        self.0.converted_at
    }
    /// The contact the lead became, once converted.
    async fn converted_contact(&self, ctx: &Context<'_>) -> Result<Option<Contact>> {
        let contact = related::<contact::Entity>(ctx, self.0.converted_contact_id).await?;
        Ok(contact.map(Contact))
    }
    /// The account the lead's company became or was matched to, once converted.
    async fn converted_account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let account = related::<account::Entity>(ctx, self.0.converted_account_id).await?;
        Ok(account.map(Account))
    }
    /// The deal opened when the lead was converted, if one was.
    async fn converted_opportunity(&self, ctx: &Context<'_>) -> Result<Option<Opportunity>> {
        let deal = related::<opportunity::Entity>(ctx, self.0.converted_opportunity_id).await?;
        Ok(deal.map(Opportunity))
    }
    /// Why the lead has its owner: its latest assignment.
    async fn assignment(&self, ctx: &Context<'_>) -> Result<Option<assignment::Assignment>> {
        assignment::latest_of(ctx, self.0.id).await
    }
    /// Every assignment of the lead, newest first (the latest 100).
    async fn assignment_history(&self, ctx: &Context<'_>) -> Result<Vec<assignment::Assignment>> {
        assignment::history_of(ctx, self.0.id).await
    }
    /// Every status the lead has had, oldest first.
    async fn status_history(&self, ctx: &Context<'_>) -> Result<Vec<Change<LeadStatus>>> {
        history::of_enum::<lead::Entity, _>(ctx, self.0.id, lead::Column::Status).await
    }
    /// Every lifecycle stage the lead has been in, oldest first.
    async fn stage_history(&self, ctx: &Context<'_>) -> Result<Vec<Change<LifecycleStage>>> {
        history::of_enum::<lead::Entity, _>(ctx, self.0.id, lead::Column::LifecycleStage).await
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    /// The values of the live custom fields of leads, in definition order; a field
    /// without a value is left out.
    async fn custom_field_values(&self, ctx: &Context<'_>) -> Result<Vec<CustomFieldValue>> {
        custom_fields::values_of(ctx, CustomFieldRecordType::Lead, &self.0.custom_fields).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The lead's history, oldest first.
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn touchpoints(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Touchpoint>> {
        nested_list::<touchpoint::Entity, _>(
            ctx,
            |loaders| &loaders.lead_touchpoints,
            self.0.id,
            Paging::new(first, after, last, before),
            projection::selected::<Touchpoint>(ctx),
            Touchpoint,
        )
        .await
    }
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn activities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Activity>> {
        nested_list::<activity::Entity, _>(
            ctx,
            |loaders| &loaders.lead_activities,
            self.0.id,
            Paging::new(first, after, last, before),
            None,
            Activity,
        )
        .await
    }
}

fn labels(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// One marketing touch as the lead's summary keeps it.
#[derive(SimpleObject)]
pub struct Attribution {
    pub at: DateTime<Utc>,
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub category: Option<SourceCategory>,
}

impl Attribution {
    fn new(
        at: Option<DateTime<Utc>>,
        source: &Option<String>,
        medium: &Option<String>,
        campaign: &Option<String>,
        category: Option<SourceCategory>,
    ) -> Option<Self> {
        Some(Attribution {
            at: at?,
            source: source.clone(),
            medium: medium.clone(),
            campaign: campaign.clone(),
            category,
        })
    }
}

pub struct Contact(pub contact::Model);

#[Object]
impl Contact {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    async fn lifecycle_stage(&self) -> LifecycleStage {
        self.0.lifecycle_stage
    }
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        Ok(related::<account::Entity>(ctx, self.0.account_id)
            .await?
            .map(Account))
    }
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        user_by_id(ctx, self.0.owner_id).await
    }
    /// The contact's history with that of the leads converted into it, oldest first.
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn touchpoints(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Touchpoint>> {
        let request = Paging::new(first, after, last, before).request(ctx)?;
        let (db, actor) = (&ctx.services().db, ctx.actor()?);
        let page = touchpoints::of_contact(db, actor, self.0.id, request).await?;
        Ok(connection(page, Touchpoint))
    }
    /// The leads converted into the contact: where it came from, with their first and latest
    /// touch.
    async fn converted_from(&self, ctx: &Context<'_>) -> Result<Vec<Lead>> {
        let (db, actor) = (&ctx.services().db, ctx.actor()?);
        let leads = leads::converted_into_contact(db, actor, self.0.id).await?;
        Ok(leads.into_iter().map(Lead).collect())
    }
    /// Every lifecycle stage the contact has been in, oldest first.
    async fn stage_history(&self, ctx: &Context<'_>) -> Result<Vec<Change<LifecycleStage>>> {
        history::of_enum::<contact::Entity, _>(ctx, self.0.id, contact::Column::LifecycleStage)
            .await
    }
    /// The contact's activities with those of the leads converted into it.
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn activities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Activity>> {
        let request = Paging::new(first, after, last, before).request(ctx)?;
        let (db, actor) = (&ctx.services().db, ctx.actor()?);
        let page = activities::of_contact(db, actor, self.0.id, request).await?;
        Ok(connection(page, Activity))
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    /// The values of the live custom fields of contacts, in definition order; a field
    /// without a value is left out.
    async fn custom_field_values(&self, ctx: &Context<'_>) -> Result<Vec<CustomFieldValue>> {
        custom_fields::values_of(ctx, CustomFieldRecordType::Contact, &self.0.custom_fields).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The addresses, numbers and provider customer ids seen for the contact, with bounce,
    /// unsubscribe and spam flags from the providers.
    async fn contact_points(&self, ctx: &Context<'_>) -> Result<Vec<ContactPoint>> {
        contact_points(ctx, |loaders| &loaders.contact_contact_points, self.0.id).await
    }
    /// Recency (days since last purchase), frequency and monetary value of what the contact
    /// paid, scored against every paying contact. The monetary part is hidden (null) from roles
    /// that may not see money.
    async fn rfm(&self, ctx: &Context<'_>) -> Result<Option<Rfm>> {
        Ok(rfm_figures!(self.0).shown(ctx.actor()?))
    }
}

pub struct Account(pub account::Model);

#[Object]
impl Account {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn domain(&self) -> Option<&str> {
        self.0.domain.as_deref()
    }
    async fn industry(&self) -> Option<&str> {
        self.0.industry.as_deref()
    }
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    async fn status(&self) -> AccountStatus {
        self.0.status
    }
    async fn territory(&self) -> Option<&str> {
        self.0.territory.as_deref()
    }
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        user_by_id(ctx, self.0.owner_id).await
    }
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        Ok(related::<account::Entity>(ctx, self.0.parent_id)
            .await?
            .map(Account))
    }
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn children(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Account>> {
        nested_list::<account::Entity, _>(
            ctx,
            |loaders| &loaders.account_children,
            self.0.id,
            Paging::new(first, after, last, before),
            None,
            Account,
        )
        .await
    }
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Contact>> {
        nested_list::<contact::Entity, _>(
            ctx,
            |loaders| &loaders.account_contacts,
            self.0.id,
            Paging::new(first, after, last, before),
            None,
            Contact,
        )
        .await
    }
    /// Recency (days since last purchase), frequency and monetary value, scored against every
    /// paying account. The monetary part is hidden (null) from roles that may not see money.
    async fn rfm(&self, ctx: &Context<'_>) -> Result<Option<Rfm>> {
        Ok(rfm_figures!(self.0).shown(ctx.actor()?))
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    /// The values of the live custom fields of accounts, in definition order; a field
    /// without a value is left out.
    async fn custom_field_values(&self, ctx: &Context<'_>) -> Result<Vec<CustomFieldValue>> {
        custom_fields::values_of(ctx, CustomFieldRecordType::Account, &self.0.custom_fields).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(SimpleObject)]
pub struct Rfm {
    pub recency_days: Option<i32>,
    pub frequency: Option<i32>,
    pub monetary: Option<Money>,
    /// 1 to 5 against every paying customer of the kind (accounts, contacts): 5 for the most
    /// recent fifth.
    pub recency_score: Option<i32>,
    /// 1 to 5: 5 for the fifth that bought most often in the last 365 days.
    pub frequency_score: Option<i32>,
    /// 1 to 5: 5 for the fifth that paid most; hidden (null) like the amount.
    pub monetary_score: Option<i32>,
    /// The standard segment the three scores fall in; null for the few combinations none
    /// covers.
    pub segment: Option<RfmSegment>,
}

/// A sales pipeline (new business, renewals): stages deals move through, in order.
pub struct Pipeline(pub pipeline::Model);

#[Object]
impl Pipeline {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// Its stages in order; archived ones only when asked for.
    async fn stages(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] include_archived: bool,
    ) -> Result<Vec<PipelineStage>> {
        let (db, actor) = (&ctx.services().db, ctx.actor()?);
        let stages =
            services::pipeline::stages_of(db, actor, &[self.0.id], include_archived).await?;
        Ok(stages.into_iter().map(PipelineStage).collect())
    }
    /// Set once the pipeline takes no more deals.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
}

async fn pipeline_by_id(ctx: &Context<'_>, id: Uuid) -> Result<Pipeline> {
    let pipeline = ctx.loaders()?.pipelines.load_one(id).await?;
    pipeline
        .map(Pipeline)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("pipeline {id} is missing")))
}

pub struct PipelineStage(pub pipeline_stage::Model);

#[Object]
impl PipelineStage {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn pipeline(&self, ctx: &Context<'_>) -> Result<Pipeline> {
        pipeline_by_id(ctx, self.0.pipeline_id).await
    }
    /// Set once the stage takes no more deals; closed deals in it keep it.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// Win probability in percent.
    async fn probability(&self) -> i32 {
        self.0.probability
    }
    async fn is_won(&self) -> bool {
        self.0.is_won
    }
    async fn is_lost(&self) -> bool {
        self.0.is_lost
    }
}

pub struct Opportunity(pub opportunity::Model);

impl Opportunity {
    async fn stage_model(&self, ctx: &Context<'_>) -> Result<pipeline_stage::Model> {
        let stage = ctx.loaders()?.stages.load_one(self.0.stage_id).await?;
        stage.ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("opportunity {} has no stage", self.0.id))
        })
    }
}

#[Object]
impl Opportunity {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Hidden (null) from roles that may not see deal values.
    async fn amount(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let visible = scope::can_see_amounts(ctx.actor()?);
        Ok(visible
            .then(|| Money::from_minor(Some(self.0.amount_minor), Some(&self.0.currency)))
            .flatten())
    }
    /// Every pipeline stage the deal has been in, oldest first: the data of velocity and
    /// forecast reports.
    async fn stage_history(&self, ctx: &Context<'_>) -> Result<Vec<Change<PipelineStage>>> {
        history::of_stage::<opportunity::Entity>(ctx, self.0.id, opportunity::Column::StageId).await
    }
    async fn stage(&self, ctx: &Context<'_>) -> Result<PipelineStage> {
        self.stage_model(ctx).await.map(PipelineStage)
    }
    /// The pipeline of the deal's stage.
    async fn pipeline(&self, ctx: &Context<'_>) -> Result<Pipeline> {
        let stage = self.stage_model(ctx).await?;
        pipeline_by_id(ctx, stage.pipeline_id).await
    }
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        Ok(related::<account::Entity>(ctx, self.0.account_id)
            .await?
            .map(Account))
    }
    async fn contact(&self, ctx: &Context<'_>) -> Result<Option<Contact>> {
        Ok(related::<contact::Entity>(ctx, self.0.contact_id)
            .await?
            .map(Contact))
    }
    async fn lead(&self, ctx: &Context<'_>) -> Result<Option<Lead>> {
        Ok(related::<lead::Entity>(ctx, self.0.lead_id)
            .await?
            .map(Lead))
    }
    async fn close_date(&self) -> Option<NaiveDate> {
        self.0.close_date
    }
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        user_by_id(ctx, self.0.owner_id).await
    }
    async fn lost_reason(&self) -> Option<&str> {
        self.0.lost_reason.as_deref()
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    /// The values of the live custom fields of opportunitys, in definition order; a field
    /// without a value is left out.
    async fn custom_field_values(&self, ctx: &Context<'_>) -> Result<Vec<CustomFieldValue>> {
        custom_fields::values_of(
            ctx,
            CustomFieldRecordType::Opportunity,
            &self.0.custom_fields,
        )
        .await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn activities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Activity>> {
        nested_list::<activity::Entity, _>(
            ctx,
            |loaders| &loaders.opportunity_activities,
            self.0.id,
            Paging::new(first, after, last, before),
            None,
            Activity,
        )
        .await
    }
}

pub struct Activity(pub activity::Model);

#[Object]
impl Activity {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn kind(&self) -> ActivityKind {
        self.0.kind
    }
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    async fn body(&self) -> Option<&str> {
        self.0.body.as_deref()
    }
    async fn due_at(&self) -> Option<DateTime<Utc>> {
        self.0.due_at
    }
    async fn done(&self) -> bool {
        self.0.done
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    async fn assignee(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        user_by_id(ctx, self.0.assignee_id).await
    }
    async fn lead(&self, ctx: &Context<'_>) -> Result<Option<Lead>> {
        Ok(related::<lead::Entity>(ctx, self.0.lead_id)
            .await?
            .map(Lead))
    }
    async fn contact(&self, ctx: &Context<'_>) -> Result<Option<Contact>> {
        Ok(related::<contact::Entity>(ctx, self.0.contact_id)
            .await?
            .map(Contact))
    }
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        Ok(related::<account::Entity>(ctx, self.0.account_id)
            .await?
            .map(Account))
    }
    async fn opportunity(&self, ctx: &Context<'_>) -> Result<Option<Opportunity>> {
        Ok(related::<opportunity::Entity>(ctx, self.0.opportunity_id)
            .await?
            .map(Opportunity))
    }
    /// What the telephony provider reported, for a call the hub logged.
    async fn call(&self) -> Option<CallOutcome> {
        let details = self.0.details.as_ref()?;
        Some(CallOutcome {
            status: details["call_status"].as_str().map(str::to_owned),
            duration_seconds: details["duration_secs"].as_i64(),
            recording_url: details["recording_url"].as_str().map(str::to_owned),
        })
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

async fn contact_points(
    ctx: &Context<'_>,
    loader: impl Fn(&Loaders) -> &DataLoader<ContactPoints>,
    owner: Uuid,
) -> Result<Vec<ContactPoint>> {
    let points = loader(ctx.loaders()?).load_one(owner).await?;
    Ok(points
        .into_iter()
        .flatten()
        .map(ContactPoint::from)
        .collect())
}

/// An address, number or customer id a person is reached by.
#[derive(SimpleObject)]
pub struct ContactPoint {
    pub kind: ContactPointKind,
    /// The provider of a customer id (`stripe`); empty for emails and phones.
    pub provider: String,
    pub value: String,
    /// The value is canonical; false for a sender kept as it came because it could not be
    /// normalised (an invalid number, an alphanumeric sender id, a malformed address).
    pub normalized: bool,
    pub bounced_at: Option<DateTime<Utc>>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
    pub spam_reported_at: Option<DateTime<Utc>>,
}

impl From<entity::contact_point::Model> for ContactPoint {
    fn from(point: entity::contact_point::Model) -> Self {
        ContactPoint {
            kind: point.kind,
            provider: point.provider,
            value: point.value,
            normalized: point.normalized,
            bounced_at: point.bounced_at,
            unsubscribed_at: point.unsubscribed_at,
            spam_reported_at: point.spam_reported_at,
        }
    }
}

/// How a logged call went, as the provider told it.
#[derive(SimpleObject)]
pub struct CallOutcome {
    pub status: Option<String>,
    pub duration_seconds: Option<i64>,
    pub recording_url: Option<String>,
}

pub struct Campaign(pub campaign::Model);

#[Object]
impl Campaign {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn utm_campaign(&self) -> Option<&str> {
        self.0.utm_campaign.as_deref()
    }
    async fn channel(&self) -> Option<&str> {
        self.0.channel.as_deref()
    }
    async fn status(&self) -> CampaignStatus {
        self.0.status
    }
    async fn cost(&self) -> Option<Money> {
        Money::from_minor(self.0.cost_minor, self.0.currency.as_deref())
    }
    async fn starts_on(&self) -> Option<NaiveDate> {
        self.0.starts_on
    }
    async fn ends_on(&self) -> Option<NaiveDate> {
        self.0.ends_on
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub struct Touchpoint(pub touchpoint::Model);

#[Object]
impl Touchpoint {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn channel(&self) -> TouchpointChannel {
        self.0.channel
    }
    async fn direction(&self) -> Option<Direction> {
        self.0.direction
    }
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    async fn medium(&self) -> Option<&str> {
        self.0.medium.as_deref()
    }
    async fn campaign(&self) -> Option<&str> {
        self.0.campaign.as_deref()
    }
    async fn term(&self) -> Option<&str> {
        self.0.term.as_deref()
    }
    async fn content(&self) -> Option<&str> {
        self.0.content.as_deref()
    }
    async fn referrer(&self) -> Option<&str> {
        self.0.referrer.as_deref()
    }
    async fn landing_page(&self) -> Option<&str> {
        self.0.landing_page.as_deref()
    }
    async fn gclid(&self) -> Option<&str> {
        self.0.gclid.as_deref()
    }
    async fn fbclid(&self) -> Option<&str> {
        self.0.fbclid.as_deref()
    }
    async fn msclkid(&self) -> Option<&str> {
        self.0.msclkid.as_deref()
    }
    async fn source_category(&self) -> Option<SourceCategory> {
        self.0.source_category
    }
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    async fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref()
    }
    /// Invoice or payment amount; hidden (null) from roles that may not see money.
    async fn amount(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let visible = scope::can_see_amounts(ctx.actor()?);
        Ok(visible
            .then(|| Money::from_minor(self.0.amount_minor, self.0.currency.as_deref()))
            .flatten())
    }
    /// The campaign whose UTM key (`utm_campaign`) the touch carried.
    async fn matched_campaign(&self, ctx: &Context<'_>) -> Result<Option<Campaign>> {
        Ok(related::<campaign::Entity>(ctx, self.0.campaign_id)
            .await?
            .map(Campaign))
    }
    /// The provider's name for what happened (`invoice.paid`, `completed`), for hub touchpoints.
    async fn event(&self) -> Option<&str> {
        self.0.event.as_deref()
    }
    /// The provider's id for it.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// The stored provider request it came from; admins only, null for others.
    async fn delivery(&self, ctx: &Context<'_>) -> Result<Option<super::hub::Delivery>> {
        Ok(related::<entity::delivery::Entity>(ctx, self.0.delivery_id)
            .await?
            .map(super::hub::Delivery))
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    /// False when the touch came from a delivery that proved nothing about its sender (a web
    /// form without a secret): anyone could have sent it, and on a record that existed before
    /// it changed no field and no first or latest source.
    async fn verified(&self) -> bool {
        self.0.verified
    }
}

impl Projected for Touchpoint {
    type Entity = touchpoint::Entity;
    const SORT_COLUMNS: &'static [touchpoint::Column] = &[touchpoint::Column::OccurredAt];

    fn columns(field: &str) -> Option<&'static [touchpoint::Column]> {
        use touchpoint::Column::*;
        Some(match field {
            "id" => &[Id],
            "channel" => &[Channel],
            "direction" => &[Direction],
            "source" => &[Source],
            "medium" => &[Medium],
            "campaign" => &[Campaign],
            "term" => &[Term],
            "content" => &[Content],
            "referrer" => &[Referrer],
            "landingPage" => &[LandingPage],
            "gclid" => &[Gclid],
            "fbclid" => &[Fbclid],
            "msclkid" => &[Msclkid],
            "sourceCategory" => &[SourceCategory],
            "subject" => &[Subject],
            "summary" => &[Summary],
            "amount" => &[AmountMinor, Currency],
            "matchedCampaign" => &[CampaignId],
            "event" => &[Event],
            "externalId" => &[ExternalId],
            "delivery" => &[DeliveryId],
            "occurredAt" => &[OccurredAt],
            "verified" => &[Verified],
            _ => return None,
        })
    }
}
