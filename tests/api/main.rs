//! End-to-end tests: the real server on 127.0.0.1:0, spoken to over HTTP, on SQLite by default
//! and on PostgreSQL when `TOUCHBASE_TEST_DATABASE_URL=postgres://…` is set.

mod helpers;

mod access;
mod account_domains;
mod assignment;
mod auth;
mod batching;
mod cli;
mod conversion;
mod custom_fields;
mod custom_order;
mod dedupe;
mod export;
mod fuzz;
mod hook_answers;
mod hooks_abuse;
mod hostile_inputs;
mod http_audit;
mod hub;
mod hub_credentials;
mod hub_lost;
mod hub_processes;
mod hub_providers;
mod hub_resilience;
mod import;
mod limits;
mod lists;
mod merge;
mod migrations;
mod oidc;
mod ops;
mod outage;
mod pipelines;
mod records;
mod rfm;
mod schema;
mod scoring;
mod search;
mod security_decisions;
mod subscriptions;
mod transitions;
mod write_rules;
