//! Lead assignment end to end, on both stores: ordered rules (first match wins), each strategy,
//! availability, the default owner, leads from the hub, assigning on demand, SLAs and the first
//! response, the row rules on why a lead has its owner, bad rule input, and round robin fairness
//! under concurrent creation.

use chrono::{Duration, Utc};
use futures_util::{StreamExt, stream};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use touchbase::sales::assignment::sla;

use crate::{
    helpers::{Gateway, Session, TestApp, error_code, spawn_app, spawn_app_with, touchbase},
    hub::{connector, deliver, settled_deliveries},
};

const CREATE_RULE: &str = "mutation($input: AssignmentRuleInput!) {
    createAssignmentRule(input: $input) { id name position } }";
const ASSIGNMENT: &str = "query($id: ID!) { lead(id: $id) { owner { id } assignment {
    owner { id } previousOwner { id } reason ruleName strategy by { id }
    matched { field key operator values leadValue }
    candidates { user { id } outcome reason openLeads maxOpenLeads away }
    task { id kind subject dueAt assignee { id } }
    slaDueAt breachedAt firstResponseAt firstResponseSeconds }
    assignmentHistory { reason owner { id } } } }";

async fn rule(app: &TestApp, admin: &Session, input: Value) -> String {
    let data = app
        .ok(&admin.access, CREATE_RULE, json!({ "input": input }))
        .await;
    data["createAssignmentRule"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn assignment_of(app: &TestApp, token: &str, lead: &str) -> Value {
    app.ok(token, ASSIGNMENT, json!({ "id": lead })).await["lead"].clone()
}

fn owner_of(lead: &Value) -> &str {
    lead["owner"]["id"].as_str().unwrap_or("none")
}

/// A team of `n` sales reps, in id order (the order the round robin walks).
async fn team_of(app: &TestApp, admin: &Session, name: &str, n: usize) -> (String, Vec<Session>) {
    let team = app.team(admin, name).await;
    let mut reps = Vec::new();
    for i in 0..n {
        let email = format!("{name}-{i}@example.com");
        reps.push(app.user(admin, &email, "SALES", Some(&team)).await);
    }
    reps.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    (team, reps)
}

async fn availability(app: &TestApp, token: &str, user: &str, input: Value) -> Value {
    app.gql(
        Some(token),
        "mutation($u: ID!, $i: AvailabilityInput!) { setUserAvailability(userId: $u, input: $i) { id awayFrom awayUntil maxOpenLeads } }",
        json!({ "u": user, "i": input }),
    )
    .await
}

#[tokio::test]
async fn the_first_matching_rule_in_order_decides_and_says_which_conditions_held() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ann = app.user(&admin, "ann@example.com", "SALES", None).await;
    let bob = app.user(&admin, "bob@example.com", "SALES", None).await;
    let cid = app.user(&admin, "cid@example.com", "SALES", None).await;
    let stripe = rule(
        &app,
        &admin,
        json!({ "name": "Stripe", "strategy": "USER", "userId": ann.user_id,
        "conditions": [{ "field": "LEAD_SOURCE", "operator": "IN", "values": ["Stripe"] }] }),
    )
    .await;
    let gold = rule(&app, &admin, json!({ "name": "Gold", "strategy": "USER", "userId": bob.user_id,
        "conditions": [{ "field": "CUSTOM_FIELD", "key": "tier", "operator": "IN", "values": ["gold"] },
                       { "field": "CUSTOM_FIELD", "key": "seats", "operator": "BETWEEN", "values": ["10", "50"] }] })).await;
    let rest = rule(
        &app,
        &admin,
        json!({ "name": "Everyone else", "strategy": "USER", "userId": cid.user_id }),
    )
    .await;

    let both = app
        .lead(
            &admin.access,
            json!({ "email": "both@x.com", "leadSource": "stripe",
        "customFields": { "tier": "Gold", "seats": 12 } }),
        )
        .await;
    let gold_only = app
        .lead(
            &admin.access,
            json!({ "email": "gold@x.com",
        "customFields": { "tier": "gold", "seats": 20 } }),
        )
        .await;
    let too_many_seats = app
        .lead(
            &admin.access,
            json!({ "email": "big@x.com",
        "customFields": { "tier": "gold", "seats": 51 } }),
        )
        .await;

    let lead = assignment_of(&app, &admin.access, &both).await;
    assert_eq!(owner_of(&lead), ann.user_id);
    assert_eq!(lead["assignment"]["ruleName"], "Stripe");
    assert_eq!(lead["assignment"]["matched"][0]["leadValue"], "stripe");
    assert_eq!(lead["assignment"]["by"], Value::Null);
    let lead = assignment_of(&app, &admin.access, &gold_only).await;
    assert_eq!(owner_of(&lead), bob.user_id);
    let matched = &lead["assignment"]["matched"];
    assert_eq!(matched[0]["key"], "tier");
    assert_eq!(matched[1]["leadValue"], "20");
    assert_eq!(
        owner_of(&assignment_of(&app, &admin.access, &too_many_seats).await),
        cid.user_id
    );

    // Reordered, the catch-all comes first and takes everything.
    let order = app
        .ok(
            &admin.access,
            "mutation($ids: [ID!]!) { reorderAssignmentRules(ids: $ids) { id position } }",
            json!({ "ids": [rest, stripe, gold] }),
        )
        .await;
    assert_eq!(order["reorderAssignmentRules"][0]["id"], json!(rest));
    assert_eq!(order["reorderAssignmentRules"][2]["position"], 2);
    let later = app
        .lead(
            &admin.access,
            json!({ "email": "later@x.com", "leadSource": "stripe" }),
        )
        .await;
    assert_eq!(
        owner_of(&assignment_of(&app, &admin.access, &later).await),
        cid.user_id
    );

    // An inactive rule is passed over; a deleted one is gone, and the order closes up.
    app.ok(
        &admin.access,
        "mutation($id: ID!) { updateAssignmentRule(id: $id, input: { active: false }) { active } }",
        json!({ "id": rest }),
    )
    .await;
    let again = app
        .lead(
            &admin.access,
            json!({ "email": "again@x.com", "leadSource": "stripe" }),
        )
        .await;
    assert_eq!(
        owner_of(&assignment_of(&app, &admin.access, &again).await),
        ann.user_id
    );
    app.ok(
        &admin.access,
        "mutation($id: ID!) { deleteAssignmentRule(id: $id) }",
        json!({ "id": stripe }),
    )
    .await;
    let rules = app
        .ok(
            &admin.access,
            "{ assignmentRules { name position } }",
            json!({}),
        )
        .await;
    assert_eq!(
        rules["assignmentRules"],
        json!([{ "name": "Everyone else", "position": 0 }, { "name": "Gold", "position": 1 }])
    );
}

#[tokio::test]
async fn territory_industry_and_company_size_route_leads() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let dach = app.user(&admin, "dach@example.com", "SALES", None).await;
    let munich = app.user(&admin, "munich@example.com", "SALES", None).await;
    let big = app.user(&admin, "big@example.com", "SALES", None).await;
    rule(
        &app,
        &admin,
        json!({ "name": "Munich software", "strategy": "USER", "userId": munich.user_id,
        "conditions": [{ "field": "POSTCODE", "operator": "BETWEEN", "values": ["80000", "81999"] },
                       { "field": "INDUSTRY", "operator": "CONTAINS", "values": ["software"] }] }),
    )
    .await;
    rule(
        &app,
        &admin,
        json!({ "name": "Enterprise", "strategy": "USER", "userId": big.user_id,
        "conditions": [{ "field": "EMPLOYEES", "operator": "AT_LEAST", "values": ["1000"] }] }),
    )
    .await;
    rule(
        &app,
        &admin,
        json!({ "name": "DACH", "strategy": "USER", "userId": dach.user_id,
        "conditions": [{ "field": "COUNTRY", "operator": "IN", "values": ["de", "AT", "CH"] },
                       { "field": "REGION", "operator": "NOT_IN", "values": ["Tyrol"] }] }),
    )
    .await;
    let cases = [
        (
            json!({ "email": "a@x.com", "country": "DE", "postcode": "80331", "industry": "Software" }),
            munich.user_id.as_str(),
        ),
        (
            json!({ "email": "b@x.com", "country": "DE", "postcode": "80331", "industry": "Retail", "employees": 5000 }),
            big.user_id.as_str(),
        ),
        (
            json!({ "email": "c@x.com", "country": "AT", "region": "Vienna", "employees": 10 }),
            dach.user_id.as_str(),
        ),
        (
            json!({ "email": "d@x.com", "country": "AT", "region": "Tyrol" }),
            "none",
        ),
        (
            json!({ "email": "e@x.com", "country": "FR", "postcode": "80100", "industry": "Software" }),
            munich.user_id.as_str(),
        ),
    ];
    for (input, expected) in cases {
        let lead = app.lead(&admin.access, input.clone()).await;
        assert_eq!(
            owner_of(&assignment_of(&app, &admin.access, &lead).await),
            expected,
            "{input}"
        );
    }
}

