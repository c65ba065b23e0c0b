//! Lists: Relay paging both ways on keyset cursors, `orderBy`, and typed filters that mean the
//! same on SQLite and PostgreSQL.

use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, error_code, spawn_app};

const PAGE: &str = "query($first: Int, $after: String, $last: Int, $before: String, $filter: LeadFilter, $orderBy: [LeadOrder!]) {
  leads(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { company } }
  }
}";

async fn leads(app: &TestApp, admin: &Session, variables: Value) -> Value {
    app.ok(&admin.access, PAGE, variables).await["leads"].clone()
}

fn companies(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["company"].as_str().unwrap().to_owned())
        .collect()
}

async fn seed(app: &TestApp, admin: &Session, leads: &[Value]) {
    for lead in leads {
        app.lead(&admin.access, lead.clone()).await;
    }
}

/// Walks a whole list page by page in one direction and returns what it saw.
async fn walk(
    app: &TestApp,
    admin: &Session,
    size: i64,
    backward: bool,
    extra: Value,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut variables = extra.clone();
        if backward {
            variables["last"] = json!(size);
            variables["before"] = json!(cursor);
        } else {
            variables["first"] = json!(size);
            variables["after"] = json!(cursor);
        }
        let page = leads(app, admin, variables).await;
        let mut names = companies(&page);
        if backward {
            names.reverse();
        }
        seen.extend(names);
        let (more, next) = if backward {
            (
                page["pageInfo"]["hasPreviousPage"].as_bool().unwrap(),
                page["pageInfo"]["startCursor"].clone(),
            )
        } else {
            (
                page["pageInfo"]["hasNextPage"].as_bool().unwrap(),
                page["pageInfo"]["endCursor"].clone(),
            )
        };
        if !more {
            return seen;
        }
        cursor = next.as_str().map(str::to_owned);
    }
}

#[tokio::test]
async fn pages_walk_forward_and_backward_over_the_same_rows() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let names: Vec<String> = (1..=7).map(|n| format!("Company {n}")).collect();
    seed(
        &app,
        &admin,
        &names
            .iter()
            .map(|n| json!({ "company": n }))
            .collect::<Vec<_>>(),
    )
    .await;

    assert_eq!(walk(&app, &admin, 3, false, json!({})).await, names);
    let mut reversed = names.clone();
    reversed.reverse();
    assert_eq!(walk(&app, &admin, 3, true, json!({})).await, reversed);

    let last_two = leads(&app, &admin, json!({ "last": 2 })).await;
    assert_eq!(companies(&last_two), ["Company 6", "Company 7"]);
    assert_eq!(last_two["totalCount"], 7);
    assert_eq!(last_two["pageInfo"]["hasPreviousPage"], true);
}

#[tokio::test]
async fn mixing_directions_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = app
        .gql(Some(&admin.access), PAGE, json!({ "first": 2, "last": 2 }))
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
}

#[tokio::test]
async fn order_by_sorts_with_ties_broken_stably_in_both_directions() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // Scores with ties; companies name the expected position.
    let rows = [
        ("b1", 20),
        ("a1", 10),
        ("c1", 30),
        ("b2", 20),
        ("a2", 10),
        ("c2", 30),
        ("b3", 20),
    ];
    seed(
        &app,
        &admin,
        &rows
            .iter()
            .map(|(c, _)| json!({ "company": c }))
            .collect::<Vec<_>>(),
    )
    .await;
    for (company, score) in rows {
        sea_orm::ConnectionTrait::execute_unprepared(
            &app.db,
            &format!("UPDATE leads SET score = {score} WHERE company = '{company}'"),
        )
        .await
        .unwrap();
    }
    let ascending = json!({ "orderBy": [{ "field": "SCORE", "direction": "ASC" }] });
    let walked = walk(&app, &admin, 2, false, ascending.clone()).await;
    assert_eq!(walked, ["a1", "a2", "b1", "b2", "b3", "c1", "c2"]);
    let mut back = walk(&app, &admin, 2, true, ascending).await;
    back.reverse();
    assert_eq!(back, ["a1", "a2", "b1", "b2", "b3", "c1", "c2"]);

    let descending =
        json!({ "orderBy": [{ "field": "SCORE", "direction": "DESC" }, { "field": "COMPANY" }] });
    assert_eq!(
        walk(&app, &admin, 3, false, descending).await,
        ["c1", "c2", "b1", "b2", "b3", "a1", "a2"]
    );
}

#[tokio::test]
async fn a_cursor_from_another_order_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    seed(
        &app,
        &admin,
        &[json!({ "company": "A" }), json!({ "company": "B" })],
    )
    .await;
    let first = leads(&app, &admin, json!({ "first": 1 })).await;
    let cursor = first["pageInfo"]["endCursor"].clone();
    let body = app
        .gql(
            Some(&admin.access),
            PAGE,
            json!({ "first": 1, "after": cursor, "orderBy": [{ "field": "COMPANY" }] }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
}

#[tokio::test]
async fn inserts_between_pages_neither_repeat_nor_skip_rows() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    seed(
        &app,
        &admin,
        &[
            json!({ "company": "m" }),
            json!({ "company": "n" }),
            json!({ "company": "o" }),
        ],
    )
    .await;
    let by_company = json!([{ "field": "COMPANY" }]);
    let first = leads(&app, &admin, json!({ "first": 2, "orderBy": by_company })).await;
    assert_eq!(companies(&first), ["m", "n"]);
    // One row lands before the cursor, one after.
    seed(
        &app,
        &admin,
        &[json!({ "company": "a" }), json!({ "company": "z" })],
    )
    .await;
    let rest = leads(
        &app,
        &admin,
        json!({ "first": 10, "after": first["pageInfo"]["endCursor"], "orderBy": by_company }),
    )
    .await;
    assert_eq!(companies(&rest), ["o", "z"]);
}

