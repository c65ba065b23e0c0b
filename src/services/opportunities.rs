//! Opportunities: deals moving through the pipeline toward won or lost.

use async_graphql::{ID, InputObject, MaybeUndefined};
use chrono::{NaiveDate, Utc};
use entity::{enums::Role, lead, opportunity};
use sea_orm::{ConnectionTrait, Set};
use uuid::Uuid;

use crate::services::{
    filter::{Conditions, DateTimeFilter, IdFilter, IntFilter, StringFilter, col},
    page::{SortField, SortKind, SortValue},
};
use crate::{
    actor::Actor,
    error::{AppError, Result},
    services::{
        Services,
        input::{self, MoneyInput, SHORT_TEXT, patch, patch_text},
        pipeline,
        records::{self, Record},
        scope,
    },
    validate,
};
use async_graphql::Enum;
use sea_orm::{Condition, sea_query::SimpleExpr};

impl Record for opportunity::Entity {
    type OrderField = OpportunityOrderField;
    const KIND: &'static str = "opportunity";
    const READERS: &'static [Role] = &[Role::Admin, Role::Manager, Role::Sales, Role::Marketing];
    const WRITERS: &'static [Role] = &[Role::Admin, Role::Manager, Role::Sales];
    fn id_column() -> opportunity::Column {
        opportunity::Column::Id
    }
    fn owner_column() -> Option<opportunity::Column> {
        Some(opportunity::Column::OwnerId)
    }
    fn archived_at_column() -> Option<opportunity::Column> {
        Some(opportunity::Column::ArchivedAt)
    }
    fn updated_at_column() -> Option<opportunity::Column> {
        Some(opportunity::Column::UpdatedAt)
    }
}

/// Fields of an opportunity a user may set. `name` and `amount` are required on create; the
/// stage defaults to the pipeline's first.
#[derive(InputObject, Default)]
pub struct OpportunityInput {
    pub name: Option<String>,
    pub amount: Option<MoneyInput>,
    pub stage_id: Option<ID>,
    pub account_id: MaybeUndefined<ID>,
    pub contact_id: MaybeUndefined<ID>,
    pub lead_id: MaybeUndefined<ID>,
    pub close_date: MaybeUndefined<NaiveDate>,
    pub owner_id: MaybeUndefined<ID>,
    pub lost_reason: MaybeUndefined<String>,
}

