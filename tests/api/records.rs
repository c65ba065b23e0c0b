//! Create, read, update, archive and list for every record type; validation; audit rows.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, FixedOffset};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Session, TestApp, error_code, spawn_app};

// ---------------------------------------------------------------------------------------------
// Documents

macro_rules! lead_fields {
    () => {
        "id email firstName lastName company title website phone status lifecycleStage leadSource \
         owner { id } budget { amount currency } authority need timeline competitors objections \
         customFields archivedAt createdAt updatedAt"
    };
}

macro_rules! contact_fields {
    () => {
        "id email firstName lastName phone title lifecycleStage account { id name } owner { id } \
         archivedAt createdAt updatedAt"
    };
}

macro_rules! account_fields {
    () => {
        "id name domain industry phone status territory owner { id } parent { id name } \
         archivedAt createdAt updatedAt"
    };
}

macro_rules! opportunity_fields {
    () => {
        "id name amount { amount currency } stage { id name isWon isLost } account { id } \
         contact { id } lead { id } closeDate closedAt lostReason owner { id } archivedAt \
         createdAt updatedAt"
    };
}

macro_rules! activity_fields {
    () => {
        "id kind subject body dueAt done completedAt assignee { id } lead { id } contact { id } \
         account { id } opportunity { id } archivedAt createdAt updatedAt"
    };
}

macro_rules! campaign_fields {
    () => {
        "id name utmCampaign channel status cost { amount currency } startsOn endsOn archivedAt \
         createdAt updatedAt"
    };
}

/// The create, read, update, archive, restore and list documents of one record type.
macro_rules! documents {
    ($mod:ident, $Type:literal, $one:literal, $many:literal, $fields:ident) => {
        mod $mod {
            pub const CREATE: &str = concat!(
                "mutation($input: ",
                $Type,
                "Input!) { create",
                $Type,
                "(input: $input) { ",
                $one,
                " { ",
                $fields!(),
                " } } }"
            );
            pub const GET: &str = concat!(
                "query($id: ID!) { ",
                $one,
                "(id: $id) { ",
                $fields!(),
                " } }"
            );
            pub const UPDATE: &str = concat!(
                "mutation($id: ID!, $input: ",
                $Type,
                "Input!) { update",
                $Type,
                "(id: $id, input: $input) { ",
                $one,
                " { ",
                $fields!(),
                " } } }"
            );
            pub const ARCHIVE: &str = concat!(
                "mutation($id: ID!) { archive",
                $Type,
                "(id: $id) { ",
                $one,
                " { ",
                $fields!(),
                " } } }"
            );
            pub const RESTORE: &str = concat!(
                "mutation($id: ID!) { restore",
                $Type,
                "(id: $id) { ",
                $one,
                " { ",
                $fields!(),
                " } } }"
            );
            pub const LIST: &str =
                concat!("{ ", $many, "(first: 100) { totalCount nodes { id } } }");
            // The lead test checks the stored row between its steps, so it goes without these.
            #[allow(dead_code)]
            pub const DOCS: super::Docs = super::Docs {
                one: $one,
                many: $many,
                get: GET,
                list: LIST,
                archive: ARCHIVE,
                restore: RESTORE,
            };
        }
    };
}

documents!(lead, "Lead", "lead", "leads", lead_fields);
documents!(contact, "Contact", "contact", "contacts", contact_fields);
documents!(account, "Account", "account", "accounts", account_fields);
documents!(
    opportunity,
    "Opportunity",
    "opportunity",
    "opportunities",
    opportunity_fields
);
documents!(
    activity,
    "Activity",
    "activity",
    "activities",
    activity_fields
);
documents!(
    campaign,
    "Campaign",
    "campaign",
    "campaigns",
    campaign_fields
);

const STAGES: &str = "{ pipelineStages { id name position probability isWon isLost } }";

const LEAD_PAGE: &str = "query($first: Int, $after: String, $orderBy: [LeadOrder!]) {
  leads(first: $first, after: $after, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id company } }
  }
}";

// ---------------------------------------------------------------------------------------------
// Helpers

/// Runs a mutation that must succeed and returns the record in its payload.
async fn mutate(app: &TestApp, who: &Session, doc: &str, one: &str, vars: Value) -> Value {
    let data = app.ok(&who.access, doc, vars).await;
    let (_, payload) = data
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("one root field");
    payload[one].clone()
}

async fn create(app: &TestApp, who: &Session, doc: &str, one: &str, input: Value) -> Value {
    mutate(app, who, doc, one, json!({ "input": input })).await
}

async fn update(
    app: &TestApp,
    who: &Session,
    doc: &str,
    one: &str,
    id: &Value,
    input: Value,
) -> Value {
    mutate(app, who, doc, one, json!({ "id": id, "input": input })).await
}

async fn by_id(app: &TestApp, who: &Session, doc: &str, one: &str, id: &Value) -> Value {
    app.ok(&who.access, doc, json!({ "id": id })).await[one].clone()
}

/// The ids a list answers, in its order, and its total.
async fn listed(app: &TestApp, who: &Session, doc: &str, many: &str) -> (Vec<String>, u64) {
    let data = app.ok(&who.access, doc, json!({})).await;
    let ids = data[many]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    (ids, data[many]["totalCount"].as_u64().unwrap())
}

/// The documents of one record type that the archive checks need.
struct Docs {
    one: &'static str,
    many: &'static str,
    get: &'static str,
    list: &'static str,
    archive: &'static str,
    restore: &'static str,
}

/// Archiving takes `id` out of its list (where only `id` and `other` are) but not out of reach
/// by id; restoring puts it back.
async fn archive_then_restore(
    app: &TestApp,
    admin: &Session,
    docs: &Docs,
    id: &Value,
    other: &Value,
) {
    let archived = mutate(app, admin, docs.archive, docs.one, json!({ "id": id })).await;
    assert!(archived["archivedAt"].is_string(), "{archived}");
    assert_eq!(
        listed(app, admin, docs.list, docs.many).await,
        (vec![id_str(other)], 1)
    );
    assert_eq!(by_id(app, admin, docs.get, docs.one, id).await, archived);
    let restored = mutate(app, admin, docs.restore, docs.one, json!({ "id": id })).await;
    assert!(restored["archivedAt"].is_null(), "{restored}");
    assert_eq!(listed(app, admin, docs.list, docs.many).await.1, 2);
}

fn id_str(value: &Value) -> String {
    value.as_str().expect("an id string").to_owned()
}

fn uuid(value: &Value) -> Uuid {
    Uuid::parse_str(value.as_str().expect("an id string")).expect("ids are UUIDs")
}

fn time(value: &Value) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(value.as_str().expect("a timestamp")).expect("RFC 3339")
}

/// The `extensions.field` of the first error.
fn error_field(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["field"].as_str()
}

/// Asserts the response is a refusal with `code` naming `field`, and no data.
fn assert_refused(body: &Value, code: &str, field: Option<&str>) {
    assert_eq!(error_code(body), Some(code), "{body}");
    if field.is_some() {
        assert_eq!(error_field(body), field, "{body}");
    }
    assert!(
        body["data"].is_null(),
        "a refused operation answers no data: {body}"
    );
}

async fn audit_count(app: &TestApp) -> u64 {
    entity::audit_log::Entity::find()
        .count(&app.db)
        .await
        .unwrap()
}

async fn lead_count(app: &TestApp) -> u64 {
    entity::lead::Entity::find().count(&app.db).await.unwrap()
}

