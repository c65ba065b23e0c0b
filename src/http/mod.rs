//! The HTTP surface: routes, middleware and the server loop with graceful shutdown.

mod caller;
mod exports;
mod gate;
mod graphql;
mod hooks;
mod imports;
mod ops;
mod ws;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{DefaultBodyLimit, MatchedPath, Request},
    http::{HeaderName, Method, StatusCode},
    middleware::{self, Next},
    response::Response,
    routing::{get, post},
};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::{net::TcpListener, task::JoinSet};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{
    graphql::TouchbaseSchema,
    hub::{Hub, worker::Workers},
    rate_limit::{HookLimiter, Throttle},
    services::Services,
};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub hub: Hub,
    pub schema: TouchbaseSchema,
    pub metrics: PrometheusHandle,
    /// GraphQL requests per user, or per client address before sign-in.
    pub api_throttle: Arc<Throttle<String>>,
    /// Webhook requests per connector and per client address.
    pub hook_limiter: Arc<HookLimiter>,
    /// Work the application does on its own (event relay, due-activity announcements); it
    /// stops when the last clone of the state is dropped.
    pub background: Arc<JoinSet<()>>,
    /// Work that finishes what it holds before the process stops.
    pub workers: Workers,
}

pub fn router(state: AppState) -> Router {
    let config = state.services.config.clone();
    Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphql/ws", get(ws::upgrade))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/exports/{kind}", post(exports::export))
        .route("/imports/{id}/report.csv", get(imports::report_csv))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .route(
            "/imports",
            post(imports::start).layer(DefaultBodyLimit::max(config.import_max_bytes)),
        )
        // Reads its body itself, up to the connector kind's cap.
        .route("/hooks/{connector_id}", post(hooks::receive))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(config.request_timeout_secs),
        ))
        .layer(middleware::from_fn(record_metrics))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("http", method = %request.method(), path = %request.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// Request counts and latency by route, method and status. Clients may send any method name,
/// so those outside the standard ones count as `OTHER`, keeping the label set bounded.
async fn record_metrics(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "other".into());
    let method = match *request.method() {
        Method::GET
        | Method::HEAD
        | Method::POST
        | Method::PUT
        | Method::PATCH
        | Method::DELETE
        | Method::OPTIONS => request.method().to_string(),
        _ => "OTHER".into(),
    };
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let labels = [
        ("route", route),
        ("method", method),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