#[tokio::test]
async fn each_team_strategy_splits_leads_as_it_says() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (team, reps) = team_of(&app, &admin, "rr", 3).await;
    let robin = rule(
        &app,
        &admin,
        json!({ "name": "Round robin", "strategy": "ROUND_ROBIN", "teamId": team }),
    )
    .await;
    let mut owners = Vec::new();
    for i in 0..6 {
        let lead = app
            .lead(&admin.access, json!({ "email": format!("rr{i}@x.com") }))
            .await;
        owners.push(owner_of(&assignment_of(&app, &admin.access, &lead).await).to_owned());
    }
    let ids: Vec<&str> = reps.iter().map(|r| r.user_id.as_str()).collect();
    assert_eq!(owners, [ids[0], ids[1], ids[2], ids[0], ids[1], ids[2]]);

    // Fewest open leads: rep 1 closes both of theirs, so the next two go to them... once each,
    // then the three are level and the turn decides.
    let update = "mutation($id: ID!, $input: AssignmentRuleInput!) { updateAssignmentRule(id: $id, input: $input) { strategy } }";
    app.ok(
        &admin.access,
        update,
        json!({ "id": robin, "input": { "strategy": "FEWEST_OPEN" } }),
    )
    .await;
    let leads = app
        .ok(
            &admin.access,
            "{ leads(first: 50) { edges { node { id owner { id } } } } }",
            json!({}),
        )
        .await;
    for edge in leads["leads"]["edges"].as_array().unwrap() {
        if edge["node"]["owner"]["id"] == json!(ids[1]) {
            app.ok(&admin.access,
                "mutation($id: ID!) { updateLead(id: $id, input: { status: LOST }) { lead { id } } }",
                json!({ "id": edge["node"]["id"] })).await;
        }
    }
    let mut fewest = Vec::new();
    for i in 0..2 {
        let lead = app
            .lead(&admin.access, json!({ "email": format!("few{i}@x.com") }))
            .await;
        let lead = assignment_of(&app, &admin.access, &lead).await;
        fewest.push(owner_of(&lead).to_owned());
        assert_eq!(lead["assignment"]["strategy"], "FEWEST_OPEN");
    }
    assert_eq!(fewest, [ids[1], ids[1]]);

    // Weighted by capacity: rep 0 takes 2 more, rep 2 takes 8 more; rep 1 set no capacity.
    app.ok(
        &admin.access,
        update,
        json!({ "id": robin, "input": { "strategy": "WEIGHTED_BY_CAPACITY" } }),
    )
    .await;
    availability(&app, &admin.access, ids[0], json!({ "maxOpenLeads": 4 })).await;
    availability(&app, &admin.access, ids[2], json!({ "maxOpenLeads": 10 })).await;
    let mut counts = std::collections::HashMap::<String, usize>::new();
    for i in 0..10 {
        let lead = app
            .lead(&admin.access, json!({ "email": format!("w{i}@x.com") }))
            .await;
        *counts
            .entry(owner_of(&assignment_of(&app, &admin.access, &lead).await).to_owned())
            .or_default() += 1;
    }
    assert_eq!(counts.get(ids[0]), Some(&2), "{counts:?}");
    assert_eq!(counts.get(ids[2]), Some(&8), "{counts:?}");
    assert_eq!(counts.get(ids[1]), None, "{counts:?}");
}

