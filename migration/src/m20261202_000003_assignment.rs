//! Lead assignment: the ordered rules admins edit, one row per assignment made (with why), and
//! what the engine needs to know about a user's availability (out-of-office dates, capacity).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("assignment_rules")
                    .col(uuid("id").primary_key())
                    .col(string("name"))
                    .col(integer("position"))
                    .col(boolean("active"))
                    .col(json("conditions"))
                    .col(string("strategy"))
                    .col(uuid_null("user_id"))
                    .col(uuid_null("team_id"))
                    .col(integer_null("sla_minutes"))
                    .col(boolean("reassign_on_breach"))
                    // Bumped under the row's lock by every assignment through the rule: the
                    // turn of a round robin, and what serialises a team's assignments.
                    .col(big_integer("turns"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("assignments")
                    .col(uuid("id").primary_key())
                    .col(uuid("lead_id"))
                    .col(uuid_null("owner_id"))
                    .col(uuid_null("previous_owner_id"))
                    .col(string("reason"))
                    .col(uuid_null("rule_id"))
                    .col(string_null("rule_name"))
                    .col(string_null("strategy"))
                    .col(json("matched"))
                    .col(json("candidates"))
                    .col(uuid_null("actor_id"))
                    .col(uuid_null("task_id"))
                    .col(timestamp_with_time_zone_null("sla_due_at"))
                    .col(boolean("reassign_on_breach"))
                    .col(timestamp_with_time_zone_null("breached_at"))
                    .col(timestamp_with_time_zone_null("first_response_at"))
                    .col(big_integer_null("first_response_secs"))
                    .col(timestamp_with_time_zone("created_at"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("assignments_of_lead")
                    .table("assignments")
                    .col("lead_id")
                    .col("created_at")
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("assignments_sla_open")
                    .table("assignments")
                    .col("sla_due_at")
                    .take(),
            )
            .await?;
        for column in [
            date_null("away_from"),
            date_null("away_until"),
            integer_null("max_open_leads"),
        ] {
            manager
                .alter_table(Table::alter().table("users").add_column(column).take())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["max_open_leads", "away_until", "away_from"] {
            manager
                .alter_table(Table::alter().table("users").drop_column(column).take())
                .await?;
        }
        manager
            .drop_table(Table::drop().table("assignments").take())
            .await?;
        manager
            .drop_table(Table::drop().table("assignment_rules").take())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
