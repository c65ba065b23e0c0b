//! The `filter` and `orderBy` arguments of lists, as GraphQL input objects, and their
//! translation into the services' [`Filter`]s and orders. The shapes (field names, operators,
//! enumerations) are the API's; what a test means in SQL and how far a filter may nest are the
//! services'.

use async_graphql::{Enum, EnumType, ID, InputObject, InputType};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    account, activity, campaign, contact,
    enums::{
        AccountStatus, ActivityKind, CampaignStatus, LeadGrade, LeadStatus, LifecycleStage,
        RfmSegment, SourceCategory,
    },
    lead, opportunity,
};
use sea_orm::{ColumnTrait, DatabaseConnection};

use crate::{
    actor::Actor,
    error::{AppError, Result},
    graphql::changes::uuid,
    services::{
        accounts, activities, campaigns, contacts, custom_filter,
        custom_order::{self, OrderTerm, WithCustomFields},
        filter::{self, FieldTest, Filter},
        leads, opportunities, page, pipeline,
    },
};

/// A GraphQL filter of one record type, as the service filter it stands for.
pub trait FilterInput {
    type Column: ColumnTrait;
    fn into_filter(self) -> Result<Filter<Self::Column>>;
}

/// A GraphQL test on one field, as the service test it stands for; `field` names the field in
/// error messages.
trait TestInput {
    fn into_test(self, field: &'static str) -> Result<FieldTest>;
}

/// Adds each field's test, then the `and`, `or` and `not` parts, to a service filter.
struct Tests<C>(Filter<C>);

impl<C: ColumnTrait> Tests<C> {
    fn on<T: TestInput>(self, input: Option<T>, field: &'static str, column: C) -> Result<Self> {
        let test = input.map(|t| t.into_test(field)).transpose()?;
        Ok(Tests(self.0.on(field, column, test)))
    }

