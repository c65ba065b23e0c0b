//! Lead scoring: the versions of the admins' scoring model (each change is a new version, so a
//! score can always be explained by the model that gave it), the background rescoring runs a
//! change starts, and on each lead when it was last scored and by which version.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("scoring_models")
                    .col(integer("version").primary_key())
                    .col(uuid_uniq("id"))
                    .col(text("model"))
                    .col(uuid_null("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("scoring_runs")
                    .col(uuid("id").primary_key())
                    .col(integer("version"))
                    .col(string("state"))
                    .col(integer("total"))
                    .col(integer("done"))
                    .col(uuid_null("requested_by"))
                    .col(timestamp_with_time_zone("started_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .col(text_null("error"))
                    .take(),
            )
            .await?;
        for column in [
            timestamp_with_time_zone_null("scored_at"),
            integer_null("score_version"),
        ] {
            manager
                .alter_table(Table::alter().table("leads").add_column(column).take())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["score_version", "scored_at"] {
            manager
                .alter_table(Table::alter().table("leads").drop_column(column).take())
                .await?;
        }
        for table in ["scoring_runs", "scoring_models"] {
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
