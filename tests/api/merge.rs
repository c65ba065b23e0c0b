//! Merging duplicates, on both stores: a dry run answers every field's conflict and every row
//! that would move and writes nothing; a merge moves every relation, leaves tombstones that
//! answer the survivor (reads and the hub alike), and undo puts back the records and each moved
//! row exactly; accounts bring their contacts, children and deals and give up a unique domain
//! the survivor takes; a reviewed cluster merges in one call; a rep merges only what they may
//! edit; hostile requests are refused and change nothing.

use entity::{account, audit_log, contact, lead, merge, opportunity, touchpoint};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    helpers::{TestApp, error_code, spawn_app, spawn_app_with},
    hub::{connector, deliver, mailgun_event, settled_deliveries},
};

const MERGE: &str = "mutation($input: MergeRecordsInput!) { mergeRecords(input: $input) {
    dryRun survivorId mergedIds
    fields { field chosenFrom chosen conflict values { recordId value } }
    moves { relation fromId count ids }
    merge { id recordType survivorId mergedIds undoUntil undoneAt moves { relation count } } } }";

const UNDO: &str = "mutation($id: ID!) { undoMerge(id: $id) { id undoneAt } }";

const LEAD: &str = "query($id: ID!) { lead(id: $id) { id email phone title customFields
    touchpoints(first: 10) { totalCount edges { node { id } } }
    activities(first: 10) { totalCount } } }";

const MAILGUN_KEY: &str = "key-merge-0123456789abcdef";

fn uuid(id: &str) -> Uuid {
    id.parse().unwrap()
}

fn field<'a>(result: &'a Value, name: &str) -> &'a Value {
    result["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == name)
        .unwrap_or_else(|| panic!("no field {name} in {result}"))
}

async fn merge_records(app: &TestApp, token: &str, input: Value) -> Value {
    app.gql(Some(token), MERGE, json!({ "input": input })).await
}

async fn merged(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(token, MERGE, json!({ "input": input })).await["mergeRecords"].clone()
}

