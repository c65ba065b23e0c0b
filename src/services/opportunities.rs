//! Opportunities: deals moving through the pipeline toward won or lost.

use chrono::{NaiveDate, Utc};
use entity::{
    enums::{CustomFieldRecordType, CustomFieldRecordType::Opportunity, Role},
    lead, opportunity,
};
use sea_orm::{ConnectionTrait, DatabaseTransaction, Set};
use uuid::Uuid;

use crate::services::{
    filter::{Filter, col},
    page::{SortDirection, SortField, SortKind, SortValue},
};
use crate::{
    actor::Actor,
    error::{AppError, Result},
    services::{
        Services,
        custom_fields::{self, FieldValue},
        custom_order::{CustomSort, WithCustomFields},
        input::{MoneyText, Patch, SHORT_TEXT},
        match_keys, pipeline,
        records::{self, Record, Written},
        scope,
    },
    validate,
};
use sea_orm::sea_query::SimpleExpr;

impl WithCustomFields for opportunity::Entity {
    const RECORD_TYPE: CustomFieldRecordType = CustomFieldRecordType::Opportunity;
    fn custom_fields_column() -> opportunity::Column {
        opportunity::Column::CustomFields
    }
}

impl Record for opportunity::Entity {
    fn match_keys(
        opportunity: &opportunity::Model,
    ) -> Option<(CustomFieldRecordType, Vec<String>)> {
        let keys = match_keys::deal(
            &opportunity.name,
            opportunity.account_id.map(|id| id.to_string()).as_deref(),
        );
        Some((Opportunity, keys))
    }
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
    fn merged_into_column() -> Option<opportunity::Column> {
        Some(opportunity::Column::MergedIntoId)
    }
    /// Field rule on lists: a role that may not see amounts may not filter or order by them
    /// either, since the matching rows (and the cursors of an amount order) would reveal them.
    fn ensure_listable(
        actor: &Actor,
        filter: &Filter<opportunity::Column>,
        order: &[(OpportunityOrderField, SortDirection)],
    ) -> Result<()> {
        if scope::can_see_amounts(actor) {
            return Ok(());
        }
        let by_amount = filter.tests_column(opportunity::Column::AmountMinor)
            || order
                .iter()
                .any(|(field, _)| *field == OpportunityOrderField::Amount);
        if by_amount {
            return Err(AppError::forbidden(format!(
                "the {} role cannot filter or order opportunities by amount",
                actor.role.as_str()
            )));
        }
        Ok(())
    }
    fn tracked() -> Vec<opportunity::Column> {
        vec![opportunity::Column::StageId]
    }
}

/// Fields of an opportunity a user may set; what is left as [`Patch::Keep`] stays as it is.
/// `name` and `amount` are required on create; the stage defaults to the first open stage of
/// `pipeline_id`, or of the default pipeline.
#[derive(Clone, Debug, Default)]
pub struct OpportunityChanges {
    pub name: Option<String>,
    pub amount: Option<MoneyText>,
    pub stage_id: Option<Uuid>,
    /// Moves the deal to this pipeline's first open stage, or, with `stage_id`, says which
    /// pipeline that stage must be in.
    pub pipeline_id: Option<Uuid>,
    pub account_id: Patch<Uuid>,
    pub contact_id: Patch<Uuid>,
    pub lead_id: Patch<Uuid>,
    pub close_date: Patch<NaiveDate>,
    pub owner_id: Patch<Uuid>,
    pub lost_reason: Patch<String>,
    /// Custom field values to set, merged into the stored ones; `None` for a writer that
    /// sets none (see [`custom_fields::write_into`]).
    pub custom_field_values: Option<Vec<FieldValue>>,
}

pub async fn create(
    svc: &Services,
    actor: &Actor,
    input: OpportunityChanges,
) -> Result<opportunity::Model> {
    records::alone::<opportunity::Entity>(svc, actor, async |txn| {
        create_in(svc, txn, actor, input).await
    })
    .await
}

