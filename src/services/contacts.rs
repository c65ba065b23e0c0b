//! Contacts: qualified people, usually at an account.

use chrono::Utc;
use entity::{
    contact,
    enums::{CustomFieldRecordType, CustomFieldRecordType::Contact, LifecycleStage, Role},
};
use sea_orm::{ConnectionTrait, DatabaseTransaction, Set};
use uuid::Uuid;

use crate::services::{
    filter::{Filter, col},
    page::{SortDirection, SortField, SortKind, SortValue, int_key, score, text_key},
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

impl WithCustomFields for contact::Entity {
    const RECORD_TYPE: CustomFieldRecordType = CustomFieldRecordType::Contact;
    fn custom_fields_column() -> contact::Column {
        contact::Column::CustomFields
    }
}

impl Record for contact::Entity {
    fn match_keys(contact: &contact::Model) -> Option<(CustomFieldRecordType, Vec<String>)> {
        let keys = match_keys::person(
            contact.email.as_deref(),
            contact.phone.as_deref(),
            contact.first_name.as_deref(),
            contact.last_name.as_deref(),
            None,
        );
        Some((Contact, keys))
    }
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
    fn search_text() -> Option<(contact::Column, Vec<contact::Column>)> {
        Some((
            contact::Column::SearchText,
            vec![
                contact::Column::FirstName,
                contact::Column::LastName,
                contact::Column::Email,
                contact::Column::Phone,
                contact::Column::Title,
            ],
        ))
    }
    fn archived_at_column() -> Option<contact::Column> {
        Some(contact::Column::ArchivedAt)
    }
    fn updated_at_column() -> Option<contact::Column> {
        Some(contact::Column::UpdatedAt)
    }
    fn merged_into_column() -> Option<contact::Column> {
        Some(contact::Column::MergedIntoId)
    }
    fn tracked() -> Vec<contact::Column> {
        vec![contact::Column::LifecycleStage]
    }
    /// Field rule on lists: as for accounts, no ranking by monetary score without the right
    /// to see amounts.
    fn ensure_listable(
        actor: &Actor,
        filter: &Filter<contact::Column>,
        order: &[(ContactOrderField, SortDirection)],
    ) -> Result<()> {
        let by_money = filter.tests_column(contact::Column::RfmMonetaryScore)
            || order
                .iter()
                .any(|(field, _)| *field == ContactOrderField::RfmMonetaryScore);
        scope::ensure_not_ranked_by_money(actor, by_money, Self::KIND)
    }
}

/// An account's contacts.
pub fn of_account() -> Parent<contact::Entity> {
    Parent(contact::Column::AccountId)
}

/// Fields of a contact a user may set; what is left as [`Patch::Keep`] stays as it is. On
/// create, an email, a phone or a last name is required.
#[derive(Clone, Debug, Default)]
pub struct ContactChanges {
    pub first_name: Patch<String>,
    pub last_name: Patch<String>,
    pub email: Patch<String>,
    pub phone: Patch<String>,
    pub title: Patch<String>,
    pub account_id: Patch<Uuid>,
    pub owner_id: Patch<Uuid>,
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Custom field values to set, merged into the stored ones; `None` for a writer that
    /// sets none (see [`custom_fields::write_into`]).
    pub custom_field_values: Option<Vec<FieldValue>>,
}

pub async fn create(
    svc: &Services,
    actor: &Actor,
    input: ContactChanges,
) -> Result<contact::Model> {
    records::alone::<contact::Entity>(svc, actor, async |txn| {
        create_in(svc, txn, actor, input).await
    })
    .await
}

/// [`create`] inside the caller's transaction; the caller publishes the event once it commits.
pub async fn create_in(
    svc: &Services,
    txn: &DatabaseTransaction,
    actor: &Actor,
    mut input: ContactChanges,
) -> Result<Written<contact::Model>> {
    let identified = [&input.email, &input.phone, &input.last_name]
        .iter()
        .any(|field| field.has_text());
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
    let values = input.custom_field_values.take();
    apply(svc, txn, actor, input, &mut contact).await?;
    let region = &svc.config.default_phone_region;
    custom_fields::write_into(
        txn,
        region,
        Contact,
        &mut contact.custom_fields,
        values,
        true,
    )
    .await?;
    records::insert_in::<contact::Entity>(txn, actor, contact).await
}

pub async fn update(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    input: ContactChanges,
) -> Result<contact::Model> {
    records::alone::<contact::Entity>(svc, actor, async |txn| {
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
    mut input: ContactChanges,
) -> Result<Written<contact::Model>> {
    records::update_in::<contact::Entity, _>(txn, actor, id, "update", async |txn, _, contact| {
        let values = input.custom_field_values.take();
        apply(svc, txn, actor, input, contact).await?;
        let region = &svc.config.default_phone_region;
        custom_fields::write_into(
            txn,
            region,
            Contact,
            &mut contact.custom_fields,
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
    input: ContactChanges,
    contact: &mut contact::ActiveModel,
) -> Result<()> {
    if let Some(v) = input.first_name.text("firstName", SHORT_TEXT)? {
        contact.first_name = Set(v);
    }
    if let Some(v) = input.last_name.text("lastName", SHORT_TEXT)? {
        contact.last_name = Set(v);
    }
    if let Some(v) = input.email.parse(|e| validate::email("email", &e))? {
        contact.email = Set(v);
    }
    if let Some(v) = input
        .phone
        .parse(|p| validate::phone("phone", &p, &svc.config.default_phone_region))?
    {
        contact.phone = Set(v);
    }
    if let Some(v) = input.title.text("title", SHORT_TEXT)? {
        contact.title = Set(v);
    }
    if let Some(account) = input.account_id.change() {
        if let Some(account) = account {
            records::ensure_reference::<entity::account::Entity>(conn, actor, account, "accountId")
                .await?;
        }
        contact.account_id = Set(account);
    }
    if let Some(owner) = input.owner_id.change() {
        contact.owner_id = Set(owner);
    }
    if let Some(stage) = input.lifecycle_stage {
        contact.lifecycle_stage = Set(stage);
    }
    Ok(())
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ContactOrderField {
    CreatedAt,
    UpdatedAt,
    Email,
    LastName,
    /// Contacts that never paid sort as 0.
    RfmRecencyScore,
    RfmFrequencyScore,
    RfmMonetaryScore,
    /// A custom field, typed by its definition.
    Custom(CustomSort),
}

impl SortField<contact::Model> for ContactOrderField {
    fn expr(&self) -> SimpleExpr {
        match self {
            Self::CreatedAt => col(contact::Column::CreatedAt),
            Self::UpdatedAt => col(contact::Column::UpdatedAt),
            Self::Email => text_key(contact::Column::Email),
            Self::LastName => text_key(contact::Column::LastName),
            Self::RfmRecencyScore => int_key(contact::Column::RfmRecencyScore),
            Self::RfmFrequencyScore => int_key(contact::Column::RfmFrequencyScore),
            Self::RfmMonetaryScore => int_key(contact::Column::RfmMonetaryScore),
            Self::Custom(sort) => sort.expr(),
        }
    }

    fn value(&self, contact: &contact::Model) -> SortValue {
        match self {
            Self::CreatedAt => SortValue::Time(contact.created_at),
            Self::UpdatedAt => SortValue::Time(contact.updated_at),
            Self::Email => SortValue::Text(contact.email.clone().unwrap_or_default()),
            Self::LastName => SortValue::Text(contact.last_name.clone().unwrap_or_default()),
            Self::RfmRecencyScore => score(contact.rfm_recency_score),
            Self::RfmFrequencyScore => score(contact.rfm_frequency_score),
            Self::RfmMonetaryScore => score(contact.rfm_monetary_score),
            Self::Custom(sort) => sort.value(&contact.custom_fields),
        }
    }

    fn kind(&self) -> SortKind {
        match self {
            Self::CreatedAt | Self::UpdatedAt => SortKind::Time,
            Self::Email | Self::LastName => SortKind::Text,
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

    fn is_missing(&self, contact: &contact::Model) -> bool {
        matches!(self, Self::Custom(sort) if sort.is_missing(&contact.custom_fields))
    }
}

impl From<CustomSort> for ContactOrderField {
    fn from(sort: CustomSort) -> Self {
        Self::Custom(sort)
    }
}
