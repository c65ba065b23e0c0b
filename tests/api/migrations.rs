//! Migrations keep what was stored before them, on both stores: a store migrated up to a
//! release, given rows as that release wrote them, and migrated on keeps every row, index and
//! link under the new names, and rolls back to the old ones.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use entity::{delivery, replay_nonce, touchpoint};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, Database, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, Statement,
    sea_query::{Expr, ExprTrait, Query},
};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::TestStore;

/// Migrations before the one that named deliveries once.
const BEFORE_DELIVERY_NAMES: u32 = 4;

const RECEIVED_AT_HEADER: &str = "x-touchbase-received-at";

/// The rows the release before wrote for one web form delivery.
struct OldRows {
    connector: Uuid,
    delivery: Uuid,
    touchpoint: Uuid,
    nonce: Uuid,
    received_at: DateTime<Utc>,
}

async fn write_old_rows(db: &DatabaseConnection) -> OldRows {
    let rows = OldRows {
        connector: Uuid::now_v7(),
        delivery: Uuid::now_v7(),
        touchpoint: Uuid::now_v7(),
        nonce: Uuid::now_v7(),
        received_at: "2026-11-20T08:00:00.123Z".parse().unwrap(),
    };
    let at = rows.received_at;
    let statements = [
        Query::insert()
            .into_table("connectors")
            .columns([
                "id",
                "kind",
                "name",
                "enabled",
                "settings",
                "created_at",
                "updated_at",
            ])
            .values_panic([
                rows.connector.into(),
                "web_form".into(),
                "Contact form".into(),
                true.into(),
                json!({}).into(),
                at.into(),
                at.into(),
            ])
            .take(),
        Query::insert()
            .into_table("inbound_events")
            .columns([
                "id",
                "connector_id",
                "delivery_id",
                "headers",
                "body",
                "url",
                "status",
                "next_attempt_at",
                "received_at",
                "verified",
            ])
            .values_panic([
                rows.delivery.into(),
                rows.connector.into(),
                "form-1".into(),
                json!({
                    "content-type": "application/x-www-form-urlencoded",
                    RECEIVED_AT_HEADER: "2026-11-20T08:00:00.123000Z",
                })
                .into(),
                b"email=ada%40example.com".to_vec().into(),
                "https://crm.example.test/hooks/form".into(),
                "processed".into(),
                at.into(),
                at.into(),
                false.into(),
            ])
            .take(),
        Query::insert()
            .into_table("touchpoints")
            .columns([
                "id",
                "channel",
                "occurred_at",
                "created_at",
                "connector_id",
                "inbound_event_id",
                "external_id",
            ])
            .values_panic([
                rows.touchpoint.into(),
                "web_form".into(),
                at.into(),
                at.into(),
                rows.connector.into(),
                rows.delivery.into(),
                "form-1".into(),
            ])
            .take(),
        Query::insert()
            .into_table("replay_nonces")
            .columns(["id", "connector_id", "nonce", "delivery_id", "seen_at"])
            .values_panic([
                rows.nonce.into(),
                rows.connector.into(),
                "token-1".into(),
                "form-1".into(),
                at.into(),
            ])
            .take(),
    ];
    for statement in statements {
        db.execute(&statement).await.expect("an old row is written");
    }
    rows
}

/// The names of the store's indexes on `tables` (PostgreSQL's primary keys included).
async fn indexes(db: &DatabaseConnection, tables: &[&str]) -> BTreeSet<String> {
    let backend = db.get_database_backend();
    let list = tables
        .iter()
        .map(|table| format!("'{table}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = match backend {
        DbBackend::Postgres => {
            format!("SELECT indexname AS name FROM pg_indexes WHERE tablename IN ({list})")
        }
        _ => format!(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({list}) \
             AND name NOT LIKE 'sqlite_autoindex%'"
        ),
    };
    names(db, sql).await
}

async fn names(db: &DatabaseConnection, sql: String) -> BTreeSet<String> {
    let backend = db.get_database_backend();
    db.query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "name").unwrap())
        .collect()
}

