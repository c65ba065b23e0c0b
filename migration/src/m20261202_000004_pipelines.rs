//! More than one pipeline: a `pipelines` table, each stage belonging to one, and stage names
//! unique within their pipeline rather than across all. The stages a store already has become
//! the default pipeline, "New business", so every opportunity keeps its stage.
//!
//! Stages and pipelines are archived, never deleted: an opportunity's stage history names
//! them. The old unique name was an index of its own, so it is dropped on either store without
//! rebuilding the table. PostgreSQL makes the new `pipeline_id` not null and a foreign key once
//! it is filled; SQLite can add neither to an existing column (nor drop such a column again),
//! so there the column stays as added and the services keep it set, as for the hub's columns.

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{DbBackend, prelude::Uuid},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The pipeline the stages of a store migrated from one pipeline belong to.
const DEFAULT_PIPELINE: &str = "New business";

const OLD_UNIQUE: &str = "uq_pipeline_stages_name";
const UNIQUE_IN_PIPELINE: &str = "uq_pipeline_stages_pipeline_name";
const PIPELINE_NAMES: &str = "uq_pipelines_name";
const FOREIGN_KEY: &str = "fk_pipeline_stages_pipeline_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("pipelines")
                    .col(pk_uuid("id"))
                    .col(string("name"))
                    .col(integer("position"))
                    .col(timestamp_with_time_zone_null("archived_at"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(PIPELINE_NAMES)
                    .table("pipelines")
                    .col("name")
                    .unique()
                    .take(),
            )
            .await?;
        let default = Uuid::now_v7();
        manager
            .execute(
                Query::insert()
                    .into_table("pipelines")
                    .columns(["id", "name", "position"])
                    .values_panic([default.into(), DEFAULT_PIPELINE.into(), 1.into()])
                    .take(),
            )
            .await?;
        for column in [
            uuid_null("pipeline_id"),
            timestamp_with_time_zone_null("archived_at"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("pipeline_stages")
                        .add_column(column)
                        .take(),
                )
                .await?;
        }
        manager
            .execute(
                Query::update()
                    .table("pipeline_stages")
                    .value("pipeline_id", default)
                    .take(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .alter_table(
                    Table::alter()
                        .table("pipeline_stages")
                        .modify_column(uuid("pipeline_id"))
                        .add_foreign_key(
                            TableForeignKey::new()
                                .name(FOREIGN_KEY)
                                .from_tbl("pipeline_stages")
                                .from_col("pipeline_id")
                                .to_tbl("pipelines")
                                .to_col("id"),
                        )
                        .take(),
                )
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name(OLD_UNIQUE)
                    .table("pipeline_stages")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(UNIQUE_IN_PIPELINE)
                    .table("pipeline_stages")
                    .col("pipeline_id")
                    .col("name")
                    .unique()
                    .take(),
            )
            .await
    }

    /// Back to one pipeline: refused while two stages share a name, which one pipeline could
    /// not hold; the stages of every pipeline stay.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(UNIQUE_IN_PIPELINE)
                    .table("pipeline_stages")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(OLD_UNIQUE)
                    .table("pipeline_stages")
                    .col("name")
                    .unique()
                    .take(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .drop_foreign_key(
                    ForeignKey::drop()
                        .name(FOREIGN_KEY)
                        .table("pipeline_stages")
                        .to_owned(),
                )
                .await?;
        }
        for column in ["archived_at", "pipeline_id"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("pipeline_stages")
                        .drop_column(column)
                        .take(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table("pipelines").take())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
