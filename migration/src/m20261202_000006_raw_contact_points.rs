//! Whether a contact point's value is canonical: a sender the hub could not normalise (an
//! invalid phone number, an alphanumeric sender id, a malformed address) is kept as it came, so
//! its touches still land on a person; existing points were all normalised.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "contact_points";
const COLUMN: &str = "normalized";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(TABLE)
                    .add_column(boolean(COLUMN).default(true))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(TABLE).drop_column(COLUMN).take())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
