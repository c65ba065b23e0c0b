//! Nested fields load in batches: the number of SQL statements a list costs does not grow with
//! the page size, and batches keep the row rules.

use chrono::Utc;
use entity::{
    delivery,
    enums::{DeliveryStatus, Direction, SourceCategory, TouchpointChannel},
    touchpoint,
};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Session, TestApp, spawn_app, spawn_app_with};

const NESTED: &str = "query($first: Int!) { leads(first: $first) { edges { node {
  owner { name } contactPoints { value } touchpoints(first: 5) { totalCount edges { node { channel } } } } } } }";

async fn statements_so_far(app: &TestApp) -> u64 {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|line| line.starts_with("db_statements_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

async fn statements_for(app: &TestApp, admin: &Session, first: i64) -> (u64, Value) {
    let before = statements_so_far(app).await;
    let data = app
        .ok(&admin.access, NESTED, json!({ "first": first }))
        .await;
    (statements_so_far(app).await - before, data)
}

async fn seed(app: &TestApp, admin: &Session) {
    let mut owners = Vec::new();
    for n in 0..4 {
        owners.push(
            app.user(admin, &format!("rep{n}@example.com"), "SALES", None)
                .await
                .user_id,
        );
    }
    for n in 0..20 {
        let lead = app
            .lead(
                &admin.access,
                json!({ "company": format!("Lead {n}"), "ownerId": owners[n % 4] }),
            )
            .await;
        for t in 0..(n % 7) {
            touchpoint::ActiveModel {
                id: Set(Uuid::now_v7()),
                lead_id: Set(Some(lead.parse().unwrap())),
                channel: Set(TouchpointChannel::Email),
                occurred_at: Set(Utc::now() - chrono::Duration::minutes(t as i64)),
                created_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(&app.db)
            .await
            .unwrap();
        }
    }
}

#[tokio::test]
async fn nested_lists_cost_the_same_statements_at_any_page_size() {
    // Whether the caller may still act is read once per cache lifetime; a lifetime longer
    // than the test keeps that read out of the counts, as no inbox or import worker and a
    // due-activity sweep slower than the test keep their statements out.
    let app = spawn_app_with(|c| {
        c.rights_cache_ms = 3_600_000;
        c.hub_workers = 0;
        c.import_workers = 0;
        c.activity_due_interval_ms = 3_600_000;
    })
    .await;
    let admin = app.admin().await;
    seed(&app, &admin).await;

    let (small, _) = statements_for(&app, &admin, 5).await;
    let (large, data) = statements_for(&app, &admin, 20).await;
    assert_eq!(
        small, large,
        "20 leads cost {large} statements, 5 leads cost {small}"
    );
    assert!(large <= 8, "the nested list took {large} statements");

    // The batched pages hold the right rows: lead n has n % 7 touchpoints, at most 5 listed.
    let edges = data["leads"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 20);
    for (n, edge) in edges.iter().enumerate() {
        let touchpoints = &edge["node"]["touchpoints"];
        assert_eq!(touchpoints["totalCount"], n % 7, "lead {n}");
        assert_eq!(
            touchpoints["edges"].as_array().unwrap().len(),
            (n % 7).min(5),
            "lead {n}"
        );
        assert_eq!(
            edge["node"]["owner"]["name"],
            format!("rep{}@example.com", n % 4)
        );
    }
}

#[tokio::test]
async fn batched_references_respect_the_row_rules() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    let other = app.user(&admin, "other@example.com", "SALES", None).await;
    let hidden = app
        .lead(
            &admin.access,
            json!({ "company": "Other's", "ownerId": other.user_id }),
        )
        .await;
    let mine = app
        .lead(
            &admin.access,
            json!({ "company": "Mine", "ownerId": rep.user_id }),
        )
        .await;
    for lead in [&hidden, &mine] {
        app.ok(
            &admin.access,
            "mutation($input: ActivityInput!) { createActivity(input: $input) { activity { id } } }",
            json!({ "input": { "kind": "TASK", "subject": "follow up", "leadId": lead, "assigneeId": rep.user_id } }),
        )
        .await;
    }
    // Both activities are the rep's; only one of their leads is.
    let data = app
        .ok(
            &rep.access,
            "{ activities { edges { node { lead { company } } } } }",
            json!({}),
        )
        .await;
    let mut leads: Vec<Value> = data["activities"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["lead"].clone())
        .collect();
    leads.sort_by_key(|l| l.to_string());
    assert_eq!(leads, [Value::Null, json!({ "company": "Mine" })]);
}

/// A first page of touchpoints reads only the columns its query selects; a later page reads whole
/// rows. Each field, asked for alone, answers alike from both, for a touchpoint with every column
/// set: no field is served from a column that was not read.
#[tokio::test]
async fn each_touchpoint_field_reads_alike_from_a_pruned_page_and_from_whole_rows() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lead: Uuid = app
        .lead(&admin.access, json!({ "company": "Acme" }))
        .await
        .parse()
        .unwrap();
    let campaign = app
        .ok(
            &admin.access,
            "mutation { createCampaign(input: { name: \"Spring\", utmCampaign: \"spring\" }) { campaign { id } } }",
            json!({}),
        )
        .await["createCampaign"]["campaign"]["id"]
        .as_str()
        .unwrap()
        .parse::<Uuid>()
        .unwrap();
    let (connector, _) = crate::hub::connector(&app, &admin, "WEB_FORM", None, json!({})).await;
    let now = Utc::now();
    let delivery = delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        connector_id: Set(connector.parse().unwrap()),
        external_id: Set("form-1".into()),
        headers: Set(json!({})),
        body: Set(b"name=Ada".to_vec()),
        url: Set("http://127.0.0.1/hooks/form".into()),
        status: Set(DeliveryStatus::Processed),
        attempts: Set(1),
        next_attempt_at: Set(now),
        touchpoint_count: Set(1),
        received_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let earlier = touchpoint::ActiveModel {
        id: Set(Uuid::now_v7()),
        lead_id: Set(Some(lead)),
        channel: Set(TouchpointChannel::Email),
        occurred_at: Set(now - chrono::Duration::hours(1)),
        created_at: Set(now),
        ..Default::default()
    };
    earlier.insert(&app.db).await.unwrap();
    let text = |s: &str| Set(Some(s.to_owned()));
    touchpoint::ActiveModel {
        id: Set(Uuid::now_v7()),
        lead_id: Set(Some(lead)),
        campaign_id: Set(Some(campaign)),
        channel: Set(TouchpointChannel::WebForm),
        direction: Set(Some(Direction::Inbound)),
        source: text("google"),
        medium: text("cpc"),
        campaign: text("spring"),
        term: text("crm"),
        content: text("banner"),
        referrer: text("https://www.google.com/"),
        landing_page: text("https://example.com/pricing"),
        gclid: text("g-1"),
        fbclid: text("f-1"),
        msclkid: text("m-1"),
        source_category: Set(Some(SourceCategory::PaidSearch)),
        subject: text("Demo request"),
        summary: text("Wants a demo"),
        amount_minor: Set(Some(12_345)),
        currency: text("EUR"),
        occurred_at: Set(now),
        created_at: Set(now),
        connector_id: Set(Some(connector.parse().unwrap())),
        delivery_id: Set(Some(delivery.id)),
        external_id: text("form-1"),
        event: text("submitted"),
        sequence: Set(Some(1)),
        details: Set(Some(json!({ "name": "Ada" }))),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();

    let introspection = app
        .ok(
            &admin.access,
            "{ __type(name: \"Touchpoint\") { fields { name type { kind ofType { kind } } } } }",
            json!({}),
        )
        .await;
    let first_cursor = app
        .ok(
            &admin.access,
            "query($id: ID!) { lead(id: $id) { touchpoints(first: 1) { edges { cursor } } } }",
            json!({ "id": lead }),
        )
        .await["lead"]["touchpoints"]["edges"][0]["cursor"]
        .clone();
    let fields = introspection["__type"]["fields"].as_array().unwrap();
    assert!(fields.len() > 20, "{introspection}");
    for field in fields {
        let name = field["name"].as_str().unwrap();
        let kind = &field["type"];
        let object = kind["kind"] == "OBJECT" || kind["ofType"]["kind"] == "OBJECT";
        let selection = if object {
            format!("{name} {{ __typename }}")
        } else {
            name.to_owned()
        };
        let pruned = app
            .ok(
                &admin.access,
                &format!("query($id: ID!) {{ lead(id: $id) {{ touchpoints(first: 2) {{ edges {{ node {{ {selection} }} }} }} }} }}"),
                json!({ "id": lead }),
            )
            .await["lead"]["touchpoints"]["edges"][1]["node"]
            .clone();
        let whole = app
            .ok(
                &admin.access,
                &format!("query($id: ID!, $after: String!) {{ lead(id: $id) {{ touchpoints(first: 1, after: $after) {{ edges {{ node {{ {selection} }} }} }} }} }}"),
                json!({ "id": lead, "after": first_cursor }),
            )
            .await["lead"]["touchpoints"]["edges"][0]["node"]
            .clone();
        assert!(!whole[name].is_null(), "{name} is set on the touchpoint");
        assert_eq!(pruned, whole, "{name}");
    }
}
