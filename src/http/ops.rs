//! Liveness, readiness and metrics for operators and orchestrators.

use std::time::Duration;

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::http::AppState;

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let limit = Duration::from_millis(state.services.config.db_acquire_timeout_ms);
    if crate::db::ping(&state.services.db, limit).await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    }
}

/// Prometheus text; only for bearers of `metrics_token` when one is set, since route names,
/// operation names and volumes tell an outsider how the CRM is used.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.services.config.metrics_token {
        let presented = super::graphql::bearer_token(&headers);
        if !presented.is_some_and(|presented| connectors::signature::same_secret(presented, token))
        {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a bearer token is required",
            )
                .into_response();
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
