//! Accounts: companies, arranged in a parent/child hierarchy that must never loop.

use chrono::Utc;
use entity::{
    account,
    enums::{AccountStatus, CustomFieldRecordType, CustomFieldRecordType::Account, Role},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, Set,
};
use uuid::Uuid;

use crate::services::{
    filter::{Filter, col},
    page::{SortDirection, SortField, SortKind, SortValue, int_key, score},
};
use crate::{
    actor::Actor,
    error::{AppError, Result},
    services::{
        Services,
        custom_fields::{self, FieldValue},
        custom_order::{CustomSort, WithCustomFields},
        input::{Patch, SHORT_TEXT},
        match_keys,
        records::{self, Parent, Record, Written},
        scope,
    },
    validate,
};
use sea_orm::sea_query::SimpleExpr;

/// Deeper hierarchies than this are refused; real ones are a handful of levels.
const MAX_DEPTH: usize = 64;

impl WithCustomFields for account::Entity {
    const RECORD_TYPE: CustomFieldRecordType = CustomFieldRecordType::Account;
    fn custom_fields_column() -> account::Column {
        account::Column::CustomFields
    }
}

impl Record for account::Entity {
    fn match_keys(account: &account::Model) -> Option<(CustomFieldRecordType, Vec<String>)> {
        let keys = match_keys::company(
            &account.name,
            account.canonical_domain.as_deref(),
            account.phone.as_deref(),
        );
        Some((Account, keys))
    }
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
    fn search_text() -> Option<(account::Column, Vec<account::Column>)> {
        Some((
            account::Column::SearchText,
            vec![
                account::Column::Name,
                account::Column::Domain,
                account::Column::Industry,
            ],
        ))
    }
    fn archived_at_column() -> Option<account::Column> {
        Some(account::Column::ArchivedAt)
    }
    fn updated_at_column() -> Option<account::Column> {
        Some(account::Column::UpdatedAt)
    }
    fn merged_into_column() -> Option<account::Column> {
        Some(account::Column::MergedIntoId)
    }
    fn tracked() -> Vec<account::Column> {
        vec![account::Column::Status]
    }
    /// Field rule on lists: a role that may not see amounts may not filter or order by the
    /// monetary score either, which would rank accounts by what they paid.
    fn ensure_listable(
        actor: &Actor,
        filter: &Filter<account::Column>,
        order: &[(AccountOrderField, SortDirection)],
    ) -> Result<()> {
        let by_money = filter.tests_column(account::Column::RfmMonetaryScore)
            || order
                .iter()
                .any(|(field, _)| *field == AccountOrderField::RfmMonetaryScore);
        scope::ensure_not_ranked_by_money(actor, by_money, Self::KIND)
    }
}

/// The accounts directly below one in the hierarchy.
pub fn of_parent() -> Parent<account::Entity> {
    Parent(account::Column::ParentId)
}

/// Fields of an account a user may set; what is left as [`Patch::Keep`] stays as it is.
/// `name` is required on create; the owner defaults to the creating sales rep.
#[derive(Clone, Debug, Default)]
pub struct AccountChanges {
    pub name: Option<String>,
    pub domain: Patch<String>,
    pub industry: Patch<String>,
    pub phone: Patch<String>,
    /// The parent in the account hierarchy; a parent that would make a loop is refused.
    pub parent_id: Patch<Uuid>,
    pub status: Option<AccountStatus>,
    pub territory: Patch<String>,
    pub owner_id: Patch<Uuid>,
    /// Custom field values to set, merged into the stored ones; `None` for a writer that
    /// sets none (see [`custom_fields::write_into`]).
    pub custom_field_values: Option<Vec<FieldValue>>,
}

pub async fn create(
    svc: &Services,
    actor: &Actor,
    input: AccountChanges,
) -> Result<account::Model> {
    records::alone::<account::Entity>(svc, actor, async |txn| {
        create_in(svc, txn, actor, input).await
    })
    .await
}

/// [`create`] inside the caller's transaction; the caller publishes the event once it commits.
pub async fn create_in(
    svc: &Services,
    txn: &DatabaseTransaction,
    actor: &Actor,
    mut input: AccountChanges,
) -> Result<Written<account::Model>> {
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
    let values = input.custom_field_values.take();
    apply(svc, txn, actor, id, input, &mut account).await?;
    let region = &svc.config.default_phone_region;
    custom_fields::write_into(
        txn,
        region,
        Account,
        &mut account.custom_fields,
        values,
        true,
    )
    .await?;
    records::insert_in::<account::Entity>(txn, actor, account).await
}

pub async fn update(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    input: AccountChanges,
) -> Result<account::Model> {
    records::alone::<account::Entity>(svc, actor, async |txn| {
        update_in(svc, txn, actor, id, input).await
    })
    .await
}

