//! Lead scoring over HTTP on both stores: exact scores for constructed histories (touches of
//! known ages posted through a signed Standard Webhooks connector), the breakdown adding up to
//! the stored figures, automatic MQL and SQL moves with their cause and never backwards, the
//! unverified touch that moves nothing, a model change rescoring every lead in the background,
//! and who may see and change what.

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use chrono::{Duration, Utc};
use connectors::signature::hmac_sha256;
use serde_json::{Value, json};

use crate::{
    helpers::{Session, TestApp, error_code, spawn_app},
    hub::{connector, deliver, first_lead_id, settled_deliveries, submit_form},
};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const SCORES: &str = "query($id: ID!) { lead(id: $id) {
    fitScore engagementScore score grade lifecycleStage
    stageHistory { from to cause by { id } }
    scoreBreakdown { modelVersion scoredAt fit engagement score grade halfLifeDays
        fitGroups { name cap raw points rules { label points value } }
        touches { touchpointId kind ageDays weight points } } } }";

async fn scores(app: &TestApp, who: &Session, lead: &str) -> Value {
    app.ok(&who.access, SCORES, json!({ "id": lead })).await["lead"].clone()
}

/// A Standard Webhooks connector whose touches come through `channel`, their event and time
/// read from the body.
async fn touch_connector(app: &TestApp, admin: &Session, channel: &str) -> String {
    let settings = json!({ "channel": channel, "direction": "inbound", "event": "/type",
        "occurred_at": "/at", "fields": { "email": "/email", "last_name": "/name" } });
    connector(app, admin, "STANDARD_WEBHOOKS", Some(SECRET), settings)
        .await
        .0
}

/// Posts a touch by `email` that happened `days_ago`, signed as Standard Webhooks signs.
async fn touch(app: &TestApp, connector: &str, email: &str, event: &str, days_ago: i64) {
    let id = format!("msg_{}", uuid::Uuid::now_v7().simple());
    let at = (Utc::now() - Duration::days(days_ago)).to_rfc3339();
    let body = json!({ "type": event, "at": at, "email": email, "name": "Lovelace" }).to_string();
    let timestamp = Utc::now().timestamp().to_string();
    let key = BASE64.decode(SECRET.trim_start_matches("whsec_")).unwrap();
    let mac = hmac_sha256(
        &key,
        &[
            id.as_bytes(),
            b".",
            timestamp.as_bytes(),
            b".",
            body.as_bytes(),
        ],
    );
    let headers = [
        ("webhook-id".to_owned(), id),
        ("webhook-timestamp".to_owned(), timestamp),
        (
            "webhook-signature".to_owned(),
            format!("v1,{}", BASE64.encode(mac)),
        ),
    ];
    let (status, answer) = deliver(app, connector, "application/json", &headers, body).await;
    assert_eq!(status, 200, "{answer}");
}

