//! Activities: calls, meetings, emails, visits, tasks and notes, planned or done, on any record.

use async_graphql::{ID, InputObject, MaybeUndefined};
use chrono::{DateTime, Utc};
use entity::{account, activity, contact, enums::ActivityKind, enums::Role, lead, opportunity};
use sea_orm::{ConnectionTrait, Set};
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
        input::{self, LONG_TEXT, SHORT_TEXT, patch, patch_text},
        records::{self, Record},
        scope,
    },
    validate,
};
use async_graphql::Enum;
use sea_orm::{Condition, sea_query::SimpleExpr};

impl Record for activity::Entity {
    type OrderField = ActivityOrderField;
    const KIND: &'static str = "activity";
    const READERS: &'static [Role] = scope::EVERY_ROLE;
    const WRITERS: &'static [Role] = scope::EVERY_ROLE;
    fn id_column() -> activity::Column {
        activity::Column::Id
    }
    /// An activity belongs to whoever must do it.
    fn owner_column() -> Option<activity::Column> {
        Some(activity::Column::AssigneeId)
    }
    const OWNER_FIELD: &'static str = "assigneeId";
    fn archived_at_column() -> Option<activity::Column> {
        Some(activity::Column::ArchivedAt)
    }
    fn updated_at_column() -> Option<activity::Column> {
        Some(activity::Column::UpdatedAt)
    }
}

/// Fields of an activity a user may set. `kind` and `subject` are required on create; the
/// assignee defaults to the creator.
#[derive(InputObject, Default)]
pub struct ActivityInput {
    pub kind: Option<ActivityKind>,
    pub subject: Option<String>,
    pub body: MaybeUndefined<String>,
    pub due_at: MaybeUndefined<DateTime<Utc>>,
    /// Marking an activity done stamps `completedAt`; undoing it clears the stamp.
    pub done: Option<bool>,
    pub assignee_id: MaybeUndefined<ID>,
    pub lead_id: MaybeUndefined<ID>,
    pub contact_id: MaybeUndefined<ID>,
    pub account_id: MaybeUndefined<ID>,
    pub opportunity_id: MaybeUndefined<ID>,
}

pub async fn create(
    svc: &Services,
    actor: &Actor,
    input: ActivityInput,
) -> Result<activity::Model> {
    if input.kind.is_none() {
        return Err(AppError::bad_input("kind", "required"));
    }
    if input.subject.is_none() {
        return Err(AppError::bad_input("subject", "required"));
    }
    let mut activity = blank(Some(actor.user_id).filter(|_| !actor.is_system()));
    apply(&svc.db, actor, input, &mut activity).await?;
    records::insert::<activity::Entity>(svc, actor, activity).await
}