#[tokio::test]
async fn inactive_away_and_full_reps_are_skipped_and_the_default_owner_catches_the_rest() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (team, reps) = team_of(&app, &admin, "avail", 3).await;
    let ids: Vec<String> = reps.iter().map(|r| r.user_id.clone()).collect();
    let fallback = app
        .user(&admin, "fallback@example.com", "MANAGER", None)
        .await;
    rule(
        &app,
        &admin,
        json!({ "name": "Team", "strategy": "ROUND_ROBIN", "teamId": team }),
    )
    .await;
    app.ok(
        &admin.access,
        crate::helpers::UPDATE_USER,
        json!({ "id": ids[0], "input": { "active": false } }),
    )
    .await;
    let today = Utc::now().date_naive();
    // A rep sets their own out-of-office dates, but not their capacity.
    let away = availability(&app, &reps[1].access, &ids[1], json!({
        "awayFrom": (today - Duration::days(1)).to_string(), "awayUntil": (today + Duration::days(1)).to_string() })).await;
    assert!(away.get("errors").is_none(), "{away}");
    let refused = availability(
        &app,
        &reps[1].access,
        &ids[1],
        json!({ "maxOpenLeads": 1000 }),
    )
    .await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"));
    availability(&app, &admin.access, &ids[2], json!({ "maxOpenLeads": 1 })).await;

    let first = app
        .lead(&admin.access, json!({ "email": "first@x.com" }))
        .await;
    let lead = assignment_of(&app, &admin.access, &first).await;
    assert_eq!(owner_of(&lead), ids[2]);
    let lines = lead["assignment"]["candidates"].as_array().unwrap().clone();
    let line = |id: &str| {
        lines
            .iter()
            .find(|l| l["user"]["id"] == json!(id))
            .unwrap()
            .clone()
    };
    assert_eq!(line(&ids[0])["reason"], "inactive");
    assert_eq!(line(&ids[0])["outcome"], "SKIPPED");
    assert_eq!(line(&ids[1])["away"], true);
    assert!(
        line(&ids[1])["reason"]
            .as_str()
            .unwrap()
            .starts_with("away until")
    );
    assert_eq!(line(&ids[2])["outcome"], "CHOSEN");

    // Now rep 2 is full too: with no default owner the lead stays unassigned, saying why.
    let second = app
        .lead(&admin.access, json!({ "email": "second@x.com" }))
        .await;
    let lead = assignment_of(&app, &admin.access, &second).await;
    assert_eq!(lead["owner"], Value::Null);
    assert_eq!(lead["assignment"]["owner"], Value::Null);
    let reason = lead["assignment"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("nobody it names was available") && reason.contains("no default owner"),
        "{reason}"
    );
    let full = lead["assignment"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["user"]["id"] == json!(ids[2]))
        .unwrap()
        .clone();
    assert_eq!(full["reason"], "at capacity: 1 of 1 open leads");

    // The default owner catches it.
    let set = app
        .ok(
            &admin.access,
            "mutation($u: ID) { setDefaultLeadOwner(userId: $u) { id } }",
            json!({ "u": fallback.user_id }),
        )
        .await;
    assert_eq!(set["setDefaultLeadOwner"]["id"], json!(fallback.user_id));
    let third = app
        .lead(&admin.access, json!({ "email": "third@x.com" }))
        .await;
    let lead = assignment_of(&app, &admin.access, &third).await;
    assert_eq!(owner_of(&lead), fallback.user_id);
    assert!(
        lead["assignment"]["reason"]
            .as_str()
            .unwrap()
            .ends_with("the default owner")
    );
    // No rule at all: the default owner too.
    let none = app
        .ok(&admin.access, "{ defaultLeadOwner { id } }", json!({}))
        .await;
    assert_eq!(none["defaultLeadOwner"]["id"], json!(fallback.user_id));
}

