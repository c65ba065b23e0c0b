//! Limits that hold under abuse: aliases, root fields, page sizes, query cost, body size,
//! execution time and per-user request rate.

use serde_json::json;

use crate::helpers::{error_code, spawn_app, spawn_app_with};

#[tokio::test]
async fn an_alias_bomb_is_refused_before_it_runs() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let aliases: String = (0..40).map(|n| format!("a{n}: email ")).collect();
    let body = app
        .gql(
            Some(&admin.access),
            &format!("{{ me {{ {aliases} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("aliases"),
        "{body}"
    );
}

#[tokio::test]
async fn too_many_root_fields_are_refused() {
    let app = spawn_app_with(|c| c.max_aliases = 1_000).await;
    let admin = app.admin().await;
    let fields: String = (0..25).map(|n| format!("f{n}: me {{ id }} ")).collect();
    let body = app
        .gql(Some(&admin.access), &format!("{{ {fields} }}"), json!({}))
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("root fields"),
        "{body}"
    );
}

#[tokio::test]
async fn a_page_larger_than_the_cap_is_refused_not_truncated() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = app
        .gql(
            Some(&admin.access),
            "{ leads(first: 100000) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "first");
}

#[tokio::test]
async fn nested_connections_multiply_into_the_query_cost() {
    let app = spawn_app_with(|c| c.max_complexity = 2_000).await;
    let admin = app.admin().await;
    let nested = "{ accounts(first: 100) { edges { node { children(first: 100) { edges { node { id } } } } } } }";
    let body = app.gql(Some(&admin.access), nested, json!({})).await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    let small = "{ accounts(first: 5) { edges { node { children(first: 5) { edges { node { id } } } } } } }";
    assert!(
        app.gql(Some(&admin.access), small, json!({}))
            .await
            .get("errors")
            .is_none()
    );
}

#[tokio::test]
async fn a_ten_megabyte_body_is_refused() {
    let app = spawn_app().await;
    let huge = json!({ "query": format!("{{ __typename }} # {}", "x".repeat(10 * 1024 * 1024)) });
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn an_operation_over_the_time_limit_is_stopped() {
    // With no time at all, any operation that waits on the database runs over.
    let app = spawn_app_with(|c| c.execution_timeout_ms = 0).await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": r#"mutation { login(email: "a@example.com", password: "whatever-pass") { accessToken } }"# }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("was stopped"),
        "{body}"
    );
}

#[tokio::test]
async fn each_user_has_a_request_budget() {
    let app = spawn_app_with(|c| {
        c.requests_per_second_per_user = 1;
        c.request_burst_per_user = 3;
    })
    .await;
    let admin = app.admin().await; // one request, from this address
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = app
            .client
            .post(app.url("/graphql"))
            .bearer_auth(&admin.access)
            .json(&json!({ "query": "{ me { id } }" }))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert!(
                response.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
                    >= 1
            );
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(error_code(&body), Some("RATE_LIMITED"));
        }
    }
    // The budget is the user's, not the address's: the login counted against the address.
    assert_eq!(statuses, [200, 200, 200, 429]);
}