/// The audit rows about records of one kind, oldest first.
async fn audit_of(app: &TestApp, kind: &str) -> Vec<entity::audit_log::Model> {
    entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::EntityType.eq(kind))
        .order_by_asc(entity::audit_log::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

async fn lead_row(app: &TestApp, id: &Value) -> entity::lead::Model {
    entity::lead::Entity::find_by_id(uuid(id))
        .one(&app.db)
        .await
        .unwrap()
        .expect("lead row")
}

async fn account_row(app: &TestApp, id: &Value) -> entity::account::Model {
    entity::account::Entity::find_by_id(uuid(id))
        .one(&app.db)
        .await
        .unwrap()
        .expect("account row")
}

async fn new_account(app: &TestApp, who: &Session, name: &str) -> Value {
    create(
        app,
        who,
        account::CREATE,
        "account",
        json!({ "name": name }),
    )
    .await["id"]
        .clone()
}

async fn stage_id(app: &TestApp, who: &Session, name: &str) -> Value {
    let data = app.ok(&who.access, STAGES, json!({})).await;
    data["pipelineStages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("stage {name}"))["id"]
        .clone()
}

// ---------------------------------------------------------------------------------------------
// Leads

#[tokio::test]
async fn a_lead_is_created_with_every_field_and_read_back_by_id() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = create(
        &app,
        &admin,
        lead::CREATE,
        "lead",
        json!({
            "email": "ada@example.com",
            "firstName": "Ada",
            "lastName": "Lovelace",
            "company": "Analytical Engines",
            "title": "CTO",
            "website": "https://engines.example",
            "phone": "+44 20 7946 0958",
            "status": "WARM",
            "lifecycleStage": "MQL",
            "leadSource": "trade show",
            "ownerId": admin.user_id,
            "budget": { "amount": "50000", "currency": "USD" },
            "authority": "Signs off herself",
            "need": "Automate the tables",
            "timeline": "Q3",
            "competitors": [" Babbage & Co ", "Jacquard", "Jacquard", ""],
            "objections": ["price", "timing"],
            "customFields": { "tier": "gold", "seats": 12, "beta": true },
        }),
    )
    .await;

    let read = by_id(&app, &admin, lead::GET, "lead", &created["id"]).await;
    assert_eq!(read, created, "reading by id answers what create answered");
    assert_eq!(read["email"], "ada@example.com");
    assert_eq!(read["firstName"], "Ada");
    assert_eq!(read["lastName"], "Lovelace");
    assert_eq!(read["company"], "Analytical Engines");
    assert_eq!(read["title"], "CTO");
    assert_eq!(read["website"], "https://engines.example");
    assert_eq!(read["phone"], "+442079460958");
    assert_eq!(read["status"], "WARM");
    assert_eq!(read["lifecycleStage"], "MQL");
    assert_eq!(read["leadSource"], "trade show");
    assert_eq!(read["owner"]["id"], admin.user_id.as_str());
    assert_eq!(
        read["budget"],
        json!({ "amount": "50000.00", "currency": "USD" })
    );
    assert_eq!(read["authority"], "Signs off herself");
    assert_eq!(read["need"], "Automate the tables");
    assert_eq!(read["timeline"], "Q3");
    assert_eq!(
        read["competitors"],
        json!(["Babbage & Co", "Jacquard"]),
        "labels are trimmed, without blanks or repeats"
    );
    assert_eq!(read["objections"], json!(["price", "timing"]));
    assert_eq!(
        read["customFields"],
        json!({ "tier": "gold", "seats": 12, "beta": true })
    );
    assert!(read["archivedAt"].is_null());
    assert_eq!(read["createdAt"], read["updatedAt"]);

    let row = lead_row(&app, &created["id"]).await;
    assert_eq!(row.email.as_deref(), Some("ada@example.com"));
    assert_eq!(row.phone.as_deref(), Some("+442079460958"));
    assert_eq!(row.budget_minor, Some(5_000_000));
    assert_eq!(row.budget_currency.as_deref(), Some("USD"));
    assert_eq!(row.owner_id, Some(Uuid::parse_str(&admin.user_id).unwrap()));
    assert_eq!(row.competitors, json!(["Babbage & Co", "Jacquard"]));
    assert_eq!(row.custom_fields["seats"], 12);
}

#[tokio::test]
async fn a_lead_gets_default_status_stage_and_empty_lists() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lead = create(
        &app,
        &admin,
        lead::CREATE,
        "lead",
        json!({ "company": "Acme" }),
    )
    .await;
    assert_eq!(lead["status"], "NOT_CONTACTED");
    assert_eq!(lead["lifecycleStage"], "LEAD");
    assert_eq!(lead["competitors"], json!([]));
    assert_eq!(lead["objections"], json!([]));
    assert_eq!(lead["customFields"], json!({}));
    assert!(lead["budget"].is_null());
    assert!(
        lead["owner"].is_null(),
        "an admin's lead is not assigned to the admin"
    );
}

#[tokio::test]
async fn a_lead_email_phone_and_budget_are_normalized() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lead = create(
        &app,
        &admin,
        lead::CREATE,
        "lead",
        json!({
            "email": "  Ada.Lovelace+CRM@Example.COM ",
            "phone": "(415) 555-2671",
            "budget": { "amount": "1200.5", "currency": "EUR" },
        }),
    )
    .await;
    assert_eq!(lead["email"], "ada.lovelace+crm@example.com");
    assert_eq!(lead["phone"], "+14155552671");
    assert_eq!(
        lead["budget"],
        json!({ "amount": "1200.50", "currency": "EUR" })
    );

    let row = lead_row(&app, &lead["id"]).await;
    assert_eq!(row.email.as_deref(), Some("ada.lovelace+crm@example.com"));
    assert_eq!(row.phone.as_deref(), Some("+14155552671"));
    assert_eq!(row.budget_minor, Some(120_050));
    assert_eq!(row.budget_currency.as_deref(), Some("EUR"));
}

#[tokio::test]
async fn a_lead_update_changes_given_fields_keeps_omitted_ones_and_clears_nulls() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let before = create(
        &app,
        &admin,
        lead::CREATE,
        "lead",
        json!({
            "email": "ada@example.com",
            "firstName": "Ada",
            "lastName": "Lovelace",
            "company": "Old Co",
            "title": "CTO",
            "budget": { "amount": "100", "currency": "USD" },
            "competitors": ["Jacquard"],
            "customFields": { "tier": "gold" },
        }),
    )
    .await;

    let after = update(
        &app,
        &admin,
        lead::UPDATE,
        "lead",
        &before["id"],
        json!({
            "company": "New Co",
            "status": "QUALIFIED",
            "title": null,
            "budget": null,
            "customFields": { "seats": 3 },
        }),
    )
    .await;
    assert_eq!(after["company"], "New Co");
    assert_eq!(after["status"], "QUALIFIED");
    assert!(after["title"].is_null(), "an explicit null clears");
    assert!(after["budget"].is_null(), "an explicit null clears");
    assert_eq!(
        after["customFields"],
        json!({ "seats": 3 }),
        "custom fields are replaced"
    );
    for kept in [
        "email",
        "firstName",
        "lastName",
        "competitors",
        "lifecycleStage",
        "createdAt",
    ] {
        assert_eq!(after[kept], before[kept], "{kept} was left out and stays");
    }
    assert!(time(&after["updatedAt"]) > time(&before["updatedAt"]));
    assert_eq!(
        by_id(&app, &admin, lead::GET, "lead", &before["id"]).await,
        after
    );

    let row = lead_row(&app, &before["id"]).await;
    assert_eq!(row.company.as_deref(), Some("New Co"));
    assert_eq!(row.title, None);
    assert_eq!(row.budget_minor, None);
    assert_eq!(row.budget_currency, None);
    assert_eq!(row.first_name.as_deref(), Some("Ada"));
    assert_eq!(row.email.as_deref(), Some("ada@example.com"));
}

