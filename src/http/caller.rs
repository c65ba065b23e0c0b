//! Who calls a plain HTTP route (imports, exports): the bearer token read as the GraphQL
//! endpoint reads it, the caller's request budget spent, and failures answered as JSON with the
//! same codes GraphQL errors carry.

use axum::{
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::{actor::Actor, error::AppError, http::AppState, http::graphql::bearer_token};

/// The signed-in caller, or the response refusing the request.
pub async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<Actor, Response> {
    let token = bearer_token(headers).ok_or_else(|| refusal(AppError::Unauthenticated))?;
    let authenticated = state
        .services
        .auth
        .authenticate(&state.services.db, token)
        .await
        .map_err(refusal)?;
    let mut actor = authenticated.actor;
    actor.request_id = headers
        .get(crate::http::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    state
        .api_throttle
        .check(&actor.user_id.to_string())
        .map_err(refusal)?;
    Ok(actor)
}

/// An error as a JSON response: the status the code implies and the error as GraphQL shapes it.
pub fn refusal(error: AppError) -> Response {
    let status = match &error {
        AppError::Unauthenticated | AppError::BadCredentials => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::BadInput { .. } => StatusCode::BAD_REQUEST,
        AppError::Conflict { .. } => StatusCode::CONFLICT,
        AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let message = match &error {
        AppError::Internal(_) => {
            tracing::error!(?error, "a file route failed");
            "internal error".to_owned()
        }
        other => other.to_string(),
    };
    let mut extensions = json!({ "code": error.code() });
    match &error {
        AppError::BadInput { field, .. }
        | AppError::Conflict {
            field: Some(field), ..
        } => extensions["field"] = json!(field),
        AppError::RateLimited { retry_after_secs } => {
            extensions["retryAfter"] = json!(retry_after_secs);
        }
        _ => {}
    }
    let body = json!({ "errors": [{ "message": message, "extensions": extensions }] });
    let mut response = (status, axum::Json(body)).into_response();
    if let AppError::RateLimited { retry_after_secs } = error {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(retry_after_secs),
        );
    }
    response
}
