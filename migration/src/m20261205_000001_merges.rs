//! Merges that can be undone. A merged-away record stays as a tombstone pointing at the record
//! it became (`merged_into_id`), so links to it keep answering; `merges` keeps what each merge
//! changed (the records as they were, every relation row it moved) so it can be put back.
//! An import may merge each row that a dedupe rule finds to be an existing record into it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The record types that merge, each gaining a pointer to the record it was merged into.
const MERGEABLE: [&str; 4] = ["leads", "contacts", "accounts", "opportunities"];

fn tombstone_index(table: &str) -> String {
    format!("idx_{table}_merged_into_id")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in MERGEABLE {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(uuid_null("merged_into_id"))
                        .take(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name(tombstone_index(table))
                        .table(table)
                        .col("merged_into_id")
                        .take(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("import_runs")
                    .add_column(boolean("merge_duplicates").default(false))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("merges")
                    .col(pk_uuid("id"))
                    .col(string("record_type"))
                    .col(uuid("survivor_id"))
                    .col(json("merged_ids"))
                    .col(uuid_null("actor_id"))
                    .col(json("survivor_before"))
                    .col(json("survivor_after"))
                    .col(json("merged_before"))
                    .col(json("moves"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("undo_until"))
                    .col(timestamp_with_time_zone_null("undone_at"))
                    .col(uuid_null("undone_by"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_merges_survivor_id")
                    .table("merges")
                    .col("survivor_id")
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("merges").take())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("import_runs")
                    .drop_column("merge_duplicates")
                    .take(),
            )
            .await?;
        for table in MERGEABLE {
            manager
                .drop_index(
                    Index::drop()
                        .name(tombstone_index(table))
                        .table(table)
                        .to_owned(),
                )
                .await?;
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column("merged_into_id")
                        .take(),
                )
                .await?;
        }
        Ok(())
    }
}