#[tokio::test]
async fn an_archived_lead_leaves_the_list_but_stays_readable_and_restore_brings_it_back() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let kept = app.lead(&admin.access, json!({ "company": "Kept" })).await;
    let gone = create(
        &app,
        &admin,
        lead::CREATE,
        "lead",
        json!({ "company": "Gone" }),
    )
    .await;

    let archived = mutate(
        &app,
        &admin,
        lead::ARCHIVE,
        "lead",
        json!({ "id": gone["id"] }),
    )
    .await;
    assert!(archived["archivedAt"].is_string());
    assert_eq!(
        listed(&app, &admin, lead::LIST, "leads").await,
        (vec![kept.clone()], 1)
    );
    let read = by_id(&app, &admin, lead::GET, "lead", &gone["id"]).await;
    assert_eq!(read["company"], "Gone");
    assert_eq!(read["archivedAt"], archived["archivedAt"]);
    assert!(lead_row(&app, &gone["id"]).await.archived_at.is_some());

    let restored = mutate(
        &app,
        &admin,
        lead::RESTORE,
        "lead",
        json!({ "id": gone["id"] }),
    )
    .await;
    assert!(restored["archivedAt"].is_null());
    assert_eq!(
        listed(&app, &admin, lead::LIST, "leads").await,
        (vec![kept, id_str(&gone["id"])], 2)
    );
    assert!(lead_row(&app, &gone["id"]).await.archived_at.is_none());
}

// ---------------------------------------------------------------------------------------------
// Contacts

#[tokio::test]
async fn contacts_are_created_read_updated_archived_and_listed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let initech = new_account(&app, &admin, "Initech").await;
    let created = create(
        &app,
        &admin,
        contact::CREATE,
        "contact",
        json!({
            "email": "Peter@Initech.example",
            "firstName": "Peter",
            "lastName": "Gibbons",
            "phone": "(415) 555-2671",
            "title": "Engineer",
            "accountId": initech,
        }),
    )
    .await;
    assert_eq!(created["email"], "peter@initech.example");
    assert_eq!(created["firstName"], "Peter");
    assert_eq!(created["lastName"], "Gibbons");
    assert_eq!(created["phone"], "+14155552671");
    assert_eq!(created["title"], "Engineer");
    assert_eq!(created["lifecycleStage"], "CUSTOMER");
    assert_eq!(
        created["account"],
        json!({ "id": initech, "name": "Initech" })
    );
    assert!(created["archivedAt"].is_null());
    let id = created["id"].clone();
    assert_eq!(
        by_id(&app, &admin, contact::GET, "contact", &id).await,
        created
    );
    let nested = app
        .ok(
            &admin.access,
            "query($id: ID!) { account(id: $id) { contacts { totalCount nodes { id } } } }",
            json!({ "id": initech }),
        )
        .await;
    assert_eq!(
        nested["account"]["contacts"],
        json!({ "totalCount": 1, "nodes": [{ "id": id }] })
    );

    let updated = update(
        &app,
        &admin,
        contact::UPDATE,
        "contact",
        &id,
        json!({ "title": "Manager", "phone": null, "lifecycleStage": "EVANGELIST" }),
    )
    .await;
    assert_eq!(updated["title"], "Manager");
    assert!(updated["phone"].is_null());
    assert_eq!(updated["lifecycleStage"], "EVANGELIST");
    assert_eq!(updated["lastName"], "Gibbons");
    assert_eq!(updated["email"], "peter@initech.example");
    assert_eq!(updated["account"]["id"], initech);
    let row = entity::contact::Entity::find_by_id(uuid(&id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.title.as_deref(), Some("Manager"));
    assert_eq!(row.phone, None);
    assert_eq!(row.account_id, Some(uuid(&initech)));

    let other = create(
        &app,
        &admin,
        contact::CREATE,
        "contact",
        json!({ "lastName": "Bolton" }),
    )
    .await["id"]
        .clone();
    assert_eq!(
        listed(&app, &admin, contact::LIST, "contacts").await,
        (vec![id_str(&id), id_str(&other)], 2)
    );
    archive_then_restore(&app, &admin, &contact::DOCS, &id, &other).await;
}

#[tokio::test]
async fn a_contact_without_an_email_phone_or_last_name_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = app
        .gql(
            Some(&admin.access),
            contact::CREATE,
            json!({ "input": { "firstName": "Nameless", "title": "Ghost" } }),
        )
        .await;
    assert_refused(&body, "BAD_USER_INPUT", Some("input"));
    assert_eq!(
        entity::contact::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
}

// ---------------------------------------------------------------------------------------------
// Accounts

#[tokio::test]
async fn accounts_are_created_read_updated_archived_and_listed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = create(
        &app,
        &admin,
        account::CREATE,
        "account",
        json!({
            "name": "Globex",
            "domain": "GLOBEX.Example",
            "industry": "Energy",
            "phone": "(415) 555-2671",
            "status": "ACTIVE_CUSTOMER",
            "territory": "EMEA",
            "ownerId": admin.user_id,
        }),
    )
    .await;
    assert_eq!(created["name"], "Globex");
    assert_eq!(created["domain"], "globex.example");
    assert_eq!(created["industry"], "Energy");
    assert_eq!(created["phone"], "+14155552671");
    assert_eq!(created["status"], "ACTIVE_CUSTOMER");
    assert_eq!(created["territory"], "EMEA");
    assert_eq!(created["owner"]["id"], admin.user_id.as_str());
    assert!(created["parent"].is_null());
    let id = created["id"].clone();
    assert_eq!(
        by_id(&app, &admin, account::GET, "account", &id).await,
        created
    );

    let updated = update(
        &app,
        &admin,
        account::UPDATE,
        "account",
        &id,
        json!({ "industry": null, "territory": "APAC" }),
    )
    .await;
    assert!(updated["industry"].is_null());
    assert_eq!(updated["territory"], "APAC");
    assert_eq!(updated["name"], "Globex");
    assert_eq!(updated["status"], "ACTIVE_CUSTOMER");
    let row = account_row(&app, &id).await;
    assert_eq!(row.industry, None);
    assert_eq!(row.territory.as_deref(), Some("APAC"));
    assert_eq!(row.domain.as_deref(), Some("globex.example"));

    let other = create(
        &app,
        &admin,
        account::CREATE,
        "account",
        json!({ "name": "Hooli" }),
    )
    .await;
    assert_eq!(other["status"], "PROSPECT", "accounts start as prospects");
    assert_eq!(
        listed(&app, &admin, account::LIST, "accounts").await,
        (vec![id_str(&id), id_str(&other["id"])], 2)
    );
    archive_then_restore(&app, &admin, &account::DOCS, &id, &other["id"]).await;
}

#[tokio::test]
async fn an_account_without_a_name_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = app
        .gql(
            Some(&admin.access),
            account::CREATE,
            json!({ "input": { "domain": "nameless.example" } }),
        )
        .await;
    assert_refused(&body, "BAD_USER_INPUT", Some("name"));
    assert_eq!(
        entity::account::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn an_account_hierarchy_answers_parent_and_children() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let parent = new_account(&app, &admin, "Holding").await;
    let first = create(
        &app,
        &admin,
        account::CREATE,
        "account",
        json!({ "name": "Branch one", "parentId": parent }),
    )
    .await;
    assert_eq!(first["parent"], json!({ "id": parent, "name": "Holding" }));
    let second = create(
        &app,
        &admin,
        account::CREATE,
        "account",
        json!({ "name": "Branch two", "parentId": parent }),
    )
    .await;

    const TREE: &str = "query($id: ID!) { account(id: $id) { parent { id } children { totalCount nodes { id name parent { id } } } } }";
    let tree = app.ok(&admin.access, TREE, json!({ "id": parent })).await;
    assert!(tree["account"]["parent"].is_null());
    assert_eq!(
        tree["account"]["children"],
        json!({ "totalCount": 2, "nodes": [
            { "id": first["id"], "name": "Branch one", "parent": { "id": parent } },
            { "id": second["id"], "name": "Branch two", "parent": { "id": parent } },
        ] })
    );
    assert_eq!(
        account_row(&app, &second["id"]).await.parent_id,
        Some(uuid(&parent))
    );

    // Clearing the parent detaches the branch.
    let detached = update(
        &app,
        &admin,
        account::UPDATE,
        "account",
        &second["id"],
        json!({ "parentId": null }),
    )
    .await;
    assert!(detached["parent"].is_null());
    assert_eq!(account_row(&app, &second["id"]).await.parent_id, None);
    let tree = app.ok(&admin.access, TREE, json!({ "id": parent })).await;
    assert_eq!(tree["account"]["children"]["totalCount"], 1);
    assert_eq!(tree["account"]["children"]["nodes"][0]["id"], first["id"]);
}

