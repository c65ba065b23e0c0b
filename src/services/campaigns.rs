//! Campaigns: marketing efforts, matched to touchpoints by their `utm_campaign` key.

use async_graphql::{InputObject, MaybeUndefined};
use chrono::{NaiveDate, Utc};
use entity::{
    campaign,
    enums::{CampaignStatus, Role},
};
use sea_orm::Set;
use uuid::Uuid;

use crate::services::{
    filter::{Conditions, DateTimeFilter, EnumFilter, StringFilter, col},
    page::{SortField, SortKind, SortValue},
};
use crate::{
    actor::Actor,
    error::{AppError, Result},
    services::{
        Services,
        input::{MoneyInput, SHORT_TEXT, patch, patch_text},
        records::{self, Record},
    },
    validate,
};
use async_graphql::Enum;
use sea_orm::{Condition, sea_query::SimpleExpr};

impl Record for campaign::Entity {
    type OrderField = CampaignOrderField;
    const KIND: &'static str = "campaign";
    const READERS: &'static [Role] = &[
        Role::Admin,
        Role::Manager,
        Role::Sales,
        Role::Marketing,
        Role::Support,
    ];
    const WRITERS: &'static [Role] = &[Role::Admin, Role::Manager, Role::Marketing];
    fn id_column() -> campaign::Column {
        campaign::Column::Id
    }
    fn owner_column() -> Option<campaign::Column> {
        None
    }
    fn archived_at_column() -> Option<campaign::Column> {
        Some(campaign::Column::ArchivedAt)
    }
    fn updated_at_column() -> Option<campaign::Column> {
        Some(campaign::Column::UpdatedAt)
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

pub async fn create(
    svc: &Services,
    actor: &Actor,
    input: CampaignInput,
) -> Result<campaign::Model> {
    if input.name.is_none() {
        return Err(AppError::bad_input("name", "required"));
    }
    let now = Utc::now();
    let mut campaign = campaign::ActiveModel {
        id: Set(Uuid::now_v7()),
        status: Set(CampaignStatus::Planned),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    apply(input, &mut campaign, None)?;
    records::insert::<campaign::Entity>(svc, actor, campaign).await
}

pub async fn update(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    input: CampaignInput,
) -> Result<campaign::Model> {
    records::update::<campaign::Entity, _>(svc, actor, id, "update", async |_, before, campaign| {
        apply(input, campaign, Some(before))
    })
    .await
}

fn apply(
    input: CampaignInput,
    campaign: &mut campaign::ActiveModel,
    before: Option<&campaign::Model>,
) -> Result<()> {
    if let Some(name) = input.name {
        campaign.name = Set(validate::required_text("name", &name, SHORT_TEXT)?);
    }
    if let Some(v) = patch_text("utmCampaign", input.utm_campaign, SHORT_TEXT)? {
        campaign.utm_campaign = Set(v.map(|key| key.to_lowercase()));
    }
    if let Some(v) = patch_text("channel", input.channel, SHORT_TEXT)? {
        campaign.channel = Set(v);
    }
    if let Some(status) = input.status {
        campaign.status = Set(status);
    }
    if let Some(cost) = patch(input.cost, |m| m.parse("cost"))? {
        campaign.currency = Set(cost.as_ref().map(|m| m.currency.clone()));
        campaign.cost_minor = Set(cost.map(|m| m.minor));
    }
    let starts = patch(input.starts_on, |day| {
        validate::date("startsOn", &day).map(|()| day)
    })?;
    let ends = patch(input.ends_on, |day| {
        validate::date("endsOn", &day).map(|()| day)
    })?;
    let effective_start = starts.unwrap_or_else(|| before.and_then(|b| b.starts_on));
    let effective_end = ends.unwrap_or_else(|| before.and_then(|b| b.ends_on));
    if let (Some(start), Some(end)) = (effective_start, effective_end)
        && end < start
    {
        return Err(AppError::bad_input("endsOn", "must not be before startsOn"));
    }
    if let Some(v) = starts {
        campaign.starts_on = Set(v);
    }
    if let Some(v) = ends {
        campaign.ends_on = Set(v);
    }
    Ok(())
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum CampaignOrderField {
    CreatedAt,
    Name,
}

impl SortField<campaign::Model> for CampaignOrderField {
    fn expr(self) -> SimpleExpr {
        match self {
            Self::CreatedAt => col(campaign::Column::CreatedAt),
            Self::Name => col(campaign::Column::Name),
        }
    }

    fn value(self, campaign: &campaign::Model) -> SortValue {
        match self {
            Self::CreatedAt => SortValue::Time(campaign.created_at),
            Self::Name => SortValue::Text(campaign.name.clone()),
        }
    }

    fn kind(self) -> SortKind {
        match self {
            Self::CreatedAt => SortKind::Time,
            Self::Name => SortKind::Text,
        }
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

impl CampaignFilter {
    pub fn condition(&self) -> Result<Condition> {
        use campaign::Column as C;
        Conditions::default()
            .on(&self.name, "name", C::Name)?
            .on(&self.utm_campaign, "utmCampaign", C::UtmCampaign)?
            .on(&self.channel, "channel", C::Channel)?
            .on(&self.status, "status", C::Status)?
            .on(&self.created_at, "createdAt", C::CreatedAt)?
            .combine(&self.and, &self.or, &self.not, Self::condition)
    }
}