    fn logic<F: FilterInput<Column = C>>(
        self,
        and: Option<Vec<F>>,
        or: Option<Vec<F>>,
        not: Option<Box<F>>,
    ) -> Result<Filter<C>> {
        let mut filter = self.0;
        filter.and = and
            .into_iter()
            .flatten()
            .map(F::into_filter)
            .collect::<Result<_>>()?;
        filter.or = or
            .map(|alternatives| alternatives.into_iter().map(F::into_filter).collect())
            .transpose()?;
        filter.not = not.map(|f| f.into_filter().map(Box::new)).transpose()?;
        Ok(filter)
    }
}

#[derive(InputObject, Default)]
pub struct StringFilter {
    pub eq: Option<String>,
    /// Also matches records where the field is empty.
    pub ne: Option<String>,
    #[graphql(name = "in")]
    pub in_: Option<Vec<String>>,
    /// Case-insensitive substring match.
    pub contains: Option<String>,
    /// Case-insensitive prefix match.
    pub starts_with: Option<String>,
    pub is_null: Option<bool>,
}

impl TestInput for StringFilter {
    fn into_test(self, _: &'static str) -> Result<FieldTest> {
        Ok(FieldTest::Text(filter::StringFilter {
            eq: self.eq,
            ne: self.ne,
            in_: self.in_,
            contains: self.contains,
            starts_with: self.starts_with,
            is_null: self.is_null,
        }))
    }
}

#[derive(InputObject, Default)]
pub struct IntFilter {
    pub eq: Option<i64>,
    pub ne: Option<i64>,
    #[graphql(name = "in")]
    pub in_: Option<Vec<i64>>,
    pub gt: Option<i64>,
    pub gte: Option<i64>,
    pub lt: Option<i64>,
    pub lte: Option<i64>,
    pub is_null: Option<bool>,
}

impl TestInput for IntFilter {
    fn into_test(self, _: &'static str) -> Result<FieldTest> {
        Ok(FieldTest::Int(filter::IntFilter {
            eq: self.eq,
            ne: self.ne,
            in_: self.in_,
            gt: self.gt,
            gte: self.gte,
            lt: self.lt,
            lte: self.lte,
            is_null: self.is_null,
        }))
    }
}

#[derive(InputObject, Default)]
pub struct DateTimeFilter {
    pub eq: Option<DateTime<Utc>>,
    pub gt: Option<DateTime<Utc>>,
    pub gte: Option<DateTime<Utc>>,
    pub lt: Option<DateTime<Utc>>,
    pub lte: Option<DateTime<Utc>>,
    pub is_null: Option<bool>,
}

impl TestInput for DateTimeFilter {
    fn into_test(self, _: &'static str) -> Result<FieldTest> {
        Ok(FieldTest::Time(filter::DateTimeFilter {
            eq: self.eq,
            gt: self.gt,
            gte: self.gte,
            lt: self.lt,
            lte: self.lte,
            is_null: self.is_null,
        }))
    }
}

#[derive(InputObject, Default)]
pub struct IdFilter {
    pub eq: Option<ID>,
    pub ne: Option<ID>,
    #[graphql(name = "in")]
    pub in_: Option<Vec<ID>>,
    pub is_null: Option<bool>,
}

impl IdFilter {
    fn into_ids(self, field: &'static str) -> Result<filter::IdFilter> {
        let id = |id: ID| uuid(field, &id);
        Ok(filter::IdFilter {
            eq: self.eq.map(id).transpose()?,
            ne: self.ne.map(id).transpose()?,
            in_: self
                .in_
                .map(|ids| ids.into_iter().map(id).collect())
                .transpose()?,
            is_null: self.is_null,
        })
    }
}

impl TestInput for IdFilter {
    fn into_test(self, field: &'static str) -> Result<FieldTest> {
        self.into_ids(field).map(FieldTest::Id)
    }
}

/// Equality tests on an enumeration.
#[derive(InputObject)]
#[graphql(concrete(name = "LeadStatusFilter", params(entity::enums::LeadStatus)))]
#[graphql(concrete(name = "LeadGradeFilter", params(entity::enums::LeadGrade)))]
#[graphql(concrete(name = "LifecycleStageFilter", params(entity::enums::LifecycleStage)))]
#[graphql(concrete(name = "SourceCategoryFilter", params(entity::enums::SourceCategory)))]
#[graphql(concrete(name = "AccountStatusFilter", params(entity::enums::AccountStatus)))]
#[graphql(concrete(name = "ActivityKindFilter", params(entity::enums::ActivityKind)))]
#[graphql(concrete(name = "CampaignStatusFilter", params(entity::enums::CampaignStatus)))]
#[graphql(concrete(name = "RfmSegmentFilter", params(entity::enums::RfmSegment)))]
pub struct EnumFilter<T: EnumType + InputType> {
    pub eq: Option<T>,
    pub ne: Option<T>,
    #[graphql(name = "in")]
    pub in_: Option<Vec<T>>,
    pub is_null: Option<bool>,
}

impl<T> TestInput for EnumFilter<T>
where
    T: EnumType + InputType + sea_orm::ActiveEnum<Value = String>,
{
    fn into_test(self, _: &'static str) -> Result<FieldTest> {
        let stored = |v: T| sea_orm::ActiveEnum::to_value(&v);
        Ok(FieldTest::Enum(filter::EnumFilter {
            eq: self.eq.map(stored),
            ne: self.ne.map(stored),
            in_: self
                .in_
                .map(|values| values.into_iter().map(stored).collect()),
            is_null: self.is_null,
        }))
    }
}

/// A test on one custom field's value. `eq`, `in` and `contains` compare the value as text
/// (a boolean reads `true` or `false`, a number as written); `gte` and `lte` hold only for
/// numbers in range, `from` and `to` only for dates in range; `isNull: false` asks for a value.
/// These take any key, defined or not (web forms bring keys of their own). `hasAny`, `hasAll`
/// and `money` are typed: they need the key of a live custom field of the type they test.
/// Option values a select does not offer, keys of removed fields and MONEY keys for a role that
/// may not see amounts are refused.
#[derive(InputObject)]
pub struct CustomFieldFilter {
    /// The custom field's key: letters, digits and underscores.
    pub key: String,
    pub eq: Option<String>,
    #[graphql(name = "in")]
    pub in_: Option<Vec<String>>,
    /// Case-insensitive substring match.
    pub contains: Option<String>,
    pub gte: Option<f64>,
    pub lte: Option<f64>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub is_null: Option<bool>,
    /// A MULTI_SELECT holding at least one of these option values.
    pub has_any: Option<Vec<String>>,
    /// A MULTI_SELECT holding every one of these option values.
    pub has_all: Option<Vec<String>>,
    /// Tests on a MONEY value.
    pub money: Option<MoneyFilter>,
}

/// Tests on a MONEY custom field. `gte` and `lte` are decimal amounts in `currency`
/// (`"1250.50"`, no more decimals than the currency has) and need it: amounts in different
/// currencies do not compare, so only values in `currency` match. `currency` alone matches the
/// values in that currency.
#[derive(InputObject)]
#[graphql(name = "CustomMoneyFilter")]
pub struct MoneyFilter {
    /// ISO 4217 code.
    pub currency: Option<String>,
    pub gte: Option<String>,
    pub lte: Option<String>,
}

/// Each entry must match.
impl TestInput for Vec<CustomFieldFilter> {
    fn into_test(self, _: &'static str) -> Result<FieldTest> {
        Ok(FieldTest::Custom(
            self.into_iter()
                .map(|c| {
                    let mut test = filter::CustomFieldFilter::on_key(c.key);
                    test.eq = c.eq;
                    test.in_ = c.in_;
                    test.contains = c.contains;
                    test.gte = c.gte;
                    test.lte = c.lte;
                    test.from = c.from;
                    test.to = c.to;
                    test.is_null = c.is_null;
                    test.has_any = c.has_any;
                    test.has_all = c.has_all;
                    test.money = c.money.map(|m| filter::MoneyFilter {
                        currency: m.currency,
                        gte: m.gte,
                        lte: m.lte,
                    });
                    test
                })
                .collect(),
        ))
    }
}

/// An id test on the pipeline of a deal's stage.
struct InPipeline(IdFilter);

impl TestInput for InPipeline {
    fn into_test(self, field: &'static str) -> Result<FieldTest> {
        self.0.into_ids(field).map(pipeline::in_pipeline)
    }
}

impl TestInput for bool {
    fn into_test(self, _: &'static str) -> Result<FieldTest> {
        Ok(FieldTest::Bool(self))
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
    pub title: Option<StringFilter>,
    pub industry: Option<StringFilter>,
    pub employees: Option<IntFilter>,
    pub country: Option<StringFilter>,
    pub region: Option<StringFilter>,
    pub postcode: Option<StringFilter>,
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
    pub grade: Option<EnumFilter<LeadGrade>>,
    pub created_at: Option<DateTimeFilter>,
    pub updated_at: Option<DateTimeFilter>,
    /// Each entry must match: a custom field compared as text.
    pub custom_fields: Option<Vec<CustomFieldFilter>>,
}

impl FilterInput for LeadFilter {
    type Column = lead::Column;
    fn into_filter(self) -> Result<Filter<lead::Column>> {
        use lead::Column as C;
        Tests(Filter::default())
            .on(self.email, "email", C::Email)?
            .on(self.first_name, "firstName", C::FirstName)?
            .on(self.last_name, "lastName", C::LastName)?
            .on(self.company, "company", C::Company)?
            .on(self.phone, "phone", C::Phone)?
            .on(self.title, "title", C::Title)?
            .on(self.industry, "industry", C::Industry)?
            .on(self.employees, "employees", C::Employees)?
            .on(self.country, "country", C::Country)?
            .on(self.region, "region", C::Region)?
            .on(self.postcode, "postcode", C::Postcode)?
            .on(self.status, "status", C::Status)?
            .on(self.lifecycle_stage, "lifecycleStage", C::LifecycleStage)?
            .on(self.owner_id, "ownerId", C::OwnerId)?
            .on(self.lead_source, "leadSource", C::LeadSource)?
            .on(self.first_source, "firstSource", C::FirstSource)?
            .on(self.first_medium, "firstMedium", C::FirstMedium)?
            .on(self.first_campaign, "firstCampaign", C::FirstCampaign)?
            .on(
                self.first_source_category,
                "firstSourceCategory",
                C::FirstSourceCategory,
            )?
            .on(self.latest_source, "latestSource", C::LatestSource)?
            .on(self.latest_medium, "latestMedium", C::LatestMedium)?
            .on(self.latest_campaign, "latestCampaign", C::LatestCampaign)?
            .on(
                self.latest_source_category,
                "latestSourceCategory",
                C::LatestSourceCategory,
            )?
            .on(self.score, "score", C::Score)?
            .on(self.fit_score, "fitScore", C::FitScore)?
            .on(self.engagement_score, "engagementScore", C::EngagementScore)?
            .on(self.grade, "grade", C::Grade)?
            .on(self.created_at, "createdAt", C::CreatedAt)?
            .on(self.updated_at, "updatedAt", C::UpdatedAt)?
            .on(self.custom_fields, "customFields", C::CustomFields)?
            .logic(self.and, self.or, self.not)
    }
}

/// Narrows a list of contacts; every field given must match, `and`/`or`/`not` combine filters.
#[derive(InputObject, Default)]
pub struct ContactFilter {
    pub and: Option<Vec<ContactFilter>>,
    pub or: Option<Vec<ContactFilter>>,
    pub not: Option<Box<ContactFilter>>,
    /// Tests on custom field values by key; each must hold.
    pub custom_fields: Option<Vec<CustomFieldFilter>>,
    pub email: Option<StringFilter>,
    pub first_name: Option<StringFilter>,
    pub last_name: Option<StringFilter>,
    pub phone: Option<StringFilter>,
    pub title: Option<StringFilter>,
    pub lifecycle_stage: Option<EnumFilter<LifecycleStage>>,
    pub account_id: Option<IdFilter>,
    pub owner_id: Option<IdFilter>,
    pub created_at: Option<DateTimeFilter>,
    pub updated_at: Option<DateTimeFilter>,
    pub rfm_segment: Option<EnumFilter<RfmSegment>>,
    /// 1 to 5; null for contacts that never paid.
    pub rfm_recency_score: Option<IntFilter>,
    pub rfm_frequency_score: Option<IntFilter>,
    /// Only for roles that may see amounts.
    pub rfm_monetary_score: Option<IntFilter>,
}

impl FilterInput for ContactFilter {
    type Column = contact::Column;
    fn into_filter(self) -> Result<Filter<contact::Column>> {
        use contact::Column as C;
        Tests(Filter::default())
            .on(self.custom_fields, "customFields", C::CustomFields)?
            .on(self.email, "email", C::Email)?
            .on(self.first_name, "firstName", C::FirstName)?
            .on(self.last_name, "lastName", C::LastName)?
            .on(self.phone, "phone", C::Phone)?
            .on(self.title, "title", C::Title)?
            .on(self.lifecycle_stage, "lifecycleStage", C::LifecycleStage)?
            .on(self.account_id, "accountId", C::AccountId)?
            .on(self.owner_id, "ownerId", C::OwnerId)?
            .on(self.created_at, "createdAt", C::CreatedAt)?
            .on(self.updated_at, "updatedAt", C::UpdatedAt)?
            .on(self.rfm_segment, "rfmSegment", C::RfmSegment)?
            .on(
                self.rfm_recency_score,
                "rfmRecencyScore",
                C::RfmRecencyScore,
            )?
            .on(
                self.rfm_frequency_score,
                "rfmFrequencyScore",
                C::RfmFrequencyScore,
            )?
            .on(
                self.rfm_monetary_score,
                "rfmMonetaryScore",
                C::RfmMonetaryScore,
            )?
            .logic(self.and, self.or, self.not)
    }
}

/// Narrows a list of accounts; every field given must match, `and`/`or`/`not` combine filters.
#[derive(InputObject, Default)]
pub struct AccountFilter {
    pub and: Option<Vec<AccountFilter>>,
    pub or: Option<Vec<AccountFilter>>,
    pub not: Option<Box<AccountFilter>>,
    /// Tests on custom field values by key; each must hold.
    pub custom_fields: Option<Vec<CustomFieldFilter>>,
    pub name: Option<StringFilter>,
    pub domain: Option<StringFilter>,
    pub industry: Option<StringFilter>,
    pub territory: Option<StringFilter>,
    pub status: Option<EnumFilter<AccountStatus>>,
    pub parent_id: Option<IdFilter>,
    pub owner_id: Option<IdFilter>,
    pub created_at: Option<DateTimeFilter>,
    pub rfm_segment: Option<EnumFilter<RfmSegment>>,
    /// 1 to 5; null for accounts that never paid.
    pub rfm_recency_score: Option<IntFilter>,
    pub rfm_frequency_score: Option<IntFilter>,
    /// Only for roles that may see amounts.
    pub rfm_monetary_score: Option<IntFilter>,
}

impl FilterInput for AccountFilter {
    type Column = account::Column;
    fn into_filter(self) -> Result<Filter<account::Column>> {
        use account::Column as C;
        Tests(Filter::default())
            .on(self.custom_fields, "customFields", C::CustomFields)?
            .on(self.name, "name", C::Name)?
            .on(self.domain, "domain", C::Domain)?
            .on(self.industry, "industry", C::Industry)?
            .on(self.territory, "territory", C::Territory)?
            .on(self.status, "status", C::Status)?
            .on(self.parent_id, "parentId", C::ParentId)?
            .on(self.owner_id, "ownerId", C::OwnerId)?
            .on(self.created_at, "createdAt", C::CreatedAt)?
            .on(self.rfm_segment, "rfmSegment", C::RfmSegment)?
            .on(
                self.rfm_recency_score,
                "rfmRecencyScore",
                C::RfmRecencyScore,
            )?
            .on(
                self.rfm_frequency_score,
                "rfmFrequencyScore",
                C::RfmFrequencyScore,
            )?
            .on(
                self.rfm_monetary_score,
                "rfmMonetaryScore",
                C::RfmMonetaryScore,
            )?
            .logic(self.and, self.or, self.not)
    }
}

/// Narrows a list of opportunities; every field given must match, `and`/`or`/`not` combine
/// filters.
#[derive(InputObject, Default)]
pub struct OpportunityFilter {
    pub and: Option<Vec<OpportunityFilter>>,
    pub or: Option<Vec<OpportunityFilter>>,
    pub not: Option<Box<OpportunityFilter>>,
    /// Tests on custom field values by key; each must hold.
    pub custom_fields: Option<Vec<CustomFieldFilter>>,
    pub name: Option<StringFilter>,
    pub stage_id: Option<IdFilter>,
    /// The pipeline of the deal's stage.
    pub pipeline_id: Option<IdFilter>,
    pub owner_id: Option<IdFilter>,
    pub account_id: Option<IdFilter>,
    pub lead_id: Option<IdFilter>,
    /// The amount in minor units of its currency (cents for USD).
    pub amount_minor: Option<IntFilter>,
    pub currency: Option<StringFilter>,
    pub created_at: Option<DateTimeFilter>,
    pub closed_at: Option<DateTimeFilter>,
}

impl FilterInput for OpportunityFilter {
    type Column = opportunity::Column;
    fn into_filter(self) -> Result<Filter<opportunity::Column>> {
        use opportunity::Column as C;
        Tests(Filter::default())
            .on(self.custom_fields, "customFields", C::CustomFields)?
            .on(self.name, "name", C::Name)?
            .on(self.stage_id, "stageId", C::StageId)?
            .on(self.pipeline_id.map(InPipeline), "pipelineId", C::StageId)?
            .on(self.owner_id, "ownerId", C::OwnerId)?
            .on(self.account_id, "accountId", C::AccountId)?
            .on(self.lead_id, "leadId", C::LeadId)?
            .on(self.amount_minor, "amountMinor", C::AmountMinor)?
            .on(self.currency, "currency", C::Currency)?
            .on(self.created_at, "createdAt", C::CreatedAt)?
            .on(self.closed_at, "closedAt", C::ClosedAt)?
            .logic(self.and, self.or, self.not)
    }
}

/// Narrows a list of activities; every field given must match, `and`/`or`/`not` combine filters.
#[derive(InputObject, Default)]
pub struct ActivityFilter {
    pub and: Option<Vec<ActivityFilter>>,
    pub or: Option<Vec<ActivityFilter>>,
    pub not: Option<Box<ActivityFilter>>,
    pub kind: Option<EnumFilter<ActivityKind>>,
    pub subject: Option<StringFilter>,
    pub done: Option<bool>,
    pub assignee_id: Option<IdFilter>,
    pub lead_id: Option<IdFilter>,
    pub contact_id: Option<IdFilter>,
    pub account_id: Option<IdFilter>,
    pub opportunity_id: Option<IdFilter>,
    pub due_at: Option<DateTimeFilter>,
    pub created_at: Option<DateTimeFilter>,
}

impl FilterInput for ActivityFilter {
    type Column = activity::Column;
    fn into_filter(self) -> Result<Filter<activity::Column>> {
        use activity::Column as C;
        Tests(Filter::default())
            .on(self.kind, "kind", C::Kind)?
            .on(self.subject, "subject", C::Subject)?
            .on(self.assignee_id, "assigneeId", C::AssigneeId)?
            .on(self.lead_id, "leadId", C::LeadId)?
            .on(self.contact_id, "contactId", C::ContactId)?
            .on(self.account_id, "accountId", C::AccountId)?
            .on(self.opportunity_id, "opportunityId", C::OpportunityId)?
            .on(self.due_at, "dueAt", C::DueAt)?
            .on(self.created_at, "createdAt", C::CreatedAt)?
            .on(self.done, "done", C::Done)?
            .logic(self.and, self.or, self.not)
    }
}

/// Narrows a list of campaigns; every field given must match, `and`/`or`/`not` combine filters.
#[derive(InputObject, Default)]
pub struct CampaignFilter {
    pub and: Option<Vec<CampaignFilter>>,
    pub or: Option<Vec<CampaignFilter>>,
    pub not: Option<Box<CampaignFilter>>,
    pub name: Option<StringFilter>,
    pub utm_campaign: Option<StringFilter>,
    pub channel: Option<StringFilter>,
    pub status: Option<EnumFilter<CampaignStatus>>,
    pub created_at: Option<DateTimeFilter>,
}

impl FilterInput for CampaignFilter {
    type Column = campaign::Column;
    fn into_filter(self) -> Result<Filter<campaign::Column>> {
        use campaign::Column as C;
        Tests(Filter::default())
            .on(self.name, "name", C::Name)?
            .on(self.utm_campaign, "utmCampaign", C::UtmCampaign)?
            .on(self.channel, "channel", C::Channel)?
            .on(self.status, "status", C::Status)?
            .on(self.created_at, "createdAt", C::CreatedAt)?
            .logic(self.and, self.or, self.not)
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
#[graphql(remote = "page::SortDirection")]
pub enum SortDirection {
    #[default]
    Asc,
    Desc,
}

/// One `orderBy` entry of a list of records with custom fields: a field of the record, or the
/// key of a custom field (exactly one of the two). A custom field orders by its type: NUMBER
/// and MONEY numerically (money by its amount in minor units, whatever the currency), DATE
/// chronologically, BOOLEAN false first, TEXT, URL, EMAIL, PHONE and SINGLE_SELECT as text
/// with ASCII letters folded to lowercase, MULTI_SELECT by its first chosen value. Records
/// without a value come last in either direction.
#[derive(InputObject)]
#[graphql(concrete(name = "LeadOrder", params(LeadOrderField)))]
#[graphql(concrete(name = "ContactOrder", params(ContactOrderField)))]
#[graphql(concrete(name = "AccountOrder", params(AccountOrderField)))]
#[graphql(concrete(name = "OpportunityOrder", params(OpportunityOrderField)))]
pub struct RecordOrderBy<F: EnumType + InputType> {
    pub field: Option<F>,
    /// The key of a live custom field of the listed type.
    pub custom_field: Option<String>,
    #[graphql(default)]
    pub direction: SortDirection,
}

/// One `orderBy` entry.
#[derive(InputObject)]
#[graphql(concrete(name = "ActivityOrder", params(ActivityOrderField)))]
#[graphql(concrete(name = "CampaignOrder", params(CampaignOrderField)))]
pub struct OrderBy<F: EnumType + InputType> {
    pub field: F,
    #[graphql(default)]
    pub direction: SortDirection,
}

/// The service order an `orderBy` argument stands for.
pub fn order<F, S>(order_by: Option<Vec<OrderBy<F>>>) -> Vec<(S, page::SortDirection)>
where
    F: EnumType + InputType + Into<S>,
{
    order_by
        .into_iter()
        .flatten()
        .map(|o| (o.field.into(), o.direction.into()))
        .collect()
}

/// A list's filter and order, as the services take them.
pub type List<C, O> = (Filter<C>, Vec<(O, page::SortDirection)>);

/// A list's filter and order, its custom field tests and keys checked against the definitions
/// the actor may use (see [`custom_filter`] and [`custom_order`]).
pub async fn with_custom_fields<E, F, O>(
    db: &DatabaseConnection,
    actor: &Actor,
    filter: Option<F>,
    order_by: Option<Vec<RecordOrderBy<O>>>,
) -> Result<List<E::Column, E::OrderField>>
where
    E: WithCustomFields,
    F: FilterInput<Column = E::Column>,
    O: EnumType + InputType + Into<E::OrderField>,
{
    let mut filter = filter.map(F::into_filter).transpose()?.unwrap_or_default();
    custom_filter::check(db, actor, E::RECORD_TYPE, &mut filter).await?;
    let mut terms = Vec::new();
    for (i, entry) in order_by.into_iter().flatten().enumerate() {
        let term = match (entry.field, entry.custom_field) {
            (Some(field), None) => OrderTerm::Field(field.into()),
            (None, Some(key)) => OrderTerm::Custom {
                field: format!("orderBy.{i}.customField"),
                key,
            },
            _ => {
                return Err(AppError::bad_input(
                    format!("orderBy.{i}"),
                    "give either `field` or `customField`",
                ));
            }
        };
        terms.push((term, entry.direction.into()));
    }
    let order = custom_order::resolve::<E, _>(db, actor, terms).await?;
    Ok((filter, order))
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
    FitScore,
    EngagementScore,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ContactOrderField {
    CreatedAt,
    UpdatedAt,
    Email,
    LastName,
    /// Contacts that never paid sort as 0.
    RfmRecencyScore,
    RfmFrequencyScore,
    /// Only for roles that may see amounts.
    RfmMonetaryScore,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum AccountOrderField {
    CreatedAt,
    UpdatedAt,
    Name,
    /// Accounts that never paid sort as 0.
    RfmRecencyScore,
    RfmFrequencyScore,
    /// Only for roles that may see amounts.
    RfmMonetaryScore,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum OpportunityOrderField {
    CreatedAt,
    UpdatedAt,
    Name,
    Amount,
}

// The variants are the API's names.
#[allow(clippy::enum_variant_names)]
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "activities::ActivityOrderField")]
pub enum ActivityOrderField {
    CreatedAt,
    UpdatedAt,
    /// Undated activities sort after dated ones.
    DueAt,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "campaigns::CampaignOrderField")]
pub enum CampaignOrderField {
    CreatedAt,
    Name,
}

// The service enums also order by custom fields, which the API names apart (`customField`).
impl From<LeadOrderField> for leads::LeadOrderField {
    fn from(field: LeadOrderField) -> Self {
        match field {
            LeadOrderField::CreatedAt => Self::CreatedAt,
            LeadOrderField::UpdatedAt => Self::UpdatedAt,
            LeadOrderField::Email => Self::Email,
            LeadOrderField::FirstName => Self::FirstName,
            LeadOrderField::LastName => Self::LastName,
            LeadOrderField::Company => Self::Company,
            LeadOrderField::Score => Self::Score,
            LeadOrderField::FitScore => Self::FitScore,
            LeadOrderField::EngagementScore => Self::EngagementScore,
        }
    }
}

impl From<ContactOrderField> for contacts::ContactOrderField {
    fn from(field: ContactOrderField) -> Self {
        match field {
            ContactOrderField::CreatedAt => Self::CreatedAt,
            ContactOrderField::UpdatedAt => Self::UpdatedAt,
            ContactOrderField::Email => Self::Email,
            ContactOrderField::LastName => Self::LastName,
            ContactOrderField::RfmRecencyScore => Self::RfmRecencyScore,
            ContactOrderField::RfmFrequencyScore => Self::RfmFrequencyScore,
            ContactOrderField::RfmMonetaryScore => Self::RfmMonetaryScore,
        }
    }
}

impl From<AccountOrderField> for accounts::AccountOrderField {
    fn from(field: AccountOrderField) -> Self {
        match field {
            AccountOrderField::CreatedAt => Self::CreatedAt,
            AccountOrderField::UpdatedAt => Self::UpdatedAt,
            AccountOrderField::Name => Self::Name,
            AccountOrderField::RfmRecencyScore => Self::RfmRecencyScore,
            AccountOrderField::RfmFrequencyScore => Self::RfmFrequencyScore,
            AccountOrderField::RfmMonetaryScore => Self::RfmMonetaryScore,
        }
    }
}

impl From<OpportunityOrderField> for opportunities::OpportunityOrderField {
    fn from(field: OpportunityOrderField) -> Self {
        match field {
            OpportunityOrderField::CreatedAt => Self::CreatedAt,
            OpportunityOrderField::UpdatedAt => Self::UpdatedAt,
            OpportunityOrderField::Name => Self::Name,
            OpportunityOrderField::Amount => Self::Amount,
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::registry::{MetaType, Registry};
    use serde_json::{Value, json};

    use super::*;

    /// A value for an input field that any test of its type accepts.
    fn any_test(type_name: &str) -> Value {
        match type_name.trim_end_matches('!') {
            "Boolean" => json!(true),
            "[CustomFieldFilter!]" => json!([{ "key": "tier", "isNull": true }]),
            _ => json!({ "isNull": true }),
        }
    }

    /// Every field of the filter's GraphQL type, given alone, becomes a test: a field declared
    /// but never translated would silently match every record.
    fn every_field_is_applied<F: FilterInput + InputType>() {
        let mut registry = Registry::default();
        F::create_type_info(&mut registry);
        let Some(MetaType::InputObject { input_fields, .. }) = registry.types.get(&*F::type_name())
        else {
            panic!("{} is not an input object", F::type_name());
        };
        for (name, field) in input_fields {
            if ["and", "or", "not"].contains(&name.as_str()) {
                continue;
            }
            let value = json!({ name.as_str(): any_test(&field.ty) });
            let input = F::parse(async_graphql::Value::from_json(value).ok())
                .unwrap_or_else(|_| panic!("{}.{name} takes {}", F::type_name(), field.ty));
            let filter = input.into_filter().unwrap();
            assert!(
                !filter.is_empty(),
                "{}.{name} is never applied",
                F::type_name()
            );
        }
    }

    #[test]
    fn every_filter_field_becomes_a_test() {
        every_field_is_applied::<LeadFilter>();
        every_field_is_applied::<ContactFilter>();
        every_field_is_applied::<AccountFilter>();
        every_field_is_applied::<OpportunityFilter>();
        every_field_is_applied::<ActivityFilter>();
        every_field_is_applied::<CampaignFilter>();
    }
}
