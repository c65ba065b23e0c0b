//! One name for a stored webhook: `inbound_events` becomes `deliveries`; the provider's key
//! for one is `external_id` wherever it is kept (`deliveries`, `replay_nonces`), as the API
//! calls it; a touchpoint names the delivery it came from in `delivery_id`.
//!
//! Rows, indexes and the foreign key to `connectors` stay: tables and columns are renamed in
//! place. PostgreSQL renames the indexes and constraints too; SQLite cannot rename an index,
//! so it builds each again under its new name, and keeps the foreign key's old name in the
//! table's text, where nothing refers to it.
//!
//! The receive time is a column, no longer also an `x-touchbase-received-at` header the hub
//! made up: it is removed from the headers of deliveries stored with it. Rolling back puts it
//! back from `received_at`, for the code that read it.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD_TABLE: &str = "inbound_events";
const TABLE: &str = "deliveries";

/// The header the hub used to add to every stored request.
const RECEIVED_AT_HEADER: &str = "x-touchbase-received-at";

/// `(table, old name, new name)`. The delivery table has its new name whenever its columns
/// are renamed: after the table on the way up, before it on the way down.
const COLUMNS: [(&str, &str, &str); 3] = [
    (TABLE, "delivery_id", "external_id"),
    ("touchpoints", "inbound_event_id", "delivery_id"),
    ("replay_nonces", "delivery_id", "external_id"),
];

/// An index as it was or as it is.
struct IndexDef {
    name: &'static str,
    table: &'static str,
    columns: &'static [&'static str],
    unique: bool,
    /// Over the deliveries still to do only: the worker's claim.
    due_only: bool,
}

const fn index(
    name: &'static str,
    table: &'static str,
    columns: &'static [&'static str],
) -> IndexDef {
    IndexDef {
        name,
        table,
        columns,
        unique: false,
        due_only: false,
    }
}

/// The indexes as they were, and as they are, in the same order.
const OLD_INDEXES: [IndexDef; 4] = [
    IndexDef {
        due_only: true,
        ..index(
            "idx_inbound_events_due",
            OLD_TABLE,
            &["next_attempt_at", "id"],
        )
    },
    IndexDef {
        unique: true,
        ..index(
            "uq_inbound_events_delivery",
            OLD_TABLE,
            &["connector_id", "delivery_id"],
        )
    },
    index(
        "idx_inbound_events_connector_received",
        OLD_TABLE,
        &["connector_id", "received_at"],
    ),
    index(
        "idx_touchpoints_inbound_event",
        "touchpoints",
        &["inbound_event_id"],
    ),
];

const INDEXES: [IndexDef; 4] = [
    IndexDef {
        due_only: true,
        ..index("idx_deliveries_due", TABLE, &["next_attempt_at", "id"])
    },
    IndexDef {
        unique: true,
        ..index(
            "uq_deliveries_external",
            TABLE,
            &["connector_id", "external_id"],
        )
    },
    index(
        "idx_deliveries_connector_received",
        TABLE,
        &["connector_id", "received_at"],
    ),
    index("idx_touchpoints_delivery", "touchpoints", &["delivery_id"]),
];

/// PostgreSQL's names for the table's own constraints: `(old name, new name)`.
const CONSTRAINTS: [(&str, &str); 2] = [
    ("inbound_events_pkey", "deliveries_pkey"),
    (
        "fk_inbound_events_connector_id",
        "fk_deliveries_connector_id",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        if !postgres {
            drop_indexes(manager, &OLD_INDEXES).await?;
        }
        manager
            .rename_table(Table::rename().table(OLD_TABLE, TABLE).take())
            .await?;
        for (table, old, new) in COLUMNS {
            rename_column(manager, table, old, new).await?;
        }
        if postgres {
            rename_indexes_and_constraints(manager, TABLE, &OLD_INDEXES, &INDEXES, false).await?;
        } else {
            create_indexes(manager, &INDEXES).await?;
        }
        manager
            .get_connection()
            .execute_unprepared(&without_received_at_header(postgres))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        manager
            .get_connection()
            .execute_unprepared(&with_received_at_header(postgres))
            .await?;
        if !postgres {
            drop_indexes(manager, &INDEXES).await?;
        }
        for (table, old, new) in COLUMNS {
            rename_column(manager, table, new, old).await?;
        }
        manager
            .rename_table(Table::rename().table(TABLE, OLD_TABLE).take())
            .await?;
        if postgres {
            rename_indexes_and_constraints(manager, OLD_TABLE, &INDEXES, &OLD_INDEXES, true)
                .await?;
        } else {
            create_indexes(manager, &OLD_INDEXES).await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

async fn rename_column(
    manager: &SchemaManager<'_>,
    table: &'static str,
    from: &'static str,
    to: &'static str,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).rename_column(from, to).take())
        .await
}

async fn drop_indexes(manager: &SchemaManager<'_>, indexes: &[IndexDef]) -> Result<(), DbErr> {
    for index in indexes {
        manager
            .drop_index(Index::drop().name(index.name).table(index.table).to_owned())
            .await?;
    }
    Ok(())
}

async fn create_indexes(manager: &SchemaManager<'_>, indexes: &[IndexDef]) -> Result<(), DbErr> {
    for def in indexes {
        let mut index = Index::create();
        index.name(def.name).table(def.table);
        for &column in def.columns {
            index.col(column);
        }
        if def.unique {
            index.unique();
        }
        if def.due_only {
            index.and_where(Expr::col("status").is_in(["pending", "retrying"]));
        }
        manager.create_index(index).await?;
    }
    Ok(())
}

/// Renames indexes `from` to `to`, and the delivery table's constraints forwards or `back`.
async fn rename_indexes_and_constraints(
    manager: &SchemaManager<'_>,
    table: &str,
    from: &[IndexDef],
    to: &[IndexDef],
    back: bool,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for (old, new) in from.iter().zip(to) {
        let (old, new) = (old.name, new.name);
        db.execute_unprepared(&format!(r#"ALTER INDEX "{old}" RENAME TO "{new}""#))
            .await?;
    }
    for (old, new) in CONSTRAINTS {
        let (old, new) = if back { (new, old) } else { (old, new) };
        db.execute_unprepared(&format!(
            r#"ALTER TABLE "{table}" RENAME CONSTRAINT "{old}" TO "{new}""#
        ))
        .await?;
    }
    Ok(())
}

fn without_received_at_header(postgres: bool) -> String {
    if postgres {
        format!(
            r#"UPDATE "{TABLE}" SET headers = (headers::jsonb - '{RECEIVED_AT_HEADER}')::json
               WHERE headers::jsonb -> '{RECEIVED_AT_HEADER}' IS NOT NULL"#
        )
    } else {
        format!(
            r#"UPDATE "{TABLE}" SET headers = json_remove(headers, '$."{RECEIVED_AT_HEADER}"')
               WHERE json_extract(headers, '$."{RECEIVED_AT_HEADER}"') IS NOT NULL"#
        )
    }
}

/// The header as the hub wrote it: RFC 3339 in UTC.
fn with_received_at_header(postgres: bool) -> String {
    if postgres {
        format!(
            r#"UPDATE "{TABLE}" SET headers = (headers::jsonb || jsonb_build_object(
                   '{RECEIVED_AT_HEADER}',
                   to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
               ))::json"#
        )
    } else {
        format!(
            r#"UPDATE "{TABLE}" SET headers = json_set(
                   headers,
                   '$."{RECEIVED_AT_HEADER}"',
                   strftime('%Y-%m-%dT%H:%M:%fZ', received_at)
               )"#
        )
    }
}
