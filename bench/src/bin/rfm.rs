//! RFM benchmark: seeds `accounts` paying accounts (one to five Stripe payments each, a third of
//! them reported twice as invoice and charge), then times two full RFM recomputes (the first
//! moves every account from prospect to customer, the second is the steady hourly run) against
//! a baseline in the same run: reading the same purchase rows alone with one query, the least
//! any recompute must do. Prints one JSON line with the times and the process's peak RSS
//! (which the seeding, holding every row it inserts, dominates).
//!
//! Usage: `rfm <database-url> <accounts>` on an empty database.
#[path = "../rss.rs"]
mod rss;
use rss::peak_rss_mb;

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use entity::{
    account,
    enums::{AccountStatus, TouchpointChannel},
    touchpoint,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde_json::json;
use touchbase::{db, events::Events, sales::rfm};
use uuid::Uuid;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Rows per INSERT while seeding, under both stores' bound-value limits.
const CHUNK: usize = 1_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .context("usage: rfm <database-url> <accounts>")?;
    let accounts: usize = args
        .next()
        .context("usage: rfm <database-url> <accounts>")?
        .parse()?;
    let db = db::connect(&url, 4, Duration::from_secs(30)).await?;
    db::migrate(&db).await?;

    let seeded = Instant::now();
    let now = Utc::now();
    let mut rows = Vec::new();
    let mut ids = Vec::with_capacity(accounts);
    for n in 0..accounts {
        let id = Uuid::now_v7();
        ids.push(account::ActiveModel {
            id: Set(id),
            name: Set(format!("Account {n}")),
            status: Set(AccountStatus::Prospect),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
        for p in 0..(1 + n % 5) {
            let days = ((n * 7 + p * 31) % 500) as i64;
            let invoice = format!("in_{n}_{p}");
            let payment = |event: &str, ids: serde_json::Value| touchpoint::ActiveModel {
                id: Set(Uuid::now_v7()),
                account_id: Set(Some(id)),
                channel: Set(TouchpointChannel::Billing),
                event: Set(Some(event.to_owned())),
                amount_minor: Set(Some(((n * 37 + p * 11) % 100_000) as i64)),
                currency: Set(Some(if n % 10 == 0 { "EUR" } else { "USD" }.into())),
                details: Set(Some(json!({ "provider_ids": ids }))),
                occurred_at: Set(now - chrono::Duration::days(days)),
                created_at: Set(now),
                verified: Set(true),
                ..Default::default()
            };
            rows.push(payment("invoice.paid", json!({ "invoice": invoice })));
            if n % 3 == 0 {
                rows.push(payment(
                    "charge.succeeded",
                    json!({ "invoice": invoice, "charge": format!("ch_{n}_{p}") }),
                ));
            }
        }
    }
    let purchases = rows.len();
    for chunk in ids.chunks(CHUNK) {
        account::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&db)
            .await?;
    }
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(CHUNK).collect();
        touchpoint::Entity::insert_many(chunk)
            .exec_without_returning(&db)
            .await?;
    }
    let seeded = seeded.elapsed();

    let read = Instant::now();
    let baseline = touchpoint::Entity::find()
        .select_only()
        .columns([
            touchpoint::Column::AccountId,
            touchpoint::Column::OccurredAt,
            touchpoint::Column::AmountMinor,
            touchpoint::Column::Currency,
            touchpoint::Column::Details,
        ])
        .filter(touchpoint::Column::Channel.eq(TouchpointChannel::Billing))
        .filter(touchpoint::Column::AccountId.is_not_null())
        .into_tuple::<(
            Uuid,
            chrono::DateTime<Utc>,
            i64,
            Option<String>,
            Option<serde_json::Value>,
        )>()
        .all(&db)
        .await?
        .len();
    let read = read.elapsed();

    let events = Events::in_process();
    let started = Instant::now();
    let scored = rfm::recompute(&db, &events, "USD", 180, Utc::now()).await?;
    let recompute = started.elapsed();
    // The hourly run after it: the same purchases, no account changing status.
    let started = Instant::now();
    rfm::recompute(&db, &events, "USD", 180, Utc::now()).await?;
    let again = started.elapsed();
    println!(
        "{}",
        json!({
            "accounts": accounts, "scored": scored, "payment_rows": purchases, "baseline_rows": baseline,
            "seed_s": seeded.as_secs_f64(), "read_s": read.as_secs_f64(),
            "recompute_s": recompute.as_secs_f64(), "again_s": again.as_secs_f64(),
            "ratio": again.as_secs_f64() / read.as_secs_f64(),
            "peak_rss_mb": peak_rss_mb(),
        })
    );
    Ok(())
}
