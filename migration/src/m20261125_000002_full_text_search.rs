//! Full-text search over leads, contacts and accounts with each store's own engine: a generated
//! `tsvector` column with a GIN index on PostgreSQL, FTS5 tables kept current by triggers on
//! SQLite. Both index the same words: lowercased, split at anything not a letter or digit.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Each searchable table and the columns its words come from.
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, columns) in SEARCHABLE {
            for statement in create_statements(manager.get_database_backend(), table, columns) {
                db.execute_unprepared(&statement).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, _) in SEARCHABLE {
            let statements = match manager.get_database_backend() {
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
            };
            for statement in statements {
                db.execute_unprepared(&statement).await?;
            }
        }
        Ok(())
    }
}

fn create_statements(backend: DbBackend, table: &str, columns: &[&str]) -> Vec<String> {
    match backend {
        DbBackend::Postgres => {
            let text = columns
                .iter()
                .map(|c| format!("coalesce({c}, '')"))
                .collect::<Vec<_>>()
                .join(" || ' ' || ");
            vec![
                format!(
                    "ALTER TABLE {table} ADD COLUMN search_words tsvector GENERATED ALWAYS AS \
                     (to_tsvector('simple', regexp_replace(lower({text}), '[^[:alnum:]]+', ' ', 'g'))) STORED"
                ),
                format!("CREATE INDEX idx_{table}_search ON {table} USING GIN (search_words)"),
            ]
        }
        _ => {
            let list = columns.join(", ");
            let new_values = columns
                .iter()
                .map(|c| format!("new.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            let old_values = columns
                .iter()
                .map(|c| format!("old.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            let fts = format!("{table}_search");
            let insert_new =
                format!("INSERT INTO {fts}(rowid, {list}) VALUES (new.rowid, {new_values});");
            let delete_old = format!(
                "INSERT INTO {fts}({fts}, rowid, {list}) VALUES ('delete', old.rowid, {old_values});"
            );
            vec![
                format!(
                    "CREATE VIRTUAL TABLE {fts} USING fts5({list}, content='{table}', content_rowid='rowid', \
                     tokenize='unicode61')"
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
