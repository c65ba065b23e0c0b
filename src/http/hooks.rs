//! `POST /hooks/{connector_id}`: where providers deliver webhooks. The answer is 2xx only once
//! the delivery (the raw request) is committed to the inbox, and names it: `id`, which
//! `delivery(id:)` takes, and `externalId`, the provider's key it is stored under once.
//! Everything after that happens in the worker.
//! Before anything is read, a request is throttled per client address and per connector (429
//! with `Retry-After`), more tightly per address where the connector takes unsigned requests,
//! and its body is refused unread when it is larger than the connector's kind takes (413).

use std::{collections::BTreeMap, net::SocketAddr};

use axum::{
    Json,
    body::{Body, Bytes},
    extract::{ConnectInfo, Path, Request, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use crate::{
    error::AppError,
    http::AppState,
    hub::inbox::{self, NewDelivery, Refusal},
};

#[tracing::instrument(skip_all, fields(connector = %connector_id))]
pub async fn receive(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(connector_id): Path<String>,
    request: Request,
) -> Response {
    let Ok(connector_id) = Uuid::parse_str(&connector_id) else {
        return refused(StatusCode::NOT_FOUND, "no such connector");
    };
    if let Err(AppError::RateLimited { retry_after_secs }) =
        state.hook_limiter.check(connector_id, peer.ip())
    {
        return rate_limited(retry_after_secs);
    }
    let services = &state.services;
    let connector = match inbox::connector(&services.db, connector_id).await {
        Ok(connector) => connector,
        Err(refusal) => return refusal_response(connector_id, refusal),
    };
    if connector.secret_sealed.is_none()
        && let Err(AppError::RateLimited { retry_after_secs }) =
            state.hook_limiter.check_unsigned(peer.ip())
    {
        return rate_limited(retry_after_secs);
    }
    let (parts, body) = request.into_parts();
    let limit = inbox::max_body_bytes(&services.config, &connector);
    let body = match read_body(&parts.headers, body, limit).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    // The URL as the provider was told it: schemes such as Twilio's sign it, and behind a
    // proxy the Host header is not what the provider saw.
    let query = parts
        .uri
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let url = format!(
        "{}/hooks/{connector_id}{query}",
        services.config.public_url()
    );
    let delivery = NewDelivery {
        headers: lowercase_headers(&parts.headers),
        body: body.into(),
        url,
        received_at: Utc::now(),
    };
    match inbox::receive(&services.db, &state.hub, &connector, delivery).await {
        Ok(receipt) => (
            StatusCode::OK,
            Json(json!({
                "status": if receipt.duplicate { "duplicate" } else { "accepted" },
                "id": receipt.id,
                "externalId": receipt.external_id,
            })),
        )
            .into_response(),
        Err(refusal) => refusal_response(connector_id, refusal),
    }
}

/// The body, up to `limit` bytes; a declared or actual larger one is refused with 413 without
/// reading (or keeping) the rest.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Response> {
    let too_large = || {
        refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the body is larger than this connector takes ({limit} bytes)"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        let over_limit = std::error::Error::source(&error)
            .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
        if over_limit {
            too_large()
        } else {
            refused(StatusCode::BAD_REQUEST, "the body could not be read")
        }
    })
}

fn refusal_response(connector_id: Uuid, refusal: Refusal) -> Response {
    match refusal {
        Refusal::UnknownConnector => refused(StatusCode::NOT_FOUND, "no such connector"),
        Refusal::Disabled => refused(StatusCode::GONE, "this connector is disabled"),
        Refusal::Unverified(reason) => {
            tracing::info!(%connector_id, reason, "webhook refused");
            refused(
                StatusCode::UNAUTHORIZED,
                "the request's signature did not verify",
            )
        }
        Refusal::Malformed(reason) => refused(StatusCode::BAD_REQUEST, &reason),
        Refusal::Store(error) => {
            tracing::error!(%connector_id, ?error, "a webhook could not be stored");
            refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "the delivery could not be stored; retry",
            )
        }
    }
}

/// Header names lowercased; a repeated header's values joined as HTTP allows.
fn lowercase_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        map.entry(name.as_str().to_owned())
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    map
}

/// Providers retry a 429 after the wait it names.
fn rate_limited(retry_after_secs: u64) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, retry_after_secs.to_string())],
        Json(json!({ "error": "too many requests; retry later", "retryAfter": retry_after_secs })),
    )
        .into_response()
}

fn refused(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}