/// Tries to give `child` the parent `parent`, expects the refusal, and checks nothing changed.
async fn assert_loop_refused(app: &TestApp, admin: &Session, child: &Value, parent: &Value) {
    let row_before = account_row(app, child).await;
    let audit_before = audit_count(app).await;
    let body = app
        .gql(
            Some(&admin.access),
            account::UPDATE,
            json!({ "id": child, "input": { "parentId": parent, "name": "Renamed" } }),
        )
        .await;
    assert_refused(&body, "BAD_USER_INPUT", Some("parentId"));
    assert_eq!(
        account_row(app, child).await,
        row_before,
        "a refused update leaves the row as it was"
    );
    assert_eq!(audit_count(app).await, audit_before, "and audits nothing");
}

async fn set_parent(app: &TestApp, admin: &Session, child: &Value, parent: &Value) {
    let account = update(
        app,
        admin,
        account::UPDATE,
        "account",
        child,
        json!({ "parentId": parent }),
    )
    .await;
    assert_eq!(account["parent"]["id"], *parent);
}

#[tokio::test]
async fn a_parent_that_closes_a_two_account_loop_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let a = new_account(&app, &admin, "A").await;
    let b = new_account(&app, &admin, "B").await;
    set_parent(&app, &admin, &a, &b).await;
    assert_loop_refused(&app, &admin, &b, &a).await;
    assert_eq!(account_row(&app, &b).await.parent_id, None);
    assert_eq!(account_row(&app, &a).await.parent_id, Some(uuid(&b)));
}

#[tokio::test]
async fn an_account_cannot_be_its_own_parent() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let a = new_account(&app, &admin, "A").await;
    assert_loop_refused(&app, &admin, &a, &a).await;
    assert_eq!(account_row(&app, &a).await.parent_id, None);
}

#[tokio::test]
async fn a_parent_that_closes_a_longer_loop_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let a = new_account(&app, &admin, "A").await;
    let b = new_account(&app, &admin, "B").await;
    let c = new_account(&app, &admin, "C").await;
    let d = new_account(&app, &admin, "D").await;
    set_parent(&app, &admin, &a, &b).await;
    set_parent(&app, &admin, &b, &c).await;
    set_parent(&app, &admin, &c, &d).await;
    assert_loop_refused(&app, &admin, &d, &a).await;
    assert_loop_refused(&app, &admin, &c, &a).await;
    assert_loop_refused(&app, &admin, &d, &b).await;
    // Re-parenting within the chain without a loop is fine: A skips B and hangs under D.
    set_parent(&app, &admin, &a, &d).await;
}

// ---------------------------------------------------------------------------------------------
// Opportunities

#[tokio::test]
async fn the_pipeline_lists_the_eight_default_stages_in_order() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let data = app.ok(&admin.access, STAGES, json!({})).await;
    let stages = data["pipelineStages"].as_array().unwrap();
    let names: Vec<&str> = stages.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "Initial contact",
            "Needs analysis",
            "Demo",
            "Proposal",
            "Negotiation",
            "Contract validation",
            "Closed won",
            "Closed lost",
        ]
    );
    let positions: Vec<i64> = stages
        .iter()
        .map(|s| s["position"].as_i64().unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    let probabilities: Vec<i64> = stages
        .iter()
        .map(|s| s["probability"].as_i64().unwrap())
        .collect();
    assert_eq!(probabilities, [10, 20, 40, 60, 75, 90, 100, 0]);
    let won: Vec<&str> = stages
        .iter()
        .filter(|s| s["isWon"] == true)
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let lost: Vec<&str> = stages
        .iter()
        .filter(|s| s["isLost"] == true)
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(won, ["Closed won"]);
    assert_eq!(lost, ["Closed lost"]);
}

#[tokio::test]
async fn opportunities_are_created_on_the_first_stage_read_updated_archived_and_listed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let globex = new_account(&app, &admin, "Globex").await;
    let lead = app
        .lead(&admin.access, json!({ "company": "Globex" }))
        .await;
    let created = create(
        &app,
        &admin,
        opportunity::CREATE,
        "opportunity",
        json!({
            "name": "Big deal",
            "amount": { "amount": "25000", "currency": "usd" },
            "accountId": globex,
            "leadId": lead,
            "closeDate": "2030-06-30",
        }),
    )
    .await;
    assert_eq!(created["name"], "Big deal");
    assert_eq!(
        created["amount"],
        json!({ "amount": "25000.00", "currency": "USD" })
    );
    assert_eq!(created["stage"]["name"], "Initial contact");
    assert_eq!(created["account"]["id"], globex);
    assert_eq!(created["lead"]["id"], lead.as_str());
    assert!(created["contact"].is_null());
    assert_eq!(created["closeDate"], "2030-06-30");
    assert!(created["closedAt"].is_null());
    let id = created["id"].clone();
    assert_eq!(
        by_id(&app, &admin, opportunity::GET, "opportunity", &id).await,
        created
    );
    let row = entity::opportunity::Entity::find_by_id(uuid(&id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.amount_minor, 2_500_000);
    assert_eq!(row.currency, "USD");
    assert_eq!(row.stage_id, uuid(&created["stage"]["id"]));

    let updated = update(
        &app,
        &admin,
        opportunity::UPDATE,
        "opportunity",
        &id,
        json!({ "name": "Bigger deal", "closeDate": null, "leadId": null }),
    )
    .await;
    assert_eq!(updated["name"], "Bigger deal");
    assert!(updated["closeDate"].is_null());
    assert!(updated["lead"].is_null());
    assert_eq!(updated["amount"], created["amount"], "omitted, so kept");
    assert_eq!(updated["stage"], created["stage"]);
    assert_eq!(updated["account"]["id"], globex);

    let repriced = update(
        &app,
        &admin,
        opportunity::UPDATE,
        "opportunity",
        &id,
        json!({ "amount": { "amount": "999", "currency": "JPY" } }),
    )
    .await;
    assert_eq!(
        repriced["amount"],
        json!({ "amount": "999", "currency": "JPY" })
    );

    let other = create(
        &app,
        &admin,
        opportunity::CREATE,
        "opportunity",
        json!({ "name": "Small deal", "amount": { "amount": "10", "currency": "EUR" } }),
    )
    .await["id"]
        .clone();
    assert_eq!(
        listed(&app, &admin, opportunity::LIST, "opportunities").await,
        (vec![id_str(&id), id_str(&other)], 2)
    );
    archive_then_restore(&app, &admin, &opportunity::DOCS, &id, &other).await;
}

