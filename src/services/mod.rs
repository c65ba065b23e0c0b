//! Domain services: the rules of the CRM, once. Every call takes the caller's `Actor`; every
//! read goes through [`scope::visible`], so no query shape can reach a row the rules hide; every
//! write runs in one transaction with its audit row, its own or its caller's ([`records`]).
//!
//! Services speak plain Rust: change sets with [`input::Patch`] fields, [`filter::Filter`]s and
//! orders of their own, models out. They know nothing of GraphQL, HTTP or the hub, which call
//! them; every writer (API, inbox worker, CLI, bench) goes through them.

pub mod accounts;
pub mod activities;
pub mod assignments;
pub mod audit;
pub mod campaigns;
pub mod contact_points;
pub mod contacts;
pub mod custom_fields;
pub mod custom_filter;
pub mod custom_order;
pub mod custom_sql;
pub mod filter;
pub mod input;
pub mod leads;
pub mod match_keys;
pub mod opportunities;
pub mod page;
pub mod pipeline;
pub mod projection;
pub mod record_type;
pub mod records;
pub mod reminders;
pub mod scope;
pub mod search;
pub mod sessions;
pub mod touchpoints;
pub mod transitions;
pub mod users;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{auth::Authenticator, config::Config, events::Events, rate_limit::LoginLimiter};

/// What services need besides the actor: the store, the settings, the event bus, and the
/// sign-in parts.
#[derive(Clone)]
pub struct Services {
    pub db: DatabaseConnection,
    pub events: Events,
    pub config: Arc<Config>,
    pub auth: Arc<Authenticator>,
    pub login_limiter: Arc<LoginLimiter>,
}