/// A row `Query` can insert into `deliveries` for `connector` under `external_id`.
async fn insert_delivery(
    db: &DatabaseConnection,
    connector: Uuid,
    external_id: &str,
) -> Result<(), sea_orm::DbErr> {
    let now = Utc::now();
    let insert = Query::insert()
        .into_table("deliveries")
        .columns([
            "id",
            "connector_id",
            "external_id",
            "headers",
            "body",
            "url",
            "status",
            "next_attempt_at",
            "received_at",
        ])
        .values_panic([
            Uuid::now_v7().into(),
            connector.into(),
            external_id.into(),
            json!({}).into(),
            Vec::<u8>::new().into(),
            "".into(),
            "pending".into(),
            now.into(),
            now.into(),
        ])
        .take();
    db.execute(&insert).await.map(drop)
}

#[tokio::test]
async fn deliveries_get_one_name_and_keep_their_rows_indexes_and_links() {
    let store = TestStore::new().await;
    let db = Database::connect(&store.url).await.unwrap();
    Migrator::up(&db, Some(BEFORE_DELIVERY_NAMES))
        .await
        .unwrap();
    let old = write_old_rows(&db).await;

    // Only the renaming, so rolling back one step below undoes it whatever comes after.
    Migrator::up(&db, Some(1)).await.unwrap();

    let delivery = delivery::Entity::find_by_id(old.delivery)
        .one(&db)
        .await
        .unwrap()
        .expect("the delivery is kept");
    assert_eq!(delivery.connector_id, old.connector);
    assert_eq!(delivery.external_id, "form-1");
    assert_eq!(delivery.received_at, old.received_at);
    assert_eq!(
        delivery.headers,
        json!({ "content-type": "application/x-www-form-urlencoded" }),
        "the made-up receive time header is gone, the provider's headers stay"
    );
    assert_eq!(delivery.body, b"email=ada%40example.com");
    let touch = touchpoint::Entity::find_by_id(old.touchpoint)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(touch.delivery_id, Some(old.delivery));
    let nonce = replay_nonce::Entity::find_by_id(old.nonce)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(nonce.external_id, "form-1");

    let found = indexes(&db, &["deliveries", "touchpoints", "inbound_events"]).await;
    for index in [
        "idx_deliveries_due",
        "uq_deliveries_external",
        "idx_deliveries_connector_received",
        "idx_touchpoints_delivery",
    ] {
        assert!(found.contains(index), "{index} in {found:?}");
    }
    assert!(
        found.iter().all(|name| !name.contains("inbound_event")),
        "{found:?}"
    );
    if db.get_database_backend() == DbBackend::Postgres {
        let constraints = names(
            &db,
            "SELECT conname::text AS name FROM pg_constraint \
             WHERE conrelid = 'deliveries'::regclass"
                .into(),
        )
        .await;
        assert!(
            constraints.contains("deliveries_pkey")
                && constraints.contains("fk_deliveries_connector_id"),
            "{constraints:?}"
        );
    }
    assert!(
        insert_delivery(&db, old.connector, "form-1").await.is_err(),
        "the provider's key is still unique per connector"
    );
    assert!(
        insert_delivery(&db, Uuid::now_v7(), "form-2")
            .await
            .is_err(),
        "a delivery still needs its connector"
    );
    insert_delivery(&db, old.connector, "form-2").await.unwrap();
    assert_eq!(delivery::Entity::find().all(&db).await.unwrap().len(), 2);

    Migrator::down(&db, Some(1)).await.unwrap();
    let headers = db
        .query_one(
            &Query::select()
                .column("headers")
                .from("inbound_events")
                .and_where(Expr::col("delivery_id").eq("form-1"))
                .take(),
        )
        .await
        .unwrap()
        .unwrap()
        .try_get::<serde_json::Value>("", "headers")
        .unwrap();
    let restored = headers[RECEIVED_AT_HEADER]
        .as_str()
        .and_then(|value| DateTime::parse_from_rfc3339(value).ok())
        .unwrap_or_else(|| panic!("rolling back restores the header: {headers}"));
    assert_eq!(restored, old.received_at);
    let found = indexes(&db, &["inbound_events", "touchpoints"]).await;
    assert!(
        found.contains("uq_inbound_events_delivery") && found.contains("idx_inbound_events_due"),
        "{found:?}"
    );
    Migrator::up(&db, None).await.unwrap();
    db.close().await.unwrap();
}

