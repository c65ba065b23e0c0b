//! The first schema: every table Touchbase starts with, their keys and indexes, and the default
//! sales pipeline, so a fresh store is usable as soon as it is migrated.
//!
//! Foreign keys are declared inside `CREATE TABLE`, because SQLite cannot add one to an
//! existing table; tables are therefore created in dependency order. The one cycle, between a
//! lead and the opportunity it converts into, is broken by leaving `leads.converted_*_id`
//! unconstrained. `audit_log` has no foreign keys: it must outlive the rows it describes.
//!
//! Enumerations are plain text columns and JSON is `json`, so the schema stays the same on
//! SQLite and PostgreSQL.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::prelude::Uuid};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Columns whose values must be unique, as `(table, column)`; each gets an index
/// `uq_<table>_<column>`, which later migrations can drop on either store.
const UNIQUE: [(&str, &str); 7] = [
    ("teams", "name"),
    ("users", "email"),
    ("refresh_tokens", "token_hash"),
    ("pipeline_stages", "name"),
    ("contacts", "email"),
    ("leads", "email"),
    ("campaigns", "utm_campaign"),
];

/// Lookup indexes, as `(table, columns)`; each is named `idx_<table>_<columns>`.
const INDEXES: [(&str, &[&str]); 20] = [
    ("users", &["team_id"]),
    ("refresh_tokens", &["family_id"]),
    ("accounts", &["parent_id"]),
    ("accounts", &["owner_id"]),
    ("contacts", &["owner_id"]),
    ("contacts", &["account_id"]),
    ("leads", &["owner_id"]),
    ("leads", &["status"]),
    ("leads", &["created_at"]),
    ("opportunities", &["owner_id"]),
    ("opportunities", &["stage_id"]),
    ("opportunities", &["account_id"]),
    ("activities", &["assignee_id"]),
    ("activities", &["lead_id"]),
    ("activities", &["due_at"]),
    ("touchpoints", &["lead_id", "occurred_at"]),
    ("touchpoints", &["contact_id"]),
    ("touchpoints", &["account_id"]),
    ("audit_log", &["entity_type", "entity_id"]),
    ("audit_log", &["created_at"]),
];

/// The pipeline a fresh install starts with, in order, as
/// `(name, probability in percent, is_won, is_lost)`.
const DEFAULT_PIPELINE: [(&str, i32, bool, bool); 8] = [
    ("Initial contact", 10, false, false),
    ("Needs analysis", 20, false, false),
    ("Demo", 40, false, false),
    ("Proposal", 60, false, false),
    ("Negotiation", 75, false, false),
    ("Contract validation", 90, false, false),
    ("Closed won", 100, true, false),
    ("Closed lost", 0, false, true),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            manager.create_table(table).await?;
        }
        for (table, column) in UNIQUE {
            manager
                .create_index(
                    Index::create()
                        .name(format!("uq_{table}_{column}"))
                        .table(table)
                        .col(column)
                        .unique()
                        .if_not_exists()
                        .take(),
                )
                .await?;
        }
        for (table, columns) in INDEXES {
            let mut index = Index::create();
            index
                .name(format!("idx_{table}_{}", columns.join("_")))
                .table(table)
                .if_not_exists();
            for &column in columns {
                index.col(column);
            }
            manager.create_index(index).await?;
        }
        seed_pipeline(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = tables();
        for table in tables
            .iter()
            .rev()
            .filter_map(TableCreateStatement::get_table_name)
        {
            manager
                .drop_table(Table::drop().table(table.clone()).take())
                .await?;
        }
        Ok(())
    }

    /// One transaction on every store, so a failure leaves no half-built schema behind.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// Inserts [`DEFAULT_PIPELINE`] with fresh ids, numbering positions from 1.
async fn seed_pipeline(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let mut insert = Query::insert();
    insert.into_table("pipeline_stages").columns([
        "id",
        "name",
        "position",
        "probability",
        "is_won",
        "is_lost",
    ]);
    for (position, (name, probability, is_won, is_lost)) in (1_i32..).zip(DEFAULT_PIPELINE) {
        insert
            .values([
                Uuid::now_v7().into(),
                name.into(),
                position.into(),
                probability.into(),
                is_won.into(),
                is_lost.into(),
            ])
            .map_err(|err| DbErr::Migration(format!("default pipeline: {err}")))?;
    }
    manager.execute(insert).await
}

/// A foreign key `fk_<table>_<column>` from `table.column` to `target.id`.
fn references(
    table: &'static str,
    column: &'static str,
    target: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(table, column)
        .to(target, "id")
        .take()
}

