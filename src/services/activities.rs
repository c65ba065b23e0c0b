//! Activities: calls, meetings, emails, visits, tasks and notes, planned or done, on any record.

use chrono::{DateTime, Utc};
use entity::{account, activity, contact, enums::ActivityKind, enums::Role, lead, opportunity};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, Set};
use uuid::Uuid;

use crate::services::{
    filter::col,
    leads,
    page::{Page, PageRequest, SortField, SortKind, SortValue},
};
use crate::{
    actor::Actor,
    error::{AppError, Result},
    services::{
        Services, assignments,
        input::{LONG_TEXT, Patch, SHORT_TEXT},
        records::{self, Parent, Record},
        scope,
    },
    validate,
};
use sea_orm::sea_query::SimpleExpr;

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

/// A contact's activities, and those of the leads converted into it.
pub async fn of_contact(
    db: &DatabaseConnection,
    actor: &Actor,
    contact: Uuid,
    request: PageRequest,
) -> Result<Page<activity::Model>> {
    let mine = Condition::any()
        .add(activity::Column::ContactId.eq(contact))
        .add(activity::Column::LeadId.in_subquery(leads::converted_into(contact)));
    records::list_where::<activity::Entity>(db, actor, mine, request).await
}

/// A lead's activities.
pub fn of_lead() -> Parent<activity::Entity> {
    Parent(activity::Column::LeadId)
}

/// An opportunity's activities.
pub fn of_opportunity() -> Parent<activity::Entity> {
    Parent(activity::Column::OpportunityId)
}

/// Fields of an activity a user may set; what is left as [`Patch::Keep`] stays as it is.
/// `kind` and `subject` are required on create; the assignee defaults to the creator.
#[derive(Clone, Debug, Default)]
pub struct ActivityChanges {
    pub kind: Option<ActivityKind>,
    pub subject: Option<String>,
    pub body: Patch<String>,
    pub due_at: Patch<DateTime<Utc>>,
    /// Marking an activity done stamps `completed_at`; undoing it clears the stamp.
    pub done: Option<bool>,
    pub assignee_id: Patch<Uuid>,
    pub lead_id: Patch<Uuid>,
    pub contact_id: Patch<Uuid>,
    pub account_id: Patch<Uuid>,
    pub opportunity_id: Patch<Uuid>,
}

pub async fn create(
    svc: &Services,
    actor: &Actor,
    input: ActivityChanges,
) -> Result<activity::Model> {
    if input.kind.is_none() {
        return Err(AppError::bad_input("kind", "required"));
    }
    if input.subject.is_none() {
        return Err(AppError::bad_input("subject", "required"));
    }
    let mut activity = blank(Some(actor.user_id).filter(|_| !actor.is_system()));
    apply(&svc.db, actor, input, &mut activity).await?;
    records::alone::<activity::Entity>(svc, actor, async |txn| {
        let written = records::insert_in::<activity::Entity>(txn, actor, activity).await?;
        // A person logging anything on a lead is its first response, if none came before.
        if let Some(lead_id) = written.model.lead_id
            && !actor.is_system()
        {
            assignments::note_response_in(txn, lead_id, written.model.created_at).await?;
        }
        Ok(written)
    })
    .await
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
    input: ActivityChanges,
) -> Result<activity::Model> {
    records::update::<activity::Entity, _>(svc, actor, id, "update", async |txn, _, activity| {
        apply(txn, actor, input, activity).await
    })
    .await
}

async fn apply<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    input: ActivityChanges,
    activity: &mut activity::ActiveModel,
) -> Result<()> {
    if let Some(kind) = input.kind {
        activity.kind = Set(kind);
    }
    if let Some(subject) = input.subject {
        activity.subject = Set(validate::required_text("subject", &subject, SHORT_TEXT)?);
    }
    if let Some(v) = input.body.text("body", LONG_TEXT)? {
        activity.body = Set(v);
    }
    if let Some(v) = input
        .due_at
        .parse(|at| validate::timestamp("dueAt", &at).map(|()| at))?
    {
        activity.due_at = Set(v);
    }
    if let Some(done) = input.done {
        activity.done = Set(done);
        activity.completed_at = Set(done.then(Utc::now));
    }
    if let Some(assignee) = input.assignee_id.change() {
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
    value: Patch<Uuid>,
    field: &str,
) -> Result<Option<Option<Uuid>>> {
    let id = value.change();
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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ActivityOrderField {
    CreatedAt,
    UpdatedAt,
    /// Undated activities sort after dated ones.
    DueAt,
}

impl SortField<activity::Model> for ActivityOrderField {
    fn expr(&self) -> SimpleExpr {
        match self {
            Self::CreatedAt => col(activity::Column::CreatedAt),
            Self::UpdatedAt => col(activity::Column::UpdatedAt),
            Self::DueAt => {
                sea_orm::sea_query::Func::coalesce([col(activity::Column::DueAt), undated().into()])
                    .into()
            }
        }
    }

    fn value(&self, activity: &activity::Model) -> SortValue {
        match self {
            Self::CreatedAt => SortValue::Time(activity.created_at),
            Self::UpdatedAt => SortValue::Time(activity.updated_at),
            Self::DueAt => SortValue::Time(activity.due_at.unwrap_or_else(undated)),
        }
    }

    fn kind(&self) -> SortKind {
        match self {
            Self::CreatedAt | Self::UpdatedAt | Self::DueAt => SortKind::Time,
        }
    }
}
