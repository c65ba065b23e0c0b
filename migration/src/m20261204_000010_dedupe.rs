//! Duplicate detection: the rules admins tune per record type (seeded with one warning rule per
//! type), the match keys every record write keeps so one record's candidates are found by index
//! (backfilled here for the records already stored, by the same `canonical::keys` the services
//! file them with), and the clusters a background scan finds for review.

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, prelude::Uuid},
};

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

/// The columns each table's keys are made of, in the order `keys_of` reads them.
const KEYED: [(&str, &str, &[&str]); 4] = [
    (
        "leads",
        "lead",
        &["email", "phone", "first_name", "last_name", "company"],
    ),
    (
        "contacts",
        "contact",
        &["email", "phone", "first_name", "last_name"],
    ),
    (
        "accounts",
        "account",
        &["name", "canonical_domain", "phone"],
    ),
    ("opportunities", "opportunity", &["name", "account_id"]),
];

/// Rows written per statement, well under either store's limit on bound values.
const KEYS_PER_INSERT: usize = 300;

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
        manager.execute(seed).await?;
        backfill_match_keys(manager.get_connection()).await
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

/// Files every stored record under its match keys.
async fn backfill_match_keys(db: &SchemaManagerConnection<'_>) -> Result<(), DbErr> {
    for (table, record_type, columns) in KEYED {
        let select = Query::select()
            .column("id")
            .columns(columns.iter().copied())
            .from(table)
            .take();
        let mut filed: Vec<(Uuid, String)> = Vec::new();
        for row in db.query_all(&select).await? {
            let id: Uuid = row.try_get_by_index(0)?;
            let text = |index: usize| row.try_get_by_index::<Option<String>>(index);
            let keys = match record_type {
                "lead" | "contact" => {
                    let company = if record_type == "lead" {
                        text(5)?
                    } else {
                        None
                    };
                    canonical::keys::person(
                        text(1)?.as_deref(),
                        text(2)?.as_deref(),
                        text(3)?.as_deref(),
                        text(4)?.as_deref(),
                        company.as_deref(),
                    )
                }
                "account" => canonical::keys::company(
                    &text(1)?.unwrap_or_default(),
                    text(2)?.as_deref(),
                    text(3)?.as_deref(),
                ),
                _ => {
                    let account = row
                        .try_get_by_index::<Option<Uuid>>(2)?
                        .map(|a| a.to_string());
                    canonical::keys::deal(&text(1)?.unwrap_or_default(), account.as_deref())
                }
            };
            let mut keys = keys;
            keys.sort();
            keys.dedup();
            filed.extend(keys.into_iter().map(|key| (id, key)));
        }
        for chunk in filed.chunks(KEYS_PER_INSERT) {
            let mut insert = Query::insert()
                .into_table("match_keys")
                .columns(["record_type", "key", "record_id"])
                .to_owned();
            for (id, key) in chunk {
                insert
                    .values([record_type.into(), key.clone().into(), (*id).into()])
                    .map_err(|err| DbErr::Migration(format!("match keys: {err}")))?;
            }
            db.execute(&insert).await?;
        }
    }
    Ok(())
}
