//! Counts and times GraphQL operations by name, as the document names them.

use std::{sync::Arc, time::Instant};

use async_graphql::{
    Response,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute},
};

pub struct OperationMetrics;

impl ExtensionFactory for OperationMetrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OperationMetrics)
    }
}

#[async_trait::async_trait]
impl Extension for OperationMetrics {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let started = Instant::now();
        let response = next.run(ctx, operation_name).await;
        let outcome = if response.is_ok() { "ok" } else { "error" };
        let labels = [
            ("operation", label(operation_name)),
            ("outcome", outcome.to_owned()),
        ];
        metrics::counter!("graphql_operations_total", &labels).increment(1);
        metrics::histogram!("graphql_operation_duration_seconds", &labels)
            .record(started.elapsed().as_secs_f64());
        response
    }
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