#[tokio::test]
async fn moving_an_opportunity_to_closed_won_stamps_closed_at_and_reopening_clears_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let deal = create(
        &app,
        &admin,
        opportunity::CREATE,
        "opportunity",
        json!({ "name": "Deal", "amount": { "amount": "100", "currency": "USD" } }),
    )
    .await;
    let id = deal["id"].clone();

    let proposal = stage_id(&app, &admin, "Proposal").await;
    let moved = update(
        &app,
        &admin,
        opportunity::UPDATE,
        "opportunity",
        &id,
        json!({ "stageId": proposal }),
    )
    .await;
    assert_eq!(moved["stage"]["name"], "Proposal");
    assert!(moved["closedAt"].is_null(), "an open stage is not closed");

    let won = stage_id(&app, &admin, "Closed won").await;
    let closed = update(
        &app,
        &admin,
        opportunity::UPDATE,
        "opportunity",
        &id,
        json!({ "stageId": won }),
    )
    .await;
    assert_eq!(closed["stage"]["name"], "Closed won");
    assert_eq!(closed["stage"]["isWon"], true);
    assert!(time(&closed["closedAt"]) >= time(&deal["createdAt"]));
    assert_eq!(
        by_id(&app, &admin, opportunity::GET, "opportunity", &id).await["closedAt"],
        closed["closedAt"]
    );
    let row = entity::opportunity::Entity::find_by_id(uuid(&id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.stage_id, uuid(&won));
    assert!(row.closed_at.is_some());

    let reopened = update(
        &app,
        &admin,
        opportunity::UPDATE,
        "opportunity",
        &id,
        json!({ "stageId": proposal }),
    )
    .await;
    assert!(reopened["closedAt"].is_null());

    let lost = stage_id(&app, &admin, "Closed lost").await;
    let lost = update(
        &app,
        &admin,
        opportunity::UPDATE,
        "opportunity",
        &id,
        json!({ "stageId": lost, "lostReason": "price" }),
    )
    .await;
    assert_eq!(lost["stage"]["isLost"], true);
    assert_eq!(lost["lostReason"], "price");
    assert!(lost["closedAt"].is_string(), "a lost deal is closed too");
}

#[tokio::test]
async fn saving_a_closed_opportunity_in_its_own_stage_keeps_closed_at() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let won = stage_id(&app, &admin, "Closed won").await;
    let deal = create(
        &app,
        &admin,
        opportunity::CREATE,
        "opportunity",
        json!({ "name": "Deal", "amount": { "amount": "100", "currency": "USD" }, "stageId": won }),
    )
    .await;
    assert_eq!(deal["stage"]["name"], "Closed won");
    assert!(
        deal["closedAt"].is_string(),
        "created straight into a won stage"
    );

    // A form that sends every field back, stage included, is no new close.
    let saved = update(
        &app,
        &admin,
        opportunity::UPDATE,
        "opportunity",
        &deal["id"],
        json!({ "name": "Deal, renamed", "stageId": won }),
    )
    .await;
    assert_eq!(saved["name"], "Deal, renamed");
    assert_eq!(saved["closedAt"], deal["closedAt"]);
}

#[tokio::test]
async fn an_opportunity_without_an_amount_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let audit_before = audit_count(&app).await;
    let body = app
        .gql(
            Some(&admin.access),
            opportunity::CREATE,
            json!({ "input": { "name": "No amount" } }),
        )
        .await;
    assert_refused(&body, "BAD_USER_INPUT", Some("amount"));
    assert_eq!(
        entity::opportunity::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(audit_count(&app).await, audit_before);
}

// ---------------------------------------------------------------------------------------------
// Activities

#[tokio::test]
async fn every_activity_kind_can_be_created() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let kinds = ["CALL", "MEETING", "EMAIL", "VISIT", "TASK", "NOTE"];
    let mut ids = Vec::new();
    for kind in kinds {
        let activity = create(
            &app,
            &admin,
            activity::CREATE,
            "activity",
            json!({ "kind": kind, "subject": format!("A {kind}") }),
        )
        .await;
        assert_eq!(activity["kind"], kind);
        assert_eq!(activity["subject"], format!("A {kind}"));
        ids.push(id_str(&activity["id"]));
    }
    let data = app
        .ok(
            &admin.access,
            "{ activities(first: 10) { totalCount nodes { id kind } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["activities"]["totalCount"], 6);
    let listed: Vec<(String, String)> = data["activities"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (id_str(&n["id"]), id_str(&n["kind"])))
        .collect();
    let expected: Vec<(String, String)> = ids
        .into_iter()
        .zip(kinds.iter().map(|k| k.to_string()))
        .collect();
    assert_eq!(listed, expected);
}

#[tokio::test]
async fn activities_are_created_read_updated_archived_and_listed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = create(
        &app,
        &admin,
        activity::CREATE,
        "activity",
        json!({
            "kind": "CALL",
            "subject": "Intro call",
            "body": "Ask about the budget",
            "dueAt": "2030-01-02T03:04:05Z",
        }),
    )
    .await;
    assert_eq!(created["kind"], "CALL");
    assert_eq!(created["subject"], "Intro call");
    assert_eq!(created["body"], "Ask about the budget");
    assert_eq!(
        time(&created["dueAt"]),
        time(&json!("2030-01-02T03:04:05Z"))
    );
    assert_eq!(created["done"], false);
    assert!(created["completedAt"].is_null());
    assert_eq!(
        created["assignee"]["id"],
        admin.user_id.as_str(),
        "the assignee defaults to the creator"
    );
    let id = created["id"].clone();
    assert_eq!(
        by_id(&app, &admin, activity::GET, "activity", &id).await,
        created
    );
    let row = entity::activity::Entity::find_by_id(uuid(&id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.assignee_id,
        Some(Uuid::parse_str(&admin.user_id).unwrap())
    );
    assert_eq!(
        row.due_at.map(|t| t.to_rfc3339()),
        Some("2030-01-02T03:04:05+00:00".to_owned())
    );

    let updated = update(
        &app,
        &admin,
        activity::UPDATE,
        "activity",
        &id,
        json!({ "subject": "Discovery call", "body": null, "kind": "MEETING" }),
    )
    .await;
    assert_eq!(updated["subject"], "Discovery call");
    assert_eq!(updated["kind"], "MEETING");
    assert!(updated["body"].is_null());
    assert_eq!(updated["dueAt"], created["dueAt"], "omitted, so kept");
    assert_eq!(updated["assignee"], created["assignee"]);

    let other = create(
        &app,
        &admin,
        activity::CREATE,
        "activity",
        json!({ "kind": "NOTE", "subject": "Note" }),
    )
    .await["id"]
        .clone();
    assert_eq!(
        listed(&app, &admin, activity::LIST, "activities").await,
        (vec![id_str(&id), id_str(&other)], 2)
    );
    archive_then_restore(&app, &admin, &activity::DOCS, &id, &other).await;
}

#[tokio::test]
async fn marking_an_activity_done_stamps_completed_at_and_undoing_clears_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let task = create(
        &app,
        &admin,
        activity::CREATE,
        "activity",
        json!({ "kind": "TASK", "subject": "Send the quote" }),
    )
    .await;
    let id = task["id"].clone();

    let done = update(
        &app,
        &admin,
        activity::UPDATE,
        "activity",
        &id,
        json!({ "done": true }),
    )
    .await;
    assert_eq!(done["done"], true);
    assert!(time(&done["completedAt"]) >= time(&task["createdAt"]));
    let row = entity::activity::Entity::find_by_id(uuid(&id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.done);
    assert!(row.completed_at.is_some());

    let undone = update(
        &app,
        &admin,
        activity::UPDATE,
        "activity",
        &id,
        json!({ "done": false }),
    )
    .await;
    assert_eq!(undone["done"], false);
    assert!(undone["completedAt"].is_null());
    let row = entity::activity::Entity::find_by_id(uuid(&id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(!row.done);
    assert_eq!(row.completed_at, None);
}

#[tokio::test]
async fn an_activity_on_a_lead_is_listed_under_the_lead() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lead = app.lead(&admin.access, json!({ "company": "Acme" })).await;
    let other_lead = app.lead(&admin.access, json!({ "company": "Other" })).await;
    let call = create(
        &app,
        &admin,
        activity::CREATE,
        "activity",
        json!({ "kind": "CALL", "subject": "Call Acme", "leadId": lead }),
    )
    .await;
    assert_eq!(call["lead"]["id"], lead.as_str());
    create(
        &app,
        &admin,
        activity::CREATE,
        "activity",
        json!({ "kind": "NOTE", "subject": "Elsewhere", "leadId": other_lead }),
    )
    .await;

    let data = app
        .ok(
            &admin.access,
            "query($id: ID!) { lead(id: $id) { activities { totalCount nodes { id subject } } } }",
            json!({ "id": lead }),
        )
        .await;
    assert_eq!(
        data["lead"]["activities"],
        json!({ "totalCount": 1, "nodes": [{ "id": call["id"], "subject": "Call Acme" }] })
    );
    let row = entity::activity::Entity::find_by_id(uuid(&call["id"]))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.lead_id, Some(Uuid::parse_str(&lead).unwrap()));
}

