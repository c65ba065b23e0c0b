//! Full-text search across leads, contacts and accounts, on each store's own engine, within
//! the caller's rows.

use serde_json::{Value, json};

use crate::helpers::{error_code, spawn_app};

const SEARCH: &str = "query($q: String!) { search(query: $q) {
  __typename ... on Lead { company } ... on Contact { lastName } ... on Account { name } } }";

fn labels(data: &Value) -> Vec<String> {
    let mut labels: Vec<String> = data["search"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| {
            let name = hit["company"]
                .as_str()
                .or(hit["lastName"].as_str())
                .or(hit["name"].as_str())
                .unwrap_or("?");
            format!("{}:{name}", hit["__typename"].as_str().unwrap())
        })
        .collect();
    labels.sort();
    labels
}

#[tokio::test]
async fn search_matches_word_prefixes_across_kinds() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.lead(
        &admin.access,
        json!({ "company": "Initech", "email": "peter.gibbons@initech.com", "firstName": "Peter" }),
    )
    .await;
    app.lead(
        &admin.access,
        json!({ "company": "Initrode", "lastName": "Bolton" }),
    )
    .await;
    app.ok(&admin.access, r#"mutation { createContact(input: { lastName: "Lumbergh", email: "bill@initech.com" }) { contact { id } } }"#, json!({})).await;
    app.ok(&admin.access, r#"mutation { createAccount(input: { name: "Initech Holdings", domain: "initech.com" }) { account { id } } }"#, json!({})).await;

    let cases = [
        (
            "initech",
            vec![
                "Account:Initech Holdings",
                "Contact:Lumbergh",
                "Lead:Initech",
            ],
        ),
        (
            "INIT",
            vec![
                "Account:Initech Holdings",
                "Contact:Lumbergh",
                "Lead:Initech",
                "Lead:Initrode",
            ],
        ),
        ("peter initech", vec!["Lead:Initech"]),
        ("gibbons@initech.com", vec!["Lead:Initech"]),
        ("bolt", vec!["Lead:Initrode"]),
        ("nothing-like-this", vec![]),
    ];
    for (query, expected) in cases {
        let data = app.ok(&admin.access, SEARCH, json!({ "q": query })).await;
        assert_eq!(labels(&data), expected, "query {query:?}");
    }
}

#[tokio::test]
async fn search_keeps_the_row_rules_and_skips_archived_records() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    let other = app.user(&admin, "other@example.com", "SALES", None).await;
    app.lead(
        &admin.access,
        json!({ "company": "Vandelay Imports", "ownerId": rep.user_id }),
    )
    .await;
    app.lead(
        &admin.access,
        json!({ "company": "Vandelay Exports", "ownerId": other.user_id }),
    )
    .await;
    let archived = app
        .lead(&admin.access, json!({ "company": "Vandelay Archive" }))
        .await;
    app.ok(
        &admin.access,
        "mutation($id: ID!) { archiveLead(id: $id) { lead { id } } }",
        json!({ "id": archived }),
    )
    .await;

    let data = app
        .ok(&rep.access, SEARCH, json!({ "q": "vandelay" }))
        .await;
    assert_eq!(labels(&data), ["Lead:Vandelay Imports"]);

    let support = app
        .user(&admin, "support@example.com", "SUPPORT", None)
        .await;
    let data = app
        .ok(&support.access, SEARCH, json!({ "q": "vandelay" }))
        .await;
    assert_eq!(labels(&data), Vec::<String>::new(), "support sees no leads");
}

#[tokio::test]
async fn search_follows_updates() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lead = app
        .lead(&admin.access, json!({ "company": "Oldname" }))
        .await;
    app.ok(
        &admin.access,
        "mutation($id: ID!) { updateLead(id: $id, input: { company: \"Newname\" }) { lead { id } } }",
        json!({ "id": lead }),
    )
    .await;
    assert_eq!(
        labels(
            &app.ok(&admin.access, SEARCH, json!({ "q": "oldname" }))
                .await
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        labels(
            &app.ok(&admin.access, SEARCH, json!({ "q": "newname" }))
                .await
        ),
        ["Lead:Newname"]
    );
}

#[tokio::test]
async fn an_empty_search_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = app
        .gql(Some(&admin.access), SEARCH, json!({ "q": " %% " }))
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
}
