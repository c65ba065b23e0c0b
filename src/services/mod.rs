//! Domain services: the rules of the CRM, once. Every call takes the caller's `Actor`; every
//! read goes through [`scope::visible`], so no query shape can reach a row the rules hide; every
//! write runs in one transaction with its audit row, its own or its caller's
//! ([`records`]).

pub mod accounts;
pub mod activities;
pub mod audit;
pub mod campaigns;
pub mod connectors;
pub mod contact_points;
pub mod contacts;
pub mod filter;
#[cfg(test)]
mod fuzz;
pub mod input;
pub mod leads;
pub mod opportunities;
pub mod page;
pub mod pipeline;
pub mod projection;
pub mod records;
pub mod reminders;
pub mod scope;
pub mod search;
pub mod sessions;
pub mod touchpoints;
pub mod users;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    auth::Authenticator, config::Config, events::Events, hub::Hub, rate_limit::LoginLimiter,
};

/// What services need besides the actor: the store, the settings, the event bus and the hub.
#[derive(Clone)]
pub struct Services {
    pub db: DatabaseConnection,
    pub events: Events,
    pub config: Arc<Config>,
    pub auth: Arc<Authenticator>,
    pub login_limiter: Arc<LoginLimiter>,
    pub hub: Hub,
}
