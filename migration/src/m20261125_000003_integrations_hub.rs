//! The integrations hub: connectors, the inbox of raw provider requests, the contact points
//! identity resolution matches on, and the provenance every hub-written touchpoint keeps.
//!
//! `inbound_events` is unique on `(connector_id, delivery_id)`, so a provider's retry or a
//! burst of concurrent copies is stored once; `touchpoints` is unique on
//! `(connector_id, external_id)`, so one event recorded through two deliveries (a batch that
//! overlaps an earlier one) is still one touchpoint. Manual touchpoints leave both null, and
//! nulls never collide on either store.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Columns the touchpoints table gains: where a hub-written touchpoint came from.
const TOUCHPOINT_COLUMNS: [&str; 6] = [
    "connector_id",
    "inbound_event_id",
    "external_id",
    "event",
    "sequence",
    "details",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(connectors()).await?;
        manager.create_table(inbound_events()).await?;
        manager.create_table(replay_nonces()).await?;
        manager.create_table(contact_points()).await?;
        for column in touchpoint_columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table("touchpoints")
                        .add_column(column)
                        .take(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("activities")
                    .add_column(json_null("details"))
                    .take(),
            )
            .await?;
        for (name, table, columns, unique) in INDEXES {
            let mut index = Index::create();
            index.name(*name).table(*table).if_not_exists();
            for &column in *columns {
                index.col(column);
            }
            if *unique {
                index.unique();
            }
            manager.create_index(index).await?;
        }
        manager.create_index(due_deliveries()).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(DUE_DELIVERIES)
                    .table("inbound_events")
                    .to_owned(),
            )
            .await?;
        for (name, table, _, _) in INDEXES.iter().rev() {
            manager
                .drop_index(Index::drop().name(*name).table(*table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("activities")
                    .drop_column("details")
                    .take(),
            )
            .await?;
        for column in TOUCHPOINT_COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table("touchpoints")
                        .drop_column(column)
                        .take(),
                )
                .await?;
        }
        for table in [
            "contact_points",
            "replay_nonces",
            "inbound_events",
            "connectors",
        ] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

const DUE_DELIVERIES: &str = "idx_inbound_events_due";

/// The worker's claim: deliveries still to do, oldest due first. Partial, so the claim reads
/// only those however many processed ones pile up, and both stores can return them in order
/// straight from the index.
fn due_deliveries() -> IndexCreateStatement {
    Index::create()
        .name(DUE_DELIVERIES)
        .table("inbound_events")
        .col("next_attempt_at")
        .col("id")
        .and_where(Expr::col("status").is_in(["pending", "retrying"]))
        .if_not_exists()
        .to_owned()
}

/// `(name, table, columns, unique)`.
const INDEXES: &[(&str, &str, &[&str], bool)] = &[
    (
        "uq_inbound_events_delivery",
        "inbound_events",
        &["connector_id", "delivery_id"],
        true,
    ),
    (
        "idx_inbound_events_connector_received",
        "inbound_events",
        &["connector_id", "received_at"],
        false,
    ),
    (
        "uq_replay_nonces_nonce",
        "replay_nonces",
        &["connector_id", "nonce"],
        true,
    ),
    (
        "uq_contact_points_value",
        "contact_points",
        &["kind", "provider", "value"],
        true,
    ),
    (
        "idx_contact_points_lead",
        "contact_points",
        &["lead_id"],
        false,
    ),
    (
        "idx_contact_points_contact",
        "contact_points",
        &["contact_id"],
        false,
    ),
    (
        "uq_touchpoints_external",
        "touchpoints",
        &["connector_id", "external_id"],
        true,
    ),
    (
        "idx_touchpoints_inbound_event",
        "touchpoints",
        &["inbound_event_id"],
        false,
    ),
    ("idx_leads_phone", "leads", &["phone"], false),
    ("idx_contacts_phone", "contacts", &["phone"], false),
];

fn connectors() -> TableCreateStatement {
    Table::create()
        .table("connectors")
        .if_not_exists()
        .col(pk_uuid("id"))
        .col(string("kind"))
        .col(string("name"))
        .col(boolean("enabled"))
        .col(json("settings"))
        // Secrets are sealed with the server's secret key; only a hint is ever shown.
        .col(text_null("secret_sealed"))
        .col(string_null("secret_hint"))
        .col(text_null("previous_secret_sealed"))
        .col(timestamp_with_time_zone_null("previous_secret_expires_at"))
        .col(big_integer("signature_failures").default(0))
        .col(timestamp_with_time_zone_null("last_signature_failure_at"))
        .col(uuid_null("created_by"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .col(timestamp_with_time_zone_null("deleted_at"))
        .take()
}

fn inbound_events() -> TableCreateStatement {
    Table::create()
        .table("inbound_events")
        .if_not_exists()
        .col(pk_uuid("id"))
        .col(uuid("connector_id"))
        .col(string("delivery_id"))
        .col(json("headers"))
        .col(blob("body"))
        .col(text("url"))
        .col(string("status"))
        .col(integer("attempts").default(0))
        .col(timestamp_with_time_zone("next_attempt_at"))
        .col(text_null("last_error"))
        .col(integer("touchpoint_count").default(0))
        .col(timestamp_with_time_zone("received_at"))
        .col(timestamp_with_time_zone_null("processed_at"))
        .foreign_key(
            ForeignKey::create()
                .name("fk_inbound_events_connector_id")
                .from("inbound_events", "connector_id")
                .to("connectors", "id"),
        )
        .take()
}

/// One-time values a provider promises never to repeat (Mailgun's `token`), kept to refuse
/// a replayed request.
fn replay_nonces() -> TableCreateStatement {
    Table::create()
        .table("replay_nonces")
        .if_not_exists()
        .col(pk_uuid("id"))
        .col(uuid("connector_id"))
        .col(string("nonce"))
        .col(string("delivery_id"))
        .col(timestamp_with_time_zone("seen_at"))
        .take()
}

/// The addresses, numbers and provider customer ids a person is reached by, each linked to
/// the lead or contact it belongs to, with what the provider told us about it.
fn contact_points() -> TableCreateStatement {
    Table::create()
        .table("contact_points")
        .if_not_exists()
        .col(pk_uuid("id"))
        .col(string("kind"))
        // The provider for customer ids; empty for addresses and numbers.
        .col(string("provider"))
        .col(string("value"))
        .col(uuid_null("lead_id"))
        .col(uuid_null("contact_id"))
        .col(timestamp_with_time_zone_null("bounced_at"))
        .col(timestamp_with_time_zone_null("unsubscribed_at"))
        .col(timestamp_with_time_zone_null("spam_reported_at"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .take()
}

fn touchpoint_columns() -> [ColumnDef; 6] {
    [
        uuid_null("connector_id"),
        uuid_null("inbound_event_id"),
        string_null("external_id"),
        string_null("event"),
        big_integer_null("sequence"),
        json_null("details"),
    ]
}
