//! Rescoring benchmark: seeds `leads` leads with `touches` touchpoints each (emails opened and
//! clicked, forms, calls, meetings, bounces, spread over a year), scores them all once under the
//! default model, then changes the model (a territory rule, a shorter half-life) and times
//! rescoring every lead under it, as an admin's change does in the background. The baseline,
//! in the same run, reads the rows rescoring must read (each lead and its touches) with two
//! plain queries. Peak RSS is measured from just before the rescoring (the seeding's own peak
//! is reset), so it is the rescoring's.
//!
//! Usage: `rescore <database-url> <leads> <touches per lead>` on an empty database.
#[path = "../rss.rs"]
mod rss;
use rss::{peak_rss_mb, reset_peak_rss};

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use entity::{
    enums::{Direction, LeadStatus, LifecycleStage, TouchpointChannel},
    lead, touchpoint,
};
use sea_orm::{EntityTrait, QuerySelect, Set};
use serde_json::json;
use touchbase::{
    auth::system_actor,
    db,
    events::Events,
    sales::scoring::{self, FitField, FitGroup, FitRule, Operator},
};
use uuid::Uuid;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Rows per INSERT while seeding, under both stores' bound-value limits.
const CHUNK: usize = 1_000;

const TITLES: [&str; 6] = [
    "Chief Executive Officer",
    "Head of Sales",
    "Marketing Director",
    "Operations Manager",
    "Engineer",
    "Student",
];
const INDUSTRIES: [&str; 4] = ["Software", "Retail", "Healthcare", "Education"];
const DOMAINS: [&str; 4] = ["acme.io", "gmail.com", "globex.ie", "outlook.com"];
const COUNTRIES: [&str; 4] = ["IE", "GB", "US", "DE"];
/// (channel, direction, event, flag) of the touches, in turn.
const TOUCHES: [(TouchpointChannel, Direction, &str, Option<&str>); 8] = [
    (TouchpointChannel::Email, Direction::Inbound, "open", None),
    (TouchpointChannel::Email, Direction::Inbound, "click", None),
    (
        TouchpointChannel::Email,
        Direction::Outbound,
        "delivered",
        None,
    ),
    (
        TouchpointChannel::WebForm,
        Direction::Inbound,
        "form_submitted",
        None,
    ),
    (
        TouchpointChannel::Call,
        Direction::Inbound,
        "completed",
        None,
    ),
    (TouchpointChannel::Email, Direction::Inbound, "open", None),
    (
        TouchpointChannel::Meeting,
        Direction::Inbound,
        "invitee.created",
        None,
    ),
    (
        TouchpointChannel::Email,
        Direction::Outbound,
        "bounce",
        Some("bounced"),
    ),
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let usage = "usage: rescore <database-url> <leads> <touches per lead>";
    let mut args = std::env::args().skip(1);
    let url = args.next().context(usage)?;
    let leads: usize = args.next().context(usage)?.parse()?;
    let touches: usize = args.next().context(usage)?.parse()?;
    let db = db::connect(&url, 4, Duration::from_secs(30)).await?;
    db::migrate(&db).await?;

    let seeded = Instant::now();
    seed(&db, leads, touches).await?;
    let seed_s = seeded.elapsed().as_secs_f64();

    let read = Instant::now();
    let lead_rows = lead::Entity::find().all(&db).await?.len();
    let touch_rows = touchpoint::Entity::find()
        .select_only()
        .columns([
            touchpoint::Column::LeadId,
            touchpoint::Column::Id,
            touchpoint::Column::Channel,
            touchpoint::Column::Direction,
            touchpoint::Column::Event,
            touchpoint::Column::OccurredAt,
            touchpoint::Column::Details,
        ])
        .into_tuple::<(
            Uuid,
            Uuid,
            TouchpointChannel,
            Option<Direction>,
            Option<String>,
            chrono::DateTime<Utc>,
            Option<serde_json::Value>,
        )>()
        .all(&db)
        .await?
        .len();
    let read_s = read.elapsed().as_secs_f64();

    let events = Events::in_process();
    let first = Instant::now();
    scoring::rescore_everyone(&db, &events, None).await?;
    let first_s = first.elapsed().as_secs_f64();

    let mut model = (*scoring::model(&db).await?.model).clone();
    model.half_life_days = 14.0;
    model.fit.push(FitGroup {
        name: "Territory".into(),
        cap: Some(20),
        rules: vec![FitRule {
            label: "Ireland".into(),
            field: FitField::Country,
            custom_key: None,
            operator: Operator::Equals,
            values: vec!["ie".into()],
            min: None,
            max: None,
            points: 15,
        }],
    });
    scoring::save_model(&db, &system_actor(), model).await?;
    reset_peak_rss();
    let changed = Instant::now();
    let scored = scoring::rescore_everyone(&db, &events, None).await?;
    let changed_s = changed.elapsed().as_secs_f64();
    let peak = peak_rss_mb();
    let mqls = lead::Entity::find()
        .all(&db)
        .await?
        .iter()
        .filter(|l| l.lifecycle_stage != LifecycleStage::Lead)
        .count();
    println!(
        "{}",
        json!({
            "leads": leads, "touch_rows": touches * leads, "scored": scored,
            "baseline_leads": lead_rows, "baseline_touches": touch_rows, "moved_forward": mqls,
            "seed_s": seed_s, "read_s": read_s, "first_s": first_s, "changed_s": changed_s,
            "ratio": changed_s / read_s, "peak_rss_mb": peak,
        })
    );
    Ok(())
}

