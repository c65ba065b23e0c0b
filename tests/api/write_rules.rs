//! The write rules as tables: every role against every record type and every kind of write,
//! over HTTP. A refused write answers FORBIDDEN (or NOT_FOUND for a row outside the caller's
//! rows) and leaves the stored row and its audit trail as they were; an allowed one shows in the
//! stored row.

use entity::{account, activity, audit_log, campaign, contact, lead, opportunity};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Session, TestApp, error_code, spawn_app_with};

/// Who writes. Owner and Teammate are sales reps of the East team, Manager manages East and
/// OtherManager manages West; marketing and support are in no team.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Admin,
    Manager,
    OtherManager,
    Owner,
    Teammate,
    Marketing,
    Support,
}

/// The columns of every table below, in this order.
const CAST: [Who; 7] = [
    Who::Admin,
    Who::Manager,
    Who::OtherManager,
    Who::Owner,
    Who::Teammate,
    Who::Marketing,
    Who::Support,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    /// The write succeeds and shows in the stored row.
    Done,
    /// FORBIDDEN; nothing stored.
    Refused,
    /// NOT_FOUND: the row is outside the caller's rows; nothing stored.
    Hidden,
}

use Want::{Done as D, Hidden as N, Refused as F};

#[derive(Clone, Copy, Debug)]
enum Op {
    /// Create without naming an owner (the type's default owner applies).
    Create,
    /// Create owned by the Owner rep.
    CreateForOwner,
    /// Change an ordinary field.
    Edit,
    Archive,
    /// Restore a record an admin archived.
    Restore,
    /// Make someone else the owner (the assignee, for activities).
    GiveTo(Who),
    /// Make oneself the owner.
    Take,
    /// Clear the owner, releasing the record to the shared pool.
    Release,
    /// Link the record to another account (an account's parent).
    Reparent,
}

use Op::*;

type Table = &'static [(Op, [Want; 7])];

#[derive(Clone, Copy, Debug)]
enum Kind {
    Lead,
    Contact,
    Account,
    Opportunity,
    Activity,
    Campaign,
}

/// Runs `$body` with `$m` naming the entity module of `$kind`.
macro_rules! with_entity {
    ($kind:expr, |$m:ident| $body:expr) => {
        match $kind {
            Kind::Lead => {
                use lead as $m;
                $body
            }
            Kind::Contact => {
                use contact as $m;
                $body
            }
            Kind::Account => {
                use account as $m;
                $body
            }
            Kind::Opportunity => {
                use opportunity as $m;
                $body
            }
            Kind::Activity => {
                use activity as $m;
                $body
            }
            Kind::Campaign => {
                use campaign as $m;
                $body
            }
        }
    };
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Lead => "Lead",
            Kind::Contact => "Contact",
            Kind::Account => "Account",
            Kind::Opportunity => "Opportunity",
            Kind::Activity => "Activity",
            Kind::Campaign => "Campaign",
        }
    }

    /// The payload field that holds the record (`lead`).
    fn field(self) -> String {
        let name = self.name();
        name[..1].to_lowercase() + &name[1..]
    }

    fn new_input(self) -> Value {
        match self {
            Kind::Lead => json!({ "company": "Fresh Co" }),
            Kind::Contact => json!({ "lastName": "Fresh" }),
            Kind::Account => json!({ "name": "Fresh Account" }),
            Kind::Opportunity => {
                json!({ "name": "Fresh deal", "amount": { "amount": "100.00", "currency": "USD" } })
            }
            Kind::Activity => json!({ "kind": "TASK", "subject": "Fresh task" }),
            Kind::Campaign => json!({ "name": "Fresh campaign" }),
        }
    }

    /// An ordinary field: its input name, its stored column and a new value.
    fn edit(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Kind::Lead => ("company", "company", "Edited Co"),
            Kind::Contact => ("lastName", "last_name", "Edited"),
            Kind::Activity => ("subject", "subject", "Edited task"),
            Kind::Account | Kind::Opportunity | Kind::Campaign => ("name", "name", "Edited"),
        }
    }

    /// The owner's input name and stored column.
    fn owner(self) -> Option<(&'static str, &'static str)> {
        match self {
            Kind::Activity => Some(("assigneeId", "assignee_id")),
            Kind::Campaign => None,
            _ => Some(("ownerId", "owner_id")),
        }
    }

    /// The link to an account: its input name and stored column.
    fn parent(self) -> Option<(&'static str, &'static str)> {
        match self {
            Kind::Account => Some(("parentId", "parent_id")),
            Kind::Contact | Kind::Opportunity | Kind::Activity => Some(("accountId", "account_id")),
            Kind::Lead | Kind::Campaign => None,
        }
    }

    fn create(self) -> String {
        let (n, f) = (self.name(), self.field());
        format!("mutation($input: {n}Input!) {{ create{n}(input: $input) {{ {f} {{ id }} }} }}")
    }

    fn update(self) -> String {
        let (n, f) = (self.name(), self.field());
        format!(
            "mutation($id: ID!, $input: {n}Input!) {{ update{n}(id: $id, input: $input) {{ {f} {{ id }} }} }}"
        )
    }

    fn archive(self, verb: &str) -> String {
        let (n, f) = (self.name(), self.field());
        format!("mutation($id: ID!) {{ {verb}{n}(id: $id) {{ {f} {{ id }} }} }}")
    }
}