/// The sums a breakdown shows, which must be the lead's stored scores.
fn sums(breakdown: &Value) -> (i64, i64) {
    let fit: i64 = breakdown["fitGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["points"].as_i64().unwrap())
        .sum();
    let hundredths: i64 = breakdown["touches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["points"].as_f64().unwrap() * 100.0).round() as i64)
        .sum();
    (
        fit.clamp(0, 100),
        ((hundredths + 50).div_euclid(100)).clamp(0, 100),
    )
}

fn assert_adds_up(lead: &Value) {
    let breakdown = &lead["scoreBreakdown"];
    assert_eq!(
        sums(breakdown),
        (
            lead["fitScore"].as_i64().unwrap(),
            lead["engagementScore"].as_i64().unwrap()
        ),
        "{lead}"
    );
    assert_eq!(breakdown["fit"], lead["fitScore"]);
    assert_eq!(breakdown["engagement"], lead["engagementScore"]);
    assert_eq!(breakdown["score"], lead["score"]);
    assert_eq!(breakdown["grade"], lead["grade"]);
}

#[tokio::test]
async fn a_lead_scores_its_fields_and_aging_touches_and_qualifies_itself_forward() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lead = app
        .lead(
            &admin.access,
            json!({ "lastName": "Lovelace", "email": "ada@acme.io", "title": "Head of Sales",
                    "industry": "Software", "employees": 200, "country": "ie",
                    "budget": { "amount": "5000", "currency": "EUR" }, "need": "A CRM" }),
        )
        .await;
    // Head of 25; 51–1,000 people 20 + software 10 (30, the cap); corporate email 15;
    // budget 10 + need 5.
    let scored = scores(&app, &admin, &lead).await;
    assert_eq!(
        (
            &scored["fitScore"],
            &scored["engagementScore"],
            &scored["score"],
            &scored["grade"]
        ),
        (&json!(85), &json!(0), &json!(43), &json!("A3"))
    );
    let groups = &scored["scoreBreakdown"]["fitGroups"];
    assert_eq!(groups[1]["raw"], 30);
    assert_eq!(groups[1]["rules"][0]["value"], "200");
    assert_adds_up(&scored);

    let calls = touch_connector(&app, &admin, "call").await;
    // 25 points new, 12.5 at one half-life (30 days): 37.5, rounded half up.
    touch(&app, &calls, "ada@acme.io", "call.completed", 0).await;
    touch(&app, &calls, "ada@acme.io", "call.completed", 30).await;
    settled_deliveries(&app, &admin, &calls, 2).await;
    let scored = scores(&app, &admin, &lead).await;
    assert_eq!(scored["engagementScore"], 38, "{scored}");
    assert_eq!(scored["score"], (85 + 38 + 1) / 2);
    assert_eq!(scored["grade"], "A2");
    assert_eq!(scored["lifecycleStage"], "LEAD");
    let points: Vec<f64> = scored["scoreBreakdown"]["touches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["points"].as_f64().unwrap())
        .collect();
    assert_eq!(points, [25.0, 12.5]);
    assert_adds_up(&scored);

    // A quarter of 25 at two half-lives: 43.75 in all, 44 ≥ 40 makes an MQL.
    touch(&app, &calls, "ada@acme.io", "call.completed", 60).await;
    settled_deliveries(&app, &admin, &calls, 3).await;
    let scored = scores(&app, &admin, &lead).await;
    assert_eq!(scored["engagementScore"], 44);
    assert_eq!(scored["lifecycleStage"], "MQL");
    let last = scored["stageHistory"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["to"], "MQL");
    assert_eq!(last["by"], Value::Null);
    assert_eq!(last["cause"], "scoring: fit 85 ≥ 50 and engagement 44 ≥ 40");
    assert_adds_up(&scored);

    // A booked meeting makes an SQL, naming the touch.
    let meetings = touch_connector(&app, &admin, "meeting").await;
    touch(&app, &meetings, "ada@acme.io", "invitee.created", 0).await;
    settled_deliveries(&app, &admin, &meetings, 1).await;
    let scored = scores(&app, &admin, &lead).await;
    assert_eq!(scored["lifecycleStage"], "SQL");
    let meeting = scored["scoreBreakdown"]["touches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "MEETING_BOOKED")
        .unwrap()["touchpointId"]
        .as_str()
        .unwrap()
        .to_owned();
    let last = scored["stageHistory"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["to"], "SQL");
    assert!(last["cause"].as_str().unwrap().contains(&meeting), "{last}");
    assert_adds_up(&scored);

    // Editing a field rescores at once: a student's title costs the role points.
    app.ok(
        &admin.access,
        "mutation($id: ID!) { updateLead(id: $id, input: { title: \"Student\" }) { lead { id } } }",
        json!({ "id": lead }),
    )
    .await;
    let scored = scores(&app, &admin, &lead).await;
    assert_eq!(scored["fitScore"], 85 - 25 - 20);
    assert_adds_up(&scored);
}

#[tokio::test]
async fn automatic_moves_never_demote_and_a_manual_move_keeps_who_and_why() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lead = app
        .lead(
            &admin.access,
            json!({ "lastName": "Hopper", "email": "grace@navy.example", "title": "Chief of Staff",
                    "employees": 500, "industry": "Software" }),
        )
        .await;
    let moved = app
        .ok(
            &admin.access,
            "mutation($id: ID!) { moveLeadStage(id: $id, stage: CUSTOMER, reason: \"Signed on the phone\") { lifecycleStage } }",
            json!({ "id": lead }),
        )
        .await;
    assert_eq!(moved["moveLeadStage"]["lifecycleStage"], "CUSTOMER");
    let meetings = touch_connector(&app, &admin, "meeting").await;
    touch(&app, &meetings, "grace@navy.example", "invitee.created", 0).await;
    settled_deliveries(&app, &admin, &meetings, 1).await;
    let scored = scores(&app, &admin, &lead).await;
    assert_eq!(scored["lifecycleStage"], "CUSTOMER");
    assert_eq!(scored["engagementScore"], 20);
    let history = scored["stageHistory"].as_array().unwrap();
    let last = history.last().unwrap();
    assert_eq!(last["to"], "CUSTOMER");
    assert_eq!(last["cause"], "Signed on the phone");
    assert!(last["by"]["id"].is_string());

    // A rep may move it back by hand.
    let back = app
        .ok(
            &admin.access,
            "mutation($id: ID!) { moveLeadStage(id: $id, stage: MQL) { lifecycleStage } }",
            json!({ "id": lead }),
        )
        .await;
    assert_eq!(back["moveLeadStage"]["lifecycleStage"], "MQL");
    // A later touch does not bring the long-booked meeting back into play.
    let calls = touch_connector(&app, &admin, "call").await;
    touch(&app, &calls, "grace@navy.example", "call.completed", 0).await;
    settled_deliveries(&app, &admin, &calls, 1).await;
    let scored = scores(&app, &admin, &lead).await;
    assert_eq!(scored["engagementScore"], 45);
    assert_eq!(scored["lifecycleStage"], "MQL");
    let huge = "x".repeat(10_000);
    let body = app
        .gql(
            Some(&admin.access),
            "mutation($id: ID!, $r: String) { moveLeadStage(id: $id, stage: SQL, reason: $r) { id } }",
            json!({ "id": lead, "r": huge }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
}

#[tokio::test]
async fn an_unverified_form_scores_the_lead_it_makes_but_not_a_lead_that_was_there() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (form, _) = connector(&app, &admin, "WEB_FORM", None, json!({})).await;
    let post = async |message: &str| {
        let fields = [
            ("email", "ada@acme.io"),
            ("last_name", "Lovelace"),
            ("message", message),
        ];
        submit_form(&app, &form, &fields).await;
    };
    post("Pricing, please").await;
    settled_deliveries(&app, &admin, &form, 1).await;
    let lead = first_lead_id(&app, &admin).await;
    let scored = scores(&app, &admin, &lead).await;
    assert_eq!(scored["engagementScore"], 10);
    post("Anyone can post this").await;
    settled_deliveries(&app, &admin, &form, 2).await;
    let scored = scores(&app, &admin, &lead).await;
    assert_eq!(scored["engagementScore"], 10);
    assert_eq!(
        scored["scoreBreakdown"]["touches"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_adds_up(&scored);
}

const MODEL: &str = "{ scoringModel { version model {
    fit { name cap rules { label field customKey operator values min max points } }
    engagement { kind points } halfLifeDays
    grades { fitA fitB engagement1 engagement2 }
    lifecycle { mqlFit mqlEngagement sqlOnMeetingBooked } freeMailDomains } } }";

const UPDATE: &str = "mutation($input: ScoringModelInput!) { updateScoringModel(input: $input) {
    model { version } run { id state total done } } }";

