//! Search and account uniqueness on canonical text, alike on both stores. Each searchable
//! table gets `search_text`, its searchable columns folded into words by `canonical::fold`
//! (written by the services from now on, backfilled here), and the full-text indexes read only
//! that column, split at spaces: a `tsvector` built from its words on PostgreSQL, an FTS5 table
//! whose tokenizer separates nothing but spaces on SQLite. Neither store folds or splits by its
//! own rules any more, so both find the same records.
//!
//! Accounts get `canonical_domain`, their domain as `canonical::domain` reads it, unique where
//! set. Where stored accounts already share a domain, the oldest keeps it as its canonical one
//! and the others are left without, to be merged.

use std::collections::HashSet;

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, DbBackend},
};
use uuid::Uuid;

use crate::m20261125_000002_full_text_search as words_search;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Each searchable table and the columns its words come from, as the services write them.
const SEARCHABLE: [(&str, &[&str]); 3] = [
    (
        "leads",
        &["first_name", "last_name", "email", "company", "phone"],
    ),
    (
        "contacts",
        &["first_name", "last_name", "email", "phone", "title"],
    ),
    ("accounts", &["name", "domain", "industry"]),
];

const UNIQUE_DOMAIN: &str = "idx_accounts_canonical_domain";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        for (table, columns) in SEARCHABLE {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(text_null("search_text"))
                        .take(),
                )
                .await?;
            backfill_search_text(db, table, columns).await?;
            for statement in drop_word_index(backend, table) {
                db.execute_unprepared(&statement).await?;
            }
            for statement in create_folded_index(backend, table) {
                db.execute_unprepared(&statement).await?;
            }
        }
        manager
            .alter_table(
                Table::alter()
                    .table("accounts")
                    .add_column(string_null("canonical_domain"))
                    .take(),
            )
            .await?;
        backfill_canonical_domains(db).await?;
        db.execute_unprepared(&format!(
            "CREATE UNIQUE INDEX {UNIQUE_DOMAIN} ON accounts (canonical_domain) \
             WHERE canonical_domain IS NOT NULL"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        db.execute_unprepared(&format!("DROP INDEX IF EXISTS {UNIQUE_DOMAIN}"))
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("accounts")
                    .drop_column("canonical_domain")
                    .take(),
            )
            .await?;
        for (table, _) in SEARCHABLE {
            for statement in drop_word_index(backend, table) {
                db.execute_unprepared(&statement).await?;
            }
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column("search_text")
                        .take(),
                )
                .await?;
        }
        // Back to the indexes over the raw columns.
        words_search::Migration.up(manager).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

async fn backfill_search_text(
    db: &SchemaManagerConnection<'_>,
    table: &'static str,
    columns: &'static [&'static str],
) -> Result<(), DbErr> {
    let select = Query::select()
        .column("id")
        .columns(columns.iter().copied())
        .from(table)
        .take();
    for row in db.query_all(&select).await? {
        let id: Uuid = row.try_get_by_index(0)?;
        let mut text = Vec::new();
        for index in 1..=columns.len() {
            text.extend(row.try_get_by_index::<Option<String>>(index)?);
        }
        let update = Query::update()
            .table(table)
            .value("search_text", canonical::fold(&text.join(" ")))
            .and_where(Expr::col("id").eq(id))
            .take();
        db.execute(&update).await?;
    }
    Ok(())
}

async fn backfill_canonical_domains(db: &SchemaManagerConnection<'_>) -> Result<(), DbErr> {
    let select = Query::select()
        .columns(["id", "domain"])
        .from("accounts")
        .and_where(Expr::col("domain").is_not_null())
        .order_by("created_at", Order::Asc)
        .order_by("id", Order::Asc)
        .take();
    let mut taken = HashSet::new();
    for row in db.query_all(&select).await? {
        let id: Uuid = row.try_get_by_index(0)?;
        let domain: Option<String> = row.try_get_by_index(1)?;
        let Some(domain) = domain.as_deref().and_then(canonical::domain) else {
            continue;
        };
        if !taken.insert(domain.clone()) {
            continue;
        }
        let update = Query::update()
            .table("accounts")
            .value("canonical_domain", domain)
            .and_where(Expr::col("id").eq(id))
            .take();
        db.execute(&update).await?;
    }
    Ok(())
}

/// Removes a table's full-text index, whichever columns it reads.
fn drop_word_index(backend: DbBackend, table: &str) -> Vec<String> {
    match backend {
        DbBackend::Postgres => vec![
            format!("DROP INDEX IF EXISTS idx_{table}_search"),
            format!("ALTER TABLE {table} DROP COLUMN IF EXISTS search_words"),
        ],
        _ => vec![
            format!("DROP TRIGGER IF EXISTS {table}_search_insert"),
            format!("DROP TRIGGER IF EXISTS {table}_search_update"),
            format!("DROP TRIGGER IF EXISTS {table}_search_delete"),
            format!("DROP TABLE IF EXISTS {table}_search"),
        ],
    }
}

/// A full-text index over `search_text` that takes its words as they are.
fn create_folded_index(backend: DbBackend, table: &str) -> Vec<String> {
    match backend {
        DbBackend::Postgres => vec![
            format!(
                "ALTER TABLE {table} ADD COLUMN search_words tsvector GENERATED ALWAYS AS \
                 (array_to_tsvector(string_to_array(coalesce(search_text, ''), ' '))) STORED"
            ),
            format!("CREATE INDEX idx_{table}_search ON {table} USING GIN (search_words)"),
        ],
        _ => {
            let fts = format!("{table}_search");
            let insert_new = format!(
                "INSERT INTO {fts}(rowid, search_text) VALUES (new.rowid, new.search_text);"
            );
            let delete_old = format!(
                "INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);"
            );
            vec![
                // Every character but a separator is part of a word, and nothing is folded
                // again: the text is folded already.
                format!(
                    "CREATE VIRTUAL TABLE {fts} USING fts5(search_text, content='{table}', \
                     content_rowid='rowid', \
                     tokenize=\"unicode61 remove_diacritics 0 categories 'L* M* N* P* S* C*'\")"
                ),
                format!(
                    "CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} BEGIN {insert_new} END"
                ),
                format!(
                    "CREATE TRIGGER {table}_search_delete AFTER DELETE ON {table} BEGIN {delete_old} END"
                ),
                format!(
                    "CREATE TRIGGER {table}_search_update AFTER UPDATE ON {table} BEGIN {delete_old} {insert_new} END"
                ),
                format!("INSERT INTO {fts}({fts}) VALUES ('rebuild')"),
            ]
        }
    }
}
