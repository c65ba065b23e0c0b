//! Counts and times GraphQL operations by name, as the document names them.

use std::time::Instant;

use async_graphql::Response;

/// Records one finished operation that started at `started`.
pub fn record(operation_name: Option<&str>, started: Instant, response: &Response) {
    let outcome = if response.is_ok() { "ok" } else { "error" };
    let labels = [
        ("operation", label(operation_name)),
        ("outcome", outcome.to_owned()),
    ];
    metrics::counter!("graphql_operations_total", &labels).increment(1);
    metrics::histogram!("graphql_operation_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
}

/// Operation names come from clients; anything unusual is folded so they cannot blow up the
/// label set.
fn label(name: Option<&str>) -> String {
    match name {
        Some(n) if n.len() <= 64 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            n.to_owned()
        }
        Some(_) => "invalid".into(),
        None => "anonymous".into(),
    }
}