// ---------------------------------------------------------------------------------------------
// Campaigns

#[tokio::test]
async fn campaigns_are_created_read_updated_archived_and_listed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = create(
        &app,
        &admin,
        campaign::CREATE,
        "campaign",
        json!({
            "name": "Spring Sale",
            "utmCampaign": "Spring_SALE_2030",
            "channel": "email",
            "cost": { "amount": "1500", "currency": "usd" },
            "startsOn": "2030-03-01",
            "endsOn": "2030-03-31",
        }),
    )
    .await;
    assert_eq!(created["name"], "Spring Sale");
    assert_eq!(created["utmCampaign"], "spring_sale_2030");
    assert_eq!(created["channel"], "email");
    assert_eq!(created["status"], "PLANNED");
    assert_eq!(
        created["cost"],
        json!({ "amount": "1500.00", "currency": "USD" })
    );
    assert_eq!(created["startsOn"], "2030-03-01");
    assert_eq!(created["endsOn"], "2030-03-31");
    let id = created["id"].clone();
    assert_eq!(
        by_id(&app, &admin, campaign::GET, "campaign", &id).await,
        created
    );
    let row = entity::campaign::Entity::find_by_id(uuid(&id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.utm_campaign.as_deref(), Some("spring_sale_2030"));
    assert_eq!(row.cost_minor, Some(150_000));
    assert_eq!(row.currency.as_deref(), Some("USD"));

    let updated = update(
        &app,
        &admin,
        campaign::UPDATE,
        "campaign",
        &id,
        json!({
            "status": "ACTIVE",
            "channel": null,
            "cost": { "amount": "500", "currency": "JPY" },
            "endsOn": "2030-04-15",
        }),
    )
    .await;
    assert_eq!(updated["status"], "ACTIVE");
    assert!(updated["channel"].is_null());
    assert_eq!(
        updated["cost"],
        json!({ "amount": "500", "currency": "JPY" })
    );
    assert_eq!(updated["endsOn"], "2030-04-15");
    assert_eq!(updated["startsOn"], "2030-03-01");
    assert_eq!(updated["utmCampaign"], "spring_sale_2030");

    let other = create(
        &app,
        &admin,
        campaign::CREATE,
        "campaign",
        json!({ "name": "Autumn" }),
    )
    .await["id"]
        .clone();
    assert_eq!(
        listed(&app, &admin, campaign::LIST, "campaigns").await,
        (vec![id_str(&id), id_str(&other)], 2)
    );
    archive_then_restore(&app, &admin, &campaign::DOCS, &id, &other).await;
}

#[tokio::test]
async fn a_campaign_ending_before_it_starts_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = app
        .gql(
            Some(&admin.access),
            campaign::CREATE,
            json!({ "input": { "name": "Backwards", "startsOn": "2030-03-01", "endsOn": "2030-02-28" } }),
        )
        .await;
    assert_refused(&body, "BAD_USER_INPUT", Some("endsOn"));
    assert_eq!(
        entity::campaign::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );

    // An update is checked against the stored start too.
    let campaign = create(
        &app,
        &admin,
        campaign::CREATE,
        "campaign",
        json!({ "name": "Forwards", "startsOn": "2030-03-01" }),
    )
    .await;
    let row_before = entity::campaign::Entity::find_by_id(uuid(&campaign["id"]))
        .one(&app.db)
        .await
        .unwrap();
    let body = app
        .gql(
            Some(&admin.access),
            campaign::UPDATE,
            json!({ "id": campaign["id"], "input": { "endsOn": "2030-02-01" } }),
        )
        .await;
    assert_refused(&body, "BAD_USER_INPUT", Some("endsOn"));
    let row_after = entity::campaign::Entity::find_by_id(uuid(&campaign["id"]))
        .one(&app.db)
        .await
        .unwrap();
    assert_eq!(row_after, row_before);
}

#[tokio::test]
async fn a_second_campaign_with_the_same_utm_key_is_a_conflict() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    create(
        &app,
        &admin,
        campaign::CREATE,
        "campaign",
        json!({ "name": "One", "utmCampaign": "launch" }),
    )
    .await;
    let body = app
        .gql(
            Some(&admin.access),
            campaign::CREATE,
            json!({ "input": { "name": "Two", "utmCampaign": "LAUNCH" } }),
        )
        .await;
    assert_refused(&body, "CONFLICT", Some("utmCampaign"));
    assert_eq!(
        entity::campaign::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// Lists

async fn lead_page(app: &TestApp, admin: &Session, variables: Value) -> Value {
    app.ok(&admin.access, LEAD_PAGE, variables).await["leads"].clone()
}

fn page_ids(page: &Value) -> Vec<String> {
    page["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| id_str(&e["node"]["id"]))
        .collect()
}

#[tokio::test]
async fn paging_forward_walks_every_lead_once_in_creation_order() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut created = Vec::new();
    // Names out of alphabetical order, so creation order is not name order.
    for company in ["E", "C", "A", "D", "B"] {
        created.push(app.lead(&admin.access, json!({ "company": company })).await);
    }

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut more = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = lead_page(&app, &admin, json!({ "first": 2, "after": after })).await;
        assert_eq!(page["totalCount"], 5, "totalCount counts every page's rows");
        assert_eq!(page["pageInfo"]["hasPreviousPage"], after.is_some());
        let ids = page_ids(&page);
        let last_cursor = page["edges"]
            .as_array()
            .unwrap()
            .last()
            .map(|e| e["cursor"].clone());
        assert_eq!(Some(page["pageInfo"]["endCursor"].clone()), last_cursor);
        sizes.push(ids.len());
        seen.extend(ids);
        let has_next = page["pageInfo"]["hasNextPage"].as_bool().unwrap();
        more.push(has_next);
        if !has_next {
            break;
        }
        after = Some(id_str(&page["pageInfo"]["endCursor"]));
        assert!(sizes.len() < 10, "the walk ends");
    }
    assert_eq!(seen, created, "every lead once, in creation order");
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(more, [true, true, false]);
}

#[tokio::test]
async fn a_page_over_the_cap_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.lead(&admin.access, json!({ "company": "A" })).await;
    let body = app
        .gql(Some(&admin.access), LEAD_PAGE, json!({ "first": 101 }))
        .await;
    assert_refused(&body, "BAD_USER_INPUT", Some("first"));
    let at_cap = lead_page(&app, &admin, json!({ "first": 100 })).await;
    assert_eq!(at_cap["totalCount"], 1, "the cap itself is allowed");
}

#[tokio::test]
async fn a_garbage_cursor_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.lead(&admin.access, json!({ "company": "A" })).await;
    for garbage in [
        "garbage!!".to_owned(),
        "not-a-cursor".to_owned(),
        URL_SAFE_NO_PAD.encode(b"{\"keys\": 5}"),
        URL_SAFE_NO_PAD.encode(b"[1, 2, 3]"),
    ] {
        let body = app
            .gql(
                Some(&admin.access),
                LEAD_PAGE,
                json!({ "first": 2, "after": garbage }),
            )
            .await;
        assert_refused(&body, "BAD_USER_INPUT", Some("after"));
    }
}