/// A new activity as every activity starts: open, undated, on no record, with no details, for
/// `assignee` to do; callers set its kind, subject and what else they know.
pub fn blank(assignee: Option<Uuid>) -> activity::ActiveModel {
    let now = Utc::now();
    activity::ActiveModel {
        id: Set(Uuid::now_v7()),
        body: Set(None),
        due_at: Set(None),
        done: Set(false),
        completed_at: Set(None),
        assignee_id: Set(assignee),
        lead_id: Set(None),
        contact_id: Set(None),
        account_id: Set(None),
        opportunity_id: Set(None),
        archived_at: Set(None),
        details: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

pub async fn update(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    input: ActivityInput,
) -> Result<activity::Model> {
    records::update::<activity::Entity, _>(svc, actor, id, "update", async |txn, _, activity| {
        apply(txn, actor, input, activity).await
    })
    .await
}

async fn apply<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    input: ActivityInput,
    activity: &mut activity::ActiveModel,
) -> Result<()> {
    if let Some(kind) = input.kind {
        activity.kind = Set(kind);
    }
    if let Some(subject) = input.subject {
        activity.subject = Set(validate::required_text("subject", &subject, SHORT_TEXT)?);
    }
    if let Some(v) = patch_text("body", input.body, LONG_TEXT)? {
        activity.body = Set(v);
    }
    if let Some(v) = patch(input.due_at, |at| {
        validate::timestamp("dueAt", &at).map(|()| at)
    })? {
        activity.due_at = Set(v);
    }
    if let Some(done) = input.done {
        activity.done = Set(done);
        activity.completed_at = Set(done.then(Utc::now));
    }
    if let Some(assignee) = patch(input.assignee_id, |id| input::uuid("assigneeId", &id))? {
        activity.assignee_id = Set(assignee);
    }
    if let Some(v) = reference::<lead::Entity>(conn, actor, input.lead_id, "leadId").await? {
        activity.lead_id = Set(v);
    }
    if let Some(v) =
        reference::<contact::Entity>(conn, actor, input.contact_id, "contactId").await?
    {
        activity.contact_id = Set(v);
    }
    if let Some(v) =
        reference::<account::Entity>(conn, actor, input.account_id, "accountId").await?
    {
        activity.account_id = Set(v);
    }
    if let Some(v) =
        reference::<opportunity::Entity>(conn, actor, input.opportunity_id, "opportunityId").await?
    {
        activity.opportunity_id = Set(v);
    }
    Ok(())
}

/// A link to another record, checked against the actor's view of it.
async fn reference<E: Record>(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    value: MaybeUndefined<ID>,
    field: &str,
) -> Result<Option<Option<Uuid>>> {
    let id = patch(value, |id| input::uuid(field, &id))?;
    if let Some(Some(id)) = id {
        records::ensure_reference::<E>(conn, actor, id, field).await?;
    }
    Ok(id)
}

/// Stands in for "no due date" when sorting, so undated activities come last going forward.
fn undated() -> DateTime<Utc> {
    DateTime::<Utc>::from_naive_utc_and_offset(
        chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or_default(),
        Utc,
    )
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ActivityOrderField {
    CreatedAt,
    UpdatedAt,
    /// Undated activities sort after dated ones.
    DueAt,
}

impl SortField<activity::Model> for ActivityOrderField {
    fn expr(self) -> SimpleExpr {
        match self {
            Self::CreatedAt => col(activity::Column::CreatedAt),
            Self::UpdatedAt => col(activity::Column::UpdatedAt),
            Self::DueAt => {
                sea_orm::sea_query::Func::coalesce([col(activity::Column::DueAt), undated().into()])
                    .into()
            }
        }
    }

    fn value(self, activity: &activity::Model) -> SortValue {
        match self {
            Self::CreatedAt => SortValue::Time(activity.created_at),
            Self::UpdatedAt => SortValue::Time(activity.updated_at),
            Self::DueAt => SortValue::Time(activity.due_at.unwrap_or_else(undated)),
        }
    }

    fn kind(self) -> SortKind {
        match self {
            Self::CreatedAt | Self::UpdatedAt | Self::DueAt => SortKind::Time,
        }
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

impl ActivityFilter {
    pub fn condition(&self) -> Result<Condition> {
        use activity::Column as C;
        use sea_orm::ColumnTrait;
        let mut conditions = Conditions::default()
            .on(&self.kind, "kind", C::Kind)?
            .on(&self.subject, "subject", C::Subject)?
            .on(&self.assignee_id, "assigneeId", C::AssigneeId)?
            .on(&self.lead_id, "leadId", C::LeadId)?
            .on(&self.contact_id, "contactId", C::ContactId)?
            .on(&self.account_id, "accountId", C::AccountId)?
            .on(&self.opportunity_id, "opportunityId", C::OpportunityId)?
            .on(&self.due_at, "dueAt", C::DueAt)?
            .on(&self.created_at, "createdAt", C::CreatedAt)?;
        if let Some(done) = self.done {
            conditions = conditions.with(Condition::all().add(C::Done.eq(done)));
        }
        conditions.combine(&self.and, &self.or, &self.not, Self::condition)
    }
}
