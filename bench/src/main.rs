//! Benchmark server: the real Touchbase app plus raw-SQL baselines on the same pool, over a
//! seeded data set. `bench/run.sh` drives it with wrk.
//!
//! Usage: `touchbase-bench <database-url> <bind>`. Prints one JSON line (`token`, `lead_id`,
//! `addr`, `connector_id`, `stripe_secret`) once it is ready.
//!
//! The app runs no inbox worker of its own, so webhook intake is measured alone; `POST
//! /bench/drain` then works the inbox to empty with the configured number of workers and
//! answers how many deliveries it processed and how long that took.

use std::net::SocketAddr;

use anyhow::Context;
use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::HeaderMap,
    routing::{get, post},
};
use chrono::Utc;
use entity::{
    delivery,
    enums::{DeliveryStatus, TouchpointChannel},
    lead, touchpoint, user,
};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{Value, json};
use touchbase::{
    config::Config,
    http,
    hub::worker::WorkerContext,
    server,
    services::{
        leads,
        page::{self, SortDirection},
        records,
        touchpoints::TouchpointOrder,
    },
};
use uuid::Uuid;

/// The allocator the `touchbase` binary uses, so the benchmark measures what runs in production.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LEADS: usize = 1_000;
const TOUCHPOINTS_PER_LEAD: usize = 5;
const OWNERS: usize = 10;
const ADMIN_EMAIL: &str = "bench@example.com";
const ADMIN_PASSWORD: &str = "bench-password-1";
/// The Stripe signing secret of the benchmark's connector; run.sh signs requests with it.
const STRIPE_SECRET: &str = "whsec_bench_0123456789abcdefghijklmnop";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let database_url = args
        .next()
        .context("usage: touchbase-bench <database-url> <bind>")?;
    let bind: SocketAddr = args
        .next()
        .context("usage: touchbase-bench <database-url> <bind>")?
        .parse()?;

    let mut config = Config {
        database_url,
        bind,
        ..Config::default()
    };
    config.admin_email = Some(ADMIN_EMAIL.into());
    config.admin_password = Some(ADMIN_PASSWORD.into());
    // The benchmark measures throughput, not the abuse limits.
    config.requests_per_second_per_user = 1_000_000;
    config.request_burst_per_user = 1_000_000;
    config.login_attempts_per_account_per_minute = 1_000;
    config.hook_requests_per_minute_per_connector = u32::MAX;
    config.hook_burst_per_connector = u32::MAX;
    config.hook_requests_per_minute_per_address = u32::MAX;
    config.hook_burst_per_address = u32::MAX;
    let workers = config.hub_workers;
    config.hub_workers = 0;
    if let Some(pool) = std::env::var("TOUCHBASE_MAX_DB_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.max_db_connections = pool;
    }
    let state = server::build(config).await?;
    let db = state.services.db.clone();
    let lead_id = seed(&db).await?;
    let connector_id = stripe_connector(&state).await?;
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;

    let baseline = Router::new()
        .route("/baseline/lead/{id}", get(baseline_lead))
        .route("/baseline/leads", get(baseline_nested))
        .route("/baseline/hooks/{connector_id}", post(baseline_hook))
        .with_state(db.clone());
    let drain = Router::new()
        .route("/bench/drain", post(drain))
        .with_state((
            WorkerContext::new(&state.services, state.hub.clone()),
            workers.max(1),
        ));
    let app = http::router(state).merge(baseline).merge(drain);
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });

    let token = login(addr).await?;
    println!(
        "{}",
        json!({ "token": token, "lead_id": lead_id, "addr": addr.to_string(),
                "connector_id": connector_id, "stripe_secret": STRIPE_SECRET })
    );
    server.await??;
    Ok(())
}

