//! Nested fields load in batches: the number of SQL statements a list costs does not grow with
//! the page size, and batches keep the row rules.

use chrono::Utc;
use entity::{enums::TouchpointChannel, touchpoint};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Session, TestApp, spawn_app};

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
    let app = spawn_app().await;
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
