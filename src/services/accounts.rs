//! Accounts: companies, arranged in a parent/child hierarchy that must never loop.

use async_graphql::{ID, InputObject, MaybeUndefined};
use chrono::Utc;
use entity::{
    account,
    enums::{AccountStatus, Role},
};
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect, Set};
use uuid::Uuid;

use crate::services::{
    filter::{Conditions, DateTimeFilter, EnumFilter, IdFilter, StringFilter, col},
    page::{SortField, SortKind, SortValue},
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

/// Deeper hierarchies than this are refused; real ones are a handful of levels.
const MAX_DEPTH: usize = 64;

impl Record for account::Entity {
    type OrderField = AccountOrderField;
    const KIND: &'static str = "account";
    const READERS: &'static [Role] = &[
        Role::Admin,
        Role::Manager,
        Role::Sales,
        Role::Marketing,
        Role::Support,
    ];
    const WRITERS: &'static [Role] = &[Role::Admin, Role::Manager, Role::Sales, Role::Support];
    fn id_column() -> account::Column {
        account::Column::Id
    }
    fn owner_column() -> Option<account::Column> {
        Some(account::Column::OwnerId)
    }
    fn archived_at_column() -> Option<account::Column> {
        Some(account::Column::ArchivedAt)
    }
    fn updated_at_column() -> Option<account::Column> {
        Some(account::Column::UpdatedAt)
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
}

pub async fn create(svc: &Services, actor: &Actor, input: AccountInput) -> Result<account::Model> {
    if input.name.is_none() {
        return Err(AppError::bad_input("name", "required"));
    }
    let now = Utc::now();
    let id = Uuid::now_v7();
    let mut account = account::ActiveModel {
        id: Set(id),
        status: Set(AccountStatus::Prospect),
        owner_id: Set(actor.is(Role::Sales).then_some(actor.user_id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    apply(svc, &svc.db, actor, id, input, &mut account).await?;
    records::insert::<account::Entity>(svc, actor, account).await
}

pub async fn update(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    input: AccountInput,
) -> Result<account::Model> {
    records::update::<account::Entity, _>(svc, actor, id, "update", async |txn, _, account| {
        apply(svc, txn, actor, id, input, account).await
    })
    .await
}

async fn apply<C: ConnectionTrait>(
    svc: &Services,
    conn: &C,
    actor: &Actor,
    id: Uuid,
    input: AccountInput,
    account: &mut account::ActiveModel,
) -> Result<()> {
    if let Some(name) = input.name {
        account.name = Set(validate::required_text("name", &name, SHORT_TEXT)?);
    }
    if let Some(v) = patch_text("domain", input.domain, SHORT_TEXT)? {
        account.domain = Set(v.map(|d| d.to_lowercase()));
    }
    if let Some(v) = patch_text("industry", input.industry, SHORT_TEXT)? {
        account.industry = Set(v);
    }
    if let Some(v) = patch(input.phone, |p| {
        validate::phone("phone", &p, &svc.config.default_phone_region)
    })? {
        account.phone = Set(v);
    }
    if let Some(parent) = patch(input.parent_id, |p| input::uuid("parentId", &p))? {
        if let Some(parent) = parent {
            records::ensure_reference::<account::Entity>(conn, actor, parent, "parentId").await?;
            ensure_no_cycle(conn, id, parent).await?;
        }
        account.parent_id = Set(parent);
    }
    if let Some(status) = input.status {
        account.status = Set(status);
    }
    if let Some(v) = patch_text("territory", input.territory, SHORT_TEXT)? {
        account.territory = Set(v);
    }
    if let Some(owner) = patch(input.owner_id, |id| input::uuid("ownerId", &id))? {
        account.owner_id = Set(owner);
    }
    Ok(())
}

/// Walks up from `parent`; meeting `child` on the way means the new link would close a loop.
async fn ensure_no_cycle<C: ConnectionTrait>(conn: &C, child: Uuid, parent: Uuid) -> Result<()> {
    let mut cursor = Some(parent);
    for _ in 0..MAX_DEPTH {
        let Some(current) = cursor else { return Ok(()) };
        if current == child {
            return Err(AppError::bad_input(
                "parentId",
                "this parent would make the account hierarchy a loop",
            ));
        }
        cursor = account::Entity::find_by_id(current)
            .select_only()
            .column(account::Column::ParentId)
            .into_tuple::<Option<Uuid>>()
            .one(conn)
            .await?
            .flatten();
    }
    Err(AppError::bad_input(
        "parentId",
        format!("account hierarchies are limited to {MAX_DEPTH} levels"),
    ))
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum AccountOrderField {
    CreatedAt,
    UpdatedAt,
    Name,
}

impl SortField<account::Model> for AccountOrderField {
    fn expr(self) -> SimpleExpr {
        match self {
            Self::CreatedAt => col(account::Column::CreatedAt),
            Self::UpdatedAt => col(account::Column::UpdatedAt),
            Self::Name => col(account::Column::Name),
        }
    }

    fn value(self, account: &account::Model) -> SortValue {
        match self {
            Self::CreatedAt => SortValue::Time(account.created_at),
            Self::UpdatedAt => SortValue::Time(account.updated_at),
            Self::Name => SortValue::Text(account.name.clone()),
        }
    }

    fn kind(self) -> SortKind {
        match self {
            Self::CreatedAt | Self::UpdatedAt => SortKind::Time,
            Self::Name => SortKind::Text,
        }
    }
}

/// Narrows a list of accounts; every field given must match, `and`/`or`/`not` combine filters.
#[derive(InputObject, Default)]
pub struct AccountFilter {
    pub and: Option<Vec<AccountFilter>>,
    pub or: Option<Vec<AccountFilter>>,
    pub not: Option<Box<AccountFilter>>,
    pub name: Option<StringFilter>,
    pub domain: Option<StringFilter>,
    pub industry: Option<StringFilter>,
    pub territory: Option<StringFilter>,
    pub status: Option<EnumFilter<AccountStatus>>,
    pub parent_id: Option<IdFilter>,
    pub owner_id: Option<IdFilter>,
    pub created_at: Option<DateTimeFilter>,
}

impl AccountFilter {
    pub fn condition(&self) -> Result<Condition> {
        use account::Column as C;
        Conditions::default()
            .on(&self.name, "name", C::Name)?
            .on(&self.domain, "domain", C::Domain)?
            .on(&self.industry, "industry", C::Industry)?
            .on(&self.territory, "territory", C::Territory)?
            .on(&self.status, "status", C::Status)?
            .on(&self.parent_id, "parentId", C::ParentId)?
            .on(&self.owner_id, "ownerId", C::OwnerId)?
            .on(&self.created_at, "createdAt", C::CreatedAt)?
            .combine(&self.and, &self.or, &self.not, Self::condition)
    }
}
