//! Touchbase's database schema as an ordered list of migrations.
//!
//! Every schema change is one `mYYYYMMDD_NNNNNN_<what>.rs` file, appended to
//! [`Migrator::migrations`] and never edited once released, so every store reaches the same
//! schema by the same steps. Migrations describe their tables with their own identifiers rather
//! than the `entity` crate's, so later entity changes cannot rewrite history. They use only
//! statements that both supported stores accept: SQLite for a single-node install and
//! PostgreSQL for a shared one.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_initial_schema;
mod m20261125_000002_full_text_search;
mod m20261125_000003_integrations_hub;
mod m20261201_000001_verified_deliveries;
mod m20261201_000002_delivery_names;
mod m20261201_000003_transitions;
mod m20261201_000004_rfm_scores;
mod m20261202_000001_lead_profile;
mod m20261202_000002_scoring;
mod m20261202_000003_assignment;
mod m20261202_000004_pipelines;
mod m20261202_000005_contact_rfm;
mod m20261202_000006_raw_contact_points;
mod m20261203_000001_folded_search;
mod m20261203_000002_custom_fields;
mod m20261204_000005_imports;
mod m20261204_000010_dedupe;
mod m20261205_000001_merges;

/// Applies and rolls back Touchbase's migrations, oldest first.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_initial_schema::Migration),
            Box::new(m20261125_000002_full_text_search::Migration),
            Box::new(m20261125_000003_integrations_hub::Migration),
            Box::new(m20261201_000001_verified_deliveries::Migration),
            Box::new(m20261201_000002_delivery_names::Migration),
            Box::new(m20261201_000003_transitions::Migration),
            Box::new(m20261201_000004_rfm_scores::Migration),
            Box::new(m20261202_000001_lead_profile::Migration),
            Box::new(m20261202_000002_scoring::Migration),
            Box::new(m20261202_000003_assignment::Migration),
            Box::new(m20261202_000004_pipelines::Migration),
            Box::new(m20261202_000005_contact_rfm::Migration),
            Box::new(m20261202_000006_raw_contact_points::Migration),
            Box::new(m20261203_000001_folded_search::Migration),
            Box::new(m20261203_000002_custom_fields::Migration),
            Box::new(m20261204_000005_imports::Migration),
            Box::new(m20261204_000010_dedupe::Migration),
            Box::new(m20261205_000001_merges::Migration),
        ]
    }
}
