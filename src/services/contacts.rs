//! Contacts: qualified people, usually at an account.

use async_graphql::{ID, InputObject, MaybeUndefined};
use chrono::Utc;
use entity::{
    contact,
    enums::{LifecycleStage, Role},
};
use sea_orm::{ConnectionTrait, Set};
use uuid::Uuid;

use crate::services::{
    filter::{Conditions, DateTimeFilter, EnumFilter, IdFilter, StringFilter, col},
    page::{SortField, SortKind, SortValue, text_key},
};
use crate::{
    actor::Actor,
    error::{AppError, Result},
    services::{
        Services,
        input::{self, SHORT_TEXT, patch, patch_text},
        records::{self, Record},
    },
    validate,
};
use async_graphql::Enum;
use sea_orm::{Condition, sea_query::SimpleExpr};

impl Record for contact::Entity {
    type OrderField = ContactOrderField;
    const KIND: &'static str = "contact";
    const READERS: &'static [Role] = &[
        Role::Admin,
        Role::Manager,
        Role::Sales,
        Role::Marketing,
        Role::Support,
    ];
    const WRITERS: &'static [Role] = &[
        Role::Admin,
        Role::Manager,
        Role::Sales,
        Role::Marketing,
        Role::Support,
    ];
    fn id_column() -> contact::Column {
        contact::Column::Id
    }
    fn owner_column() -> Option<contact::Column> {
        Some(contact::Column::OwnerId)
    }
    fn archived_at_column() -> Option<contact::Column> {
        Some(contact::Column::ArchivedAt)
    }
    fn updated_at_column() -> Option<contact::Column> {
        Some(contact::Column::UpdatedAt)
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
    pub lifecycle_stage: Option<LifecycleStage>,
}

pub async fn create(svc: &Services, actor: &Actor, input: ContactInput) -> Result<contact::Model> {
    let identified = [&input.email, &input.phone, &input.last_name]
        .iter()
        .any(|field| matches!(field, MaybeUndefined::Value(v) if !v.trim().is_empty()));
    if !identified {
        return Err(AppError::bad_input(
            "input",
            "a contact needs an email, a phone or a last name",
        ));
    }
    let now = Utc::now();
    let mut contact = contact::ActiveModel {
        id: Set(Uuid::now_v7()),
        lifecycle_stage: Set(LifecycleStage::Customer),
        owner_id: Set(actor.is(Role::Sales).then_some(actor.user_id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    apply(svc, &svc.db, actor, input, &mut contact).await?;
    records::insert::<contact::Entity>(svc, actor, contact).await
}

pub async fn update(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    input: ContactInput,
) -> Result<contact::Model> {
    records::update::<contact::Entity, _>(svc, actor, id, "update", async |txn, _, contact| {
        apply(svc, txn, actor, input, contact).await
    })
    .await
}

async fn apply<C: ConnectionTrait>(
    svc: &Services,
    conn: &C,
    actor: &Actor,
    input: ContactInput,
    contact: &mut contact::ActiveModel,
) -> Result<()> {
    if let Some(v) = patch_text("firstName", input.first_name, SHORT_TEXT)? {
        contact.first_name = Set(v);
    }
    if let Some(v) = patch_text("lastName", input.last_name, SHORT_TEXT)? {
        contact.last_name = Set(v);
    }
    if let Some(v) = patch(input.email, |e| validate::email("email", &e))? {
        contact.email = Set(v);
    }
    if let Some(v) = patch(input.phone, |p| {
        validate::phone("phone", &p, &svc.config.default_phone_region)
    })? {
        contact.phone = Set(v);
    }
    if let Some(v) = patch_text("title", input.title, SHORT_TEXT)? {
        contact.title = Set(v);
    }
    if let Some(account) = patch(input.account_id, |id| input::uuid("accountId", &id))? {
        if let Some(account) = account {
            records::ensure_reference::<entity::account::Entity>(conn, actor, account, "accountId")
                .await?;
        }
        contact.account_id = Set(account);
    }
    if let Some(owner) = patch(input.owner_id, |id| input::uuid("ownerId", &id))? {
        contact.owner_id = Set(owner);
    }
    if let Some(stage) = input.lifecycle_stage {
        contact.lifecycle_stage = Set(stage);
    }
    Ok(())
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ContactOrderField {
    CreatedAt,
    UpdatedAt,
    Email,
    LastName,
}

impl SortField<contact::Model> for ContactOrderField {
    fn expr(self) -> SimpleExpr {
        match self {
            Self::CreatedAt => col(contact::Column::CreatedAt),
            Self::UpdatedAt => col(contact::Column::UpdatedAt),
            Self::Email => text_key(contact::Column::Email),
            Self::LastName => text_key(contact::Column::LastName),
        }
    }

    fn value(self, contact: &contact::Model) -> SortValue {
        match self {
            Self::CreatedAt => SortValue::Time(contact.created_at),
            Self::UpdatedAt => SortValue::Time(contact.updated_at),
            Self::Email => SortValue::Text(contact.email.clone().unwrap_or_default()),
            Self::LastName => SortValue::Text(contact.last_name.clone().unwrap_or_default()),
        }
    }

    fn kind(self) -> SortKind {
        match self {
            Self::CreatedAt | Self::UpdatedAt => SortKind::Time,
            Self::Email | Self::LastName => SortKind::Text,
        }
    }
}

/// Narrows a list of contacts; every field given must match, `and`/`or`/`not` combine filters.
#[derive(InputObject, Default)]
pub struct ContactFilter {
    pub and: Option<Vec<ContactFilter>>,
    pub or: Option<Vec<ContactFilter>>,
    pub not: Option<Box<ContactFilter>>,
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
}

impl ContactFilter {
    pub fn condition(&self) -> Result<Condition> {
        use contact::Column as C;
        Conditions::default()
            .on(&self.email, "email", C::Email)?
            .on(&self.first_name, "firstName", C::FirstName)?
            .on(&self.last_name, "lastName", C::LastName)?
            .on(&self.phone, "phone", C::Phone)?
            .on(&self.title, "title", C::Title)?
            .on(&self.lifecycle_stage, "lifecycleStage", C::LifecycleStage)?
            .on(&self.account_id, "accountId", C::AccountId)?
            .on(&self.owner_id, "ownerId", C::OwnerId)?
            .on(&self.created_at, "createdAt", C::CreatedAt)?
            .on(&self.updated_at, "updatedAt", C::UpdatedAt)?
            .combine(&self.and, &self.or, &self.not, Self::condition)
    }
}