/// Leads with varied titles, companies and places, each with `touches` verified touches over
/// the past year; inserted a chunk at a time, nothing held beyond it.
async fn seed(
    db: &sea_orm::DatabaseConnection,
    leads: usize,
    touches: usize,
) -> anyhow::Result<()> {
    let now = Utc::now();
    for start in (0..leads).step_by(CHUNK) {
        let mut lead_rows = Vec::with_capacity(CHUNK);
        let mut touch_rows = Vec::with_capacity(CHUNK * touches);
        for n in start..(start + CHUNK).min(leads) {
            let id = Uuid::now_v7();
            lead_rows.push(lead::ActiveModel {
                id: Set(id),
                last_name: Set(Some(format!("Lead {n}"))),
                email: Set(Some(format!("lead{n}@{}", DOMAINS[n % DOMAINS.len()]))),
                title: Set(Some(TITLES[n % TITLES.len()].into())),
                industry: Set(Some(INDUSTRIES[n % INDUSTRIES.len()].into())),
                employees: Set(Some(((n * 37) % 5_000) as i32)),
                country: Set(Some(COUNTRIES[n % COUNTRIES.len()].into())),
                need: Set((n % 3 == 0).then(|| "A CRM".into())),
                status: Set(LeadStatus::NotContacted),
                lifecycle_stage: Set(LifecycleStage::Lead),
                competitors: Set(json!([])),
                objections: Set(json!([])),
                custom_fields: Set(json!({})),
                fit_score: Set(0),
                engagement_score: Set(0),
                score: Set(0),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
            for t in 0..touches {
                let (channel, direction, event, flag) = TOUCHES[(n + t) % TOUCHES.len()];
                // A few recent touches, the rest over the year: some leads qualify.
                let days = if t < 3 {
                    (n + t) % 21
                } else {
                    (n * 13 + t * 29) % 365
                } as i64;
                touch_rows.push(touchpoint::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    lead_id: Set(Some(id)),
                    channel: Set(channel),
                    direction: Set(Some(direction)),
                    event: Set(Some(event.into())),
                    details: Set(Some(json!({ "flag": flag }))),
                    occurred_at: Set(now - chrono::Duration::days(days)),
                    created_at: Set(now),
                    verified: Set(true),
                    ..Default::default()
                });
            }
        }
        lead::Entity::insert_many(lead_rows)
            .exec_without_returning(db)
            .await?;
        let mut rows = touch_rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(CHUNK).collect();
            touchpoint::Entity::insert_many(chunk)
                .exec_without_returning(db)
                .await?;
        }
    }
    Ok(())
}
