//! Liveness, readiness and metrics for operators and orchestrators.

use std::time::Duration;

use axum::{extract::State, http::StatusCode, http::header, response::IntoResponse};

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

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