async fn stored_lead(app: &TestApp, id: &str) -> lead::Model {
    lead::Entity::find_by_id(uuid(id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

async fn account_row(app: &TestApp, id: &str) -> account::Model {
    account::Entity::find_by_id(uuid(id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

async fn audit_rows(app: &TestApp) -> u64 {
    audit_log::Entity::find().count(&app.db).await.unwrap()
}

async fn touchpoints_of(app: &TestApp, lead_id: &str) -> Vec<Uuid> {
    touchpoint::Entity::find()
        .filter(touchpoint::Column::LeadId.eq(uuid(lead_id)))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect()
}

/// Posts a Mailgun "opened" event for `email` and waits until the inbox has processed it.
async fn email_opened(
    app: &TestApp,
    admin: &crate::helpers::Session,
    id: &str,
    n: usize,
    email: &str,
) {
    let body = mailgun_event(
        MAILGUN_KEY,
        &format!("token-merge-{n:04}"),
        json!({ "id": format!("mg-merge-{n}"), "timestamp": 1_764_000_000.5 + n as f64,
            "event": "opened", "recipient": email }),
    );
    let (status, _) = deliver(app, id, "application/json", &[], body).await;
    assert_eq!(status, 200);
    let settled = settled_deliveries(app, admin, id, n).await;
    assert!(
        settled.iter().all(|d| d["status"] == "PROCESSED"),
        "{settled:?}"
    );
}

#[tokio::test]
async fn a_merge_moves_every_relation_and_undo_puts_each_row_back() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let token = admin.access.as_str();
    let survivor = app
        .lead(
            token,
            json!({ "firstName": "Siobhán", "lastName": "Ní Bhriain",
            "email": "siobhan@acme.ie", "company": "Acme" }),
        )
        .await;
    let other = app
        .lead(
            token,
            json!({ "firstName": "Siobhan", "lastName": "Ni Bhriain",
            "email": "s.nibhriain@gmail.com", "phone": "+353 86 123 4567", "title": "CTO",
            "company": "ACME Inc" }),
        )
        .await;
    let (hook, _) = connector(&app, &admin, "MAILGUN", Some(MAILGUN_KEY), json!({})).await;
    email_opened(&app, &admin, &hook, 1, "s.nibhriain@gmail.com").await;
    let moved_touch = touchpoints_of(&app, &other).await;
    assert_eq!(moved_touch.len(), 1);
    app.ok(
        token,
        "mutation($input: ActivityInput!) { createActivity(input: $input) { activity { id } } }",
        json!({ "input": { "kind": "CALL", "subject": "Intro call", "leadId": other } }),
    )
    .await;
    let before_survivor = stored_lead(&app, &survivor).await;
    let before_other = stored_lead(&app, &other).await;
    let audits = audit_rows(&app).await;

    // A dry run answers the conflicts and the rows that would move, and writes nothing.
    let input = json!({ "recordType": "LEAD", "survivorId": survivor, "mergedIds": [other],
        "fields": [{ "field": "title", "recordId": other }] });
    let mut dry = input.clone();
    dry["dryRun"] = json!(true);
    let rehearsed = merged(&app, token, dry).await;
    assert_eq!(rehearsed["dryRun"], true);
    assert_eq!(rehearsed["merge"], Value::Null);
    let email = field(&rehearsed, "email");
    assert_eq!(email["conflict"], true);
    assert_eq!(email["chosenFrom"], survivor.as_str());
    assert_eq!(email["chosen"], "siobhan@acme.ie");
    let phone = field(&rehearsed, "phone");
    assert_eq!(phone["conflict"], false);
    assert_eq!(phone["chosenFrom"], other.as_str(), "a blank is filled");
    assert_eq!(field(&rehearsed, "title")["chosen"], "CTO");
    let moves = rehearsed["moves"].as_array().unwrap();
    let relations: Vec<&str> = moves
        .iter()
        .map(|m| m["relation"].as_str().unwrap())
        .collect();
    assert!(relations.contains(&"touchpoints"), "{moves:?}");
    assert!(relations.contains(&"activities"), "{moves:?}");
    assert_eq!(stored_lead(&app, &survivor).await, before_survivor);
    assert_eq!(stored_lead(&app, &other).await, before_other);
    assert_eq!(audit_rows(&app).await, audits);
    assert_eq!(touchpoints_of(&app, &other).await, moved_touch);
    assert_eq!(merge::Entity::find().count(&app.db).await.unwrap(), 0);

    // The merge: the survivor takes the chosen values, every row moves, the loser is a tombstone.
    let done = merged(&app, token, input).await;
    assert_eq!(done["dryRun"], false);
    let merge_id = done["merge"]["id"].as_str().unwrap().to_owned();
    let read = app.ok(token, LEAD, json!({ "id": other })).await;
    assert_eq!(
        read["lead"]["id"],
        survivor.as_str(),
        "a tombstone answers its survivor"
    );
    assert_eq!(read["lead"]["phone"], "+353861234567");
    assert_eq!(read["lead"]["title"], "CTO");
    assert_eq!(read["lead"]["touchpoints"]["totalCount"], 1);
    assert_eq!(read["lead"]["activities"]["totalCount"], 1);
    assert_eq!(touchpoints_of(&app, &survivor).await, moved_touch);
    let tombstone = stored_lead(&app, &other).await;
    assert_eq!(tombstone.merged_into_id, Some(uuid(&survivor)));
    assert!(tombstone.archived_at.is_some());
    let count = app
        .ok(token, "{ leads(first: 5) { totalCount } }", json!({}))
        .await;
    assert_eq!(count["leads"]["totalCount"], 1);
    let history = app
        .ok(
            token,
            "query($id: ID!) { merges(recordType: LEAD, survivorId: $id) { id mergedIds } }",
            json!({ "id": survivor }),
        )
        .await;
    assert_eq!(history["merges"][0]["id"], merge_id.as_str());

    // The hub resolving the merged-away address lands on the survivor.
    email_opened(&app, &admin, &hook, 2, "s.nibhriain@gmail.com").await;
    assert_eq!(touchpoints_of(&app, &survivor).await.len(), 2);
    assert!(touchpoints_of(&app, &other).await.is_empty());
    assert_eq!(
        lead::Entity::find().count(&app.db).await.unwrap(),
        2,
        "no new lead"
    );

    // Undo: the loser and each moved row come back; the touch that came later stays.
    let undone = app.ok(token, UNDO, json!({ "id": merge_id })).await;
    assert!(undone["undoMerge"]["undoneAt"].is_string());
    let restored = stored_lead(&app, &other).await;
    assert_eq!(restored.merged_into_id, None);
    assert_eq!(restored.archived_at, None);
    assert_eq!(restored.email, before_other.email);
    assert_eq!(restored.title, before_other.title);
    assert_eq!(touchpoints_of(&app, &other).await, moved_touch);
    let back = stored_lead(&app, &survivor).await;
    assert_eq!(back.phone, None);
    assert_eq!(back.title, None);
    let read = app.ok(token, LEAD, json!({ "id": other })).await;
    assert_eq!(read["lead"]["id"], other.as_str());
    assert_eq!(read["lead"]["activities"]["totalCount"], 1);

    let again = app.gql(Some(token), UNDO, json!({ "id": merge_id })).await;
    assert_eq!(error_code(&again), Some("CONFLICT"), "{again}");
}

#[tokio::test]
async fn accounts_bring_their_contacts_children_and_deals_and_give_up_the_domain() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let token = admin.access.as_str();
    let account = |name: &str, domain: &str| {
        let (app, token) = (&app, token);
        let input = json!({ "input": { "name": name, "domain": domain } });
        async move {
            app.ok(token, "mutation($input: AccountInput!) { createAccount(input: $input) { account { id } } }", input)
                .await["createAccount"]["account"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let survivor = account("Acme", "https://www.acme.com/").await;
    let other = account("ACME Ireland", "acme.ie").await;
    let child = app
        .ok(
            token,
            "mutation($input: AccountInput!) { createAccount(input: $input) { account { id } } }",
            json!({ "input": { "name": "Acme Cork", "parentId": other } }),
        )
        .await["createAccount"]["account"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let person = app
        .ok(
            token,
            "mutation($input: ContactInput!) { createContact(input: $input) { contact { id } } }",
            json!({ "input": { "lastName": "Byrne", "email": "byrne@acme.ie", "accountId": other } }),
        )
        .await["createContact"]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deal = app
        .ok(
            token,
            "mutation($input: OpportunityInput!) { createOpportunity(input: $input) { opportunity { id } } }",
            json!({ "input": { "name": "Renewal", "accountId": other,
                "amount": { "amount": "1200.00", "currency": "EUR" } } }),
        )
        .await["createOpportunity"]["opportunity"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let done = merged(
        &app,
        token,
        json!({ "recordType": "ACCOUNT", "survivorId": survivor, "mergedIds": [other],
            "fields": [{ "field": "domain", "recordId": other }] }),
    )
    .await;
    let kept = account_row(&app, &survivor).await;
    assert_eq!(kept.domain.as_deref(), Some("acme.ie"));
    assert_eq!(kept.canonical_domain.as_deref(), Some("acme.ie"));
    assert_eq!(
        account_row(&app, &other).await.canonical_domain,
        None,
        "given up"
    );
    assert_eq!(
        account_row(&app, &child).await.parent_id,
        Some(uuid(&survivor))
    );
    let contact_row = contact::Entity::find_by_id(uuid(&person))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(contact_row.account_id, Some(uuid(&survivor)));
    let deal_row = opportunity::Entity::find_by_id(uuid(&deal))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(deal_row.account_id, Some(uuid(&survivor)));
    let moved: Vec<&str> = done["moves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["relation"].as_str().unwrap())
        .collect();
    assert_eq!(moved, ["contacts", "child accounts", "opportunities"]);

    // A new account on the domain the survivor now holds is a conflict naming it.
    let clash = app
        .gql(
            Some(token),
            "mutation($input: AccountInput!) { createAccount(input: $input) { account { id } } }",
            json!({ "input": { "name": "Acme again", "domain": "www.acme.ie" } }),
        )
        .await;
    assert_eq!(error_code(&clash), Some("CONFLICT"), "{clash}");

    app.ok(token, UNDO, json!({ "id": done["merge"]["id"] }))
        .await;
    assert_eq!(
        account_row(&app, &survivor)
            .await
            .canonical_domain
            .as_deref(),
        Some("acme.com")
    );
    assert_eq!(
        account_row(&app, &other).await.canonical_domain.as_deref(),
        Some("acme.ie")
    );
    assert_eq!(
        account_row(&app, &child).await.parent_id,
        Some(uuid(&other))
    );
    let contact_row = contact::Entity::find_by_id(uuid(&person))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(contact_row.account_id, Some(uuid(&other)));
    let deal_row = opportunity::Entity::find_by_id(uuid(&deal))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(deal_row.account_id, Some(uuid(&other)));
}

#[tokio::test]
async fn a_reviewed_cluster_merges_in_one_call() {
    let app = crate::dedupe::spawn_app_with_region().await;
    let admin = app.admin().await;
    let token = admin.access.as_str();
    crate::dedupe::people(&app, token, 60).await;
    app.ok(
        token,
        "mutation { scanDuplicates(recordType: LEAD) { clusters } }",
        json!({}),
    )
    .await;
    let clusters = app
        .ok(
            token,
            "{ duplicateClusters(recordType: LEAD) { id members { id } } }",
            json!({}),
        )
        .await;
    let open_before = clusters["duplicateClusters"].as_array().unwrap().len();
    let cluster = clusters["duplicateClusters"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut members: Vec<String> = clusters["duplicateClusters"][0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    members.sort();
    let first = members.remove(0);
    const CLUSTER: &str = "mutation($id: ID!, $dry: Boolean! = false) { mergeDuplicateCluster(id: $id, dryRun: $dry) {
        survivorId mergedIds merge { id } } }";
    let rehearsed = app
        .ok(token, CLUSTER, json!({ "id": cluster, "dry": true }))
        .await;
    assert_eq!(
        rehearsed["mergeDuplicateCluster"]["survivorId"],
        first.as_str()
    );
    let open = app
        .ok(
            token,
            "{ duplicateClusters(recordType: LEAD) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        open["duplicateClusters"].as_array().unwrap().len(),
        open_before,
        "a dry run leaves it open"
    );

    let done = app.ok(token, CLUSTER, json!({ "id": cluster })).await;
    assert_eq!(done["mergeDuplicateCluster"]["mergedIds"], json!(members));
    for id in &members {
        assert_eq!(
            stored_lead(&app, id).await.merged_into_id,
            Some(uuid(&first))
        );
    }
    let merged_clusters = app
        .ok(
            token,
            "{ duplicateClusters(recordType: LEAD, status: MERGED) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        merged_clusters["duplicateClusters"][0]["id"],
        cluster.as_str()
    );
    let twice = app
        .gql(Some(token), CLUSTER, json!({ "id": cluster }))
        .await;
    assert_eq!(error_code(&twice), Some("CONFLICT"), "{twice}");
}

#[tokio::test]
async fn a_rep_merges_only_what_they_may_edit() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rep = app
        .user(&admin, "rep@touchbase.example", "SALES", None)
        .await;
    let peer = app
        .user(&admin, "peer@touchbase.example", "SALES", None)
        .await;
    let marketing = app
        .user(&admin, "mkt@touchbase.example", "MARKETING", None)
        .await;
    let mine = app
        .lead(
            &rep.access,
            json!({ "lastName": "Mine", "email": "mine@a.example" }),
        )
        .await;
    let theirs = app
        .lead(
            &peer.access,
            json!({ "lastName": "Mine", "email": "theirs@a.example" }),
        )
        .await;
    let audits = audit_rows(&app).await;

    let refused = merge_records(
        &app,
        &rep.access,
        json!({ "recordType": "LEAD", "survivorId": mine, "mergedIds": [theirs] }),
    )
    .await;
    assert_eq!(error_code(&refused), Some("NOT_FOUND"), "{refused}");
    let refused = merge_records(
        &app,
        &rep.access,
        json!({ "recordType": "LEAD", "survivorId": theirs, "mergedIds": [mine], "dryRun": true }),
    )
    .await;
    assert_eq!(error_code(&refused), Some("NOT_FOUND"), "{refused}");
    // A role that may not see amounts may not choose one.
    let refused = merge_records(
        &app,
        &marketing.access,
        json!({ "recordType": "LEAD", "survivorId": mine, "mergedIds": [theirs],
            "fields": [{ "field": "budgetMinor", "recordId": theirs }] }),
    )
    .await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused}");
    assert_eq!(audit_rows(&app).await, audits);
    assert_eq!(stored_lead(&app, &theirs).await.merged_into_id, None);

    // Merging as marketing leaves the amounts as the survivor has them, unseen.
    let admin_token = admin.access.as_str();
    let plain = app.lead(admin_token, json!({ "lastName": "Budgetless", "email": "m1@a.example", "ownerId": marketing.user_id })).await;
    let funded = app
        .lead(
            admin_token,
            json!({ "lastName": "Funded", "email": "m2@a.example", "ownerId": marketing.user_id,
            "budget": { "amount": "5000.00", "currency": "EUR" } }),
        )
        .await;
    let by_marketing = merged(
        &app,
        &marketing.access,
        json!({ "recordType": "LEAD", "survivorId": plain, "mergedIds": [funded] }),
    )
    .await;
    assert_eq!(
        field(&by_marketing, "budget_minor")["values"][1]["value"],
        Value::Null
    );
    assert_eq!(stored_lead(&app, &plain).await.budget_minor, None);

    // Their own two, the rep may merge.
    let also_mine = app
        .lead(
            &rep.access,
            json!({ "lastName": "Mine", "email": "me2@a.example" }),
        )
        .await;
    merged(
        &app,
        &rep.access,
        json!({ "recordType": "LEAD", "survivorId": mine, "mergedIds": [also_mine] }),
    )
    .await;
    assert_eq!(
        stored_lead(&app, &also_mine).await.merged_into_id,
        Some(uuid(&mine))
    );
}

#[tokio::test]
async fn hostile_merge_requests_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let token = admin.access.as_str();
    let a = app
        .lead(token, json!({ "lastName": "A", "email": "a@h.example" }))
        .await;
    let b = app
        .lead(token, json!({ "lastName": "B", "email": "b@h.example" }))
        .await;
    let contact = app
        .ok(
            token,
            "mutation($input: ContactInput!) { createContact(input: $input) { contact { id } } }",
            json!({ "input": { "lastName": "C", "email": "c@h.example" } }),
        )
        .await["createContact"]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let many: Vec<String> = (0..51).map(|_| Uuid::now_v7().to_string()).collect();
    let huge = "x".repeat(100_000);
    let cases = [
        (
            json!({ "survivorId": a, "mergedIds": [] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "survivorId": a, "mergedIds": [a] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "survivorId": a, "mergedIds": [b, b] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "survivorId": a, "mergedIds": many }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "survivorId": "not-an-id", "mergedIds": [b] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "survivorId": a, "mergedIds": [contact] }),
            "NOT_FOUND",
        ),
        (
            json!({ "survivorId": a, "mergedIds": [b], "fields": [{ "field": "id", "recordId": b }] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "survivorId": a, "mergedIds": [b], "fields": [{ "field": "score", "recordId": b }] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "survivorId": a, "mergedIds": [b], "fields": [{ "field": "email\u{0}", "recordId": b }] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "survivorId": a, "mergedIds": [b], "fields": [{ "field": huge, "recordId": b }] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "survivorId": a, "mergedIds": [b], "fields": [{ "field": "email", "recordId": contact }] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "survivorId": a, "mergedIds": [b], "fields": [{ "field": "email", "recordId": b }, { "field": "email", "recordId": a }] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "survivorId": a, "mergedIds": [b], "fields": [{ "field": "firstTouchAt", "recordId": b }, { "field": "firstSource", "recordId": a }] }),
            "BAD_USER_INPUT",
        ),
    ];
    let audits = audit_rows(&app).await;
    for (mut input, code) in cases {
        input["recordType"] = json!("LEAD");
        let answer = merge_records(&app, token, input.clone()).await;
        assert_eq!(error_code(&answer), Some(code), "{input}: {answer}");
    }
    let unknown = app
        .gql(
            Some(token),
            MERGE,
            json!({ "input": { "recordType": "WIDGET", "survivorId": a, "mergedIds": [b] } }),
        )
        .await;
    assert!(unknown["errors"].is_array(), "{unknown}");
    assert_eq!(audit_rows(&app).await, audits);

    // A tombstone neither merges nor survives again.
    merged(
        &app,
        token,
        json!({ "recordType": "LEAD", "survivorId": a, "mergedIds": [b] }),
    )
    .await;
    let c = app
        .lead(token, json!({ "lastName": "C", "email": "c2@h.example" }))
        .await;
    for input in [
        json!({ "recordType": "LEAD", "survivorId": c, "mergedIds": [b] }),
        json!({ "recordType": "LEAD", "survivorId": b, "mergedIds": [c] }),
    ] {
        let answer = merge_records(&app, token, input).await;
        assert_eq!(error_code(&answer), Some("CONFLICT"), "{answer}");
    }
    // A tombstone is changed only by its merge's undo.
    let edit = app
        .gql(
            Some(token),
            "mutation($id: ID!) { updateLead(id: $id, input: { title: \"CEO\" }) { lead { id } } }",
            json!({ "id": b }),
        )
        .await;
    assert_eq!(error_code(&edit), Some("CONFLICT"), "{edit}");
    let restore = app
        .gql(
            Some(token),
            "mutation($id: ID!) { restoreLead(id: $id) { lead { id } } }",
            json!({ "id": b }),
        )
        .await;
    assert_eq!(error_code(&restore), Some("CONFLICT"), "{restore}");
    let unknown_undo = app
        .gql(
            Some(token),
            UNDO,
            json!({ "id": Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(
        error_code(&unknown_undo),
        Some("NOT_FOUND"),
        "{unknown_undo}"
    );
}

#[tokio::test]
async fn a_merge_past_its_undo_window_stays() {
    let app = spawn_app_with(|config| config.merge_undo_days = 0).await;
    let admin = app.admin().await;
    let token = admin.access.as_str();
    let a = app
        .lead(token, json!({ "lastName": "A", "email": "a@w.example" }))
        .await;
    let b = app
        .lead(token, json!({ "lastName": "B", "email": "b@w.example" }))
        .await;
    let done = merged(
        &app,
        token,
        json!({ "recordType": "LEAD", "survivorId": a, "mergedIds": [b] }),
    )
    .await;
    let late = app
        .gql(Some(token), UNDO, json!({ "id": done["merge"]["id"] }))
        .await;
    assert_eq!(error_code(&late), Some("CONFLICT"), "{late}");
    assert_eq!(stored_lead(&app, &b).await.merged_into_id, Some(uuid(&a)));
}

async fn created(app: &TestApp, token: &str, mutation: &str, kind: &str, input: Value) -> String {
    let query = format!(
        "mutation($input: {kind}Input!) {{ {mutation}(input: $input) {{ {field} {{ id }} }} }}",
        field = kind.to_lowercase()
    );
    app.ok(token, &query, json!({ "input": input })).await[mutation][kind.to_lowercase()]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn contacts_and_deals_round_trip_every_relation() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let token = admin.access.as_str();
    let kept = created(
        &app,
        token,
        "createContact",
        "Contact",
        json!({ "firstName": "Ingrid", "lastName": "Ødegård", "email": "ingrid@fjord.example" }),
    )
    .await;
    let other = created(
        &app,
        token,
        "createContact",
        "Contact",
        json!({ "firstName": "Ingrid", "lastName": "Odegard", "email": "ingrid.o@mail.example",
            "phone": "+47 412 34 567" }),
    )
    .await;
    let deal = created(
        &app,
        token,
        "createOpportunity",
        "Opportunity",
        json!({ "name": "Fjord fleet", "contactId": other,
            "amount": { "amount": "900.00", "currency": "NOK" } }),
    )
    .await;
    let twin_deal = created(
        &app,
        token,
        "createOpportunity",
        "Opportunity",
        json!({ "name": "Fjord fleet (copy)", "contactId": other,
            "amount": { "amount": "950.00", "currency": "NOK" } }),
    )
    .await;
    let call = created(&app, token, "createActivity", "Activity",
        json!({ "kind": "CALL", "subject": "Fleet call", "contactId": other, "opportunityId": twin_deal })).await;
    let lead = app
        .lead(
            token,
            json!({ "lastName": "Odegard", "email": "ingrid.lead@mail.example" }),
        )
        .await;
    app.ok(
        token,
        "mutation($id: ID!, $input: ConvertLeadInput) { convertLead(id: $id, input: $input) { lead { id } } }",
        json!({ "id": lead, "input": { "contactId": other } }),
    )
    .await;
    let (hook, _) = connector(&app, &admin, "MAILGUN", Some(MAILGUN_KEY), json!({})).await;
    email_opened(&app, &admin, &hook, 1, "ingrid.o@mail.example").await;
    let on_contact = |id: &str| {
        let id = uuid(id);
        let db = &app.db;
        async move {
            touchpoint::Entity::find()
                .filter(touchpoint::Column::ContactId.eq(id))
                .count(db)
                .await
                .unwrap()
        }
    };
    assert_eq!(on_contact(&other).await, 1);

    let done = merged(
        &app,
        token,
        json!({ "recordType": "CONTACT", "survivorId": kept, "mergedIds": [other] }),
    )
    .await;
    let mut moved: Vec<&str> = done["moves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["relation"].as_str().unwrap())
        .collect();
    moved.sort();
    assert_eq!(
        moved,
        [
            "activities",
            "converted leads",
            "opportunities",
            "touchpoints"
        ]
    );
    assert_eq!(on_contact(&kept).await, 1);
    let contact = contact::Entity::find_by_id(uuid(&kept))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(contact.phone.as_deref(), Some("+4741234567"));
    let converted = stored_lead(&app, &lead).await;
    assert_eq!(converted.converted_contact_id, Some(uuid(&kept)));
    let read = app
        .ok(
            token,
            "query($id: ID!) { contact(id: $id) { id } }",
            json!({ "id": other }),
        )
        .await;
    assert_eq!(read["contact"]["id"], kept.as_str());
    // A later touch from the merged-away address lands on the survivor.
    email_opened(&app, &admin, &hook, 2, "ingrid.o@mail.example").await;
    assert_eq!(on_contact(&kept).await, 2);

    // The two deals merge as well; the survivor keeps its amount and takes the call.
    let deals = merged(
        &app,
        token,
        json!({ "recordType": "OPPORTUNITY", "survivorId": deal, "mergedIds": [twin_deal] }),
    )
    .await;
    assert_eq!(field(&deals, "amount_minor")["chosen"], 90000);
    assert_eq!(field(&deals, "amount_minor")["conflict"], true);
    let activity = entity::activity::Entity::find_by_id(uuid(&call))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(activity.opportunity_id, Some(uuid(&deal)));
    assert_eq!(activity.contact_id, Some(uuid(&kept)));

    // Undone in the reverse order, every row is where it began.
    app.ok(token, UNDO, json!({ "id": deals["merge"]["id"] }))
        .await;
    app.ok(token, UNDO, json!({ "id": done["merge"]["id"] }))
        .await;
    let activity = entity::activity::Entity::find_by_id(uuid(&call))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (activity.opportunity_id, activity.contact_id),
        (Some(uuid(&twin_deal)), Some(uuid(&other)))
    );
    for id in [&deal, &twin_deal] {
        let row = opportunity::Entity::find_by_id(uuid(id))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (row.contact_id, row.merged_into_id, row.archived_at),
            (Some(uuid(&other)), None, None)
        );
    }
    assert_eq!(
        stored_lead(&app, &lead).await.converted_contact_id,
        Some(uuid(&other))
    );
    assert_eq!(
        on_contact(&other).await,
        1,
        "the touch that came before the merge goes back"
    );
    assert_eq!(on_contact(&kept).await, 1, "the one that came after stays");
    let contact = contact::Entity::find_by_id(uuid(&kept))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(contact.phone, None);
}