#[tokio::test]
async fn a_model_change_rescores_every_lead_in_the_background_and_only_admins_make_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    let mut leads = Vec::new();
    for (i, country) in ["IE", "GB", "IE"].iter().enumerate() {
        let input = json!({ "lastName": format!("Lead {i}"), "country": country });
        leads.push(app.lead(&admin.access, input).await);
    }
    // Reps may read the model, so they know what counts.
    let current = app.ok(&rep.access, MODEL, json!({})).await["scoringModel"].clone();
    assert_eq!(current["version"], 1);
    let mut model = current["model"].clone();
    model["fit"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "Territory", "cap": 20,
            "rules": [{ "label": "Ireland", "field": "COUNTRY", "operator": "EQUALS", "values": ["ie"], "points": 12 }] }));

    let refused = app
        .gql(Some(&rep.access), UPDATE, json!({ "input": model }))
        .await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"));
    let changed = app
        .ok(&admin.access, UPDATE, json!({ "input": model }))
        .await;
    assert_eq!(changed["updateScoringModel"]["model"]["version"], 2);
    assert_eq!(changed["updateScoringModel"]["run"]["total"], 3);

    let mut run = Value::Null;
    for _ in 0..200 {
        run = app
            .ok(
                &admin.access,
                "{ scoringRuns(first: 1) { id version state total done error } }",
                json!({}),
            )
            .await["scoringRuns"][0]
            .clone();
        if run["state"] != "RUNNING" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(run["state"], "DONE", "{run}");
    assert_eq!((&run["version"], &run["done"]), (&json!(2), &json!(3)));
    let fits: Vec<Value> =
        futures_util::future::join_all(leads.iter().map(|id| scores(&app, &admin, id)))
            .await
            .into_iter()
            .map(|lead| {
                assert_eq!(lead["scoreBreakdown"]["modelVersion"], 2);
                assert_adds_up(&lead);
                lead["fitScore"].clone()
            })
            .collect();
    assert_eq!(fits, [json!(12), json!(0), json!(12)]);
    assert_eq!(
        error_code(
            &app.gql(Some(&rep.access), "{ scoringRuns { id } }", json!({}))
                .await
        ),
        Some("FORBIDDEN")
    );
}

