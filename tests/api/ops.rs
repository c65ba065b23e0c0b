//! Operations endpoints and the HTTP edge: health, readiness, metrics, GraphiQL, content-type
//! and method rules, size limits, and masking of internal errors.

use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::helpers::{error_code, spawn_app, spawn_app_with};

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.clone().close().await.unwrap();
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
}

#[tokio::test]
async fn metrics_count_graphql_operations_by_name() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.ok(
        &admin.access,
        "query PipelineBoard { pipelineStages { name } }",
        json!({}),
    )
    .await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"graphql_operations_total{operation="PipelineBoard",outcome="ok"}"#),
        "{text}"
    );
    assert!(
        text.contains("graphql_operation_duration_seconds"),
        "{text}"
    );
    assert!(
        text.contains(r#"http_requests_total{route="/graphql",method="POST",status="200"}"#),
        "{text}"
    );
}

#[tokio::test]
async fn graphiql_is_served_to_browsers_in_development_only() {
    let app = spawn_app().await;
    let page = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );

    let production = spawn_app_with(|c| c.env = touchbase::config::Environment::Production).await;
    let page = production
        .client
        .get(production.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    let admin = production.admin().await;
    let introspection = production
        .gql(
            Some(&admin.access),
            "{ __schema { queryType { name } } }",
            json!({}),
        )
        .await;
    assert!(
        introspection["data"]["__schema"].is_null(),
        "introspection answered in production: {introspection}"
    );
    let development = app
        .gql(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(
        development["data"]["__schema"]["queryType"]["name"],
        "Query"
    );
}

#[tokio::test]
async fn post_requires_a_json_content_type() {
    let app = spawn_app().await;
    let body = r#"{"query":"{ __typename }"}"#;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{content_type} was accepted");
    }
    let ok = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await;
    assert_eq!(
        ok.unwrap().json::<Value>().await.unwrap()["data"]["__typename"],
        "Query"
    );
}

#[tokio::test]
async fn get_runs_queries_but_refuses_mutations() {
    let app = spawn_app().await;
    let query = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ __typename }")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        query.json::<Value>().await.unwrap()["data"]["__typename"],
        "Query"
    );

    // Anonymous, the only named operation, and one picked by name: each would run a mutation.
    for params in [
        vec![("query", "mutation { logout }")],
        vec![("query", "mutation SignOut { logout }")],
        vec![
            (
                "query",
                "query Who { __typename } mutation SignOut { logout }",
            ),
            ("operationName", "SignOut"),
        ],
    ] {
        let mutation = app
            .client
            .get(app.url("/graphql"))
            .query(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(mutation.status(), 405, "{params:?}");
        assert_eq!(mutation.headers()["allow"], "POST");
    }
}

#[tokio::test]
async fn batches_and_oversized_bodies_are_refused() {
    let app = spawn_app_with(|c| c.max_body_bytes = 64 * 1024).await;
    let batch = app
        .client
        .post(app.url("/graphql"))
        .json(&json!([{ "query": "{ __typename }" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(batch.status(), 400);

    let huge = json!({ "query": format!("{{ __typename }} # {}", "x".repeat(200 * 1024)) });
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
async fn deep_queries_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // Account → parent → parent … twenty levels down: over the depth limit.
    let deep = format!(
        "{{ accounts {{ edges {{ node {} id {} }} }} }}",
        "{ parent ".repeat(20),
        "}".repeat(20)
    );
    let body = app.gql(Some(&admin.access), &deep, json!({})).await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
}

#[tokio::test]
async fn internal_errors_are_masked_behind_the_request_id_and_write_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // Break the store under the app: every mutation's audit insert now fails.
    app.db
        .execute_unprepared("DROP TABLE audit_log")
        .await
        .unwrap();

    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&admin.access)
        .json(&json!({ "query": r#"mutation { createCampaign(input: { name: "Spring" }) { campaign { id } } }"# }))
        .send()
        .await
        .unwrap();
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), Some("INTERNAL"));
    assert_eq!(
        body["errors"][0]["extensions"]["requestId"],
        request_id.as_str()
    );
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        !message.to_lowercase().contains("audit_log"),
        "internal detail leaked: {message}"
    );

    // The campaign insert ran in the same transaction as the failed audit row: rolled back.
    assert_eq!(
        entity::campaign::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
}