/// One app with the whole cast signed in, and an unowned account to link records to.
struct Cast {
    app: TestApp,
    sessions: Vec<(Who, Session)>,
    spare_account: String,
}

impl Cast {
    async fn new() -> Self {
        // A table runs hundreds of writes in a few seconds; the API throttle is not under test.
        let app = spawn_app_with(|c| {
            c.requests_per_second_per_user = 100_000;
            c.request_burst_per_user = 100_000;
        })
        .await;
        let admin = app.admin().await;
        let east = app.team(&admin, "East").await;
        let west = app.team(&admin, "West").await;
        let mut sessions = Vec::new();
        for (who, email, role, team) in [
            (Who::Manager, "manager.east", "MANAGER", Some(&east)),
            (Who::OtherManager, "manager.west", "MANAGER", Some(&west)),
            (Who::Owner, "owner.east", "SALES", Some(&east)),
            (Who::Teammate, "teammate.east", "SALES", Some(&east)),
            (Who::Marketing, "marketing", "MARKETING", None),
            (Who::Support, "support", "SUPPORT", None),
        ] {
            let email = format!("{email}@example.com");
            let session = app
                .user(&admin, &email, role, team.map(String::as_str))
                .await;
            sessions.push((who, session));
        }
        let spare_account = created_id(
            &app.ok(
                &admin.access,
                &Kind::Account.create(),
                json!({ "input": { "name": "Spare parent" } }),
            )
            .await,
            Kind::Account,
        );
        sessions.push((Who::Admin, admin));
        Cast {
            app,
            sessions,
            spare_account,
        }
    }

    fn session(&self, who: Who) -> &Session {
        self.sessions
            .iter()
            .find(|(w, _)| *w == who)
            .map(|(_, s)| s)
            .expect("everyone in the cast is signed in")
    }

    fn id(&self, who: Who) -> &str {
        &self.session(who).user_id
    }

    /// A fresh record for one case, created by the admin, owned by `owner` (or by no one),
    /// archived when the case restores it.
    async fn record(&self, kind: Kind, owner: Option<Who>, archived: bool) -> String {
        let admin = &self.session(Who::Admin).access;
        let mut input = kind.new_input();
        if let Some((field, _)) = kind.owner() {
            input[field] = owner.map_or(Value::Null, |owner| json!(self.id(owner)));
        }
        let data = self
            .app
            .ok(admin, &kind.create(), json!({ "input": input }))
            .await;
        let id = created_id(&data, kind);
        if archived {
            self.app
                .ok(admin, &kind.archive("archive"), json!({ "id": id }))
                .await;
        }
        id
    }

    async fn stored(&self, kind: Kind, id: &str) -> Value {
        let id = Uuid::parse_str(id).expect("ids are UUIDs");
        let db = &self.app.db;
        with_entity!(kind, |m| serde_json::to_value(
            m::Entity::find_by_id(id).one(db).await.unwrap()
        )
        .unwrap())
    }

    async fn count(&self, kind: Kind) -> u64 {
        let db = &self.app.db;
        with_entity!(kind, |m| m::Entity::find().count(db).await.unwrap())
    }

    async fn audit_rows(&self, id: &str) -> u64 {
        audit_log::Entity::find()
            .filter(audit_log::Column::EntityId.eq(Uuid::parse_str(id).unwrap()))
            .count(&self.app.db)
            .await
            .unwrap()
    }

    /// Runs every cell of `table` on records of `kind` owned by `owner` (unowned when `None`)
    /// and returns a line for each cell that did not go as the table says.
    async fn run(&self, kind: Kind, owner: Option<Who>, table: Table) -> Vec<String> {
        let mut failures = Vec::new();
        for (op, row) in table {
            for (who, want) in CAST.iter().zip(row) {
                if let Err(why) = self.case(kind, owner, *op, *who, *want).await {
                    failures.push(format!(
                        "{kind:?} owned by {owner:?}, {op:?} by {who:?}, want {want:?}: {why}"
                    ));
                }
            }
        }
        failures
    }

