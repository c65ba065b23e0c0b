//! The GraphQL endpoint. POST carries JSON (a JSON content type is required, which is also the
//! CSRF guard: browsers cannot send it cross-site without a preflight); GET carries queries
//! only; a browser asking for HTML in development gets GraphiQL. The caller is authenticated
//! here, per request; the operation then runs through the gate (`gate.rs`) that WebSocket
//! operations run through too.

use std::net::SocketAddr;

use async_graphql::{http::GraphiQLSource, parser::types::OperationType};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use serde::Deserialize;

use crate::{
    error::AppError,
    http::{
        AppState, REQUEST_ID,
        gate::{self, Gate, Outcome, Refusal},
    },
};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

pub async fn post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "POST bodies must be application/json",
        );
    }
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return request_error(
            StatusCode::BAD_REQUEST,
            "batched requests are not supported",
        );
    }
    match serde_json::from_slice::<async_graphql::Request>(&body) {
        Ok(request) if request.query.trim().is_empty() => {
            request_error(StatusCode::BAD_REQUEST, "missing `query` parameter")
        }
        Ok(request) => execute(state, peer, &headers, request, Method::Post).await,
        Err(e) => request_error(
            StatusCode::BAD_REQUEST,
            &format!("not a GraphQL request: {e}"),
        ),
    }
}

#[derive(Deserialize)]
pub struct GetParams {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
}

pub async fn get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(params): Query<GetParams>,
) -> Response {
    let Some(query) = params.query else {
        let wants_html = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
        if wants_html && !state.services.config.is_production() {
            return Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response();
        }
        return request_error(StatusCode::BAD_REQUEST, "missing `query` parameter");
    };
    let variables = match params
        .variables
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
    {
        Ok(v) => v.unwrap_or_default(),
        Err(e) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                &format!("`variables` is not JSON: {e}"),
            );
        }
    };
    let mut request = async_graphql::Request::new(query).variables(variables);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    execute(state, peer, &headers, request, Method::Get).await
}

/// How the request came: GET runs queries only.
#[derive(PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

async fn execute(
    state: AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    request: async_graphql::Request,
    method: Method,
) -> Response {
    let request_id = headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let actor = match bearer_token(headers) {
        Some(token) => match state
            .services
            .auth
            .authenticate(&state.services.db, token)
            .await
        {
            Ok(authenticated) => {
                let mut actor = authenticated.actor;
                actor.request_id = Some(request_id.clone());
                Some(actor)
            }
            Err(AppError::Unauthenticated) => {
                tracing::info!(request_id, "bearer token refused");
                None
            }
            // The token may be fine: whether its user may act could not be read. Saying
            // UNAUTHENTICATED would sign clients out over a database outage.
            Err(error) => {
                tracing::warn!(request_id, ?error, "could not check a bearer token");
                let message = format!("the service is unavailable (request id {request_id})");
                return service_unavailable(gate::unavailable(&request_id, message));
            }
        },
        None => None,
    };
    let gate = Gate {
        state: &state,
        peer: peer.ip(),
        request_id: &request_id,
    };
    let admitted = match gate.admit(actor, request) {
        Ok(admitted) => admitted,
        Err(Refusal::RateLimited { retry_after_secs }) => return rate_limited(retry_after_secs),
        Err(Refusal::Invalid(errors)) => {
            return respond(headers, async_graphql::Response::from_errors(errors));
        }
    };
    if method == Method::Get
        && admitted
            .operation
            .as_ref()
            .is_some_and(|op| op.ty != OperationType::Query)
    {
        let mut response = request_error(StatusCode::METHOD_NOT_ALLOWED, "mutations must use POST");
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return response;
    }
    match gate.execute(admitted).await {
        Outcome::Result(response) => respond(headers, response),
        Outcome::TimedOut(response) => service_unavailable(response),
    }
}

/// Under `application/graphql-response+json` a request that never executed (it did not parse,
/// validate or coerce its variables) is a 400 without `data`, as GraphQL over HTTP says; plain
/// `application/json` clients always get 200.
fn respond(headers: &HeaderMap, response: async_graphql::Response) -> Response {
    let media_type = response_content_type(headers);
    if media_type == GRAPHQL_RESPONSE && never_executed(&response) {
        let body = serde_json::json!({ "errors": response.errors });
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, media_type)],
            axum::Json(body),
        )
            .into_response();
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, media_type)],
        axum::Json(response),
    )
        .into_response()
}

/// Whether a response is a request error: it did not parse, validate or coerce its variables,
/// so nothing ran.
pub(super) fn never_executed(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

pub(super) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    bearer(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// The token of an `Authorization` value, when its scheme is `Bearer`.
pub(super) fn bearer(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The GraphQL-over-HTTP media type when the client asks for it, plain JSON otherwise.
fn response_content_type(headers: &HeaderMap) -> &'static str {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains(GRAPHQL_RESPONSE) {
        GRAPHQL_RESPONSE
    } else {
        "application/json"
    }
}

fn rate_limited(retry_after_secs: u64) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": "too many requests",
        "extensions": { "code": "RATE_LIMITED", "retryAfter": retry_after_secs } }] });
    let retry_after = header::HeaderValue::from(retry_after_secs);
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, retry_after)],
        axum::Json(body),
    )
        .into_response()
}

/// 503 with the response's errors: nothing the client sent was wrong, and trying again later
/// may work.
fn service_unavailable(response: async_graphql::Response) -> Response {
    let body = serde_json::json!({ "errors": response.errors });
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
}

fn request_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": "BAD_USER_INPUT" } }] });
    (status, axum::Json(body)).into_response()
}
