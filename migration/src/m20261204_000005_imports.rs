//! Imports as durable jobs: a run (what is imported, how columns map, how far it got) and its
//! rows (the uploaded file, one row of cells each, and what became of each row). The rows table
//! is the stored file, so a run survives a restart and resumes at its cursor.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const RUN_DUE: &str = "idx_import_runs_due";
const ROW_KEY: &str = "idx_import_rows_run_key";
const ROW_RUN: &str = "fk_import_rows_run_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("import_runs")
                    .col(pk_uuid("id"))
                    .col(string("record_type"))
                    .col(string("status"))
                    .col(boolean("dry_run"))
                    .col(string("file_name"))
                    .col(json("headers"))
                    .col(json("mapping"))
                    .col(string_null("upsert_key"))
                    .col(uuid("created_by"))
                    .col(integer("total_rows"))
                    .col(integer("rows_done"))
                    .col(integer("created"))
                    .col(integer("updated"))
                    .col(integer("merged"))
                    .col(integer("skipped"))
                    .col(integer("refused"))
                    .col(string_null("error"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(RUN_DUE)
                    .table("import_runs")
                    .col("status")
                    .col("created_at")
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("import_rows")
                    .col(uuid("run_id"))
                    .col(integer("row_no"))
                    .col(json("cells"))
                    .col(string_null("key"))
                    .col(string_null("outcome"))
                    .col(string_null("field"))
                    .col(text_null("reason"))
                    .col(uuid_null("record_id"))
                    .primary_key(Index::create().col("run_id").col("row_no"))
                    .foreign_key(
                        ForeignKey::create()
                            .name(ROW_RUN)
                            .from("import_rows", "run_id")
                            .to("import_runs", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(ROW_KEY)
                    .table("import_rows")
                    .col("run_id")
                    .col("key")
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("import_rows").take())
            .await?;
        manager
            .drop_table(Table::drop().table("import_runs").take())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