/// Every table, in creation order: each one only references tables before it.
fn tables() -> [TableCreateStatement; 13] {
    [
        Table::create()
            .table("teams")
            .if_not_exists()
            .col(pk_uuid("id"))
            .col(string("name"))
            .col(timestamp_with_time_zone("created_at"))
            .take(),
        Table::create()
            .table("users")
            .if_not_exists()
            .col(pk_uuid("id"))
            .col(string("email"))
            .col(string("name"))
            .col(string_null("password_hash"))
            .col(string("role"))
            .col(uuid_null("team_id"))
            .col(boolean("active"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .foreign_key(&mut references("users", "team_id", "teams"))
            .take(),
        Table::create()
            .table("refresh_tokens")
            .if_not_exists()
            .col(pk_uuid("id"))
            .col(uuid("user_id"))
            .col(uuid("family_id"))
            .col(string("token_hash"))
            .col(timestamp_with_time_zone("expires_at"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone_null("spent_at"))
            .col(timestamp_with_time_zone_null("revoked_at"))
            .foreign_key(
                references("refresh_tokens", "user_id", "users")
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .take(),
        Table::create()
            .table("settings")
            .if_not_exists()
            .col(string("key").primary_key().take())
            .col(text("value"))
            .take(),
        Table::create()
            .table("pipeline_stages")
            .if_not_exists()
            .col(pk_uuid("id"))
            .col(string("name"))
            .col(integer("position"))
            .col(integer("probability"))
            .col(boolean("is_won"))
            .col(boolean("is_lost"))
            .take(),
        Table::create()
            .table("accounts")
            .if_not_exists()
            .col(pk_uuid("id"))
            .col(string("name"))
            .col(string_null("domain"))
            .col(string_null("industry"))
            .col(string_null("phone"))
            .col(uuid_null("parent_id"))
            .col(string("status"))
            .col(string_null("territory"))
            .col(uuid_null("owner_id"))
            .col(integer_null("rfm_recency_days"))
            .col(integer_null("rfm_frequency"))
            .col(big_integer_null("rfm_monetary_minor"))
            .col(string_null("rfm_currency"))
            .col(timestamp_with_time_zone_null("archived_at"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .foreign_key(&mut references("accounts", "parent_id", "accounts"))
            .foreign_key(&mut references("accounts", "owner_id", "users"))
            .take(),
        Table::create()
            .table("contacts")
            .if_not_exists()
            .col(pk_uuid("id"))
            .col(string_null("first_name"))
            .col(string_null("last_name"))
            .col(string_null("email"))
            .col(string_null("phone"))
            .col(string_null("title"))
            .col(uuid_null("account_id"))
            .col(uuid_null("owner_id"))
            .col(string("lifecycle_stage"))
            .col(timestamp_with_time_zone_null("archived_at"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .foreign_key(&mut references("contacts", "account_id", "accounts"))
            .foreign_key(&mut references("contacts", "owner_id", "users"))
            .take(),
        Table::create()
            .table("leads")
            .if_not_exists()
            .col(pk_uuid("id"))
            .col(string_null("first_name"))
            .col(string_null("last_name"))
            .col(string_null("email"))
            .col(string_null("phone"))
            .col(string_null("company"))
            .col(string_null("title"))
            .col(string_null("website"))
            .col(string("status"))
            .col(string("lifecycle_stage"))
            .col(string_null("lead_source"))
            .col(uuid_null("owner_id"))
            .col(big_integer_null("budget_minor"))
            .col(string_null("budget_currency"))
            .col(string_null("authority"))
            .col(string_null("need"))
            .col(string_null("timeline"))
            .col(json("competitors"))
            .col(json("objections"))
            .col(integer("fit_score"))
            .col(integer("engagement_score"))
            .col(integer("score"))
            .col(string_null("first_source"))
            .col(string_null("first_medium"))
            .col(string_null("first_campaign"))
            .col(string_null("first_source_category"))
            .col(timestamp_with_time_zone_null("first_touch_at"))
            .col(string_null("latest_source"))
            .col(string_null("latest_medium"))
            .col(string_null("latest_campaign"))
            .col(string_null("latest_source_category"))
            .col(timestamp_with_time_zone_null("latest_touch_at"))
            .col(json("custom_fields"))
            .col(timestamp_with_time_zone_null("converted_at"))
            .col(uuid_null("converted_contact_id"))
            .col(uuid_null("converted_account_id"))
            .col(uuid_null("converted_opportunity_id"))
            .col(timestamp_with_time_zone_null("archived_at"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .foreign_key(&mut references("leads", "owner_id", "users"))
            .take(),
        Table::create()
            .table("opportunities")
            .if_not_exists()
            .col(pk_uuid("id"))
            .col(string("name"))
            .col(uuid_null("account_id"))
            .col(uuid_null("contact_id"))
            .col(uuid_null("lead_id"))
            .col(uuid("stage_id"))
            .col(big_integer("amount_minor"))
            .col(string("currency"))
            .col(date_null("close_date"))
            .col(uuid_null("owner_id"))
            .col(string_null("lost_reason"))
            .col(timestamp_with_time_zone_null("closed_at"))
            .col(timestamp_with_time_zone_null("archived_at"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .foreign_key(&mut references("opportunities", "account_id", "accounts"))
            .foreign_key(&mut references("opportunities", "contact_id", "contacts"))
            .foreign_key(&mut references("opportunities", "lead_id", "leads"))
            .foreign_key(&mut references(
                "opportunities",
                "stage_id",
                "pipeline_stages",
            ))
            .foreign_key(&mut references("opportunities", "owner_id", "users"))
            .take(),
        Table::create()
            .table("campaigns")
            .if_not_exists()
            .col(pk_uuid("id"))
            .col(string("name"))
            .col(string_null("utm_campaign"))
            .col(string_null("channel"))
            .col(string("status"))
            .col(big_integer_null("cost_minor"))
            .col(string_null("currency"))
            .col(date_null("starts_on"))
            .col(date_null("ends_on"))
            .col(timestamp_with_time_zone_null("archived_at"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .take(),
        Table::create()
            .table("activities")
            .if_not_exists()
            .col(pk_uuid("id"))
            .col(string("kind"))
            .col(string("subject"))
            .col(string_null("body"))
            .col(timestamp_with_time_zone_null("due_at"))
            .col(boolean("done"))
            .col(timestamp_with_time_zone_null("completed_at"))
            .col(uuid_null("assignee_id"))
            .col(uuid_null("lead_id"))
            .col(uuid_null("contact_id"))
            .col(uuid_null("account_id"))
            .col(uuid_null("opportunity_id"))
            .col(timestamp_with_time_zone_null("archived_at"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .foreign_key(&mut references("activities", "assignee_id", "users"))
            .foreign_key(&mut references("activities", "lead_id", "leads"))
            .foreign_key(&mut references("activities", "contact_id", "contacts"))
            .foreign_key(&mut references("activities", "account_id", "accounts"))
            .foreign_key(&mut references(
                "activities",
                "opportunity_id",
                "opportunities",
            ))
            .take(),
        Table::create()
            .table("touchpoints")
            .if_not_exists()
            .col(pk_uuid("id"))
            .col(uuid_null("lead_id"))
            .col(uuid_null("contact_id"))
            .col(uuid_null("account_id"))
            .col(uuid_null("campaign_id"))
            .col(string("channel"))
            .col(string_null("direction"))
            .col(string_null("source"))
            .col(string_null("medium"))
            .col(string_null("campaign"))
            .col(string_null("term"))
            .col(string_null("content"))
            .col(string_null("referrer"))
            .col(string_null("landing_page"))
            .col(string_null("gclid"))
            .col(string_null("fbclid"))
            .col(string_null("msclkid"))
            .col(string_null("source_category"))
            .col(string_null("subject"))
            .col(string_null("summary"))
            .col(big_integer_null("amount_minor"))
            .col(string_null("currency"))
            .col(timestamp_with_time_zone("occurred_at"))
            .col(uuid_null("created_by"))
            .col(timestamp_with_time_zone("created_at"))
            .foreign_key(&mut references("touchpoints", "lead_id", "leads"))
            .foreign_key(&mut references("touchpoints", "contact_id", "contacts"))
            .foreign_key(&mut references("touchpoints", "account_id", "accounts"))
            .foreign_key(&mut references("touchpoints", "campaign_id", "campaigns"))
            .take(),
        Table::create()
            .table("audit_log")
            .if_not_exists()
            .col(pk_uuid("id"))
            .col(uuid_null("actor_id"))
            .col(string("action"))
            .col(string("entity_type"))
            .col(uuid("entity_id"))
            .col(json_null("before"))
            .col(json_null("after"))
            .col(string_null("request_id"))
            .col(timestamp_with_time_zone("created_at"))
            .take(),
    ]
}