    async fn case(
        &self,
        kind: Kind,
        owner: Option<Who>,
        op: Op,
        who: Who,
        want: Want,
    ) -> Result<(), String> {
        match op {
            Create | CreateForOwner => self.create_case(kind, op, who, want).await,
            _ => self.change_case(kind, owner, op, who, want).await,
        }
    }

    async fn create_case(&self, kind: Kind, op: Op, who: Who, want: Want) -> Result<(), String> {
        let mut input = kind.new_input();
        let owner_field = kind.owner().ok_or("the type has no owner")?;
        if matches!(op, CreateForOwner) {
            input[owner_field.0] = json!(self.id(Who::Owner));
        }
        let before = self.count(kind).await;
        let token = &self.session(who).access;
        let body = self
            .app
            .gql(Some(token), &kind.create(), json!({ "input": input }))
            .await;
        let after = self.count(kind).await;
        if want != D {
            expect_refusal(&body, want)?;
            return expect(after == before, "a record was created anyway");
        }
        expect(body.get("errors").is_none(), &format!("refused: {body}"))?;
        expect(after == before + 1, "no record was stored")?;
        if matches!(op, CreateForOwner) {
            let stored = self.stored(kind, &created_id(&body["data"], kind)).await;
            expect(
                stored[owner_field.1] == json!(self.id(Who::Owner)),
                &format!("stored with another owner: {stored}"),
            )?;
        }
        Ok(())
    }

    async fn change_case(
        &self,
        kind: Kind,
        owner: Option<Who>,
        op: Op,
        who: Who,
        want: Want,
    ) -> Result<(), String> {
        let id = self.record(kind, owner, matches!(op, Restore)).await;
        let owner_column = kind.owner().map(|(_, column)| column);
        let (query, input, effect) = match op {
            Edit => {
                let (field, column, value) = kind.edit();
                (
                    kind.update(),
                    json!({ field: value }),
                    Effect::Is(column, json!(value)),
                )
            }
            Archive => (
                kind.archive("archive"),
                Value::Null,
                Effect::Set("archived_at"),
            ),
            Restore => (
                kind.archive("restore"),
                Value::Null,
                Effect::Is("archived_at", Value::Null),
            ),
            GiveTo(_) | Take | Release => {
                let (field, column) = kind.owner().ok_or("the type has no owner")?;
                let to = match op {
                    GiveTo(to) => json!(self.id(to)),
                    Take => json!(self.id(who)),
                    _ => Value::Null,
                };
                (kind.update(), json!({ field: to }), Effect::Is(column, to))
            }
            Reparent => {
                let (field, column) = kind.parent().ok_or("the type has no parent")?;
                let to = json!(self.spare_account);
                (kind.update(), json!({ field: to }), Effect::Is(column, to))
            }
            Create | CreateForOwner => return Err("not a change".into()),
        };
        let before = self.stored(kind, &id).await;
        let audited = self.audit_rows(&id).await;
        let variables = match input {
            Value::Null => json!({ "id": id }),
            input => json!({ "id": id, "input": input }),
        };
        let token = &self.session(who).access;
        let body = self.app.gql(Some(token), &query, variables).await;
        let after = self.stored(kind, &id).await;
        if want != D {
            expect_refusal(&body, want)?;
            expect(
                after == before,
                &format!("the row changed: {before} -> {after}"),
            )?;
            return expect(
                self.audit_rows(&id).await == audited,
                "an audit row was written",
            );
        }
        expect(body.get("errors").is_none(), &format!("refused: {body}"))?;
        expect(
            effect.holds(&after),
            &format!("{effect:?} does not hold: {after}"),
        )?;
        expect(
            owner_column
                .is_none_or(|c| matches!(op, GiveTo(_) | Take | Release) || after[c] == before[c]),
            "the owner moved",
        )?;
        expect(
            self.audit_rows(&id).await == audited + 1,
            "the change was not audited",
        )
    }
}

