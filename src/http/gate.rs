//! The one way a GraphQL operation runs, over HTTP and over WebSocket alike: the caller's
//! request budget, the document limits, the request context, the time limit for queries and
//! mutations, operation metrics and error codes. Each transport authenticates its caller (per
//! request, or once per connection with its rights checked again) and then hands the operation
//! here; what it does with the outcome (HTTP statuses, protocol messages) is its own.

use std::{
    net::IpAddr,
    time::{Duration, Instant},
};

use async_graphql::{Request, Response, ServerError, parser::types::OperationType};
use futures_util::{StreamExt, stream::BoxStream};

use crate::{
    actor::Actor,
    error::AppError,
    graphql::{self, Operation, RequestContext, assign_codes, metrics},
    http::AppState,
};

/// Where an operation comes from.
pub struct Gate<'a> {
    pub state: &'a AppState,
    pub peer: IpAddr,
    pub request_id: &'a str,
}

/// Why an operation did not start.
pub enum Refusal {
    /// Over the caller's request budget.
    RateLimited { retry_after_secs: u64 },
    /// Over the document limits, or not a document at all; the errors carry their codes.
    Invalid(Vec<ServerError>),
}

/// An operation that passed the gate, ready to run.
pub struct Admitted {
    request: Request,
    /// The operation the document selects, when it names one unambiguously.
    pub operation: Option<Operation>,
    signed_in: bool,
    started: Instant,
}

/// What running an operation yields.
pub enum Outcome {
    Result(Response),
    /// A query or mutation stopped at the time limit; its transaction was rolled back.
    TimedOut(Response),
}

impl Gate<'_> {
    /// Spends one request of the caller's budget (their user, or the client address before
    /// sign-in) and checks the document's limits.
    pub fn admit(&self, actor: Option<Actor>, mut request: Request) -> Result<Admitted, Refusal> {
        let caller = actor
            .as_ref()
            .map_or_else(|| self.peer.to_string(), |a| a.user_id.to_string());
        if let Err(AppError::RateLimited { retry_after_secs }) =
            self.state.api_throttle.check(&caller)
        {
            return Err(Refusal::RateLimited { retry_after_secs });
        }
        let started = Instant::now();
        let operation = graphql::admit(&self.state.services.config, &mut request).map_err(|e| {
            let mut response = Response::from_errors(vec![e]);
            assign_codes(&mut response, self.request_id);
            Refusal::Invalid(response.errors)
        })?;
        let signed_in = actor.is_some();
        let context = RequestContext::new(
            &self.state.services.db,
            actor,
            Some(self.peer),
            self.request_id.to_owned(),
        );
        Ok(Admitted {
            request: request.data(context),
            operation,
            signed_in,
            started,
        })
    }

    /// Runs a query or mutation within the time limit (over HTTP a subscription is answered
    /// with an error: it has no way to deliver a stream).
    pub async fn execute(&self, admitted: Admitted) -> Outcome {
        execute(self.state.clone(), self.request_id.to_owned(), admitted).await
    }

    /// Runs an operation as a stream: a subscription's results for as long as it is polled,
    /// a query's or mutation's one result as [`Gate::execute`] gives it.
    pub fn stream(&self, admitted: Admitted) -> BoxStream<'static, Outcome> {
        let request_id = self.request_id.to_owned();
        let subscription = admitted
            .operation
            .as_ref()
            .is_some_and(|op| op.ty == OperationType::Subscription);
        if !subscription {
            return futures_util::stream::once(execute(self.state.clone(), request_id, admitted))
                .boxed();
        }
        self.state
            .schema
            .execute_stream(admitted.request)
            .map(move |mut response| {
                assign_codes(&mut response, &request_id);
                Outcome::Result(response)
            })
            .boxed()
    }
}

async fn execute(state: AppState, request_id: String, admitted: Admitted) -> Outcome {
    let Admitted {
        request,
        operation,
        signed_in,
        started,
    } = admitted;
    let limit = Duration::from_millis(state.services.config.execution_timeout_ms);
    // Dropping a timed-out operation drops its open transaction, which rolls it back.
    match tokio::time::timeout(limit, state.schema.execute(request)).await {
        Ok(mut response) => {
            let name = operation.and_then(|op| op.name);
            metrics::record(name.as_deref(), signed_in, started, &response);
            assign_codes(&mut response, &request_id);
            Outcome::Result(response)
        }
        Err(_) => {
            tracing::warn!(request_id, ?limit, "operation timed out");
            let message = format!(
                "the operation ran longer than {} ms and was stopped",
                limit.as_millis()
            );
            Outcome::TimedOut(unavailable(&request_id, message))
        }
    }
}

/// A response saying the service could not answer, with `INTERNAL` and the request id: nothing
/// the client sent was wrong, and trying again later may work.
pub fn unavailable(request_id: &str, message: String) -> Response {
    let mut error = ServerError::new(message, None);
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", "INTERNAL");
    extensions.set("requestId", request_id);
    Response::from_errors(vec![error])
}