/// [`create`] inside the caller's transaction; the caller publishes the event once it commits.
pub async fn create_in(
    svc: &Services,
    txn: &DatabaseTransaction,
    actor: &Actor,
    mut input: OpportunityChanges,
) -> Result<Written<opportunity::Model>> {
    if input.name.is_none() {
        return Err(AppError::bad_input("name", "required"));
    }
    if input.amount.is_none() {
        return Err(AppError::bad_input("amount", "required"));
    }
    let now = Utc::now();
    let mut opportunity = opportunity::ActiveModel {
        id: Set(Uuid::now_v7()),
        stage_id: Set(pipeline::first_stage(txn, None).await?.id),
        owner_id: Set(actor.is(Role::Sales).then_some(actor.user_id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let values = input.custom_field_values.take();
    apply(txn, actor, input, &mut opportunity).await?;
    let region = &svc.config.default_phone_region;
    let column = &mut opportunity.custom_fields;
    custom_fields::write_into(txn, region, Opportunity, column, values, true).await?;
    records::insert_in::<opportunity::Entity>(txn, actor, opportunity).await
}

pub async fn update(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    input: OpportunityChanges,
) -> Result<opportunity::Model> {
    records::alone::<opportunity::Entity>(svc, actor, async |txn| {
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
    mut input: OpportunityChanges,
) -> Result<Written<opportunity::Model>> {
    records::update_in::<opportunity::Entity, _>(
        txn,
        actor,
        id,
        "update",
        async |txn, _, opportunity| {
            let values = input.custom_field_values.take();
            apply(txn, actor, input, opportunity).await?;
            let region = &svc.config.default_phone_region;
            let column = &mut opportunity.custom_fields;
            custom_fields::write_into(txn, region, Opportunity, column, values, false).await
        },
    )
    .await
}

async fn apply<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    input: OpportunityChanges,
    opportunity: &mut opportunity::ActiveModel,
) -> Result<()> {
    if let Some(stage) = stage_named(conn, &input, opportunity).await? {
        // Entering a closing stage closes the deal; moving back out reopens it.
        opportunity.closed_at = Set((stage.is_won || stage.is_lost).then(Utc::now));
        opportunity.stage_id = Set(stage.id);
    }
    if let Some(name) = input.name {
        opportunity.name = Set(validate::required_text("name", &name, SHORT_TEXT)?);
    }
    if let Some(amount) = input.amount {
        let money = amount.parse("amount")?;
        opportunity.amount_minor = Set(money.minor);
        opportunity.currency = Set(money.currency);
    }
    if let Some(account) = input.account_id.change() {
        if let Some(account) = account {
            records::ensure_reference::<entity::account::Entity>(conn, actor, account, "accountId")
                .await?;
        }
        opportunity.account_id = Set(account);
    }
    if let Some(contact) = input.contact_id.change() {
        if let Some(contact) = contact {
            records::ensure_reference::<entity::contact::Entity>(conn, actor, contact, "contactId")
                .await?;
        }
        opportunity.contact_id = Set(contact);
    }
    if let Some(lead) = input.lead_id.change() {
        if let Some(lead) = lead {
            records::ensure_reference::<lead::Entity>(conn, actor, lead, "leadId").await?;
        }
        opportunity.lead_id = Set(lead);
    }
    if let Some(date) = input
        .close_date
        .parse(|day| validate::date("closeDate", &day).map(|()| day))?
    {
        opportunity.close_date = Set(date);
    }
    if let Some(owner) = input.owner_id.change() {
        opportunity.owner_id = Set(owner);
    }
    if let Some(v) = input.lost_reason.text("lostReason", SHORT_TEXT)? {
        opportunity.lost_reason = Set(v);
    }
    Ok(())
}

/// The stage `input` moves the deal to, if it moves it: naming the stage the deal is already in
/// moves nothing (even one archived since). A stage that takes no deals is refused.
async fn stage_named<C: ConnectionTrait>(
    conn: &C,
    input: &OpportunityChanges,
    opportunity: &opportunity::ActiveModel,
) -> Result<Option<entity::pipeline_stage::Model>> {
    let current = opportunity.stage_id.try_as_ref().copied();
    let stage = match (input.stage_id, input.pipeline_id) {
        (None, None) => return Ok(None),
        (Some(stage), None) if Some(stage) == current => return Ok(None),
        (Some(stage), pipeline) => {
            let stage = pipeline::stage(conn, stage, "stageId").await?;
            if pipeline.is_some_and(|pipeline| pipeline != stage.pipeline_id) {
                return Err(AppError::bad_input(
                    "stageId",
                    "this stage is not in the pipeline named by pipelineId",
                ));
            }
            if Some(stage.id) == current {
                return Ok(None);
            }
            stage
        }
        (None, Some(pipeline)) => {
            let current_pipeline = match current {
                Some(id) => pipeline::stages_by_ids(conn, &[id]).await?.pop(),
                None => None,
            };
            if current_pipeline.is_some_and(|stage| stage.pipeline_id == pipeline) {
                return Ok(None);
            }
            pipeline::first_stage(conn, Some(pipeline)).await?
        }
    };
    Ok(Some(stage))
}

/// Moves a deal to `stage` inside the caller's transaction, as an edit of its stage would (the
/// move is audited under `verb` and kept in its stage history).
pub async fn move_in(
    txn: &DatabaseTransaction,
    actor: &Actor,
    id: Uuid,
    stage: Uuid,
    verb: &str,
) -> Result<Written<opportunity::Model>> {
    let input = OpportunityChanges {
        stage_id: Some(stage),
        ..Default::default()
    };
    records::update_in::<opportunity::Entity, _>(txn, actor, id, verb, async |txn, _, deal| {
        apply(txn, actor, input, deal).await
    })
    .await
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub enum OpportunityOrderField {
    CreatedAt,
    UpdatedAt,
    Name,
    Amount,
    /// A custom field, typed by its definition.
    Custom(CustomSort),
}

impl SortField<opportunity::Model> for OpportunityOrderField {
    fn expr(&self) -> SimpleExpr {
        match self {
            Self::CreatedAt => col(opportunity::Column::CreatedAt),
            Self::UpdatedAt => col(opportunity::Column::UpdatedAt),
            Self::Name => col(opportunity::Column::Name),
            Self::Amount => col(opportunity::Column::AmountMinor),
            Self::Custom(sort) => sort.expr(),
        }
    }

    fn value(&self, opportunity: &opportunity::Model) -> SortValue {
        match self {
            Self::CreatedAt => SortValue::Time(opportunity.created_at),
            Self::UpdatedAt => SortValue::Time(opportunity.updated_at),
            Self::Name => SortValue::Text(opportunity.name.clone()),
            Self::Amount => SortValue::Int(opportunity.amount_minor),
            Self::Custom(sort) => sort.value(&opportunity.custom_fields),
        }
    }

    fn kind(&self) -> SortKind {
        match self {
            Self::CreatedAt | Self::UpdatedAt => SortKind::Time,
            Self::Name => SortKind::Text,
            Self::Amount => SortKind::Int,
            Self::Custom(sort) => sort.kind(),
        }
    }

    fn missing(&self) -> Option<SimpleExpr> {
        match self {
            Self::Custom(sort) => Some(sort.missing()),
            _ => None,
        }
    }

    fn is_missing(&self, opportunity: &opportunity::Model) -> bool {
        matches!(self, Self::Custom(sort) if sort.is_missing(&opportunity.custom_fields))
    }
}

impl From<CustomSort> for OpportunityOrderField {
    fn from(sort: CustomSort) -> Self {
        Self::Custom(sort)
    }
}