#[tokio::test]
async fn a_lead_created_with_an_owner_keeps_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    let other = app.user(&admin, "other@example.com", "SALES", None).await;
    rule(
        &app,
        &admin,
        json!({ "name": "All", "strategy": "USER", "userId": other.user_id }),
    )
    .await;
    let own = app
        .lead(&rep.access, json!({ "email": "mine@x.com" }))
        .await;
    let lead = assignment_of(&app, &rep.access, &own).await;
    assert_eq!(owner_of(&lead), rep.user_id);
    assert_eq!(lead["assignment"], Value::Null);
    let given = app
        .lead(
            &admin.access,
            json!({ "email": "given@x.com", "ownerId": rep.user_id }),
        )
        .await;
    assert_eq!(
        owner_of(&assignment_of(&app, &admin.access, &given).await),
        rep.user_id
    );
    // Marketing creates unowned leads: the rules place them.
    let marketer = app.user(&admin, "m@example.com", "MARKETING", None).await;
    let theirs = app
        .lead(&marketer.access, json!({ "email": "mkt@x.com" }))
        .await;
    assert_eq!(
        owner_of(&assignment_of(&app, &admin.access, &theirs).await),
        other.user_id
    );
}

#[tokio::test]
async fn a_lead_the_hub_creates_is_assigned_in_the_same_delivery() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    rule(
        &app,
        &admin,
        json!({ "name": "Forms", "strategy": "USER", "userId": rep.user_id, "slaMinutes": 15,
        "conditions": [{ "field": "LEAD_SOURCE", "operator": "IN", "values": ["web_form"] }] }),
    )
    .await;
    let (form, _) = connector(&app, &admin, "WEB_FORM", None, json!({})).await;
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("email", "ada@acme.com"), ("last_name", "Lovelace")])
        .finish();
    let (status, answer) =
        deliver(&app, &form, "application/x-www-form-urlencoded", &[], body).await;
    assert_eq!(status, 200, "{answer}");
    let settled = settled_deliveries(&app, &admin, &form, 1).await;
    assert_eq!(settled[0]["status"], "PROCESSED", "{settled:?}");
    // The rep sees the lead as theirs, with its follow-up task.
    let leads = app
        .ok(
            &rep.access,
            "{ leads(first: 5) { edges { node { id leadSource } } } }",
            json!({}),
        )
        .await;
    let node = &leads["leads"]["edges"][0]["node"];
    let lead = assignment_of(&app, &rep.access, node["id"].as_str().unwrap()).await;
    assert_eq!(owner_of(&lead), rep.user_id, "{node}");
    let task = &lead["assignment"]["task"];
    assert_eq!(task["kind"], "TASK");
    assert_eq!(task["assignee"]["id"], json!(rep.user_id));
    assert_eq!(task["subject"], "Follow up with Lovelace");
    assert_eq!(task["dueAt"], lead["assignment"]["slaDueAt"]);
}

