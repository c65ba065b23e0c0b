//! Touchbase: a CRM gateway. GraphQL over the CRM model, with JWT auth and role rules.

pub mod actor;
pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod hub;
#[cfg(test)]
mod layering;
pub mod quality;
pub mod rate_limit;
pub mod sales;
pub mod server;
pub mod services;
pub mod telemetry;
pub mod validate;
