//! Exports on both stores: `POST /exports/{type}` streams the list as CSV with the list query's
//! filter and order, a rep gets only the rows their list shows, a role that may not see amounts
//! gets no amount column, and bad requests are refused before the first byte.

use serde_json::{Value, json};

use touchbase::services::{
    accounts::{self, AccountChanges},
    input::Patch,
};

use crate::helpers::{TestApp, error_code, spawn_app};

/// Posts an export; the status and the body as text.
async fn export(app: &TestApp, token: Option<&str>, kind: &str, body: Value) -> (u16, String) {
    let mut request = app
        .client
        .post(app.url(&format!("/exports/{kind}")))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The CSV as rows of cells, the header first.
fn table(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|line| line.split(',').map(str::to_owned).collect())
        .collect()
}

fn column(table: &[Vec<String>], name: &str) -> Vec<String> {
    let at = table[0].iter().position(|h| h == name).unwrap();
    table[1..].iter().map(|row| row[at].clone()).collect()
}

#[tokio::test]
async fn a_rep_exports_only_the_leads_their_list_shows() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    let other = app.user(&admin, "other@example.com", "SALES", None).await;
    app.lead(&rep.access, json!({ "email": "mine@example.com" }))
        .await;
    app.lead(&other.access, json!({ "email": "theirs@example.com" }))
        .await;
    app.lead(&admin.access, json!({ "email": "nobodys@example.com" }))
        .await;

    let (status, text) = export(&app, Some(&rep.access), "leads", json!({})).await;
    assert_eq!(status, 200, "{text}");
    let emails = column(&table(&text), "email");
    assert!(
        emails.contains(&"mine@example.com".to_owned()),
        "{emails:?}"
    );
    assert!(
        !emails.contains(&"theirs@example.com".to_owned()),
        "{emails:?}"
    );
    let listed = app
        .ok(
            &rep.access,
            "{ leads(first: 50) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["leads"]["totalCount"],
        emails.len(),
        "the export is the list"
    );

    let (_, text) = export(&app, Some(&admin.access), "leads", json!({})).await;
    assert_eq!(column(&table(&text), "email").len(), 3);
}

#[tokio::test]
async fn filter_and_order_apply_and_the_export_spans_many_pages() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // Over two export pages of accounts, written through the services as the CLI would.
    let system = touchbase::auth::system_actor();
    for n in 0..1_030 {
        let input = AccountChanges {
            name: Some(format!("Account {n:04}")),
            domain: Patch::Set(format!("a{n}.example.com")),
            ..AccountChanges::default()
        };
        accounts::create(&app.services, &system, input)
            .await
            .unwrap();
    }
    let (status, text) = export(
        &app,
        Some(&admin.access),
        "accounts",
        json!({ "orderBy": [{ "field": "NAME", "direction": "DESC" }] }),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let names = column(&table(&text), "name");
    assert_eq!(names.len(), 1_030);
    assert_eq!(names[0], "Account 1029");
    assert_eq!(names[1_029], "Account 0000");

    let (_, text) = export(
        &app,
        Some(&admin.access),
        "accounts",
        json!({ "filter": { "name": { "contains": "Account 000" } } }),
    )
    .await;
    assert_eq!(column(&table(&text), "name").len(), 10);
}

#[tokio::test]
async fn marketing_exports_leads_without_their_budgets() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let marketing = app.user(&admin, "mk@example.com", "MARKETING", None).await;
    app.lead(
        &admin.access,
        json!({ "email": "rich@example.com", "budget": { "amount": "5000.00", "currency": "EUR" } }),
    )
    .await;
    let (_, text) = export(&app, Some(&admin.access), "leads", json!({})).await;
    assert_eq!(column(&table(&text), "budget"), ["5000.00 EUR"]);
    let (status, text) = export(&app, Some(&marketing.access), "leads", json!({})).await;
    assert_eq!(status, 200);
    assert!(!table(&text)[0].contains(&"budget".to_owned()), "{text}");
    assert!(!text.contains("5000"), "{text}");
}

#[tokio::test]
async fn bad_exports_are_refused_before_the_first_byte() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let support = app
        .user(&admin, "support@example.com", "SUPPORT", None)
        .await;
    let token = Some(admin.access.as_str());

    let (status, body) = export(&app, None, "leads", json!({})).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = export(&app, Some(&support.access), "leads", json!({})).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = export(&app, token, "opportunities", json!({})).await;
    assert_eq!(status, 404, "{body}");

    let refused = |body: &str| -> Value { serde_json::from_str(body).unwrap() };
    let (status, body) = export(&app, token, "leads", json!({ "filter": { "shoeSize": 4 } })).await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&refused(&body)), Some("BAD_USER_INPUT"));
    let (status, _) = export(&app, token, "leads", json!({ "sideways": true })).await;
    assert_eq!(status, 400);
    let mut deep = json!({ "email": { "eq": "x" } });
    for _ in 0..64 {
        deep = json!({ "and": [deep] });
    }
    let (status, _) = export(&app, token, "leads", json!({ "filter": deep })).await;
    assert_eq!(status, 400);
    let (status, _) = export(
        &app,
        token,
        "leads",
        json!({ "filter": { "email": { "eq": "a\u{0}b" } } }),
    )
    .await;
    assert_eq!(status, 400);
    let response = app
        .client
        .post(app.url("/exports/leads"))
        .bearer_auth(&admin.access)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}