#[tokio::test]
async fn assign_lead_and_bulk_reassignment_run_the_rules_through_the_lifecycle() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (team, reps) = team_of(&app, &admin, "bulk", 2).await;
    let manager = app
        .user(&admin, "boss@example.com", "MANAGER", Some(&team))
        .await;
    let mut leads = Vec::new();
    for i in 0..3 {
        leads.push(
            app.lead(
                &admin.access,
                json!({ "email": format!("b{i}@x.com"), "leadSource": "fair" }),
            )
            .await,
        );
    }
    assert_eq!(
        assignment_of(&app, &admin.access, &leads[0]).await["owner"],
        Value::Null
    );
    rule(
        &app,
        &admin,
        json!({ "name": "Fair", "strategy": "ROUND_ROBIN", "teamId": team,
        "conditions": [{ "field": "LEAD_SOURCE", "operator": "IN", "values": ["fair"] }] }),
    )
    .await;

    let assign = "mutation($id: ID!) { assignLead(id: $id) { lead { owner { id } } assignment { by { id } reason } } }";
    let sales = app
        .gql(Some(&reps[0].access), assign, json!({ "id": leads[0] }))
        .await;
    assert_eq!(error_code(&sales), Some("FORBIDDEN"));
    let done = app
        .ok(&manager.access, assign, json!({ "id": leads[0] }))
        .await;
    assert_eq!(
        done["assignLead"]["lead"]["owner"]["id"],
        json!(reps[0].user_id)
    );
    assert_eq!(
        done["assignLead"]["assignment"]["by"]["id"],
        json!(manager.user_id)
    );
    let audit = entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::Action.eq("lead.assign"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);

    let bulk = "mutation($f: LeadFilter!) { reassignLeads(filter: $f) { count assignments { lead { id owner { id } } } } }";
    let data = app
        .ok(
            &admin.access,
            bulk,
            json!({ "f": { "leadSource": { "eq": "fair" } } }),
        )
        .await;
    assert_eq!(data["reassignLeads"]["count"], 3);
    let owners: Vec<&Value> = data["reassignLeads"]["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["lead"]["owner"]["id"])
        .collect();
    assert!(owners.iter().all(|o| o.is_string()), "{owners:?}");
    // Created before any rule (unassigned, saying why), assigned, then reassigned: newest first.
    let history = assignment_of(&app, &admin.access, &leads[0]).await["assignmentHistory"].clone();
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[2]["owner"], Value::Null);
    assert!(
        history[2]["reason"]
            .as_str()
            .unwrap()
            .contains("no default owner"),
        "{history:?}"
    );
    let refused = app
        .gql(Some(&reps[0].access), bulk, json!({ "f": {} }))
        .await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"));
    let missing = app
        .gql(
            Some(&admin.access),
            assign,
            json!({ "id": uuid::Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(error_code(&missing), Some("NOT_FOUND"));
}

#[tokio::test]
async fn a_breached_sla_hands_the_lead_on_unless_someone_responded() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (team, reps) = team_of(&app, &admin, "sla", 2).await;
    rule(
        &app,
        &admin,
        json!({ "name": "Fast", "strategy": "ROUND_ROBIN", "teamId": team,
        "slaMinutes": 30, "reassignOnBreach": true }),
    )
    .await;
    let slow = app
        .lead(&admin.access, json!({ "email": "slow@x.com" }))
        .await;
    let quick = app
        .lead(&admin.access, json!({ "email": "quick@x.com" }))
        .await;
    let before = assignment_of(&app, &admin.access, &slow).await;
    assert_eq!(owner_of(&before), reps[0].user_id);
    let due: chrono::DateTime<Utc> = before["assignment"]["slaDueAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(due > Utc::now() + Duration::minutes(29) && due <= Utc::now() + Duration::minutes(30));
    assert_eq!(
        before["assignment"]["task"]["dueAt"],
        before["assignment"]["slaDueAt"]
    );
    // Rep 1 responds to theirs by logging a call on it.
    app.ok(
        &reps[1].access,
        "mutation($input: ActivityInput!) { createActivity(input: $input) { activity { id } } }",
        json!({ "input": { "kind": "CALL", "subject": "Called", "leadId": quick, "done": true } }),
    )
    .await;

    // Nothing has passed yet.
    assert_eq!(
        sla::handle_breaches(&app.services, Utc::now())
            .await
            .unwrap(),
        0
    );
    let later = Utc::now() + Duration::minutes(31);
    assert_eq!(sla::handle_breaches(&app.services, later).await.unwrap(), 1);
    assert_eq!(sla::handle_breaches(&app.services, later).await.unwrap(), 0);

    let after = assignment_of(&app, &admin.access, &slow).await;
    assert_eq!(owner_of(&after), reps[1].user_id);
    assert!(
        after["assignment"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("SLA breached")
    );
    assert_eq!(
        after["assignment"]["previousOwner"]["id"],
        json!(reps[0].user_id)
    );
    assert_eq!(
        after["assignment"]["task"]["assignee"]["id"],
        json!(reps[1].user_id)
    );
    // The follow-up task the first rep left open moved with the lead, due at the new SLA: no
    // stale task stays on the first rep's list.
    assert_eq!(
        after["assignment"]["task"]["id"],
        before["assignment"]["task"]["id"]
    );
    assert_eq!(
        after["assignment"]["task"]["dueAt"],
        after["assignment"]["slaDueAt"]
    );
    let slow_id = uuid::Uuid::parse_str(&slow).unwrap();
    let tasks = entity::activity::Entity::find()
        .filter(entity::activity::Column::LeadId.eq(slow_id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(tasks.len(), 1);
    let skipped = after["assignment"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["user"]["id"] == json!(reps[0].user_id))
        .unwrap()
        .clone();
    assert_eq!(skipped["reason"], "breached the SLA on this lead");
    let history = after["assignmentHistory"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    let first = entity::assignment::Entity::find()
        .filter(
            entity::assignment::Column::OwnerId
                .eq(uuid::Uuid::parse_str(&reps[0].user_id).unwrap()),
        )
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(first.breached_at.is_some());

    let responded = assignment_of(&app, &admin.access, &quick).await;
    assert_eq!(owner_of(&responded), reps[1].user_id);
    assert!(responded["assignment"]["firstResponseAt"].is_string());
    assert!(
        responded["assignment"]["firstResponseSeconds"]
            .as_i64()
            .unwrap()
            >= 0
    );
    assert_eq!(responded["assignment"]["breachedAt"], Value::Null);
}

#[tokio::test]
async fn the_follow_up_task_is_announced_when_its_sla_falls_due() {
    let app = spawn_app_with(|c| c.activity_due_interval_ms = 100).await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    rule(
        &app,
        &admin,
        json!({ "name": "One", "strategy": "USER", "userId": rep.user_id, "slaMinutes": 1 }),
    )
    .await;
    let mut heard = Box::pin(app.services.events.subscribe());
    let lead = app
        .lead(&admin.access, json!({ "email": "due@x.com" }))
        .await;
    let task = assignment_of(&app, &admin.access, &lead).await["assignment"]["task"]["id"]
        .as_str()
        .unwrap()
        .parse::<uuid::Uuid>()
        .unwrap();
    // A minute is long for a test: bring the due time forward as if the minute had passed.
    let soon = Utc::now() + Duration::milliseconds(500);
    entity::activity::Entity::update_many()
        .col_expr(
            entity::activity::Column::DueAt,
            sea_orm::sea_query::Expr::value(soon),
        )
        .filter(entity::activity::Column::Id.eq(task))
        .exec(&app.db)
        .await
        .unwrap();
    let announced = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        while let Some(event) = heard.next().await {
            if let touchbase::events::Event::ActivityDue { activity_id } = event
                && activity_id == task
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(announced, Ok(true));
}

#[tokio::test]
async fn who_may_read_and_run_assignments() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ann = app.user(&admin, "ann@example.com", "SALES", None).await;
    let bob = app.user(&admin, "bob@example.com", "SALES", None).await;
    let marketer = app.user(&admin, "m@example.com", "MARKETING", None).await;
    let support = app.user(&admin, "s@example.com", "SUPPORT", None).await;
    rule(
        &app,
        &admin,
        json!({ "name": "Ann", "strategy": "USER", "userId": ann.user_id }),
    )
    .await;
    let lead = app
        .lead(&admin.access, json!({ "email": "ann-lead@x.com" }))
        .await;
    let query =
        "query($id: ID!) { lead(id: $id) { assignment { reason } assignmentHistory { reason } } }";

    let own = app.ok(&ann.access, query, json!({ "id": lead })).await;
    assert!(own["lead"]["assignment"]["reason"].is_string());
    let hidden = app
        .gql(Some(&bob.access), query, json!({ "id": lead }))
        .await;
    assert_eq!(error_code(&hidden), Some("NOT_FOUND"), "{hidden}");
    assert!(!hidden.to_string().contains("Ann\\\""), "{hidden}");
    // Marketing reads every lead, so why it went where it did too; support reads no leads.
    let marketing = app.ok(&marketer.access, query, json!({ "id": lead })).await;
    assert!(marketing["lead"]["assignment"]["reason"].is_string());
    let support_read = app
        .gql(Some(&support.access), query, json!({ "id": lead }))
        .await;
    assert_eq!(error_code(&support_read), Some("FORBIDDEN"));

    for token in [&ann.access, &marketer.access, &support.access] {
        let rules = app
            .gql(Some(token), "{ assignmentRules { id } }", json!({}))
            .await;
        assert_eq!(error_code(&rules), Some("FORBIDDEN"));
        let create = app
            .gql(
                Some(token),
                CREATE_RULE,
                json!({ "input": { "name": "Mine", "strategy": "USER", "userId": ann.user_id } }),
            )
            .await;
        assert_eq!(error_code(&create), Some("FORBIDDEN"));
        let assign = app
            .gql(
                Some(token),
                "mutation($id: ID!) { assignLead(id: $id) { lead { id } } }",
                json!({ "id": lead }),
            )
            .await;
        assert_eq!(error_code(&assign), Some("FORBIDDEN"));
    }
    let unauthenticated = app.gql(None, "{ assignmentRules { id } }", json!({})).await;
    assert_eq!(error_code(&unauthenticated), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn bad_rule_input_is_refused_naming_the_field_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    let team = app.team(&admin, "T").await;
    let user = |extra: Value| {
        let mut input = json!({ "name": "R", "strategy": "USER", "userId": rep.user_id });
        for (k, v) in extra.as_object().unwrap() {
            input[k] = v.clone();
        }
        input
    };
    let cond = |field: &str, op: &str, values: Value| json!({ "conditions": [{ "field": field, "operator": op, "values": values }] });
    let many: Vec<String> = (0..101).map(|n| n.to_string()).collect();
    let cases = [
        (
            user(cond("COUNTRY", "IN", json!(["Germany"]))),
            "conditions[0].values[0]",
        ),
        (
            user(cond("EMPLOYEES", "BETWEEN", json!(["500", "10"]))),
            "conditions[0].values",
        ),
        (
            user(cond("EMPLOYEES", "AT_LEAST", json!(["1e9999"]))),
            "conditions[0].values[0]",
        ),
        (
            user(cond("GRADE", "IN", json!(["Z9"]))),
            "conditions[0].values[0]",
        ),
        (
            user(cond("SOURCE_CATEGORY", "IN", json!(["television"]))),
            "conditions[0].values[0]",
        ),
        (
            user(cond("CUSTOM_FIELD", "IS_SET", json!([]))),
            "conditions[0].key",
        ),
        (
            user(cond("INDUSTRY", "IN", json!(many))),
            "conditions[0].values",
        ),
        (
            user(cond("INDUSTRY", "IN", json!(["x".repeat(201)]))),
            "conditions[0].values[0]",
        ),
        (
            user(
                json!({ "conditions": vec![json!({ "field": "REGION", "operator": "IS_SET" }); 21] }),
            ),
            "conditions",
        ),
        (user(json!({ "name": "  " })), "name"),
        (user(json!({ "name": "n".repeat(201) })), "name"),
        (user(json!({ "slaMinutes": 0 })), "slaMinutes"),
        (user(json!({ "slaMinutes": 2_000_000 })), "slaMinutes"),
        (
            user(json!({ "reassignOnBreach": true })),
            "reassignOnBreach",
        ),
        (user(json!({ "userId": "not-an-id" })), "userId"),
        (
            user(json!({ "userId": uuid::Uuid::now_v7().to_string() })),
            "userId",
        ),
        (user(json!({ "teamId": team })), "teamId"),
        (json!({ "name": "T", "strategy": "ROUND_ROBIN" }), "teamId"),
        (
            json!({ "name": "T", "strategy": "ROUND_ROBIN", "teamId": uuid::Uuid::now_v7().to_string() }),
            "teamId",
        ),
        (json!({ "name": "T" }), "strategy"),
    ];
    for (input, field) in cases {
        let body = app
            .gql(Some(&admin.access), CREATE_RULE, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{input}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "{input}: {body}"
        );
    }
    let rules = app
        .ok(&admin.access, "{ assignmentRules { id } }", json!({}))
        .await;
    assert_eq!(rules["assignmentRules"], json!([]));

    let id = rule(&app, &admin, user(json!({}))).await;
    let reorder = "mutation($ids: [ID!]!) { reorderAssignmentRules(ids: $ids) { id } }";
    for ids in [
        json!([]),
        json!([id, id]),
        json!([uuid::Uuid::now_v7().to_string()]),
    ] {
        let body = app
            .gql(Some(&admin.access), reorder, json!({ "ids": ids }))
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    }
    let update = "mutation($id: ID!, $input: AssignmentRuleInput!) { updateAssignmentRule(id: $id, input: $input) { name } }";
    let body = app
        .gql(
            Some(&admin.access),
            update,
            json!({ "id": id, "input": { "strategy": "ROUND_ROBIN" } }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "userId", "{body}");
    let kept = app
        .ok(&admin.access, "{ assignmentRules { strategy } }", json!({}))
        .await;
    assert_eq!(kept["assignmentRules"], json!([{ "strategy": "USER" }]));
    let missing = app
        .gql(
            Some(&admin.access),
            update,
            json!({ "id": uuid::Uuid::now_v7().to_string(), "input": { "name": "x" } }),
        )
        .await;
    assert_eq!(error_code(&missing), Some("NOT_FOUND"));
    let bad_owner = app
        .gql(
            Some(&admin.access),
            "mutation($u: ID) { setDefaultLeadOwner(userId: $u) { id } }",
            json!({ "u": uuid::Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(error_code(&bad_owner), Some("BAD_USER_INPUT"));
    let dates = availability(
        &app,
        &admin.access,
        &rep.user_id,
        json!({ "awayFrom": "2026-12-10", "awayUntil": "2026-12-01" }),
    )
    .await;
    assert_eq!(
        dates["errors"][0]["extensions"]["field"], "awayUntil",
        "{dates}"
    );
    let capacity = availability(
        &app,
        &admin.access,
        &rep.user_id,
        json!({ "maxOpenLeads": -1 }),
    )
    .await;
    assert_eq!(
        capacity["errors"][0]["extensions"]["field"], "maxOpenLeads",
        "{capacity}"
    );
}

/// Creates `count` leads as `token` through the given servers at once, spread over them.
async fn create_concurrently(
    client: &reqwest::Client,
    servers: &[String],
    token: &str,
    count: usize,
) {
    let query = "mutation($input: LeadInput!) { createLead(input: $input) { lead { id } } }";
    let results: Vec<Value> = stream::iter(0..count)
        .map(|i| {
            let url = format!("http://{}/graphql", servers[i % servers.len()]);
            let body = json!({ "query": query, "variables": { "input": { "email": format!("c{i}@x.com") } } });
            async move {
                let response = client.post(url).bearer_auth(token).json(&body).send().await.unwrap();
                response.json::<Value>().await.unwrap()
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    for result in results {
        assert!(result.get("errors").is_none(), "{result}");
    }
}

async fn counts_of(app: &TestApp, reps: &[Session]) -> Vec<u64> {
    let mut counts = Vec::new();
    for rep in reps {
        let owner = uuid::Uuid::parse_str(&rep.user_id).unwrap();
        let n = sea_orm::PaginatorTrait::count(
            entity::lead::Entity::find().filter(entity::lead::Column::OwnerId.eq(owner)),
            &app.db,
        )
        .await
        .unwrap();
        counts.push(n);
    }
    counts
}

#[tokio::test]
async fn round_robin_stays_fair_when_leads_arrive_at_once() {
    let unthrottled = |c: &mut touchbase::config::Config| {
        c.requests_per_second_per_user = 100_000;
        c.request_burst_per_user = 100_000;
    };
    let app = spawn_app_with(unthrottled).await;
    let admin = app.admin().await;
    let (team, reps) = team_of(&app, &admin, "fair", 4).await;
    rule(
        &app,
        &admin,
        json!({ "name": "Fair", "strategy": "ROUND_ROBIN", "teamId": team }),
    )
    .await;
    let postgres = app.store_url().starts_with("postgres");
    // On PostgreSQL through two gateway processes on one database; SQLite serves one process.
    let (count, gateways) = if postgres {
        let gateway = || {
            let mut command = touchbase(app.store_url());
            command
                .env("TOUCHBASE_REQUESTS_PER_SECOND_PER_USER", "100000")
                .env("TOUCHBASE_REQUEST_BURST_PER_USER", "100000");
            Gateway::spawn(command)
        };
        (1000, vec![gateway(), gateway()])
    } else {
        (100, Vec::new())
    };
    let servers: Vec<String> = if gateways.is_empty() {
        vec![app.addr.to_string()]
    } else {
        gateways.iter().map(|g| g.addr.clone()).collect()
    };
    create_concurrently(&app.client, &servers, &admin.access, count).await;
    let counts = counts_of(&app, &reps).await;
    assert_eq!(counts.iter().sum::<u64>(), count as u64, "{counts:?}");
    let even = count as u64 / 4;
    for n in &counts {
        assert!(n.abs_diff(even) <= 1, "{counts:?}");
    }
    drop(gateways);
}