/// How many migrations run before the one that brought pipelines.
fn before_pipelines() -> u32 {
    let position = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261202_000004_pipelines")
        .expect("the pipelines migration is listed");
    u32::try_from(position).unwrap()
}

#[tokio::test]
async fn stages_join_the_default_pipeline_keep_their_deals_and_their_names_go_per_pipeline() {
    let store = TestStore::new().await;
    let db = Database::connect(&store.url).await.unwrap();
    Migrator::up(&db, Some(before_pipelines())).await.unwrap();
    let stage: Uuid = db
        .query_one(
            &Query::select()
                .column("id")
                .from("pipeline_stages")
                .and_where(Expr::col("name").eq("Demo"))
                .take(),
        )
        .await
        .unwrap()
        .unwrap()
        .try_get("", "id")
        .unwrap();
    let deal = Uuid::now_v7();
    let now = Utc::now();
    db.execute(
        &Query::insert()
            .into_table("opportunities")
            .columns([
                "id",
                "name",
                "stage_id",
                "amount_minor",
                "currency",
                "created_at",
                "updated_at",
            ])
            .values_panic([
                deal.into(),
                "Old deal".into(),
                stage.into(),
                500_i64.into(),
                "USD".into(),
                now.into(),
                now.into(),
            ])
            .take(),
    )
    .await
    .unwrap();

    // It and the migrations after it, so the entities read the schema they describe.
    Migrator::up(&db, None).await.unwrap();

    let pipelines = entity::pipeline::Entity::find().all(&db).await.unwrap();
    assert_eq!(pipelines.len(), 1);
    assert_eq!(pipelines[0].name, "New business");
    let stages = entity::pipeline_stage::Entity::find()
        .all(&db)
        .await
        .unwrap();
    assert_eq!(stages.len(), 8);
    assert!(stages.iter().all(|s| s.pipeline_id == pipelines[0].id));
    assert!(stages.iter().all(|s| s.archived_at.is_none()));
    let kept = entity::opportunity::Entity::find_by_id(deal)
        .one(&db)
        .await
        .unwrap()
        .expect("the deal is kept");
    assert_eq!(kept.stage_id, stage);

    let insert_stage = async |pipeline: Uuid, name: &str| {
        db.execute(
            &Query::insert()
                .into_table("pipeline_stages")
                .columns([
                    "id",
                    "pipeline_id",
                    "name",
                    "position",
                    "probability",
                    "is_won",
                    "is_lost",
                ])
                .values_panic([
                    Uuid::now_v7().into(),
                    pipeline.into(),
                    name.into(),
                    1.into(),
                    10.into(),
                    false.into(),
                    false.into(),
                ])
                .take(),
        )
        .await
        .map(drop)
    };
    let renewals = Uuid::now_v7();
    db.execute(
        &Query::insert()
            .into_table("pipelines")
            .columns(["id", "name", "position"])
            .values_panic([renewals.into(), "Renewals".into(), 2.into()])
            .take(),
    )
    .await
    .unwrap();
    insert_stage(renewals, "Demo").await.unwrap();
    assert!(
        insert_stage(pipelines[0].id, "Demo").await.is_err(),
        "names stay unique within a pipeline"
    );
    let found = indexes(&db, &["pipeline_stages", "pipelines"]).await;
    assert!(
        found.contains("uq_pipeline_stages_pipeline_name") && found.contains("uq_pipelines_name"),
        "{found:?}"
    );
    assert!(!found.contains("uq_pipeline_stages_name"), "{found:?}");

    // Back to one pipeline once the names are unique again.
    db.execute(
        &Query::delete()
            .from_table("pipeline_stages")
            .and_where(Expr::col("pipeline_id").eq(renewals))
            .take(),
    )
    .await
    .unwrap();
    // Back to before it: it and the migrations after it.
    let after = Migrator::migrations().len() as u32 - before_pipelines();
    Migrator::down(&db, Some(after)).await.unwrap();
    let found = indexes(&db, &["pipeline_stages"]).await;
    assert!(found.contains("uq_pipeline_stages_name"), "{found:?}");
    Migrator::up(&db, None).await.unwrap();
    db.close().await.unwrap();
}