/// 1,000 leads over 10 owners, 5 touchpoints each; returns one lead's id.
async fn seed(db: &DatabaseConnection) -> anyhow::Result<Uuid> {
    if let Some(existing) = lead::Entity::find().one(db).await? {
        return Ok(existing.id);
    }
    let admin = touchbase::auth::system_actor();
    let mut owners = Vec::new();
    for n in 0..OWNERS {
        let input = touchbase::services::users::NewUser {
            email: format!("rep{n}@example.com"),
            name: format!("Rep {n}"),
            role: entity::enums::Role::Sales,
            password: None,
            team_id: None,
        };
        owners.push(
            touchbase::services::users::create(db, &admin, input)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .id,
        );
    }
    // One transaction for the whole seed, written through the record lifecycle as the API and
    // the hub write: the rows and their audit trail look like a live store's. Nobody listens
    // yet, so the change events are dropped.
    let txn = touchbase::db::begin_write(db).await?;
    let now = Utc::now();
    let mut first = None;
    for n in 0..LEADS {
        let lead = lead::ActiveModel {
            email: Set(Some(format!("lead{n}@example.com"))),
            company: Set(Some(format!("Company {n}"))),
            owner_id: Set(Some(owners[n % OWNERS])),
            ..leads::blank()
        };
        let id = records::insert_in::<lead::Entity>(&txn, &admin, lead)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .model
            .id;
        first.get_or_insert(id);
        for t in 0..TOUCHPOINTS_PER_LEAD {
            let touchpoint = touchpoint::ActiveModel {
                id: Set(Uuid::now_v7()),
                lead_id: Set(Some(id)),
                channel: Set(TouchpointChannel::Email),
                source: Set(Some("newsletter".into())),
                occurred_at: Set(now - chrono::Duration::minutes(t as i64)),
                created_at: Set(now),
                ..Default::default()
            };
            let _ = records::insert_in::<touchpoint::Entity>(&txn, &admin, touchpoint)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    txn.commit().await?;
    // A bulk load leaves the planner's statistics behind; a live database has them.
    sea_orm::ConnectionTrait::execute_unprepared(db, "ANALYZE").await?;
    first.context("no lead seeded")
}

async fn login(addr: SocketAddr) -> anyhow::Result<String> {
    let body = json!({ "query": format!(
        "mutation {{ login(email: \"{ADMIN_EMAIL}\", password: \"{ADMIN_PASSWORD}\") {{ accessToken }} }}"
    ) });
    let response =
        tokio::task::spawn_blocking(move || http_post(addr, &body.to_string())).await??;
    let value: Value = serde_json::from_str(&response)?;
    value["data"]["login"]["accessToken"]
        .as_str()
        .map(str::to_owned)
        .context("login failed")
}

/// A bare HTTP/1.1 POST, so the benchmark pulls in no HTTP client.
fn http_post(addr: SocketAddr, body: &str) -> anyhow::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    write!(
        stream,
        "POST /graphql HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default())
}

/// The SELECT behind `lead(id:)`.
async fn baseline_lead(State(db): State<DatabaseConnection>, Path(id): Path<Uuid>) -> Json<Value> {
    let lead = lead::Entity::find_by_id(id).one(&db).await;
    Json(json!({ "data": { "lead": lead.ok().flatten() } }))
}

/// The SELECTs behind the 20 leads × 5 touchpoints list (which asks for no totals): the page,
/// the owners and the windowed first pages of touchpoints, reading the touchpoint columns the
/// query selects and those the page is keyed and ordered by, as the gateway does.
async fn baseline_nested(State(db): State<DatabaseConnection>) -> Json<Value> {
    let result: Result<Value, sea_orm::DbErr> = async {
        let leads = lead::Entity::find()
            .order_by_asc(lead::Column::Id)
            .limit(21)
            .all(&db)
            .await?;
        let owners = user::Entity::find()
            .filter(user::Column::Id.is_in(leads.iter().filter_map(|l| l.owner_id)))
            .all(&db)
            .await?;
        let ids: Vec<Uuid> = leads.iter().take(20).map(|l| l.id).collect();
        let order = [(TouchpointOrder::OccurredAt, SortDirection::Asc)];
        let projection = page::Projection {
            columns: &[
                touchpoint::Column::Id,
                touchpoint::Column::LeadId,
                touchpoint::Column::OccurredAt,
                touchpoint::Column::Channel,
            ],
            blank: &touchpoint::Model::default(),
        };
        let touchpoints = page::first_pages(
            &db,
            touchpoint::Entity::find(),
            touchpoint::Column::Id,
            touchpoint::Column::LeadId,
            &ids,
            &order,
            5,
            false,
            Some(projection),
        )
        .await
        .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
        let touchpoints: Vec<Value> = touchpoints
            .into_values()
            .map(|p| {
                let channels = p.items.iter().map(|(_, t)| json!({ "channel": t.channel }));
                json!(channels.collect::<Vec<_>>())
            })
            .collect();
        Ok(json!({ "leads": leads, "owners": owners, "touchpoints": touchpoints }))
    }
    .await;
    Json(json!({ "data": result.unwrap_or_else(|e| json!({ "error": e.to_string() })) }))
}

/// A Stripe connector with a wide timestamp tolerance, so requests signed before the run stay
/// valid through it.
async fn stripe_connector(state: &touchbase::http::AppState) -> anyhow::Result<Uuid> {
    let input = touchbase::hub::admin::NewConnector {
        kind: entity::enums::ConnectorKind::Stripe,
        name: "Benchmark billing".into(),
        secret: Some(STRIPE_SECRET.into()),
        settings: Some(json!({ "tolerance_secs": 86_400 })),
        enabled: None,
    };
    let admin = touchbase::auth::system_actor();
    let connector = touchbase::hub::admin::create(&state.services, &state.hub, &admin, input)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(connector.id)
}

/// The INSERT behind a webhook's acknowledgement, without looking up the connector or
/// verifying the signature: the headers and body stored as the hub stores them.
async fn baseline_hook(
    State(db): State<DatabaseConnection>,
    Path(connector_id): Path<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> Json<Value> {
    let headers: std::collections::BTreeMap<String, String> = headers
        .iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let now = Utc::now();
    let id = Uuid::now_v7();
    let inserted = delivery::Entity::insert(delivery::ActiveModel {
        id: Set(id),
        connector_id: Set(connector_id),
        external_id: Set(id.to_string()),
        headers: Set(json!(headers)),
        body: Set(body.to_vec()),
        url: Set(String::new()),
        verified: Set(true),
        // Stored as done, so the drain that follows works only the app's deliveries.
        status: Set(DeliveryStatus::Processed),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        touchpoint_count: Set(0),
        received_at: Set(now),
        processed_at: Set(Some(now)),
    })
    .on_conflict_do_nothing_on([delivery::Column::ConnectorId, delivery::Column::ExternalId])
    .exec_without_returning(&db)
    .await;
    Json(json!({ "stored": inserted.is_ok() }))
}

/// Works the inbox until nothing is due, with `workers` workers; answers the count and time.
async fn drain(State((context, workers)): State<(WorkerContext, usize)>) -> Json<Value> {
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let worker = context.clone();
        tasks.spawn(async move {
            let mut processed = 0_u64;
            while let Ok(true) = touchbase::hub::worker::process_next(&worker).await {
                processed += 1;
            }
            processed
        });
    }
    let processed: u64 = tasks.join_all().await.into_iter().sum();
    Json(json!({ "processed": processed, "seconds": started.elapsed().as_secs_f64() }))
}
