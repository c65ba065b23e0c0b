//! An account's RFM scores (1 to 5 against the whole customer base) and segment, beside the
//! measures the first migration made room for; all null for an account that never paid.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [&str; 4] = [
    "rfm_recency_score",
    "rfm_frequency_score",
    "rfm_monetary_score",
    "rfm_segment",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS {
            let definition = if column == "rfm_segment" {
                string_null(column)
            } else {
                small_integer_null(column)
            };
            manager
                .alter_table(
                    Table::alter()
                        .table("accounts")
                        .add_column(definition)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS.iter().rev() {
            manager
                .alter_table(Table::alter().table("accounts").drop_column(*column).take())
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
