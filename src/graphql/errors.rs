//! Gives every GraphQL error an `extensions.code` from DESIGN.md's set, and masks internal
//! errors behind the request id that the server's log line carries too.

use async_graphql::{Response, ServerError, Value};

use crate::error::AppError;

/// Classifies every error of a finished response.
pub fn assign_codes(response: &mut Response, request_id: &str) {
    for error in &mut response.errors {
        classify(error, request_id);
    }
}

fn classify(error: &mut ServerError, request_id: &str) {
    let (code, details): (&str, Vec<(&str, Value)>) = match error.source::<AppError>() {
        Some(internal @ AppError::Internal(_)) => {
            tracing::error!(request_id, error = ?internal, "internal error");
            error.message = format!("internal error (request id {request_id})");
            ("INTERNAL", vec![("requestId", Value::from(request_id))])
        }
        Some(AppError::BadInput { field, .. }) => (
            "BAD_USER_INPUT",
            vec![("field", Value::from(field.as_str()))],
        ),
        Some(AppError::Conflict {
            field: Some(field), ..
        }) => ("CONFLICT", vec![("field", Value::from(field.as_str()))]),
        Some(AppError::RateLimited { retry_after_secs }) => (
            "RATE_LIMITED",
            vec![("retryAfter", Value::from(*retry_after_secs))],
        ),
        Some(app) => (app.code(), vec![]),
        // Parse, validation, coercion and limit errors: the request itself is wrong.
        None => ("BAD_USER_INPUT", vec![]),
    };
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", code);
    for (key, value) in details {
        extensions.set(key, value);
    }
}
