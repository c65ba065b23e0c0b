//! What scoring and assignment read about a lead's company and place: industry, head count,
//! country (ISO 3166-1 alpha-2), region and postcode; and the grade scoring gives it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TEXT: [&str; 5] = ["industry", "country", "region", "postcode", "grade"];

fn columns() -> Vec<ColumnDef> {
    let mut columns: Vec<ColumnDef> = TEXT.iter().map(|name| string_null(*name)).collect();
    columns.push(integer_null("employees"));
    columns
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for column in columns() {
            manager
                .alter_table(Table::alter().table("leads").add_column(column).take())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in TEXT.into_iter().chain(["employees"]) {
            manager
                .alter_table(Table::alter().table("leads").drop_column(name).take())
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
