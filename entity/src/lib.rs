//! Touchbase's sea-orm entities and the enums they store. Nothing else lives here: behaviour
//! belongs to the services in the `touchbase` crate, so regenerating or editing an entity never
//! touches a business rule. With the `graphql` feature the enums double as GraphQL enums, so
//! each is written once.

pub mod enums;

pub mod account;
pub mod activity;
pub mod assignment;
pub mod assignment_rule;
pub mod audit_log;
pub mod campaign;
pub mod connector;
pub mod contact;
pub mod contact_point;
pub mod custom_field_def;
pub mod dedupe_rule;
pub mod delivery;
pub mod duplicate_cluster;
pub mod import_row;
pub mod import_run;
pub mod lead;
pub mod match_key;
pub mod merge;
pub mod opportunity;
pub mod pipeline;
pub mod pipeline_stage;
pub mod refresh_token;
pub mod replay_nonce;
pub mod scoring_model;
pub mod scoring_run;
pub mod setting;
pub mod team;
pub mod touchpoint;
pub mod transition;
pub mod user;
