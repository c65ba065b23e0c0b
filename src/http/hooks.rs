//! `POST /hooks/{connector_id}`: where providers deliver webhooks. The answer is 2xx only once
//! the raw request is committed to the inbox; everything after that happens in the worker.

use std::collections::BTreeMap;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use crate::{
    http::AppState,
    hub::inbox::{self, Arrival, Refusal},
};

pub async fn receive(
    State(state): State<AppState>,
    Path(connector_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(connector_id) = Uuid::parse_str(&connector_id) else {
        return refused(StatusCode::NOT_FOUND, "no such connector");
    };
    let services = &state.services;
    // The URL as the provider was told it: schemes such as Twilio's sign it, and behind a
    // proxy the Host header is not what the provider saw.
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let url = format!(
        "{}/hooks/{connector_id}{query}",
        services.config.public_url()
    );
    let arrival = Arrival {
        connector_id,
        headers: lowercase_headers(&headers),
        body: body.to_vec(),
        url,
        received_at: Utc::now(),
    };
    match inbox::receive(&services.db, &services.hub, arrival).await {
        Ok(receipt) => (
            StatusCode::OK,
            Json(json!({
                "status": if receipt.duplicate { "duplicate" } else { "accepted" },
                "deliveryId": receipt.delivery_id,
            })),
        )
            .into_response(),
        Err(Refusal::UnknownConnector) => refused(StatusCode::NOT_FOUND, "no such connector"),
        Err(Refusal::Disabled) => refused(StatusCode::GONE, "this connector is disabled"),
        Err(Refusal::Unverified(reason)) => {
            tracing::info!(%connector_id, reason, "webhook refused");
            refused(
                StatusCode::UNAUTHORIZED,
                "the request's signature did not verify",
            )
        }
        Err(Refusal::Malformed(reason)) => refused(StatusCode::BAD_REQUEST, &reason),
        Err(Refusal::Store(error)) => {
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

fn refused(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}
