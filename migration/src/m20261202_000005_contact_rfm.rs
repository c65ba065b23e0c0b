//! A contact's RFM figures, as an account has them: the measures, the scores (1 to 5 against
//! every paying contact) and the segment; all null for a contact that never paid.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [&str; 8] = [
    "rfm_recency_days",
    "rfm_frequency",
    "rfm_monetary_minor",
    "rfm_currency",
    "rfm_recency_score",
    "rfm_frequency_score",
    "rfm_monetary_score",
    "rfm_segment",
];

fn definition(column: &'static str) -> ColumnDef {
    match column {
        "rfm_recency_days" | "rfm_frequency" => integer_null(column),
        "rfm_monetary_minor" => big_integer_null(column),
        "rfm_currency" | "rfm_segment" => string_null(column),
        _ => small_integer_null(column),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table("contacts")
                        .add_column(definition(column))
                        .take(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS.iter().rev() {
            manager
                .alter_table(Table::alter().table("contacts").drop_column(*column).take())
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
