//! Duplicate detection: the rules admins tune per record type (seeded with one warning rule per
//! type), the match keys every record write keeps so one record's candidates are found by index,
//! and the clusters a background scan finds for review.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::prelude::Uuid};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The rules a fresh install starts with: each warns about likely duplicates of its type.
const DEFAULT_RULES: [(&str, &str, &str); 4] = [
    (
        "lead",
        "Same person",
        r#"[{"field":"first_name","comparator":"jaro_winkler"},{"field":"last_name","comparator":"jaro_winkler"},{"field":"email","comparator":"exact"},{"field":"phone","comparator":"exact"},{"field":"company","comparator":"token_set"}]"#,
    ),
    (
        "contact",
        "Same person",
        r#"[{"field":"first_name","comparator":"jaro_winkler"},{"field":"last_name","comparator":"jaro_winkler"},{"field":"email","comparator":"exact"},{"field":"phone","comparator":"exact"}]"#,
    ),
    (
        "account",
        "Same company",
        r#"[{"field":"name","comparator":"token_set"},{"field":"canonical_domain","comparator":"exact"},{"field":"phone","comparator":"exact"}]"#,
    ),
    (
        "opportunity",
        "Same deal",
        r#"[{"field":"name","comparator":"token_set"},{"field":"account_id","comparator":"exact"}]"#,
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("dedupe_rules")
                    .col(pk_uuid("id"))
                    .col(string("record_type"))
                    .col(string("name"))
                    .col(string("action"))
                    .col(json("fields"))
                    .col(double("threshold"))
                    .col(json_null("weights"))
                    .col(string("weights_source"))
                    .col(boolean("active"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("match_keys")
                    .col(string("record_type"))
                    .col(string("key"))
                    .col(uuid("record_id"))
                    .primary_key(
                        Index::create()
                            .col("record_type")
                            .col("key")
                            .col("record_id"),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_match_keys_record_id")
                    .table("match_keys")
                    .col("record_id")
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("duplicate_clusters")
                    .col(pk_uuid("id"))
                    .col(string("record_type"))
                    .col(uuid("rule_id"))
                    .col(json("members"))
                    .col(integer("size"))
                    .col(double("top_probability"))
                    .col(string("status"))
                    .col(timestamp_with_time_zone("found_at"))
                    .col(timestamp_with_time_zone_null("reviewed_at"))
                    .col(uuid_null("reviewed_by"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_duplicate_clusters_type_status")
                    .table("duplicate_clusters")
                    .col("record_type")
                    .col("status")
                    .take(),
            )
            .await?;
        let now = chrono::Utc::now();
        let mut seed = Query::insert()
            .into_table("dedupe_rules")
            .columns([
                "id",
                "record_type",
                "name",
                "action",
                "fields",
                "threshold",
                "weights_source",
                "active",
                "created_at",
                "updated_at",
            ])
            .to_owned();
        for (record_type, name, fields) in DEFAULT_RULES {
            seed.values([
                Uuid::now_v7().into(),
                record_type.into(),
                name.into(),
                "warn".into(),
                serde_json::from_str::<serde_json::Value>(fields)
                    .map_err(|err| DbErr::Migration(format!("default dedupe rules: {err}")))?
                    .into(),
                0.9.into(),
                "default".into(),
                true.into(),
                now.into(),
                now.into(),
            ])
            .map_err(|err| DbErr::Migration(format!("default dedupe rules: {err}")))?;
        }
        manager.execute(seed).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["duplicate_clusters", "match_keys", "dedupe_rules"] {
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