/// [`update`] inside the caller's transaction; the caller publishes the event once it commits.
pub async fn update_in(
    svc: &Services,
    txn: &DatabaseTransaction,
    actor: &Actor,
    id: Uuid,
    mut input: AccountChanges,
) -> Result<Written<account::Model>> {
    records::update_in::<account::Entity, _>(txn, actor, id, "update", async |txn, _, account| {
        let values = input.custom_field_values.take();
        apply(svc, txn, actor, id, input, account).await?;
        let region = &svc.config.default_phone_region;
        custom_fields::write_into(
            txn,
            region,
            Account,
            &mut account.custom_fields,
            values,
            false,
        )
        .await
    })
    .await
}

async fn apply<C: ConnectionTrait>(
    svc: &Services,
    conn: &C,
    actor: &Actor,
    id: Uuid,
    input: AccountChanges,
    account: &mut account::ActiveModel,
) -> Result<()> {
    if let Some(name) = input.name {
        account.name = Set(validate::required_text("name", &name, SHORT_TEXT)?);
    }
    if let Some(v) = input.domain.text("domain", SHORT_TEXT)? {
        let canonical = v.as_deref().and_then(validate::canonical_domain);
        if let Some(domain) = &canonical {
            ensure_domain_free(conn, id, domain).await?;
        }
        account.domain = Set(v.map(|d| d.to_lowercase()));
        account.canonical_domain = Set(canonical);
    }
    if let Some(v) = input.industry.text("industry", SHORT_TEXT)? {
        account.industry = Set(v);
    }
    if let Some(v) = input
        .phone
        .parse(|p| validate::phone("phone", &p, &svc.config.default_phone_region))?
    {
        account.phone = Set(v);
    }
    if let Some(parent) = input.parent_id.change() {
        if let Some(parent) = parent {
            records::ensure_reference::<account::Entity>(conn, actor, parent, "parentId").await?;
            ensure_no_cycle(conn, id, parent).await?;
        }
        account.parent_id = Set(parent);
    }
    if let Some(status) = input.status {
        account.status = Set(status);
    }
    if let Some(v) = input.territory.text("territory", SHORT_TEXT)? {
        account.territory = Set(v);
    }
    if let Some(owner) = input.owner_id.change() {
        account.owner_id = Set(owner);
    }
    Ok(())
}

/// Refuses a domain another account has, whether or not the actor can see that account: the
/// unique index would refuse it anyway, and naming the account lets the caller merge or link.
async fn ensure_domain_free<C: ConnectionTrait>(conn: &C, id: Uuid, domain: &str) -> Result<()> {
    let holder = account::Entity::find()
        .select_only()
        .column(account::Column::Id)
        .filter(account::Column::CanonicalDomain.eq(domain))
        .filter(account::Column::Id.ne(id))
        .into_tuple::<Uuid>()
        .one(conn)
        .await?;
    match holder {
        Some(holder) => Err(AppError::conflict(
            "domain",
            format!("account {holder} already has the domain {domain}"),
        )),
        None => Ok(()),
    }
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

#[derive(Clone, PartialEq, Eq, Debug)]
pub enum AccountOrderField {
    CreatedAt,
    UpdatedAt,
    Name,
    /// Accounts that never paid sort as 0.
    RfmRecencyScore,
    RfmFrequencyScore,
    RfmMonetaryScore,
    /// A custom field, typed by its definition.
    Custom(CustomSort),
}

impl SortField<account::Model> for AccountOrderField {
    fn expr(&self) -> SimpleExpr {
        match self {
            Self::CreatedAt => col(account::Column::CreatedAt),
            Self::UpdatedAt => col(account::Column::UpdatedAt),
            Self::Name => col(account::Column::Name),
            Self::RfmRecencyScore => int_key(account::Column::RfmRecencyScore),
            Self::RfmFrequencyScore => int_key(account::Column::RfmFrequencyScore),
            Self::RfmMonetaryScore => int_key(account::Column::RfmMonetaryScore),
            Self::Custom(sort) => sort.expr(),
        }
    }

    fn value(&self, account: &account::Model) -> SortValue {
        match self {
            Self::CreatedAt => SortValue::Time(account.created_at),
            Self::UpdatedAt => SortValue::Time(account.updated_at),
            Self::Name => SortValue::Text(account.name.clone()),
            Self::RfmRecencyScore => score(account.rfm_recency_score),
            Self::RfmFrequencyScore => score(account.rfm_frequency_score),
            Self::RfmMonetaryScore => score(account.rfm_monetary_score),
            Self::Custom(sort) => sort.value(&account.custom_fields),
        }
    }

    fn kind(&self) -> SortKind {
        match self {
            Self::CreatedAt | Self::UpdatedAt => SortKind::Time,
            Self::Name => SortKind::Text,
            Self::RfmRecencyScore | Self::RfmFrequencyScore | Self::RfmMonetaryScore => {
                SortKind::Int
            }
            Self::Custom(sort) => sort.kind(),
        }
    }

    fn missing(&self) -> Option<SimpleExpr> {
        match self {
            Self::Custom(sort) => Some(sort.missing()),
            _ => None,
        }
    }

    fn is_missing(&self, account: &account::Model) -> bool {
        matches!(self, Self::Custom(sort) if sort.is_missing(&account.custom_fields))
    }
}

impl From<CustomSort> for AccountOrderField {
    fn from(sort: CustomSort) -> Self {
        Self::Custom(sort)
    }
}
