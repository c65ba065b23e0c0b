//! Typed custom fields: the definitions admins give each record type, and a `custom_fields`
//! JSON object on contacts, accounts and opportunities like the one leads have had from the
//! start. Values stay keyed by the definition's key, so renaming a label or archiving a
//! definition never touches them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 3] = ["contacts", "accounts", "opportunities"];
const KEY_PER_TYPE: &str = "uq_custom_field_defs_record_type_key";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("custom_field_defs")
                    .col(pk_uuid("id"))
                    .col(string("record_type"))
                    .col(string("key"))
                    .col(string("label"))
                    .col(string("field_type"))
                    .col(boolean("required"))
                    .col(json("options"))
                    .col(json_null("default_value"))
                    .col(timestamp_with_time_zone_null("archived_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(KEY_PER_TYPE)
                    .table("custom_field_defs")
                    .col("record_type")
                    .col("key")
                    .unique()
                    .take(),
            )
            .await?;
        for table in TABLES {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(json("custom_fields").default("{}"))
                        .take(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES.iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table(*table)
                        .drop_column("custom_fields")
                        .take(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table("custom_field_defs").take())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