#[tokio::test]
async fn a_cursor_from_another_order_with_as_many_keys_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for (company, email) in [
        ("A", "z@example.com"),
        ("B", "y@example.com"),
        ("C", "x@example.com"),
    ] {
        app.lead(&admin.access, json!({ "company": company, "email": email }))
            .await;
    }
    // Each has one key, as COMPANY has: a time, then text of another field.
    for other in ["CREATED_AT", "EMAIL"] {
        let page = lead_page(
            &app,
            &admin,
            json!({ "first": 1, "orderBy": [{ "field": other }] }),
        )
        .await;
        let body = app
            .gql(
                Some(&admin.access),
                LEAD_PAGE,
                json!({
                    "first": 2,
                    "after": page["pageInfo"]["endCursor"],
                    "orderBy": [{ "field": "COMPANY" }],
                }),
            )
            .await;
        assert_refused(&body, "BAD_USER_INPUT", Some("after"));
    }
    let ascending = lead_page(
        &app,
        &admin,
        json!({ "first": 1, "orderBy": [{ "field": "COMPANY" }] }),
    )
    .await;
    // The same field the other way round is another order too.
    let body = app
        .gql(
            Some(&admin.access),
            LEAD_PAGE,
            json!({
                "first": 2,
                "after": ascending["pageInfo"]["endCursor"],
                "orderBy": [{ "field": "COMPANY", "direction": "DESC" }],
            }),
        )
        .await;
    assert_refused(&body, "BAD_USER_INPUT", Some("after"));
    // The order it came from still takes it.
    let rest = lead_page(
        &app,
        &admin,
        json!({
            "first": 2,
            "after": ascending["pageInfo"]["endCursor"],
            "orderBy": [{ "field": "COMPANY" }],
        }),
    )
    .await;
    assert_eq!(rest["edges"][0]["node"]["company"], "B");
    assert_eq!(rest["edges"][1]["node"]["company"], "C");
}

#[tokio::test]
async fn a_lead_inserted_between_pages_neither_repeats_nor_skips_rows() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut by_company = std::collections::HashMap::new();
    for company in ["B", "D", "F", "H", "J"] {
        by_company.insert(
            company,
            app.lead(&admin.access, json!({ "company": company })).await,
        );
    }
    let order = json!([{ "field": "COMPANY" }]);
    let first = lead_page(&app, &admin, json!({ "first": 2, "orderBy": order })).await;
    let companies = |page: &Value| -> Vec<String> {
        page["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| id_str(&e["node"]["company"]))
            .collect()
    };
    assert_eq!(companies(&first), ["B", "D"]);

    // One row lands before the cursor (an OFFSET would then show D again), one after it.
    app.lead(&admin.access, json!({ "company": "A" })).await;
    app.lead(&admin.access, json!({ "company": "E" })).await;

    let mut seen = companies(&first);
    let mut after = first["pageInfo"]["endCursor"].clone();
    loop {
        let page = lead_page(
            &app,
            &admin,
            json!({ "first": 2, "after": after, "orderBy": order }),
        )
        .await;
        seen.extend(companies(&page));
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, ["B", "D", "E", "F", "H", "J"]);
}

#[tokio::test]
async fn a_lead_archived_between_pages_does_not_make_the_walk_skip_rows() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut ids = Vec::new();
    for company in ["one", "two", "three", "four", "five"] {
        ids.push(app.lead(&admin.access, json!({ "company": company })).await);
    }
    let first = lead_page(&app, &admin, json!({ "first": 2 })).await;
    assert_eq!(page_ids(&first), ids[..2]);

    // A row already seen leaves the list; an OFFSET would now skip "three".
    mutate(&app, &admin, lead::ARCHIVE, "lead", json!({ "id": ids[0] })).await;
    let added = app.lead(&admin.access, json!({ "company": "six" })).await;

    let rest = lead_page(
        &app,
        &admin,
        json!({ "first": 10, "after": first["pageInfo"]["endCursor"] }),
    )
    .await;
    let mut expected = ids[2..].to_vec();
    expected.push(added);
    assert_eq!(page_ids(&rest), expected);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
}

// ---------------------------------------------------------------------------------------------
// Validation

/// Creates a lead from `input`, expects BAD_USER_INPUT naming `field`, and checks that neither
/// a lead nor an audit row was written.
async fn assert_lead_refused(input: Value, field: &str) {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.lead(&admin.access, json!({ "company": "Existing" }))
        .await;
    let (leads_before, audit_before) = (lead_count(&app).await, audit_count(&app).await);
    let body = app
        .gql(Some(&admin.access), lead::CREATE, json!({ "input": input }))
        .await;
    assert_refused(&body, "BAD_USER_INPUT", Some(field));
    assert_eq!(lead_count(&app).await, leads_before, "no lead written");
    assert_eq!(
        audit_count(&app).await,
        audit_before,
        "no audit row written"
    );
}

#[tokio::test]
async fn a_bad_email_is_refused_and_writes_nothing() {
    assert_lead_refused(
        json!({ "email": "not-an-email", "company": "Acme" }),
        "email",
    )
    .await;
}

#[tokio::test]
async fn a_bad_phone_is_refused_and_writes_nothing() {
    assert_lead_refused(json!({ "phone": "12", "company": "Acme" }), "phone").await;
}

#[tokio::test]
async fn an_unknown_currency_is_refused_and_writes_nothing() {
    assert_lead_refused(
        json!({ "company": "Acme", "budget": { "amount": "10", "currency": "XYZ" } }),
        "budget.currency",
    )
    .await;
}

#[tokio::test]
async fn more_decimals_than_the_currency_has_are_refused_and_write_nothing() {
    assert_lead_refused(
        json!({ "company": "Acme", "budget": { "amount": "5.5", "currency": "JPY" } }),
        "budget.amount",
    )
    .await;
}

#[tokio::test]
async fn a_malformed_amount_is_refused_and_writes_nothing() {
    assert_lead_refused(
        json!({ "company": "Acme", "budget": { "amount": "1e5", "currency": "EUR" } }),
        "budget.amount",
    )
    .await;
}

#[tokio::test]
async fn a_lead_without_an_identifying_field_is_refused_and_writes_nothing() {
    assert_lead_refused(
        json!({ "firstName": "Ada", "title": "CTO", "company": "   " }),
        "input",
    )
    .await;
}

#[tokio::test]
async fn a_refused_lead_update_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = json!(
        app.lead(
            &admin.access,
            json!({ "email": "ada@example.com", "company": "Acme" })
        )
        .await
    );
    let row_before = lead_row(&app, &id).await;
    let audit_before = audit_count(&app).await;
    let body = app
        .gql(
            Some(&admin.access),
            lead::UPDATE,
            json!({ "id": id, "input": { "company": "Changed", "phone": "not a phone" } }),
        )
        .await;
    assert_refused(&body, "BAD_USER_INPUT", Some("phone"));
    assert_eq!(lead_row(&app, &id).await, row_before);
    assert_eq!(audit_count(&app).await, audit_before);
}

// ---------------------------------------------------------------------------------------------
// Conflicts

#[tokio::test]
async fn a_second_lead_with_the_same_email_in_another_case_is_a_conflict() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.lead(&admin.access, json!({ "email": "ada@example.com" }))
        .await;
    let (leads_before, audit_before) = (lead_count(&app).await, audit_count(&app).await);
    let body = app
        .gql(
            Some(&admin.access),
            lead::CREATE,
            json!({ "input": { "email": "ADA@Example.com", "company": "Dup" } }),
        )
        .await;
    assert_refused(&body, "CONFLICT", Some("email"));
    assert_eq!(lead_count(&app).await, leads_before);
    assert_eq!(audit_count(&app).await, audit_before, "no audit row");
}

#[tokio::test]
async fn a_second_contact_with_the_same_email_in_another_case_is_a_conflict() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    create(
        &app,
        &admin,
        contact::CREATE,
        "contact",
        json!({ "email": "peter@initech.example" }),
    )
    .await;
    let audit_before = audit_count(&app).await;
    let body = app
        .gql(
            Some(&admin.access),
            contact::CREATE,
            json!({ "input": { "email": "Peter@INITECH.example", "lastName": "Dup" } }),
        )
        .await;
    assert_refused(&body, "CONFLICT", Some("email"));
    assert_eq!(
        entity::contact::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        1
    );
    assert_eq!(audit_count(&app).await, audit_before, "no audit row");
}

