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

/// The `/metrics` text of an app that asks no token.
async fn metrics_text(app: &crate::helpers::TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

#[tokio::test]
async fn made_up_operation_names_beyond_the_bound_share_one_series() {
    use futures_util::{StreamExt, stream};
    use touchbase::graphql::metrics::MAX_OPERATION_NAMES;

    let app = spawn_app_with(|c| {
        c.requests_per_second_per_user = 1_000_000;
        c.request_burst_per_user = 1_000_000;
    })
    .await;
    let admin = app.admin().await;
    // Half signed in (the operations succeed), half not (they fail).
    let sent = 5_000;
    stream::iter(0..sent)
        .map(|n| {
            let (app, token) = (&app, (n % 2 == 0).then_some(admin.access.as_str()));
            async move {
                app.gql(
                    token,
                    &format!("query Made{n} {{ me {{ id }} }}"),
                    json!({}),
                )
                .await
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;

    let text = metrics_text(&app).await;
    let mut names = std::collections::BTreeSet::new();
    let mut counted = 0;
    for line in text
        .lines()
        .filter(|l| l.starts_with("graphql_operations_total{"))
    {
        let name = line
            .split("operation=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next());
        names.insert(name.unwrap().to_owned());
        if line.contains("operation=\"Made") || line.contains("operation=\"other\"") {
            counted += line.rsplit(' ').next().unwrap().parse::<u64>().unwrap();
        }
    }
    assert!(
        names.len() <= MAX_OPERATION_NAMES + 3,
        "{} operation labels",
        names.len()
    );
    assert!(names.contains("other"), "{names:?}");
    assert_eq!(
        counted, sent,
        "every operation is counted, under its name or `other`"
    );
}

/// An operation anyone may run (`__typename`) succeeds without a session, and still earns its
/// made-up name no series: only signed-in callers spend the budget of names.
#[tokio::test]
async fn names_sent_without_a_session_get_no_series_even_when_their_operation_succeeds() {
    let app = spawn_app().await;
    for n in 0..20 {
        let body = app
            .gql(
                None,
                &format!("query Anyone{n} {{ __typename }}"),
                json!({}),
            )
            .await;
        assert_eq!(body["data"]["__typename"], "Query", "{body}");
    }
    let admin = app.admin().await;
    app.ok(&admin.access, "query Known { me { id } }", json!({}))
        .await;
    let text = metrics_text(&app).await;
    assert!(!text.contains("operation=\"Anyone"), "{text}");
    assert!(text.contains("operation=\"Known\""), "{text}");
}

#[tokio::test]
async fn made_up_http_methods_share_one_series() {
    let app = spawn_app().await;
    for n in 0..50 {
        let method = reqwest::Method::from_bytes(format!("FOO{n}").as_bytes()).unwrap();
        app.client
            .request(method, app.url("/healthz"))
            .send()
            .await
            .unwrap();
    }
    let text = metrics_text(&app).await;
    assert!(!text.contains("method=\"FOO"), "{text}");
    assert!(text.contains("method=\"OTHER\""), "{text}");
}

#[tokio::test]
async fn metrics_answer_only_the_bearer_of_the_token_when_one_is_set() {
    let app = spawn_app_with(|c| c.metrics_token = Some("metrics-token-0123".into())).await;
    let get = |token: Option<&str>| {
        let mut request = app.client.get(app.url("/metrics"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let anonymous = get(None).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    assert_eq!(get(Some("wrong-token")).await.unwrap().status(), 401);
    let allowed = get(Some("metrics-token-0123")).await.unwrap();
    assert_eq!(allowed.status(), 200);
    assert!(
        allowed
            .text()
            .await
            .unwrap()
            .contains("http_requests_total")
    );
}