#[tokio::test]
async fn filters_combine_and_match_case_insensitively() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    seed(
        &app,
        &admin,
        &[
            json!({ "company": "Acme", "email": "ada@acme.com", "status": "HOT", "customFields": { "tier": "gold" } }),
            json!({ "company": "ACME Labs", "email": "bob@acmelabs.io", "status": "WARM", "customFields": { "tier": "silver" } }),
            json!({ "company": "Globex", "email": "carl@globex.com", "status": "HOT" }),
            json!({ "company": "100% Organic", "lastName": "Dee", "status": "JUNK" }),
        ],
    )
    .await;
    let cases = [
        (
            json!({ "company": { "contains": "acme" } }),
            vec!["Acme", "ACME Labs"],
        ),
        (
            json!({ "company": { "startsWith": "ACM" } }),
            vec!["Acme", "ACME Labs"],
        ),
        (json!({ "company": { "eq": "Acme" } }), vec!["Acme"]),
        (
            json!({ "company": { "contains": "%" } }),
            vec!["100% Organic"],
        ),
        (
            json!({ "company": { "contains": "0% o" } }),
            vec!["100% Organic"],
        ),
        (json!({ "company": { "contains": "_" } }), vec![]),
        (json!({ "email": { "isNull": true } }), vec!["100% Organic"]),
        (
            json!({ "email": { "ne": "ada@acme.com" } }),
            vec!["ACME Labs", "Globex", "100% Organic"],
        ),
        (
            json!({ "status": { "in": ["HOT", "WARM"] } }),
            vec!["Acme", "ACME Labs", "Globex"],
        ),
        (
            json!({ "status": { "eq": "HOT" }, "company": { "contains": "acme" } }),
            vec!["Acme"],
        ),
        (
            json!({ "or": [{ "status": { "eq": "JUNK" } }, { "email": { "endsWith_unused": null, "contains": "globex" } }] }),
            vec![],
        ),
        (
            json!({ "or": [{ "status": { "eq": "JUNK" } }, { "email": { "contains": "globex" } }] }),
            vec!["Globex", "100% Organic"],
        ),
        (
            json!({ "not": { "status": { "eq": "HOT" } } }),
            vec!["ACME Labs", "100% Organic"],
        ),
        (
            json!({ "and": [{ "status": { "ne": "JUNK" } }, { "not": { "company": { "contains": "labs" } } }] }),
            vec!["Acme", "Globex"],
        ),
        (
            json!({ "customFields": [{ "key": "tier", "eq": "gold" }] }),
            vec!["Acme"],
        ),
        (
            json!({ "customFields": [{ "key": "tier", "isNull": true }] }),
            vec!["Globex", "100% Organic"],
        ),
        (
            json!({ "score": { "gte": 0, "lte": 100 } }),
            vec!["Acme", "ACME Labs", "Globex", "100% Organic"],
        ),
        (
            json!({ "createdAt": { "gt": "2000-01-01T00:00:00Z" }, "ownerId": { "isNull": true } }),
            vec!["Acme", "ACME Labs", "Globex", "100% Organic"],
        ),
    ];
    for (filter, expected) in cases {
        if filter.to_string().contains("endsWith_unused") {
            // An unknown filter field is a validation error, not an empty result.
            let body = app
                .gql(Some(&admin.access), PAGE, json!({ "filter": filter }))
                .await;
            assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
            continue;
        }
        let page = leads(&app, &admin, json!({ "filter": filter })).await;
        assert_eq!(companies(&page), expected, "filter {filter}");
        assert_eq!(page["totalCount"], expected.len(), "filter {filter}");
    }
}

#[tokio::test]
async fn a_bad_custom_field_key_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = app
        .gql(
            Some(&admin.access),
            PAGE,
            json!({ "filter": { "customFields": [{ "key": "a') OR 1=1 --", "eq": "x" }] } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
}

#[tokio::test]
async fn other_lists_filter_and_order_too() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for name in ["Zeta", "Alpha", "Mid"] {
        app.ok(
            &admin.access,
            "mutation($n: String!) { createAccount(input: { name: $n }) { account { id } } }",
            json!({ "n": name }),
        )
        .await;
    }
    let data = app
        .ok(
            &admin.access,
            r#"{ accounts(orderBy: [{ field: NAME, direction: DESC }], filter: { name: { ne: "Mid" } }) { edges { node { name } } } }"#,
            json!({}),
        )
        .await;
    let names: Vec<&str> = data["accounts"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Zeta", "Alpha"]);
}

#[tokio::test]
async fn nested_lists_page_backward_too() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lead = app
        .lead(&admin.access, json!({ "company": "Nested" }))
        .await;
    for subject in ["first", "second", "third"] {
        app.ok(
            &admin.access,
            "mutation($input: ActivityInput!) { createActivity(input: $input) { activity { id } } }",
            json!({ "input": { "kind": "CALL", "subject": subject, "leadId": lead } }),
        )
        .await;
    }
    let data = app
        .ok(
            &admin.access,
            "query($id: ID!) { lead(id: $id) { activities(last: 2) { totalCount pageInfo { hasPreviousPage } edges { node { subject } } } } }",
            json!({ "id": lead }),
        )
        .await;
    let activities = &data["lead"]["activities"];
    assert_eq!(activities["totalCount"], 3);
    assert_eq!(activities["pageInfo"]["hasPreviousPage"], true);
    let subjects: Vec<&str> = activities["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["second", "third"]);
}