#[tokio::test]
async fn changing_a_lead_to_a_taken_email_is_a_conflict_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.lead(&admin.access, json!({ "email": "ada@example.com" }))
        .await;
    let other = json!(
        app.lead(&admin.access, json!({ "email": "bob@example.com" }))
            .await
    );
    let row_before = lead_row(&app, &other).await;
    let audit_before = audit_count(&app).await;
    let body = app
        .gql(
            Some(&admin.access),
            lead::UPDATE,
            json!({ "id": other, "input": { "email": "Ada@Example.com" } }),
        )
        .await;
    assert_refused(&body, "CONFLICT", Some("email"));
    assert_eq!(lead_row(&app, &other).await, row_before);
    assert_eq!(audit_count(&app).await, audit_before);
}

// ---------------------------------------------------------------------------------------------
// Audit

#[tokio::test]
async fn each_lead_mutation_writes_one_audit_row_with_before_and_after() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let admin_id = Uuid::parse_str(&admin.user_id).unwrap();
    let created = create(
        &app,
        &admin,
        lead::CREATE,
        "lead",
        json!({ "email": "ada@example.com", "company": "Old Co" }),
    )
    .await;
    let id = created["id"].clone();
    update(
        &app,
        &admin,
        lead::UPDATE,
        "lead",
        &id,
        json!({ "company": "New Co" }),
    )
    .await;
    mutate(&app, &admin, lead::ARCHIVE, "lead", json!({ "id": id })).await;
    mutate(&app, &admin, lead::RESTORE, "lead", json!({ "id": id })).await;

    let rows = audit_of(&app, "lead").await;
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        ["lead.create", "lead.update", "lead.archive", "lead.restore"]
    );
    for row in &rows {
        assert_eq!(row.entity_id, uuid(&id), "{}", row.action);
        assert_eq!(row.actor_id, Some(admin_id), "{}", row.action);
        assert!(row.after.is_some(), "{}", row.action);
    }
    let [create_row, update_row, archive_row, restore_row] = &rows[..] else {
        unreachable!()
    };

    assert!(
        create_row.before.is_none(),
        "a create has no before: {:?}",
        create_row.before
    );
    let after = create_row.after.as_ref().unwrap();
    assert_eq!(after["email"], "ada@example.com");
    assert_eq!(after["company"], "Old Co");
    assert_eq!(after["id"], id);

    let (before, after) = (
        update_row.before.as_ref().unwrap(),
        update_row.after.as_ref().unwrap(),
    );
    assert_eq!(before["company"], "Old Co");
    assert_eq!(after["company"], "New Co");
    assert_eq!(after["email"], "ada@example.com");

    let (before, after) = (
        archive_row.before.as_ref().unwrap(),
        archive_row.after.as_ref().unwrap(),
    );
    assert!(before["archived_at"].is_null());
    assert!(after["archived_at"].is_string());
    assert_eq!(after["company"], "New Co");

    let (before, after) = (
        restore_row.before.as_ref().unwrap(),
        restore_row.after.as_ref().unwrap(),
    );
    assert!(before["archived_at"].is_string());
    assert!(after["archived_at"].is_null());
}

#[tokio::test]
async fn every_record_type_audits_its_create_update_archive_and_restore() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let admin_id = Uuid::parse_str(&admin.user_id).unwrap();

    struct Case {
        kind: &'static str,
        docs: [&'static str; 4],
        create: Value,
        change: Value,
        field: &'static str,
        value: Value,
    }
    let cases = [
        Case {
            kind: "contact",
            docs: [
                contact::CREATE,
                contact::UPDATE,
                contact::ARCHIVE,
                contact::RESTORE,
            ],
            create: json!({ "lastName": "Gibbons" }),
            change: json!({ "title": "Engineer" }),
            field: "title",
            value: json!("Engineer"),
        },
        Case {
            kind: "account",
            docs: [
                account::CREATE,
                account::UPDATE,
                account::ARCHIVE,
                account::RESTORE,
            ],
            create: json!({ "name": "Globex" }),
            change: json!({ "territory": "EMEA" }),
            field: "territory",
            value: json!("EMEA"),
        },
        Case {
            kind: "opportunity",
            docs: [
                opportunity::CREATE,
                opportunity::UPDATE,
                opportunity::ARCHIVE,
                opportunity::RESTORE,
            ],
            create: json!({ "name": "Deal", "amount": { "amount": "1", "currency": "USD" } }),
            change: json!({ "name": "Better deal" }),
            field: "name",
            value: json!("Better deal"),
        },
        Case {
            kind: "activity",
            docs: [
                activity::CREATE,
                activity::UPDATE,
                activity::ARCHIVE,
                activity::RESTORE,
            ],
            create: json!({ "kind": "CALL", "subject": "Call" }),
            change: json!({ "done": true }),
            field: "done",
            value: json!(true),
        },
        Case {
            kind: "campaign",
            docs: [
                campaign::CREATE,
                campaign::UPDATE,
                campaign::ARCHIVE,
                campaign::RESTORE,
            ],
            create: json!({ "name": "Launch" }),
            change: json!({ "channel": "social" }),
            field: "channel",
            value: json!("social"),
        },
    ];
    for case in cases {
        let [create_doc, update_doc, archive_doc, restore_doc] = case.docs;
        let id = create(&app, &admin, create_doc, case.kind, case.create).await["id"].clone();
        update(&app, &admin, update_doc, case.kind, &id, case.change).await;
        mutate(&app, &admin, archive_doc, case.kind, json!({ "id": id })).await;
        mutate(&app, &admin, restore_doc, case.kind, json!({ "id": id })).await;

        let rows = audit_of(&app, case.kind).await;
        let actions: Vec<String> = rows.iter().map(|r| r.action.clone()).collect();
        let kind = case.kind;
        assert_eq!(
            actions,
            [
                format!("{kind}.create"),
                format!("{kind}.update"),
                format!("{kind}.archive"),
                format!("{kind}.restore"),
            ]
        );
        for row in &rows {
            assert_eq!(row.entity_id, uuid(&id), "{}", row.action);
            assert_eq!(row.actor_id, Some(admin_id), "{}", row.action);
        }
        assert!(rows[0].before.is_none(), "{kind}.create has no before");
        let (before, after) = (
            rows[1].before.as_ref().unwrap(),
            rows[1].after.as_ref().unwrap(),
        );
        assert_ne!(before[case.field], case.value, "{kind}.update before");
        assert_eq!(after[case.field], case.value, "{kind}.update after");
        assert!(
            rows[2].after.as_ref().unwrap()["archived_at"].is_string(),
            "{kind}.archive after"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Ids

#[tokio::test]
async fn an_unknown_lead_id_is_not_found() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.lead(&admin.access, json!({ "company": "Acme" })).await;
    let unknown = Uuid::new_v4().to_string();
    let body = app
        .gql(Some(&admin.access), lead::GET, json!({ "id": unknown }))
        .await;
    assert_refused(&body, "NOT_FOUND", None);

    let audit_before = audit_count(&app).await;
    let body = app
        .gql(
            Some(&admin.access),
            lead::UPDATE,
            json!({ "id": unknown, "input": { "company": "Ghost" } }),
        )
        .await;
    assert_refused(&body, "NOT_FOUND", None);
    assert_eq!(lead_count(&app).await, 1, "an update never creates");
    assert_eq!(audit_count(&app).await, audit_before);
}

#[tokio::test]
async fn a_lead_id_that_is_not_a_uuid_is_bad_input() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for id in ["42", "not-a-uuid", ""] {
        let body = app
            .gql(Some(&admin.access), lead::GET, json!({ "id": id }))
            .await;
        assert_refused(&body, "BAD_USER_INPUT", Some("id"));
    }
}
