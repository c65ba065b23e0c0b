//! Gives every GraphQL error an `extensions.code` from DESIGN.md's set, and masks internal
//! errors behind the request id that the server's log line carries too.

use std::sync::Arc;

use async_graphql::{
    Response, ServerError, Value,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest},
};

use crate::{error::AppError, graphql::RequestContext};

pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

#[async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        let request_id = ctx
            .data_opt::<RequestContext>()
            .map(|r| r.request_id.as_str())
            .unwrap_or("-");
        for error in &mut response.errors {
            classify(error, request_id);
        }
        response
    }
}

fn classify(error: &mut ServerError, request_id: &str) {
    let (code, details): (&str, Vec<(&str, Value)>) = match error.source::<AppError>() {
        Some(AppError::Internal(source)) => {
            tracing::error!(request_id, error = ?source, "internal error");
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
