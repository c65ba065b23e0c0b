//! The GraphQL API: translation between the wire and the domain services. Input objects live
//! here ([`changes`], [`filters`]) and translate into the services' plain types; resolvers parse
//! arguments, call a service with the caller's `Actor` and wrap what comes back; they decide
//! nothing themselves and build no SQL.

mod assignment;
mod changes;
mod connection;
mod custom_fields;
mod dedupe;
mod errors;
pub mod exports;
mod filters;
#[cfg(test)]
mod fuzz;
mod hub;
mod imports;
mod inputs;
mod limits;
#[cfg(test)]
mod list_fuzz;
pub mod loaders;
mod merge;
pub mod metrics;
mod mutation;
mod pipelines;
mod projection;
mod query;
mod sales;
mod scoring;
mod subscription;
mod types;

use std::net::IpAddr;

use async_graphql::{Context, MergedObject, SDLExportOptions, Schema, SchemaBuilder};

use crate::{
    actor::Actor,
    config::Config,
    error::{AppError, Result},
    hub::Hub,
    services::Services,
};

pub use errors::assign_codes;
pub use limits::{Operation, admit, refused};

/// Every read: the CRM records, the pipelines and the integrations hub.
#[derive(MergedObject, Default)]
pub struct Query(
    query::RecordsQuery,
    scoring::ScoringQuery,
    pipelines::PipelinesQuery,
    custom_fields::CustomFieldsQuery,
    dedupe::DedupeQuery,
    merge::MergeQuery,
    assignment::AssignmentQuery,
    imports::ImportsQuery,
    hub::HubQuery,
);

/// Every write: sessions, users, CRM records, the sales engine and the integrations hub.
#[derive(MergedObject, Default)]
pub struct Mutation(
    mutation::RecordsMutation,
    sales::SalesMutation,
    scoring::ScoringMutation,
    pipelines::PipelinesMutation,
    custom_fields::CustomFieldsMutation,
    dedupe::DedupeMutation,
    merge::MergeMutation,
    assignment::AssignmentMutation,
    hub::HubMutation,
);

pub type TouchbaseSchema = Schema<Query, Mutation, subscription::Subscription>;

/// Facts about the HTTP request (or WebSocket connection) a GraphQL operation arrived in.
pub struct RequestContext {
    /// `None` when no token was sent or the token was refused.
    pub actor: Option<Actor>,
    pub ip: Option<IpAddr>,
    pub request_id: String,
    /// The caller's batch loaders; only a signed-in caller has any.
    pub loaders: Option<loaders::Loaders>,
}

impl RequestContext {
    pub fn new(
        db: &sea_orm::DatabaseConnection,
        actor: Option<Actor>,
        ip: Option<IpAddr>,
        request_id: String,
    ) -> Self {
        let loaders = actor.as_ref().map(|actor| loaders::Loaders::new(db, actor));
        RequestContext {
            actor,
            ip,
            request_id,
            loaders,
        }
    }
}

// No schema extensions: with any, the executor resolves every field through the extension chain.
// Document limits and operation metrics run around execution instead (`admit`, `metrics`).
fn builder(config: &Config) -> SchemaBuilder<Query, Mutation, subscription::Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        subscription::Subscription,
    )
    .limit_depth(config.max_depth)
    .limit_complexity(config.max_complexity)
}

pub fn schema(services: Services, hub: Hub) -> TouchbaseSchema {
    let mut builder = builder(&services.config);
    if services.config.is_production() {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.data(services).data(hub).finish()
}

/// The public contract, sorted so `schema.graphql` diffs stay readable.
pub fn sdl() -> String {
    builder(&Config::default()).finish().sdl_with_options(
        SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items(),
    )
}

pub(crate) trait ContextExt {
    fn services(&self) -> &Services;
    fn hub(&self) -> &Hub;
    fn request(&self) -> Option<&RequestContext>;
    /// The signed-in caller, or `UNAUTHENTICATED`.
    fn actor(&self) -> Result<&Actor>;
    /// The caller's batch loaders, or `UNAUTHENTICATED`.
    fn loaders(&self) -> Result<&loaders::Loaders>;
}

impl ContextExt for Context<'_> {
    fn services(&self) -> &Services {
        self.data_unchecked::<Services>()
    }

    fn hub(&self) -> &Hub {
        self.data_unchecked::<Hub>()
    }

    fn request(&self) -> Option<&RequestContext> {
        self.data_opt::<RequestContext>()
    }

    fn actor(&self) -> Result<&Actor> {
        self.request()
            .and_then(|r| r.actor.as_ref())
            .ok_or(AppError::Unauthenticated)
    }
    fn loaders(&self) -> Result<&loaders::Loaders> {
        self.request()
            .and_then(|r| r.loaders.as_ref())
            .ok_or(AppError::Unauthenticated)
    }
}
