//! Campaigns: marketing efforts, matched to touchpoints by their `utm_campaign` key.

use chrono::{NaiveDate, Utc};
use entity::{
    campaign,
    enums::{CampaignStatus, Role},
};
use sea_orm::Set;
use uuid::Uuid;

use crate::services::{
    filter::col,
    page::{SortField, SortKind, SortValue},
};
use crate::{
    actor::Actor,
    error::{AppError, Result},
    services::{
        Services,
        input::{MoneyText, Patch, SHORT_TEXT},
        records::{self, Record},
    },
    validate,
};
use sea_orm::sea_query::SimpleExpr;

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

/// Fields of a campaign a user may set; what is left as [`Patch::Keep`] stays as it is.
/// `name` is required on create.
#[derive(Clone, Debug, Default)]
pub struct CampaignChanges {
    pub name: Option<String>,
    /// The `utm_campaign` value that links touchpoints to this campaign; unique, lowercased.
    pub utm_campaign: Patch<String>,
    pub channel: Patch<String>,
    pub status: Option<CampaignStatus>,
    pub cost: Patch<MoneyText>,
    pub starts_on: Patch<NaiveDate>,
    pub ends_on: Patch<NaiveDate>,
}

pub async fn create(
    svc: &Services,
    actor: &Actor,
    input: CampaignChanges,
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
    input: CampaignChanges,
) -> Result<campaign::Model> {
    records::update::<campaign::Entity, _>(svc, actor, id, "update", async |_, before, campaign| {
        apply(input, campaign, Some(before))
    })
    .await
}

fn apply(
    input: CampaignChanges,
    campaign: &mut campaign::ActiveModel,
    before: Option<&campaign::Model>,
) -> Result<()> {
    if let Some(name) = input.name {
        campaign.name = Set(validate::required_text("name", &name, SHORT_TEXT)?);
    }
    if let Some(v) = input.utm_campaign.text("utmCampaign", SHORT_TEXT)? {
        campaign.utm_campaign = Set(v.map(|key| key.to_lowercase()));
    }
    if let Some(v) = input.channel.text("channel", SHORT_TEXT)? {
        campaign.channel = Set(v);
    }
    if let Some(status) = input.status {
        campaign.status = Set(status);
    }
    if let Some(cost) = input.cost.parse(|m| m.parse("cost"))? {
        campaign.currency = Set(cost.as_ref().map(|m| m.currency.clone()));
        campaign.cost_minor = Set(cost.map(|m| m.minor));
    }
    let starts = input
        .starts_on
        .parse(|day| validate::date("startsOn", &day).map(|()| day))?;
    let ends = input
        .ends_on
        .parse(|day| validate::date("endsOn", &day).map(|()| day))?;
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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CampaignOrderField {
    CreatedAt,
    Name,
}

impl SortField<campaign::Model> for CampaignOrderField {
    fn expr(&self) -> SimpleExpr {
        match self {
            Self::CreatedAt => col(campaign::Column::CreatedAt),
            Self::Name => col(campaign::Column::Name),
        }
    }

    fn value(&self, campaign: &campaign::Model) -> SortValue {
        match self {
            Self::CreatedAt => SortValue::Time(campaign.created_at),
            Self::Name => SortValue::Text(campaign.name.clone()),
        }
    }

    fn kind(&self) -> SortKind {
        match self {
            Self::CreatedAt => SortKind::Time,
            Self::Name => SortKind::Text,
        }
    }
}