/// What an allowed write leaves in the stored row.
#[derive(Debug)]
enum Effect {
    Is(&'static str, Value),
    Set(&'static str),
}

impl Effect {
    fn holds(&self, row: &Value) -> bool {
        match self {
            Effect::Is(column, value) => &row[column] == value,
            Effect::Set(column) => !row[column].is_null(),
        }
    }
}

fn created_id(data: &Value, kind: Kind) -> String {
    let field = kind.field();
    data[format!("create{}", kind.name())][field.as_str()]["id"]
        .as_str()
        .expect("the created record's id")
        .to_owned()
}

fn expect(holds: bool, why: &str) -> Result<(), String> {
    if holds { Ok(()) } else { Err(why.to_owned()) }
}

fn expect_refusal(body: &Value, want: Want) -> Result<(), String> {
    let code = if want == F { "FORBIDDEN" } else { "NOT_FOUND" };
    expect(
        error_code(body) == Some(code),
        &format!("expected {code}: {body}"),
    )?;
    let no_data = body["data"].is_null()
        || body["data"]
            .as_object()
            .is_some_and(|d| d.values().all(Value::is_null));
    expect(no_data, &format!("data came back with {code}: {body}"))
}

async fn check(kind: Kind, owner: Option<Who>, table: Table) {
    let cast = Cast::new().await;
    let failures = cast.run(kind, owner, table).await;
    assert!(
        failures.is_empty(),
        "{} cells went otherwise:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// Columns: Admin, Manager (the owner's), OtherManager, Owner, Teammate (a rep, not the owner),
// Marketing, Support. D done, F FORBIDDEN, N NOT_FOUND (outside the caller's rows).

const LEAD_OWNED: Table = &[
    (Create, [D, D, D, D, D, D, F]),
    (CreateForOwner, [D, D, F, D, F, F, F]),
    (Edit, [D, D, N, D, N, D, F]),
    (Archive, [D, D, N, D, N, F, F]),
    (Restore, [D, D, N, D, N, F, F]),
    (GiveTo(Who::Teammate), [D, D, N, F, N, F, F]),
    (Take, [D, D, N, D, N, F, F]),
    (Release, [D, D, N, D, N, F, F]),
];

const LEAD_UNOWNED: Table = &[
    (Edit, [D, D, D, D, D, D, F]),
    (Take, [D, D, D, D, D, F, F]),
    (GiveTo(Who::Owner), [D, D, F, D, F, F, F]),
    (Archive, [D, D, D, F, F, F, F]),
    (Restore, [D, D, D, F, F, F, F]),
];

const CONTACT_OWNED: Table = &[
    (Create, [D, D, D, D, D, D, D]),
    (CreateForOwner, [D, D, F, D, F, F, F]),
    (Edit, [D, D, N, D, N, D, D]),
    (Archive, [D, D, N, D, N, F, F]),
    (Restore, [D, D, N, D, N, F, F]),
    (GiveTo(Who::Teammate), [D, D, N, F, N, F, F]),
    (Take, [D, D, N, D, N, F, F]),
    (Release, [D, D, N, D, N, F, F]),
    (Reparent, [D, D, N, D, N, D, D]),
];

const CONTACT_UNOWNED: Table = &[
    (Edit, [D, D, D, D, D, D, D]),
    (Take, [D, D, D, D, D, F, F]),
    (GiveTo(Who::Owner), [D, D, F, D, F, F, F]),
    (Archive, [D, D, D, F, F, F, F]),
    (Restore, [D, D, D, F, F, F, F]),
    (Reparent, [D, D, D, D, D, D, D]),
];

const ACCOUNT_OWNED: Table = &[
    (Create, [D, D, D, D, D, F, D]),
    (CreateForOwner, [D, D, F, D, F, F, F]),
    (Edit, [D, D, N, D, N, F, D]),
    (Archive, [D, D, N, D, N, F, F]),
    (Restore, [D, D, N, D, N, F, F]),
    (GiveTo(Who::Teammate), [D, D, N, F, N, F, F]),
    (Take, [D, D, N, D, N, F, F]),
    (Release, [D, D, N, D, N, F, F]),
    (Reparent, [D, D, N, D, N, F, D]),
];

const ACCOUNT_UNOWNED: Table = &[
    (Edit, [D, D, D, D, D, F, D]),
    (Take, [D, D, D, D, D, F, F]),
    (GiveTo(Who::Owner), [D, D, F, D, F, F, F]),
    (Archive, [D, D, D, F, F, F, F]),
    (Restore, [D, D, D, F, F, F, F]),
    (Reparent, [D, D, D, D, D, F, D]),
];

const OPPORTUNITY_OWNED: Table = &[
    (Create, [D, D, D, D, D, F, F]),
    (CreateForOwner, [D, D, F, D, F, F, F]),
    (Edit, [D, D, N, D, N, F, F]),
    (Archive, [D, D, N, D, N, F, F]),
    (Restore, [D, D, N, D, N, F, F]),
    (GiveTo(Who::Teammate), [D, D, N, F, N, F, F]),
    (Take, [D, D, N, D, N, F, F]),
    (Release, [D, D, N, D, N, F, F]),
    (Reparent, [D, D, N, D, N, F, F]),
];

const OPPORTUNITY_UNOWNED: Table = &[
    (Edit, [D, D, D, D, D, F, F]),
    (Take, [D, D, D, D, D, F, F]),
    (GiveTo(Who::Owner), [D, D, F, D, F, F, F]),
    (Archive, [D, D, D, F, F, F, F]),
    (Restore, [D, D, D, F, F, F, F]),
    (Reparent, [D, D, D, D, D, F, F]),
];

const ACTIVITY_OWNED: Table = &[
    (Create, [D, D, D, D, D, D, D]),
    (CreateForOwner, [D, D, F, D, F, F, F]),
    (Edit, [D, D, N, D, N, D, D]),
    (Archive, [D, D, N, D, N, F, F]),
    (Restore, [D, D, N, D, N, F, F]),
    (GiveTo(Who::Teammate), [D, D, N, F, N, F, F]),
    (Take, [D, D, N, D, N, F, F]),
    (Release, [D, D, N, D, N, F, F]),
    (Reparent, [D, D, N, D, N, D, D]),
];

const ACTIVITY_UNOWNED: Table = &[
    (Edit, [D, D, D, D, D, D, D]),
    (Take, [D, D, D, D, D, F, F]),
    (GiveTo(Who::Owner), [D, D, F, D, F, F, F]),
    (Archive, [D, D, D, F, F, F, F]),
    (Restore, [D, D, D, F, F, F, F]),
    (Reparent, [D, D, D, D, D, D, D]),
];

/// Campaigns have no owner: their writer roles (admin, manager, marketing) do everything.
const CAMPAIGN: Table = &[
    (Edit, [D, D, D, F, F, D, F]),
    (Archive, [D, D, D, F, F, D, F]),
    (Restore, [D, D, D, F, F, D, F]),
];

#[tokio::test]
async fn writes_to_an_owned_lead() {
    check(Kind::Lead, Some(Who::Owner), LEAD_OWNED).await;
}

#[tokio::test]
async fn writes_to_an_unassigned_lead() {
    check(Kind::Lead, None, LEAD_UNOWNED).await;
}

#[tokio::test]
async fn writes_to_an_owned_contact() {
    check(Kind::Contact, Some(Who::Owner), CONTACT_OWNED).await;
}

#[tokio::test]
async fn writes_to_an_unassigned_contact() {
    check(Kind::Contact, None, CONTACT_UNOWNED).await;
}

#[tokio::test]
async fn writes_to_an_owned_account() {
    check(Kind::Account, Some(Who::Owner), ACCOUNT_OWNED).await;
}

#[tokio::test]
async fn writes_to_an_unassigned_account() {
    check(Kind::Account, None, ACCOUNT_UNOWNED).await;
}

#[tokio::test]
async fn writes_to_an_owned_opportunity() {
    check(Kind::Opportunity, Some(Who::Owner), OPPORTUNITY_OWNED).await;
}

#[tokio::test]
async fn writes_to_an_unassigned_opportunity() {
    check(Kind::Opportunity, None, OPPORTUNITY_UNOWNED).await;
}

#[tokio::test]
async fn writes_to_an_assigned_activity() {
    check(Kind::Activity, Some(Who::Owner), ACTIVITY_OWNED).await;
}

#[tokio::test]
async fn writes_to_an_unassigned_activity() {
    check(Kind::Activity, None, ACTIVITY_UNOWNED).await;
}

#[tokio::test]
async fn writes_to_a_campaign() {
    let cast = Cast::new().await;
    let mut failures = cast.run(Kind::Campaign, None, CAMPAIGN).await;
    // Creation has no owner to name; the writer roles alone decide.
    for (who, want) in CAST.iter().zip([D, D, D, F, F, D, F]) {
        let token = &cast.session(*who).access;
        let before = cast.count(Kind::Campaign).await;
        let body = cast
            .app
            .gql(
                Some(token),
                &Kind::Campaign.create(),
                json!({ "input": Kind::Campaign.new_input() }),
            )
            .await;
        let created = cast.count(Kind::Campaign).await - before;
        let outcome = match want {
            D if body.get("errors").is_none() && created == 1 => Ok(()),
            D => Err(format!("not created: {body}")),
            _ => expect_refusal(&body, want).and_then(|()| expect(created == 0, "created anyway")),
        };
        if let Err(why) = outcome {
            failures.push(format!("Campaign, Create by {who:?}: {why}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
