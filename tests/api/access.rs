//! Row and field rules by role, through every query shape.

use entity::{activity, audit_log, contact, lead, opportunity, team, touchpoint, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{PASSWORD, Session, TestApp, UPDATE_USER, error_code, spawn_app};

const LEAD: &str = "query($id: ID!) { lead(id: $id) { id } }";
const LEADS: &str =
    "query($f: LeadFilter) { leads(first: 100, filter: $f) { totalCount nodes { id } } }";
const LEADS_BACKWARD: &str = "{ leads(last: 100) { totalCount nodes { id } } }";
const UPDATE_LEAD: &str = "mutation($id: ID!, $input: LeadInput!) { updateLead(id: $id, input: $input) { lead { id owner { id } } } }";
const ARCHIVE_LEAD: &str = "mutation($id: ID!) { archiveLead(id: $id) { lead { id } } }";
const RESTORE_LEAD: &str = "mutation($id: ID!) { restoreLead(id: $id) { lead { id } } }";
const CREATE_LEAD: &str =
    "mutation($input: LeadInput!) { createLead(input: $input) { lead { id owner { id } } } }";

const CONTACT: &str = "query($id: ID!) { contact(id: $id) { id } }";
const CONTACTS: &str = "{ contacts(first: 100) { totalCount nodes { id } } }";
const CREATE_CONTACT: &str =
    "mutation($input: ContactInput!) { createContact(input: $input) { contact { id } } }";
const UPDATE_CONTACT: &str = "mutation($id: ID!, $input: ContactInput!) { updateContact(id: $id, input: $input) { contact { id } } }";
const ARCHIVE_CONTACT: &str = "mutation($id: ID!) { archiveContact(id: $id) { contact { id } } }";

const CREATE_ACCOUNT: &str =
    "mutation($input: AccountInput!) { createAccount(input: $input) { account { id } } }";

const OPPORTUNITY: &str = "query($id: ID!) { opportunity(id: $id) { id } }";
const OPPORTUNITIES: &str = "{ opportunities(first: 100) { totalCount nodes { id } } }";
const CREATE_OPPORTUNITY: &str = "mutation($input: OpportunityInput!) { createOpportunity(input: $input) { opportunity { id } } }";
const UPDATE_OPPORTUNITY: &str = "mutation($id: ID!, $input: OpportunityInput!) { updateOpportunity(id: $id, input: $input) { opportunity { id } } }";
const ARCHIVE_OPPORTUNITY: &str =
    "mutation($id: ID!) { archiveOpportunity(id: $id) { opportunity { id } } }";

const ACTIVITY: &str = "query($id: ID!) { activity(id: $id) { id } }";
const ACTIVITIES: &str = "{ activities(first: 100) { totalCount nodes { id } } }";
const CREATE_ACTIVITY: &str =
    "mutation($input: ActivityInput!) { createActivity(input: $input) { activity { id } } }";
const UPDATE_ACTIVITY: &str = "mutation($id: ID!, $input: ActivityInput!) { updateActivity(id: $id, input: $input) { activity { id } } }";

const CREATE_USER: &str =
    "mutation($input: NewUserInput!) { createUser(input: $input) { user { id } } }";
const CREATE_TEAM: &str = "mutation($n: String!) { createTeam(name: $n) { team { id } } }";

fn uuid(id: &str) -> Uuid {
    Uuid::parse_str(id).expect("ids are UUIDs")
}

/// The ids of a connection's nodes, in order.
fn ids(connection: &Value) -> Vec<String> {
    connection["nodes"]
        .as_array()
        .expect("a connection")
        .iter()
        .map(|node| node["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// Asserts a connection holds exactly `expected` (in any order) and counts exactly them.
#[track_caller]
fn assert_rows(connection: &Value, expected: &[&str]) {
    let mut got = ids(connection);
    got.sort();
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "rows of {connection}");
    assert_eq!(
        connection["totalCount"],
        json!(expected.len()),
        "totalCount of {connection}"
    );
}

/// Asserts the operation failed with `code` and returned no data for its field.
#[track_caller]
fn assert_refused(body: &Value, code: &str) {
    assert_eq!(error_code(body), Some(code), "expected {code}: {body}");
    assert!(
        body["data"].is_null()
            || body["data"]
                .as_object()
                .is_some_and(|d| d.values().all(Value::is_null)),
        "no data may come back with {code}: {body}"
    );
}

/// Asserts the operation was refused as bad input to `field`.
#[track_caller]
fn assert_bad_input(body: &Value, field: &str) {
    assert_eq!(error_code(body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
}

async fn create_contact(app: &TestApp, token: &str, input: Value) -> String {
    let data = app
        .ok(token, CREATE_CONTACT, json!({ "input": input }))
        .await;
    data["createContact"]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn create_opportunity(app: &TestApp, token: &str, input: Value) -> String {
    let data = app
        .ok(token, CREATE_OPPORTUNITY, json!({ "input": input }))
        .await;
    data["createOpportunity"]["opportunity"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn create_activity(app: &TestApp, token: &str, input: Value) -> String {
    let data = app
        .ok(token, CREATE_ACTIVITY, json!({ "input": input }))
        .await;
    data["createActivity"]["activity"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn deal(name: &str) -> Value {
    json!({ "name": name, "amount": { "amount": "1000.00", "currency": "USD" } })
}

async fn stored_lead(app: &TestApp, id: &str) -> lead::Model {
    lead::Entity::find_by_id(uuid(id))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the lead is stored")
}

/// Audit rows written about one record.
async fn audit_actions(app: &TestApp, id: &str) -> Vec<String> {
    audit_log::Entity::find()
        .filter(audit_log::Column::EntityId.eq(uuid(id)))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.action)
        .collect()
}

/// Two sales reps in the same team (a team does not widen a rep's rows), each with a lead of
/// their own, and an unassigned lead.
struct TwoReps {
    admin: Session,
    a: Session,
    b: Session,
    a_lead: String,
    b_lead: String,
    unassigned_lead: String,
}

async fn two_reps(app: &TestApp) -> TwoReps {
    let admin = app.admin().await;
    let team = app.team(&admin, "Field Sales").await;
    let a = app
        .user(&admin, "rep.a@example.com", "SALES", Some(&team))
        .await;
    let b = app
        .user(&admin, "rep.b@example.com", "SALES", Some(&team))
        .await;
    let a_lead = app
        .lead(
            &a.access,
            json!({ "company": "Acme", "email": "ann@acme.test" }),
        )
        .await;
    let b_lead = app
        .lead(
            &b.access,
            json!({ "company": "Bolt", "email": "bob@bolt.test" }),
        )
        .await;
    let unassigned_lead = app
        .lead(&admin.access, json!({ "company": "Unclaimed Ltd" }))
        .await;
    TwoReps {
        admin,
        a,
        b,
        a_lead,
        b_lead,
        unassigned_lead,
    }
}

#[tokio::test]
async fn a_sales_rep_cannot_read_another_reps_lead_by_id() {
    let app = spawn_app().await;
    let s = two_reps(&app).await;

    let hidden = app
        .gql(Some(&s.a.access), LEAD, json!({ "id": s.b_lead }))
        .await;
    assert_refused(&hidden, "NOT_FOUND");

    // The refusal reveals nothing: an id that exists nowhere answers exactly alike.
    let unknown = app
        .gql(
            Some(&s.a.access),
            LEAD,
            json!({ "id": Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(hidden["errors"], unknown["errors"]);

    // The owner reads it, so it is the row rule that hides it.
    let own = app.ok(&s.b.access, LEAD, json!({ "id": s.b_lead })).await;
    assert_eq!(own["lead"]["id"], s.b_lead);
}

#[tokio::test]
async fn a_sales_rep_never_lists_another_reps_lead() {
    let app = spawn_app().await;
    let s = two_reps(&app).await;
    let visible = [s.a_lead.as_str(), s.unassigned_lead.as_str()];

    let forward = app.ok(&s.a.access, LEADS, json!({})).await;
    assert_rows(&forward["leads"], &visible);

    let backward = app.ok(&s.a.access, LEADS_BACKWARD, json!({})).await;
    assert_rows(&backward["leads"], &visible);

    // Filters only narrow the caller's rows: asking for B's lead outright, or through `or` and
    // `not`, finds nothing more.
    for filter in [
        json!({ "ownerId": { "eq": s.b.user_id } }),
        json!({ "email": { "eq": "bob@bolt.test" } }),
        json!({ "or": [{ "ownerId": { "eq": s.b.user_id } }, { "ownerId": { "isNull": false } }] }),
        json!({ "or": [{ "company": { "eq": "Bolt" } }, { "ownerId": { "isNull": true } }] }),
        json!({ "not": { "ownerId": { "eq": s.a.user_id } } }),
    ] {
        let data = app.ok(&s.a.access, LEADS, json!({ "f": filter })).await;
        let listed = ids(&data["leads"]);
        assert!(
            !listed.contains(&s.b_lead),
            "filter {filter} reached B's lead"
        );
        assert_eq!(
            data["leads"]["totalCount"],
            json!(listed.len()),
            "filter {filter}: totalCount counts only visible rows"
        );
    }
}

#[tokio::test]
async fn a_sales_rep_cannot_update_archive_or_restore_another_reps_lead() {
    let app = spawn_app().await;
    let s = two_reps(&app).await;
    let before = stored_lead(&app, &s.b_lead).await;

    let update = app
        .gql(
            Some(&s.a.access),
            UPDATE_LEAD,
            json!({ "id": s.b_lead, "input": { "company": "Hijacked", "ownerId": s.a.user_id } }),
        )
        .await;
    assert_refused(&update, "NOT_FOUND");

    let archive = app
        .gql(Some(&s.a.access), ARCHIVE_LEAD, json!({ "id": s.b_lead }))
        .await;
    assert_refused(&archive, "NOT_FOUND");

    // Archived by its owner, it still cannot be restored by another rep.
    app.ok(&s.b.access, ARCHIVE_LEAD, json!({ "id": s.b_lead }))
        .await;
    let archived = stored_lead(&app, &s.b_lead).await;
    let restore = app
        .gql(Some(&s.a.access), RESTORE_LEAD, json!({ "id": s.b_lead }))
        .await;
    assert_refused(&restore, "NOT_FOUND");

    assert_eq!(
        stored_lead(&app, &s.b_lead).await,
        archived,
        "restore changed nothing"
    );
    assert_eq!(archived.company, before.company);
    assert_eq!(archived.owner_id, before.owner_id);
    assert_eq!(
        audit_actions(&app, &s.b_lead).await,
        ["lead.create", "lead.archive"],
        "only the owner's own changes are audited"
    );
}

#[tokio::test]
async fn another_reps_lead_is_null_when_nested_in_a_visible_record() {
    let app = spawn_app().await;
    let s = two_reps(&app).await;

    // The admin links records A may see to B's lead.
    let mut deal_input = deal("Bolt expansion");
    deal_input["ownerId"] = json!(s.a.user_id);
    deal_input["leadId"] = json!(s.b_lead);
    let opportunity = create_opportunity(&app, &s.admin.access, deal_input).await;
    let call = create_activity(
        &app,
        &s.admin.access,
        json!({ "kind": "CALL", "subject": "Call Bob", "assigneeId": s.a.user_id, "leadId": s.b_lead }),
    )
    .await;

    // The admin sees the links; they are really there.
    let admin_view = app
        .ok(
            &s.admin.access,
            "query($o: ID!, $a: ID!) { opportunity(id: $o) { lead { id } } activity(id: $a) { lead { id } } }",
            json!({ "o": opportunity, "a": call }),
        )
        .await;
    assert_eq!(admin_view["opportunity"]["lead"]["id"], s.b_lead);
    assert_eq!(admin_view["activity"]["lead"]["id"], s.b_lead);

    // A sees the opportunity and the activity, by id and in lists, but never B's lead.
    let by_id = app
        .gql(
            Some(&s.a.access),
            "query($o: ID!, $a: ID!) {
                opportunity(id: $o) { id lead { id email } activities { nodes { id lead { id } } } }
                activity(id: $a) { id lead { id email } opportunity { id lead { id } } }
            }",
            json!({ "o": opportunity, "a": call }),
        )
        .await;
    assert!(by_id.get("errors").is_none(), "{by_id}");
    assert_eq!(by_id["data"]["opportunity"]["id"], opportunity);
    assert_eq!(by_id["data"]["opportunity"]["lead"], Value::Null);
    assert_eq!(by_id["data"]["activity"]["id"], call);
    assert_eq!(by_id["data"]["activity"]["lead"], Value::Null);

    let lists = app
        .ok(
            &s.a.access,
            "{ opportunities(first: 100) { nodes { id lead { id } } }
               activities(first: 100) { nodes { id lead { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        lists["opportunities"]["nodes"],
        json!([{ "id": opportunity, "lead": null }])
    );
    assert_eq!(
        lists["activities"]["nodes"],
        json!([{ "id": call, "lead": null }])
    );

    // Reaching the lead from its own side does not work either: A's leads list holds only
    // A's and unassigned leads, whatever hangs off them.
    let leads = app
        .ok(
            &s.a.access,
            "{ leads(first: 100) { nodes { id activities { nodes { id } } } } }",
            json!({}),
        )
        .await;
    assert!(
        !leads.to_string().contains(&s.b_lead),
        "B's lead leaked: {leads}"
    );
}

#[tokio::test]
async fn a_sales_rep_cannot_link_records_to_another_reps_lead() {
    let app = spawn_app().await;
    let s = two_reps(&app).await;
    let activities_before = activity::Entity::find().count(&app.db).await.unwrap();
    let opportunities_before = opportunity::Entity::find().count(&app.db).await.unwrap();

    let activity = app
        .gql(
            Some(&s.a.access),
            CREATE_ACTIVITY,
            json!({ "input": { "kind": "NOTE", "subject": "Sneak", "leadId": s.b_lead } }),
        )
        .await;
    assert_bad_input(&activity, "leadId");

    let mut input = deal("Sneaky deal");
    input["leadId"] = json!(s.b_lead);
    let created = app
        .gql(
            Some(&s.a.access),
            CREATE_OPPORTUNITY,
            json!({ "input": input }),
        )
        .await;
    assert_bad_input(&created, "leadId");

    assert_eq!(
        activity::Entity::find().count(&app.db).await.unwrap(),
        activities_before
    );
    assert_eq!(
        opportunity::Entity::find().count(&app.db).await.unwrap(),
        opportunities_before
    );

    // Nor can A re-point records of their own at it.
    let own_deal = create_opportunity(&app, &s.a.access, deal("Own deal")).await;
    let own_note = create_activity(
        &app,
        &s.a.access,
        json!({ "kind": "NOTE", "subject": "Own note", "leadId": s.a_lead }),
    )
    .await;
    let repoint_deal = app
        .gql(
            Some(&s.a.access),
            UPDATE_OPPORTUNITY,
            json!({ "id": own_deal, "input": { "leadId": s.b_lead } }),
        )
        .await;
    assert_bad_input(&repoint_deal, "leadId");
    let repoint_note = app
        .gql(
            Some(&s.a.access),
            UPDATE_ACTIVITY,
            json!({ "id": own_note, "input": { "leadId": s.b_lead } }),
        )
        .await;
    assert_bad_input(&repoint_note, "leadId");

    let deal_row = opportunity::Entity::find_by_id(uuid(&own_deal))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(deal_row.lead_id, None);
    let note_row = activity::Entity::find_by_id(uuid(&own_note))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(note_row.lead_id, Some(uuid(&s.a_lead)));

    // An unknown id is refused the same way, so the refusal does not reveal B's lead exists.
    let unknown = app
        .gql(
            Some(&s.a.access),
            CREATE_ACTIVITY,
            json!({ "input": { "kind": "NOTE", "subject": "Sneak", "leadId": Uuid::now_v7().to_string() } }),
        )
        .await;
    assert_eq!(
        unknown["errors"][0]["message"],
        activity["errors"][0]["message"]
    );
}

#[tokio::test]
async fn a_sales_rep_sees_own_and_unassigned_leads() {
    let app = spawn_app().await;
    let s = two_reps(&app).await;

    for id in [&s.a_lead, &s.unassigned_lead] {
        let data = app.ok(&s.a.access, LEAD, json!({ "id": id })).await;
        assert_eq!(&data["lead"]["id"], id);
    }
    let a_list = app.ok(&s.a.access, LEADS, json!({})).await;
    assert_rows(&a_list["leads"], &[&s.a_lead, &s.unassigned_lead]);
    let b_list = app.ok(&s.b.access, LEADS, json!({})).await;
    assert_rows(&b_list["leads"], &[&s.b_lead, &s.unassigned_lead]);

    // A can work the unassigned lead, and it stays visible to both reps while unassigned.
    let worked = app
        .ok(
            &s.a.access,
            UPDATE_LEAD,
            json!({ "id": s.unassigned_lead, "input": { "status": "CONTACTED" } }),
        )
        .await;
    assert_eq!(worked["updateLead"]["lead"]["owner"], Value::Null);
    let b_reads = app
        .ok(&s.b.access, LEAD, json!({ "id": s.unassigned_lead }))
        .await;
    assert_eq!(b_reads["lead"]["id"], s.unassigned_lead);
}

#[tokio::test]
async fn contacts_follow_the_same_row_rule() {
    let app = spawn_app().await;
    let s = two_reps(&app).await;
    let a_contact = create_contact(&app, &s.a.access, json!({ "lastName": "Adams" })).await;
    let b_contact = create_contact(&app, &s.b.access, json!({ "lastName": "Baker" })).await;
    let unassigned = create_contact(&app, &s.admin.access, json!({ "lastName": "Nobody" })).await;

    let hidden = app
        .gql(Some(&s.a.access), CONTACT, json!({ "id": b_contact }))
        .await;
    assert_refused(&hidden, "NOT_FOUND");
    let list = app.ok(&s.a.access, CONTACTS, json!({})).await;
    assert_rows(&list["contacts"], &[&a_contact, &unassigned]);

    let before = contact::Entity::find_by_id(uuid(&b_contact))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let update = app
        .gql(
            Some(&s.a.access),
            UPDATE_CONTACT,
            json!({ "id": b_contact, "input": { "lastName": "Hijacked" } }),
        )
        .await;
    assert_refused(&update, "NOT_FOUND");
    let archive = app
        .gql(
            Some(&s.a.access),
            ARCHIVE_CONTACT,
            json!({ "id": b_contact }),
        )
        .await;
    assert_refused(&archive, "NOT_FOUND");
    let after = contact::Entity::find_by_id(uuid(&b_contact))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, before);

    // A contact A can see but B's does not link to: an opportunity A owns that names it.
    let mut input = deal("Baker deal");
    input["ownerId"] = json!(s.a.user_id);
    input["contactId"] = json!(b_contact);
    let opportunity = create_opportunity(&app, &s.admin.access, input).await;
    let nested = app
        .ok(
            &s.a.access,
            "query($id: ID!) { opportunity(id: $id) { contact { id } } }",
            json!({ "id": opportunity }),
        )
        .await;
    assert_eq!(nested["opportunity"]["contact"], Value::Null);
}

#[tokio::test]
async fn opportunities_follow_the_same_row_rule() {
    let app = spawn_app().await;
    let s = two_reps(&app).await;
    let a_deal = create_opportunity(&app, &s.a.access, deal("A deal")).await;
    let b_deal = create_opportunity(&app, &s.b.access, deal("B deal")).await;
    let unassigned = create_opportunity(&app, &s.admin.access, deal("Open deal")).await;

    let hidden = app
        .gql(Some(&s.a.access), OPPORTUNITY, json!({ "id": b_deal }))
        .await;
    assert_refused(&hidden, "NOT_FOUND");
    let list = app.ok(&s.a.access, OPPORTUNITIES, json!({})).await;
    assert_rows(&list["opportunities"], &[&a_deal, &unassigned]);
    let filtered = app
        .ok(
            &s.a.access,
            "query($f: OpportunityFilter) { opportunities(first: 100, filter: $f) { totalCount nodes { id } } }",
            json!({ "f": { "ownerId": { "eq": s.b.user_id } } }),
        )
        .await;
    assert_rows(&filtered["opportunities"], &[]);

    let before = opportunity::Entity::find_by_id(uuid(&b_deal))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let update = app
        .gql(
            Some(&s.a.access),
            UPDATE_OPPORTUNITY,
            json!({ "id": b_deal, "input": { "name": "Hijacked", "amount": { "amount": "1.00", "currency": "USD" } } }),
        )
        .await;
    assert_refused(&update, "NOT_FOUND");
    let archive = app
        .gql(
            Some(&s.a.access),
            ARCHIVE_OPPORTUNITY,
            json!({ "id": b_deal }),
        )
        .await;
    assert_refused(&archive, "NOT_FOUND");
    let after = opportunity::Entity::find_by_id(uuid(&b_deal))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, before);

    // A cannot hang an activity on B's deal either.
    let activity = app
        .gql(
            Some(&s.a.access),
            CREATE_ACTIVITY,
            json!({ "input": { "kind": "TASK", "subject": "Sneak", "opportunityId": b_deal } }),
        )
        .await;
    assert_bad_input(&activity, "opportunityId");
}

#[tokio::test]
async fn activities_belong_to_their_assignee() {
    let app = spawn_app().await;
    let s = two_reps(&app).await;
    let a_task = create_activity(
        &app,
        &s.a.access,
        json!({ "kind": "TASK", "subject": "A task" }),
    )
    .await;
    let b_task = create_activity(
        &app,
        &s.b.access,
        json!({ "kind": "TASK", "subject": "B task" }),
    )
    .await;

    let hidden = app
        .gql(Some(&s.a.access), ACTIVITY, json!({ "id": b_task }))
        .await;
    assert_refused(&hidden, "NOT_FOUND");
    let list = app.ok(&s.a.access, ACTIVITIES, json!({})).await;
    assert_rows(&list["activities"], &[&a_task]);

    let before = activity::Entity::find_by_id(uuid(&b_task))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let update = app
        .gql(
            Some(&s.a.access),
            UPDATE_ACTIVITY,
            json!({ "id": b_task, "input": { "done": true } }),
        )
        .await;
    assert_refused(&update, "NOT_FOUND");
    let after = activity::Entity::find_by_id(uuid(&b_task))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, before);

    // Nor can A hand a task to B.
    let handed = app
        .gql(
            Some(&s.a.access),
            UPDATE_ACTIVITY,
            json!({ "id": a_task, "input": { "assigneeId": s.b.user_id } }),
        )
        .await;
    assert_refused(&handed, "FORBIDDEN");
}

/// A manager with one rep in their team, and a rep in another team.
struct Teams {
    admin: Session,
    manager: Session,
    member: Session,
    outsider: Session,
}

async fn teams(app: &TestApp) -> Teams {
    let admin = app.admin().await;
    let east = app.team(&admin, "East").await;
    let west = app.team(&admin, "West").await;
    let manager = app
        .user(&admin, "manager.east@example.com", "MANAGER", Some(&east))
        .await;
    let member = app
        .user(&admin, "rep.east@example.com", "SALES", Some(&east))
        .await;
    let outsider = app
        .user(&admin, "rep.west@example.com", "SALES", Some(&west))
        .await;
    Teams {
        admin,
        manager,
        member,
        outsider,
    }
}

#[tokio::test]
async fn a_manager_sees_the_teams_and_unassigned_leads_but_not_another_teams() {
    let app = spawn_app().await;
    let t = teams(&app).await;
    let member_lead = app
        .lead(&t.member.access, json!({ "company": "East Member Co" }))
        .await;
    let outsider_lead = app
        .lead(&t.outsider.access, json!({ "company": "West Rep Co" }))
        .await;
    let unassigned = app
        .lead(&t.admin.access, json!({ "company": "Nobody's Co" }))
        .await;
    let own = app
        .lead(
            &t.manager.access,
            json!({ "company": "Manager Co", "ownerId": t.manager.user_id }),
        )
        .await;

    let list = app.ok(&t.manager.access, LEADS, json!({})).await;
    assert_rows(&list["leads"], &[&member_lead, &unassigned, &own]);

    let member = app
        .ok(&t.manager.access, LEAD, json!({ "id": member_lead }))
        .await;
    assert_eq!(member["lead"]["id"], member_lead);

    let before = stored_lead(&app, &outsider_lead).await;
    let hidden = app
        .gql(
            Some(&t.manager.access),
            LEAD,
            json!({ "id": outsider_lead }),
        )
        .await;
    assert_refused(&hidden, "NOT_FOUND");
    let update = app
        .gql(
            Some(&t.manager.access),
            UPDATE_LEAD,
            json!({ "id": outsider_lead, "input": { "company": "Poached" } }),
        )
        .await;
    assert_refused(&update, "NOT_FOUND");
    assert_eq!(stored_lead(&app, &outsider_lead).await, before);

    // The member's lead is the manager's to work on.
    let worked = app
        .ok(
            &t.manager.access,
            UPDATE_LEAD,
            json!({ "id": member_lead, "input": { "status": "QUALIFIED" } }),
        )
        .await;
    assert_eq!(worked["updateLead"]["lead"]["id"], member_lead);
}

#[tokio::test]
async fn a_manager_assigns_leads_within_the_team_only() {
    let app = spawn_app().await;
    let t = teams(&app).await;
    let lead = app
        .lead(&t.manager.access, json!({ "company": "Unassigned Co" }))
        .await;

    let assigned = app
        .ok(
            &t.manager.access,
            UPDATE_LEAD,
            json!({ "id": lead, "input": { "ownerId": t.member.user_id } }),
        )
        .await;
    assert_eq!(
        assigned["updateLead"]["lead"]["owner"]["id"],
        t.member.user_id
    );
    assert_eq!(
        stored_lead(&app, &lead).await.owner_id,
        Some(uuid(&t.member.user_id))
    );
    // The member now sees it as theirs.
    let member_view = app.ok(&t.member.access, LEAD, json!({ "id": lead })).await;
    assert_eq!(member_view["lead"]["id"], lead);

    let before = stored_lead(&app, &lead).await;
    let across = app
        .gql(
            Some(&t.manager.access),
            UPDATE_LEAD,
            json!({ "id": lead, "input": { "ownerId": t.outsider.user_id } }),
        )
        .await;
    assert_refused(&across, "FORBIDDEN");
    assert_eq!(stored_lead(&app, &lead).await, before);

    let leads_before = lead::Entity::find().count(&app.db).await.unwrap();
    let created = app
        .gql(
            Some(&t.manager.access),
            CREATE_LEAD,
            json!({ "input": { "company": "Gift Co", "ownerId": t.outsider.user_id } }),
        )
        .await;
    assert_refused(&created, "FORBIDDEN");
    assert_eq!(
        lead::Entity::find().count(&app.db).await.unwrap(),
        leads_before
    );
}

#[tokio::test]
async fn a_sales_rep_cannot_assign_a_lead_to_another_rep() {
    let app = spawn_app().await;
    let s = two_reps(&app).await;
    let before = stored_lead(&app, &s.a_lead).await;

    let handed = app
        .gql(
            Some(&s.a.access),
            UPDATE_LEAD,
            json!({ "id": s.a_lead, "input": { "ownerId": s.b.user_id } }),
        )
        .await;
    assert_refused(&handed, "FORBIDDEN");
    assert_eq!(stored_lead(&app, &s.a_lead).await, before);

    let unassigned_before = stored_lead(&app, &s.unassigned_lead).await;
    let pushed = app
        .gql(
            Some(&s.a.access),
            UPDATE_LEAD,
            json!({ "id": s.unassigned_lead, "input": { "ownerId": s.b.user_id } }),
        )
        .await;
    assert_refused(&pushed, "FORBIDDEN");
    assert_eq!(
        stored_lead(&app, &s.unassigned_lead).await,
        unassigned_before
    );

    let leads_before = lead::Entity::find().count(&app.db).await.unwrap();
    let created = app
        .gql(
            Some(&s.a.access),
            CREATE_LEAD,
            json!({ "input": { "company": "Gift Co", "ownerId": s.b.user_id } }),
        )
        .await;
    assert_refused(&created, "FORBIDDEN");
    assert_eq!(
        lead::Entity::find().count(&app.db).await.unwrap(),
        leads_before
    );
}

#[tokio::test]
async fn a_sales_rep_can_assign_a_lead_to_themselves() {
    let app = spawn_app().await;
    let s = two_reps(&app).await;

    let claimed = app
        .ok(
            &s.a.access,
            UPDATE_LEAD,
            json!({ "id": s.unassigned_lead, "input": { "ownerId": s.a.user_id } }),
        )
        .await;
    assert_eq!(claimed["updateLead"]["lead"]["owner"]["id"], s.a.user_id);
    assert_eq!(
        stored_lead(&app, &s.unassigned_lead).await.owner_id,
        Some(uuid(&s.a.user_id))
    );

    // Claimed, it leaves B's view.
    let b_view = app
        .gql(Some(&s.b.access), LEAD, json!({ "id": s.unassigned_lead }))
        .await;
    assert_refused(&b_view, "NOT_FOUND");
}

#[tokio::test]
async fn a_lead_created_by_a_sales_rep_is_owned_by_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;

    let data = app
        .ok(
            &rep.access,
            CREATE_LEAD,
            json!({ "input": { "company": "Fresh Co" } }),
        )
        .await;
    let created = &data["createLead"]["lead"];
    assert_eq!(created["owner"]["id"], rep.user_id);
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        stored_lead(&app, id).await.owner_id,
        Some(uuid(&rep.user_id))
    );
}

#[tokio::test]
async fn support_cannot_reach_leads_or_opportunities() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let support = app
        .user(&admin, "support@example.com", "SUPPORT", None)
        .await;
    let lead = app.lead(&admin.access, json!({ "company": "Acme" })).await;
    let deal = create_opportunity(&app, &admin.access, deal("Acme deal")).await;

    for (query, variables) in [
        (LEADS, json!({})),
        (LEAD, json!({ "id": lead })),
        (OPPORTUNITIES, json!({})),
        (OPPORTUNITY, json!({ "id": deal })),
    ] {
        let body = app.gql(Some(&support.access), query, variables).await;
        assert_refused(&body, "FORBIDDEN");
    }

    let leads_before = lead::Entity::find().count(&app.db).await.unwrap();
    let created = app
        .gql(
            Some(&support.access),
            CREATE_LEAD,
            json!({ "input": { "company": "Support Co" } }),
        )
        .await;
    assert_refused(&created, "FORBIDDEN");
    let updated = app
        .gql(
            Some(&support.access),
            UPDATE_LEAD,
            json!({ "id": lead, "input": { "company": "Changed" } }),
        )
        .await;
    assert_refused(&updated, "FORBIDDEN");
    assert_eq!(
        lead::Entity::find().count(&app.db).await.unwrap(),
        leads_before
    );
    assert_eq!(
        stored_lead(&app, &lead).await.company.as_deref(),
        Some("Acme")
    );

    // Nested, the lead and the deal are simply absent.
    let call = create_activity(
        &app,
        &admin.access,
        json!({ "kind": "CALL", "subject": "Ticket follow-up", "assigneeId": support.user_id,
                "leadId": lead, "opportunityId": deal }),
    )
    .await;
    let nested = app
        .ok(
            &support.access,
            "query($id: ID!) { activity(id: $id) { id lead { id } opportunity { id } } }",
            json!({ "id": call }),
        )
        .await;
    assert_eq!(
        nested["activity"],
        json!({ "id": call, "lead": null, "opportunity": null })
    );
}

#[tokio::test]
async fn support_reads_contacts_and_accounts() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let support = app
        .user(&admin, "support@example.com", "SUPPORT", None)
        .await;
    let account = app
        .ok(
            &admin.access,
            CREATE_ACCOUNT,
            json!({ "input": { "name": "Acme Corp" } }),
        )
        .await["createAccount"]["account"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let contact = create_contact(
        &app,
        &admin.access,
        json!({ "lastName": "Customer", "accountId": account }),
    )
    .await;

    let data = app
        .ok(
            &support.access,
            "{ contacts(first: 100) { totalCount nodes { id } } accounts(first: 100) { totalCount nodes { id } } }",
            json!({}),
        )
        .await;
    assert_rows(&data["contacts"], &[&contact]);
    assert_rows(&data["accounts"], &[&account]);

    let by_id = app
        .ok(
            &support.access,
            "query($id: ID!) { contact(id: $id) { id account { id contacts { nodes { id } } } } }",
            json!({ "id": contact }),
        )
        .await;
    assert_eq!(
        by_id["contact"],
        json!({ "id": contact, "account": { "id": account, "contacts": { "nodes": [{ "id": contact }] } } })
    );

    // Support also keeps them up to date.
    let updated = app
        .ok(
            &support.access,
            UPDATE_CONTACT,
            json!({ "id": contact, "input": { "title": "CTO" } }),
        )
        .await;
    assert_eq!(updated["updateContact"]["contact"]["id"], contact);
}

#[tokio::test]
async fn marketing_reads_an_opportunity_without_its_amount() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let marketing = app
        .user(&admin, "marketing@example.com", "MARKETING", None)
        .await;
    let deal = create_opportunity(
        &app,
        &admin.access,
        json!({ "name": "Big deal", "amount": { "amount": "1234.50", "currency": "USD" } }),
    )
    .await;
    let query = "query($id: ID!) {
        opportunity(id: $id) { id name amount { amount currency } }
        opportunities(first: 100) { nodes { id amount { amount currency } } }
    }";

    let seen = app
        .ok(&marketing.access, query, json!({ "id": deal }))
        .await;
    assert_eq!(
        seen["opportunity"],
        json!({ "id": deal, "name": "Big deal", "amount": null })
    );
    assert_eq!(
        seen["opportunities"]["nodes"],
        json!([{ "id": deal, "amount": null }])
    );

    let admin_view = app.ok(&admin.access, query, json!({ "id": deal })).await;
    assert_eq!(
        admin_view["opportunity"]["amount"],
        json!({ "amount": "1234.50", "currency": "USD" })
    );
    assert_eq!(
        admin_view["opportunities"]["nodes"][0]["amount"],
        json!({ "amount": "1234.50", "currency": "USD" })
    );
}

#[tokio::test]
async fn marketing_reads_touchpoints_without_invoice_amounts() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let marketing = app
        .user(&admin, "marketing@example.com", "MARKETING", None)
        .await;
    let lead = app
        .lead(&admin.access, json!({ "company": "Billed Co" }))
        .await;
    // Touchpoints come from the integrations hub, not the API: store one directly.
    let now = chrono::Utc::now();
    touchpoint::ActiveModel {
        id: Set(Uuid::now_v7()),
        lead_id: Set(Some(uuid(&lead))),
        channel: Set(entity::enums::TouchpointChannel::Billing),
        subject: Set(Some("Invoice 42".into())),
        amount_minor: Set(Some(99_00)),
        currency: Set(Some("EUR".into())),
        occurred_at: Set(now),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let query = "query($id: ID!) { lead(id: $id) { touchpoints { nodes { subject amount { amount currency } } } } }";

    let seen = app
        .ok(&marketing.access, query, json!({ "id": lead }))
        .await;
    assert_eq!(
        seen["lead"]["touchpoints"]["nodes"],
        json!([{ "subject": "Invoice 42", "amount": null }])
    );
    let admin_view = app.ok(&admin.access, query, json!({ "id": lead })).await;
    assert_eq!(
        admin_view["lead"]["touchpoints"]["nodes"][0]["amount"],
        json!({ "amount": "99.00", "currency": "EUR" })
    );
}

#[tokio::test]
async fn marketing_cannot_learn_amounts_by_filtering_or_ordering() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let marketing = app
        .user(&admin, "marketing@example.com", "MARKETING", None)
        .await;
    create_opportunity(
        &app,
        &admin.access,
        json!({ "name": "Small", "amount": { "amount": "10.00", "currency": "USD" } }),
    )
    .await;
    create_opportunity(
        &app,
        &admin.access,
        json!({ "name": "Large", "amount": { "amount": "90000.00", "currency": "USD" } }),
    )
    .await;
    let query = "query($f: OpportunityFilter, $o: [OpportunityOrder!]) {
        opportunities(first: 100, filter: $f, orderBy: $o) { totalCount nodes { name } edges { cursor } }
    }";

    // A range test on the amount would tell the deal values apart, one bisection at a time.
    for filter in [
        json!({ "amountMinor": { "gte": 1_000_000 } }),
        json!({ "or": [{ "name": { "eq": "nothing" } }, { "amountMinor": { "lt": 5000 } }] }),
        json!({ "not": { "amountMinor": { "gt": 1000 } } }),
        json!({ "and": [{ "amountMinor": { "eq": 1000 } }] }),
    ] {
        let body = app
            .gql(Some(&marketing.access), query, json!({ "f": filter }))
            .await;
        assert_refused(&body, "FORBIDDEN");
    }
    // Ordering by amount ranks the deals by value, and its cursors carry the amounts.
    let ordered = app
        .gql(
            Some(&marketing.access),
            query,
            json!({ "o": [{ "field": "AMOUNT", "direction": "DESC" }] }),
        )
        .await;
    assert_refused(&ordered, "FORBIDDEN");

    // Everything else about the list works, and the admin may still filter and order by amount.
    let plain = app
        .ok(
            &marketing.access,
            query,
            json!({ "f": { "currency": { "eq": "USD" } } }),
        )
        .await;
    assert_eq!(plain["opportunities"]["totalCount"], 2);
    let admin_view = app
        .ok(
            &admin.access,
            query,
            json!({ "f": { "amountMinor": { "gte": 1_000_000 } }, "o": [{ "field": "AMOUNT", "direction": "DESC" }] }),
        )
        .await;
    assert_eq!(
        admin_view["opportunities"]["nodes"],
        json!([{ "name": "Large" }])
    );
}

#[tokio::test]
async fn only_an_admin_creates_users_and_teams() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let team = app.team(&admin, "East").await;
    let rep = app
        .user(&admin, "rep@example.com", "SALES", Some(&team))
        .await;
    let manager = app
        .user(&admin, "manager@example.com", "MANAGER", Some(&team))
        .await;

    for caller in [&rep, &manager] {
        let user = app
            .gql(
                Some(&caller.access),
                CREATE_USER,
                json!({ "input": { "email": "intruder@example.com", "name": "Intruder", "role": "ADMIN", "password": PASSWORD } }),
            )
            .await;
        assert_refused(&user, "FORBIDDEN");
        let new_team = app
            .gql(Some(&caller.access), CREATE_TEAM, json!({ "n": "Shadow" }))
            .await;
        assert_refused(&new_team, "FORBIDDEN");
        // Nor may they promote themselves.
        let promote = app
            .gql(
                Some(&caller.access),
                UPDATE_USER,
                json!({ "id": caller.user_id, "input": { "role": "ADMIN" } }),
            )
            .await;
        assert_refused(&promote, "FORBIDDEN");
    }

    assert_eq!(
        user::Entity::find()
            .filter(user::Column::Email.eq("intruder@example.com"))
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        team::Entity::find()
            .filter(team::Column::Name.eq("Shadow"))
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
    let rep_row = user::Entity::find_by_id(uuid(&rep.user_id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rep_row.role, entity::enums::Role::Sales);

    // The admin can.
    let created = app
        .ok(
            &admin.access,
            CREATE_USER,
            json!({ "input": { "email": "hire@example.com", "name": "Hire", "role": "SUPPORT", "password": PASSWORD } }),
        )
        .await;
    assert!(created["createUser"]["user"]["id"].is_string());
    let created_team = app
        .ok(&admin.access, CREATE_TEAM, json!({ "n": "West" }))
        .await;
    assert!(created_team["createTeam"]["team"]["id"].is_string());
}

#[tokio::test]
async fn a_deactivated_user_can_no_longer_log_in() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "leaver@example.com", "SALES", None).await;

    let data = app
        .ok(
            &admin.access,
            UPDATE_USER,
            json!({ "id": rep.user_id, "input": { "active": false } }),
        )
        .await;
    assert_eq!(data["updateUser"]["user"]["active"], false);
    let row = user::Entity::find_by_id(uuid(&rep.user_id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(!row.active);

    let login = app
        .gql(
            None,
            crate::helpers::LOGIN,
            json!({ "email": "leaver@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(error_code(&login), Some("UNAUTHENTICATED"), "{login}");
    assert!(login["data"].is_null(), "{login}");

    // The session they had cannot be renewed either.
    let refresh = app
        .gql(
            None,
            "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }",
            json!({ "t": rep.refresh }),
        )
        .await;
    assert_eq!(error_code(&refresh), Some("UNAUTHENTICATED"), "{refresh}");

    // Nobody can be assigned to a deactivated user.
    let lead = app
        .gql(
            Some(&admin.access),
            CREATE_LEAD,
            json!({ "input": { "company": "Orphan Co", "ownerId": rep.user_id } }),
        )
        .await;
    assert_bad_input(&lead, "ownerId");
}

#[tokio::test]
async fn an_admin_sees_every_reps_leads() {
    let app = spawn_app().await;
    let t = teams(&app).await;
    let member_lead = app
        .lead(&t.member.access, json!({ "company": "East Co" }))
        .await;
    let outsider_lead = app
        .lead(&t.outsider.access, json!({ "company": "West Co" }))
        .await;
    let manager_lead = app
        .lead(
            &t.manager.access,
            json!({ "company": "Manager Co", "ownerId": t.manager.user_id }),
        )
        .await;
    let unassigned = app
        .lead(&t.admin.access, json!({ "company": "Nobody's Co" }))
        .await;
    let all = [
        member_lead.as_str(),
        outsider_lead.as_str(),
        manager_lead.as_str(),
        unassigned.as_str(),
    ];

    let list = app.ok(&t.admin.access, LEADS, json!({})).await;
    assert_rows(&list["leads"], &all);
    for id in all {
        let data = app.ok(&t.admin.access, LEAD, json!({ "id": id })).await;
        assert_eq!(data["lead"]["id"], id);
    }

    // And may change any of them, including handing one across teams.
    let moved = app
        .ok(
            &t.admin.access,
            UPDATE_LEAD,
            json!({ "id": outsider_lead, "input": { "ownerId": t.member.user_id } }),
        )
        .await;
    assert_eq!(moved["updateLead"]["lead"]["owner"]["id"], t.member.user_id);
}