pub async fn create(
    svc: &Services,
    actor: &Actor,
    input: OpportunityInput,
) -> Result<opportunity::Model> {
    if input.name.is_none() {
        return Err(AppError::bad_input("name", "required"));
    }
    if input.amount.is_none() {
        return Err(AppError::bad_input("amount", "required"));
    }
    let now = Utc::now();
    let mut opportunity = opportunity::ActiveModel {
        id: Set(Uuid::now_v7()),
        stage_id: Set(pipeline::first_stage(&svc.db).await?.id),
        owner_id: Set(actor.is(Role::Sales).then_some(actor.user_id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    apply(&svc.db, actor, input, &mut opportunity).await?;
    records::insert::<opportunity::Entity>(svc, actor, opportunity).await
}

pub async fn update(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    input: OpportunityInput,
) -> Result<opportunity::Model> {
    records::update::<opportunity::Entity, _>(
        svc,
        actor,
        id,
        "update",
        async |txn, _, opportunity| apply(txn, actor, input, opportunity).await,
    )
    .await
}

async fn apply<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    input: OpportunityInput,
    opportunity: &mut opportunity::ActiveModel,
) -> Result<()> {
    if let Some(name) = input.name {
        opportunity.name = Set(validate::required_text("name", &name, SHORT_TEXT)?);
    }
    if let Some(amount) = input.amount {
        let money = amount.parse("amount")?;
        opportunity.amount_minor = Set(money.minor);
        opportunity.currency = Set(money.currency);
    }
    if let Some(stage) = input.stage_id {
        let stage = pipeline::stage(conn, input::uuid("stageId", &stage)?, "stageId").await?;
        // Entering a closing stage closes the deal; moving back out reopens it. Naming the
        // stage the deal is already in moves nothing.
        if opportunity.stage_id.try_as_ref() != Some(&stage.id) {
            opportunity.closed_at = Set((stage.is_won || stage.is_lost).then(Utc::now));
        }
        opportunity.stage_id = Set(stage.id);
    }
    if let Some(account) = patch(input.account_id, |id| input::uuid("accountId", &id))? {
        if let Some(account) = account {
            records::ensure_reference::<entity::account::Entity>(conn, actor, account, "accountId")
                .await?;
        }
        opportunity.account_id = Set(account);
    }
    if let Some(contact) = patch(input.contact_id, |id| input::uuid("contactId", &id))? {
        if let Some(contact) = contact {
            records::ensure_reference::<entity::contact::Entity>(conn, actor, contact, "contactId")
                .await?;
        }
        opportunity.contact_id = Set(contact);
    }
    if let Some(lead) = patch(input.lead_id, |id| input::uuid("leadId", &id))? {
        if let Some(lead) = lead {
            records::ensure_reference::<lead::Entity>(conn, actor, lead, "leadId").await?;
        }
        opportunity.lead_id = Set(lead);
    }
    if let Some(date) = patch(input.close_date, |day| {
        validate::date("closeDate", &day).map(|()| day)
    })? {
        opportunity.close_date = Set(date);
    }
    if let Some(owner) = patch(input.owner_id, |id| input::uuid("ownerId", &id))? {
        opportunity.owner_id = Set(owner);
    }
    if let Some(v) = patch_text("lostReason", input.lost_reason, SHORT_TEXT)? {
        opportunity.lost_reason = Set(v);
    }
    Ok(())
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum OpportunityOrderField {
    CreatedAt,
    UpdatedAt,
    Name,
    Amount,
}

impl SortField<opportunity::Model> for OpportunityOrderField {
    fn expr(self) -> SimpleExpr {
        match self {
            Self::CreatedAt => col(opportunity::Column::CreatedAt),
            Self::UpdatedAt => col(opportunity::Column::UpdatedAt),
            Self::Name => col(opportunity::Column::Name),
            Self::Amount => col(opportunity::Column::AmountMinor),
        }
    }

    fn value(self, opportunity: &opportunity::Model) -> SortValue {
        match self {
            Self::CreatedAt => SortValue::Time(opportunity.created_at),
            Self::UpdatedAt => SortValue::Time(opportunity.updated_at),
            Self::Name => SortValue::Text(opportunity.name.clone()),
            Self::Amount => SortValue::Int(opportunity.amount_minor),
        }
    }

    fn kind(self) -> SortKind {
        match self {
            Self::CreatedAt | Self::UpdatedAt => SortKind::Time,
            Self::Name => SortKind::Text,
            Self::Amount => SortKind::Int,
        }
    }
}

/// Narrows a list of opportunities; every field given must match, `and`/`or`/`not` combine
/// filters.
#[derive(InputObject, Default)]
pub struct OpportunityFilter {
    pub and: Option<Vec<OpportunityFilter>>,
    pub or: Option<Vec<OpportunityFilter>>,
    pub not: Option<Box<OpportunityFilter>>,
    pub name: Option<StringFilter>,
    pub stage_id: Option<IdFilter>,
    pub owner_id: Option<IdFilter>,
    pub account_id: Option<IdFilter>,
    pub lead_id: Option<IdFilter>,
    /// The amount in minor units of its currency (cents for USD).
    pub amount_minor: Option<IntFilter>,
    pub currency: Option<StringFilter>,
    pub created_at: Option<DateTimeFilter>,
    pub closed_at: Option<DateTimeFilter>,
}

/// Field rule on lists: a role that may not see amounts may not filter or order by them
/// either, since the matching rows (and the cursors of an amount order) would reveal them.
pub fn ensure_amounts_queryable(
    actor: &Actor,
    filter: Option<&OpportunityFilter>,
    order: impl IntoIterator<Item = OpportunityOrderField>,
) -> Result<()> {
    if scope::can_see_amounts(actor) {
        return Ok(());
    }
    let by_amount = filter.is_some_and(OpportunityFilter::tests_amount)
        || order
            .into_iter()
            .any(|field| field == OpportunityOrderField::Amount);
    if by_amount {
        return Err(AppError::forbidden(format!(
            "the {} role cannot filter or order opportunities by amount",
            actor.role.as_str()
        )));
    }
    Ok(())
}

impl OpportunityFilter {
    /// Whether any part of the filter, however nested, tests the amount.
    fn tests_amount(&self) -> bool {
        self.amount_minor.is_some()
            || self.and.iter().flatten().any(Self::tests_amount)
            || self.or.iter().flatten().any(Self::tests_amount)
            || self.not.as_deref().is_some_and(Self::tests_amount)
    }

    pub fn condition(&self) -> Result<Condition> {
        use opportunity::Column as C;
        Conditions::default()
            .on(&self.name, "name", C::Name)?
            .on(&self.stage_id, "stageId", C::StageId)?
            .on(&self.owner_id, "ownerId", C::OwnerId)?
            .on(&self.account_id, "accountId", C::AccountId)?
            .on(&self.lead_id, "leadId", C::LeadId)?
            .on(&self.amount_minor, "amountMinor", C::AmountMinor)?
            .on(&self.currency, "currency", C::Currency)?
            .on(&self.created_at, "createdAt", C::CreatedAt)?
            .on(&self.closed_at, "closedAt", C::ClosedAt)?
            .combine(&self.and, &self.or, &self.not, Self::condition)
    }
}