#[tokio::test]
async fn a_bad_model_is_refused_whole_naming_what_is_wrong() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let model = app.ok(&admin.access, MODEL, json!({})).await["scoringModel"]["model"].clone();
    let with = |path: &str, value: Value| {
        let mut bad = model.clone();
        *bad.pointer_mut(path).unwrap() = value;
        bad
    };
    let range_on_title =
        json!({ "label": "x", "field": "TITLE", "operator": "RANGE", "min": 1.0, "points": 1 });
    let many_rules: Vec<Value> = (0..600)
        .map(|i| json!({ "label": format!("r{i}"), "field": "TITLE", "operator": "PRESENT", "points": 1 }))
        .collect();
    for (input, field) in [
        (with("/fit/0/rules/0", range_on_title), "fit[0].rules[0]"),
        (with("/fit/0/rules", json!(many_rules)), "fit"),
        (with("/halfLifeDays", json!(0.0)), "halfLifeDays"),
        (with("/grades/fitB", json!(90)), "grades"),
        (with("/fit/0/cap", json!(1000)), "fit[0].cap"),
        (with("/fit/0/name", json!("   ")), "fit[0].name"),
        (
            with("/fit/0/rules/0/points", json!(5000)),
            "fit[0].rules[0].points",
        ),
        (
            with("/engagement/1/kind", json!("EMAIL_OPENED")),
            "engagement[1]",
        ),
        (
            with("/freeMailDomains/0", json!("not a domain")),
            "freeMailDomains[0]",
        ),
    ] {
        let body = app
            .gql(Some(&admin.access), UPDATE, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{field}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    let unknown = with("/fit/0/rules/0/field", json!("SHOE_SIZE"));
    let body = app
        .gql(Some(&admin.access), UPDATE, json!({ "input": unknown }))
        .await;
    assert!(body["errors"].is_array(), "{body}");
    // Nothing was stored.
    let after = app.ok(&admin.access, MODEL, json!({})).await;
    assert_eq!(after["scoringModel"]["version"], 1);
}

#[tokio::test]
async fn a_rep_reads_the_breakdown_of_their_own_leads_only() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ann = app.user(&admin, "ann@example.com", "SALES", None).await;
    let bob = app.user(&admin, "bob@example.com", "SALES", None).await;
    let lead = app
        .lead(
            &ann.access,
            json!({ "lastName": "Ann's", "title": "Director" }),
        )
        .await;
    let own = scores(&app, &ann, &lead).await;
    assert_eq!(own["scoreBreakdown"]["fitGroups"][0]["points"], 20);
    let body = app
        .gql(
            Some(&bob.access),
            "query($id: ID!) { lead(id: $id) { scoreBreakdown { fit } } }",
            json!({ "id": lead }),
        )
        .await;
    assert!(body["data"]["lead"].is_null(), "{body}");
    assert!(!body.to_string().contains("fitGroups"));
}

#[tokio::test]
async fn every_lead_is_rescored_on_the_interval_so_scores_follow_the_age_of_touches() {
    let app = crate::helpers::spawn_app_with(|config| config.rescore_interval_ms = 300).await;
    let admin = app.admin().await;
    let lead = app.lead(&admin.access, json!({ "lastName": "Aged" })).await;
    let created = scores(&app, &admin, &lead).await["scoreBreakdown"]["scoredAt"].clone();
    let mut runs = Value::Null;
    for _ in 0..100 {
        runs = app
            .ok(
                &admin.access,
                "{ scoringRuns(first: 5) { state total done } }",
                json!({}),
            )
            .await["scoringRuns"]
            .clone();
        // The first run may start before the lead exists; wait for one that counts it.
        if runs
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["state"] == "DONE" && r["total"] == 1)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let done = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["state"] == "DONE" && r["total"] == 1)
        .unwrap_or_else(|| panic!("no periodic run with the lead finished: {runs}"));
    assert_eq!((&done["total"], &done["done"]), (&json!(1), &json!(1)));
    // Nothing about the lead changed, so its stored scores (and the moment they were measured
    // at) stand; the breakdown still adds up.
    let after = scores(&app, &admin, &lead).await;
    assert_eq!(after["scoreBreakdown"]["scoredAt"], created);
    assert_adds_up(&after);
}
