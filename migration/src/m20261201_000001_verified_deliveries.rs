//! Whether a delivery proved who sent it, and whether a touchpoint came from one that did.
//!
//! `inbound_events.verified` is decided at intake: true when the request passed its connector's
//! secret (a signature, a shared key), false when the connector accepted it without one (a
//! public web form). Deliveries stored before this column existed count as verified when their
//! connector has a secret. `touchpoints.verified` carries that to the timeline; touchpoints
//! entered by people or recorded before are verified.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, default) in [("inbound_events", false), ("touchpoints", true)] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(boolean("verified").default(default))
                        .take(),
                )
                .await?;
        }
        let signed_connectors = Query::select()
            .column("id")
            .from("connectors")
            .and_where(Expr::col("secret_sealed").is_not_null())
            .take();
        manager
            .execute(
                Query::update()
                    .table("inbound_events")
                    .value("verified", true)
                    .and_where(Expr::col("connector_id").in_subquery(signed_connectors))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["touchpoints", "inbound_events"] {
            manager
                .alter_table(Table::alter().table(table).drop_column("verified").take())
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
