//! Every move of a record between states: a lead's status and lifecycle stage, a contact's
//! stage, an opportunity's pipeline stage. One row per move, with the value before and after
//! (as stored), when, by whom and, for a move no person made, what caused it. The funnel,
//! velocity and forecast reports read these rows rather than replaying the audit log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("transitions")
                    .col(uuid("id").primary_key())
                    .col(string("record_type"))
                    .col(uuid("record_id"))
                    .col(string("field"))
                    .col(string_null("from_value"))
                    .col(string_null("to_value"))
                    .col(uuid_null("actor_id"))
                    .col(string_null("cause"))
                    .col(timestamp_with_time_zone("at"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("transitions_of_record")
                    .table("transitions")
                    .col("record_id")
                    .col("field")
                    .col("at")
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("transitions_by_time")
                    .table("transitions")
                    .col("record_type")
                    .col("field")
                    .col("at")
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("transitions").take())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