/// How many migrations run before the one that folded search text and canonical domains.
fn before_folded_search() -> u32 {
    let position = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261203_000001_folded_search")
        .expect("the folded search migration is listed");
    u32::try_from(position).unwrap()
}

/// The accounts the full-text index finds for one word prefix, as each store spells it.
async fn accounts_found(db: &DatabaseConnection, prefix: &str) -> BTreeSet<String> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => format!(
            "SELECT name FROM accounts WHERE search_words @@ CAST('''{prefix}'':*' AS tsquery)"
        ),
        _ => format!(
            "SELECT name FROM accounts WHERE rowid IN \
             (SELECT rowid FROM accounts_search WHERE accounts_search MATCH '\"{prefix}\"*')"
        ),
    };
    names(db, sql).await
}

#[tokio::test]
async fn stored_accounts_get_folded_search_text_and_the_oldest_keeps_a_shared_domain() {
    let store = TestStore::new().await;
    let db = Database::connect(&store.url).await.unwrap();
    Migrator::up(&db, Some(before_folded_search()))
        .await
        .unwrap();
    let older = Uuid::now_v7();
    let newer = Uuid::now_v7();
    let plain = Uuid::now_v7();
    let at: DateTime<Utc> = "2026-11-20T08:00:00Z".parse().unwrap();
    let rows: [(Uuid, &str, Option<&str>, DateTime<Utc>); 3] = [
        (
            newer,
            "Ødegård Bygg AS",
            Some("https://www.odegard.no/"),
            at + chrono::Duration::days(1),
        ),
        (older, "Siân Llŷr Cyf", Some("ODEGARD.NO"), at),
        (plain, "کریمی", None, at),
    ];
    for (id, name, domain, created) in rows {
        db.execute(
            &Query::insert()
                .into_table("accounts")
                .columns(["id", "name", "domain", "status", "created_at", "updated_at"])
                .values_panic([
                    id.into(),
                    name.into(),
                    domain.map(str::to_owned).into(),
                    "prospect".into(),
                    created.into(),
                    created.into(),
                ])
                .take(),
        )
        .await
        .unwrap();
    }

    // It and the migrations after it, so the entities read the schema they describe.
    Migrator::up(&db, None).await.unwrap();

    let stored = |id: Uuid| {
        let db = &db;
        async move {
            entity::account::Entity::find_by_id(id)
                .one(db)
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert_eq!(
        stored(older).await.canonical_domain.as_deref(),
        Some("odegard.no")
    );
    assert_eq!(
        stored(newer).await.canonical_domain,
        None,
        "left for a merge"
    );
    assert_eq!(stored(plain).await.canonical_domain, None);
    assert_eq!(
        stored(newer).await.search_text.as_deref(),
        Some("odegard bygg as https www odegard no")
    );
    assert_eq!(
        accounts_found(&db, "odegard").await,
        BTreeSet::from(["Ødegård Bygg AS".to_owned(), "Siân Llŷr Cyf".to_owned()])
    );
    assert_eq!(
        accounts_found(&db, "sian").await,
        BTreeSet::from(["Siân Llŷr Cyf".to_owned()])
    );
    assert_eq!(
        accounts_found(&db, "کریم").await,
        BTreeSet::from(["کریمی".to_owned()])
    );
    let found = indexes(&db, &["accounts"]).await;
    assert!(found.contains("idx_accounts_canonical_domain"), "{found:?}");

    // Back to before it: it and the migrations after it.
    let after = Migrator::migrations().len() as u32 - before_folded_search();
    Migrator::down(&db, Some(after)).await.unwrap();
    let found = indexes(&db, &["accounts"]).await;
    assert!(
        !found.contains("idx_accounts_canonical_domain"),
        "{found:?}"
    );
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(
        accounts_found(&db, "llyr").await,
        BTreeSet::from(["Siân Llŷr Cyf".to_owned()])
    );
    db.close().await.unwrap();
}

fn before_dedupe() -> u32 {
    let position = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261204_000010_dedupe")
        .expect("the dedupe migration is listed");
    u32::try_from(position).unwrap()
}

#[tokio::test]
async fn stored_records_are_filed_under_their_match_keys_and_a_rule_per_type_is_seeded() {
    let store = TestStore::new().await;
    let db = Database::connect(&store.url).await.unwrap();
    Migrator::up(&db, Some(before_dedupe())).await.unwrap();
    let lead = Uuid::now_v7();
    let contact = Uuid::now_v7();
    let at: DateTime<Utc> = "2026-11-20T08:00:00Z".parse().unwrap();
    db.execute(
        &Query::insert()
            .into_table("leads")
            .columns([
                "id",
                "first_name",
                "last_name",
                "email",
                "company",
                "status",
                "lifecycle_stage",
                "competitors",
                "objections",
                "fit_score",
                "engagement_score",
                "score",
                "custom_fields",
                "created_at",
                "updated_at",
            ])
            .values_panic([
                lead.into(),
                "Siân".into(),
                "Llŷr".into(),
                "sian@cwmni.cymru".into(),
                "Cwmni Cyf".into(),
                "not_contacted".into(),
                "lead".into(),
                json!([]).into(),
                json!([]).into(),
                0.into(),
                0.into(),
                0.into(),
                json!({}).into(),
                at.into(),
                at.into(),
            ])
            .take(),
    )
    .await
    .unwrap();
    db.execute(
        &Query::insert()
            .into_table("contacts")
            .columns([
                "id",
                "last_name",
                "phone",
                "lifecycle_stage",
                "created_at",
                "updated_at",
            ])
            .values_panic([
                contact.into(),
                "Karimi".into(),
                "+442920180000".into(),
                "customer".into(),
                at.into(),
                at.into(),
            ])
            .take(),
    )
    .await
    .unwrap();

    Migrator::up(&db, None).await.unwrap();

    let keys_of = |id: Uuid| {
        let db = &db;
        async move {
            let mut keys: Vec<String> = entity::match_key::Entity::find()
                .filter(entity::match_key::Column::RecordId.eq(id))
                .all(db)
                .await
                .unwrap()
                .into_iter()
                .map(|k| format!("{}/{}", k.record_type.as_str(), k.key))
                .collect();
            keys.sort();
            keys
        }
    };
    assert_eq!(
        keys_of(lead).await,
        [
            "lead/email:sian@cwmni.cymru",
            "lead/first:sia|cwm",
            "lead/name:llyr|s"
        ]
    );
    assert_eq!(keys_of(contact).await, ["contact/phone:+442920180000"]);
    let rules = entity::dedupe_rule::Entity::find().all(&db).await.unwrap();
    let mut types: Vec<&str> = rules.iter().map(|r| r.record_type.as_str()).collect();
    types.sort();
    assert_eq!(types, ["account", "contact", "lead", "opportunity"]);
    assert!(
        rules
            .iter()
            .all(|r| r.fields.as_array().is_some_and(|f| !f.is_empty()))
    );

    let after = Migrator::migrations().len() as u32 - before_dedupe();
    Migrator::down(&db, Some(after)).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(keys_of(contact).await, ["contact/phone:+442920180000"]);
    db.close().await.unwrap();
}
