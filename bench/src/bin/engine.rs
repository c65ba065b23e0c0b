//! Sales engine benchmark: how fast the inbox worker turns deliveries into history with the
//! sales engine (scoring, MQL/SQL moves, assigning new leads) off and on, in one process.
//!
//! Seeds what a working team has: four sales reps in a team, assignment rules (two territory
//! rules, then round robin over the team), the default scoring model and 1,000 scored leads
//! with some history. Then, four times (engine off, on, off, on), stores a fresh batch of
//! signed deliveries through intake, as the hook route does, and times the workers draining
//! it: three in ten from new people (web forms, Stripe customers, product sign-ups) and the rest
//! touches on the existing leads (email opens and clicks, calls, booked meetings). Prints one
//! JSON line with each pass and the process's peak RSS.
//!
//! Usage: `engine <database-url> [deliveries per pass]` on an empty database.
#[path = "../rss.rs"]
mod rss;
use rss::peak_rss_mb;

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use anyhow::Context;
use chrono::Utc;
use connectors::signature::{encode_base64, hmac_sha256};
use entity::{
    connector, delivery,
    enums::{
        AssignmentField, AssignmentStrategy, ConditionOperator, ConnectorKind, DeliveryStatus,
        Direction, Role, TouchpointChannel,
    },
    lead, touchpoint,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use serde_json::{Value, json};
use touchbase::{
    auth::system_actor,
    config::Config,
    http::AppState,
    hub::{
        admin::NewConnector,
        inbox::{self, NewDelivery},
        worker::{WorkerContext, process_next},
    },
    sales::{
        assignment::{
            conditions::Condition,
            rules::{self, RuleChanges},
        },
        scoring,
    },
    server,
    services::{leads, records, users},
};
use uuid::Uuid;

/// The allocator the `touchbase` binary uses, so the benchmark measures what runs in production.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LEADS: usize = 1_000;
const HISTORY_PER_LEAD: usize = 5;
const REPS: usize = 4;
/// Engine off, on, off, on: each round's ratio compares passes run side by side, so a store
/// that slows as it fills weighs on both.
const PASSES: [bool; 4] = [false, true, false, true];
const STRIPE_SECRET: &str = "whsec_bench_0123456789abcdefghijklmnop";
const FORM_SECRET: &str = "bench-form-relay-secret";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .context("usage: engine <database-url> [deliveries per pass]")?;
    let per_pass: usize = match args.next() {
        Some(n) => n.parse()?,
        None => 5_000,
    };

    let mut config = Config {
        database_url: url,
        ..Config::default()
    };
    // The server's own workers stay off: the passes below drain the inbox with as many.
    let workers = config.hub_workers.max(1);
    config.hub_workers = 0;
    // Nor does a periodic job run in the middle of a pass: the worker is measured alone.
    let day = 86_400_000;
    config.rfm_interval_ms = day;
    config.rescore_interval_ms = day;
    config.assignment_sla_interval_ms = day;
    config.activity_due_interval_ms = day;
    let state = server::build(config).await?;
    let db = state.services.db.clone();

    let seeded = Instant::now();
    let reps = team(&db).await?;
    seed_leads(&db, &reps).await?;
    let connectors = Connectors::create(&state).await?;
    // A bulk load leaves the planner's statistics behind; a live database has them.
    db.execute_unprepared("ANALYZE").await?;
    let seed_s = seeded.elapsed().as_secs_f64();

    let mut passes = Vec::new();
    for (pass, engine) in PASSES.into_iter().enumerate() {
        let batch = connectors.batch(pass, per_pass);
        for (connector, mut request) in batch {
            // The address the provider posted to, as the hook route stores it.
            request.url = format!(
                "http://{}/hooks/{}",
                state.services.config.bind, connector.id
            );
            inbox::receive(&db, &state.hub, connector, request)
                .await
                .map_err(|e| anyhow::anyhow!("storing a delivery: {e}"))?;
        }
        let mut context = WorkerContext::new(&state.services, state.hub.clone());
        context.config = Arc::new(Config {
            hub_sales_engine: engine,
            ..(*context.config).clone()
        });
        let (processed, seconds) = drain(&context, workers).await;
        let unprocessed = delivery::Entity::find()
            .filter(delivery::Column::Status.ne(DeliveryStatus::Processed.as_str()))
            .count(&db)
            .await?;
        anyhow::ensure!(
            processed as usize == per_pass && unprocessed == 0,
            "pass {pass}: {processed} of {per_pass} processed, {unprocessed} not processed"
        );
        passes.push(json!({
            "round": pass / 2 + 1, "engine": engine, "deliveries": processed,
            "seconds": seconds, "events_per_s": processed as f64 / seconds,
        }));
    }
    let rate = |pass: usize| passes[pass]["events_per_s"].as_f64().unwrap_or_default();
    let ratios: Vec<f64> = (0..PASSES.len() / 2)
        .map(|round| rate(round * 2 + 1) / rate(round * 2))
        .collect();
    let assigned = lead::Entity::find()
        .filter(lead::Column::OwnerId.is_not_null())
        .count(&db)
        .await?;
    let scored = lead::Entity::find()
        .filter(lead::Column::ScoredAt.is_not_null())
        .count(&db)
        .await?;
    let total = lead::Entity::find().count(&db).await?;
    println!(
        "{}",
        json!({
            "deliveries_per_pass": per_pass, "workers": workers, "seed_s": seed_s,
            "passes": passes, "ratios": ratios,
            "leads": total, "leads_assigned": assigned, "leads_scored": scored,
            "peak_rss_mb": peak_rss_mb(),
        })
    );
    Ok(())
}

/// Works the inbox until nothing is due with `workers` workers, as the server's workers do;
/// answers the deliveries processed and the seconds it took.
async fn drain(context: &WorkerContext, workers: usize) -> (u64, f64) {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let worker = context.clone();
        tasks.spawn(async move {
            let mut processed = 0_u64;
            while let Ok(true) = process_next(&worker).await {
                processed += 1;
            }
            processed
        });
    }
    let processed = tasks.join_all().await.into_iter().sum();
    (processed, started.elapsed().as_secs_f64())
}

/// Four sales reps in a team; the first takes the DACH territory and leads no rule places, the
/// second the EMEA web forms, and the team shares the rest in turn. Answers the reps' ids.
async fn team(db: &DatabaseConnection) -> anyhow::Result<Vec<Uuid>> {
    let admin = system_actor();
    let team = users::create_team(db, &admin, "Inside sales")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut reps = Vec::new();
    for n in 0..REPS {
        let input = users::NewUser {
            email: format!("rep{n}@bench.example.com"),
            name: format!("Rep {n}"),
            role: Role::Sales,
            password: None,
            team_id: Some(team.id),
        };
        let rep = users::create(db, &admin, input)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        reps.push(rep.id);
    }
    let condition = |field, key: Option<&str>, values: &[&str]| Condition {
        field,
        key: key.map(str::to_owned),
        operator: ConditionOperator::In,
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    };
    let rules = [
        RuleChanges {
            name: Some("DACH territory".into()),
            conditions: Some(vec![condition(
                AssignmentField::Country,
                None,
                &["DE", "AT", "CH"],
            )]),
            strategy: Some(AssignmentStrategy::User),
            user_id: Some(Some(reps[0])),
            sla_minutes: Some(Some(240)),
            ..Default::default()
        },
        RuleChanges {
            name: Some("EMEA web forms".into()),
            conditions: Some(vec![condition(
                AssignmentField::CustomField,
                Some("region"),
                &["emea"],
            )]),
            strategy: Some(AssignmentStrategy::User),
            user_id: Some(Some(reps[1])),
            sla_minutes: Some(Some(240)),
            ..Default::default()
        },
        RuleChanges {
            name: Some("Everyone else".into()),
            strategy: Some(AssignmentStrategy::RoundRobin),
            team_id: Some(Some(team.id)),
            sla_minutes: Some(Some(60)),
            ..Default::default()
        },
    ];
    for rule in rules {
        rules::create(db, &admin, rule)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    rules::set_default_owner(db, &admin, Some(reps[0]))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(reps)
}

/// 1,000 owned leads with varied titles, industries, sizes and countries, each with a few email
/// opens and clicks over the last two months, scored by the default model (which this stores
/// as version 1). Written through the record lifecycle in one transaction, as an import is.
async fn seed_leads(db: &DatabaseConnection, reps: &[Uuid]) -> anyhow::Result<()> {
    const TITLES: [&str; 6] = [
        "Chief Technology Officer",
        "Head of Sales",
        "Marketing Manager",
        "Engineer",
        "VP Operations",
        "Student",
    ];
    const INDUSTRIES: [&str; 5] = [
        "software",
        "retail",
        "manufacturing",
        "financial services",
        "education",
    ];
    const EMPLOYEES: [i32; 4] = [8, 35, 240, 1_800];
    const COUNTRIES: [&str; 6] = ["DE", "FR", "GB", "US", "CA", "BR"];
    let admin = system_actor();
    let now = Utc::now();
    let txn = touchbase::db::begin_write(db).await?;
    let mut events = Vec::new();
    for n in 0..LEADS {
        let lead = lead::ActiveModel {
            email: Set(Some(existing_email(n))),
            first_name: Set(Some(format!("Lead{n}"))),
            last_name: Set(Some("Bench".into())),
            company: Set(Some(format!("Company {}", n % 250))),
            title: Set(Some(TITLES[n % TITLES.len()].into())),
            industry: Set(Some(INDUSTRIES[n % INDUSTRIES.len()].into())),
            employees: Set(Some(EMPLOYEES[n % EMPLOYEES.len()])),
            country: Set(Some(COUNTRIES[n % COUNTRIES.len()].into())),
            owner_id: Set(Some(reps[n % reps.len()])),
            ..leads::blank()
        };
        let lead = records::insert_in::<lead::Entity>(&txn, &admin, lead)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .model;
        for t in 0..HISTORY_PER_LEAD {
            let touchpoint = touchpoint::ActiveModel {
                id: Set(Uuid::now_v7()),
                lead_id: Set(Some(lead.id)),
                channel: Set(TouchpointChannel::Email),
                direction: Set(Some(Direction::Inbound)),
                source: Set(Some("newsletter".into())),
                event: Set(Some(if t % 3 == 0 { "click" } else { "open" }.into())),
                occurred_at: Set(now - chrono::Duration::days(((n + t * 13) % 60) as i64)),
                created_at: Set(now),
                verified: Set(true),
                ..Default::default()
            };
            // Nobody listens yet, so the seed's change events are dropped.
            let _ = records::insert_in::<touchpoint::Entity>(&txn, &admin, touchpoint)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        scoring::lead_in(&txn, lead, scoring::Trigger::Edit, &mut events)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    txn.commit().await?;
    Ok(())
}

fn existing_email(n: usize) -> String {
    format!("lead{n}@company{}.example.com", n % 250)
}

/// The team's connectors: a relayed web form, Stripe, and Standard Webhooks senders for
/// product sign-ups, email engagement, calls and meetings.
struct Connectors {
    form: connector::Model,
    stripe: connector::Model,
    signups: connector::Model,
    email: connector::Model,
    calls: connector::Model,
    meetings: connector::Model,
    /// The Standard Webhooks senders' shared signing key, decoded.
    webhook_key: Vec<u8>,
}

impl Connectors {
    async fn create(state: &AppState) -> anyhow::Result<Self> {
        let webhook_key = b"bench-standard-webhooks-key-0123".to_vec();
        let webhook_secret = format!("whsec_{}", encode_base64(&webhook_key));
        let make = async |kind, name: &str, secret: &str, settings: Value| {
            let input = NewConnector {
                kind,
                name: name.into(),
                secret: Some(secret.into()),
                settings: Some(settings),
                enabled: None,
            };
            let created =
                touchbase::hub::admin::create(&state.services, &state.hub, &system_actor(), input)
                    .await
                    .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            inbox::connector(&state.services.db, created.id)
                .await
                .map_err(|e| anyhow::anyhow!("{name}: {e}"))
        };
        let standard = |channel: &str, fields: Value| {
            json!({ "channel": channel, "direction": "inbound", "event": "/type",
                    "occurred_at": "/at", "fields": fields })
        };
        let person = json!({ "email": "/email", "first_name": "/first_name",
            "last_name": "/last_name", "company": "/company", "title": "/title",
            "utm_source": "/utm_source", "utm_medium": "/utm_medium" });
        let email_fields = json!({ "email": "/email", "utm_source": "/utm_source",
            "utm_medium": "/utm_medium", "utm_campaign": "/utm_campaign" });
        Ok(Connectors {
            form: make(
                ConnectorKind::WebForm,
                "Demo request form",
                FORM_SECRET,
                json!({ "fields": { "region": "custom.region" } }),
            )
            .await?,
            stripe: make(
                ConnectorKind::Stripe,
                "Billing",
                STRIPE_SECRET,
                json!({ "tolerance_secs": 86_400 }),
            )
            .await?,
            signups: make(
                ConnectorKind::StandardWebhooks,
                "Product sign-ups",
                &webhook_secret,
                standard("web_form", person),
            )
            .await?,
            email: make(
                ConnectorKind::StandardWebhooks,
                "Email engagement",
                &webhook_secret,
                standard("email", email_fields),
            )
            .await?,
            calls: make(
                ConnectorKind::StandardWebhooks,
                "Phone system",
                &webhook_secret,
                standard("call", json!({ "email": "/email", "summary": "/summary" })),
            )
            .await?,
            meetings: make(
                ConnectorKind::StandardWebhooks,
                "Meeting scheduler",
                &webhook_secret,
                standard(
                    "meeting",
                    json!({ "email": "/email", "subject": "/subject" }),
                ),
            )
            .await?,
            webhook_key,
        })
    }

    /// Pass `pass`'s deliveries, signed now: of every 20, two web forms, two Stripe customers
    /// and two sign-ups from new people, then six email opens, three clicks, two calls and
    /// three booked meetings on existing leads. Ids and new people are the pass's own.
    fn batch(&self, pass: usize, count: usize) -> Vec<(&connector::Model, NewDelivery)> {
        const FREE: [&str; 2] = ["gmail.com", "outlook.com"];
        let now = Utc::now();
        let at = now.to_rfc3339();
        (0..count)
            .map(|i| {
                let key = format!("{pass}-{i}");
                let new_email = if i % 3 == 0 {
                    format!("person{key}@{}", FREE[i % 2])
                } else {
                    format!("person{key}@prospect{}.example.org", i % 97)
                };
                // Spread over the existing leads, a different order each pass.
                let existing = existing_email((i * 7 + pass * 331) % LEADS);
                match i % 20 {
                    0 | 1 => {
                        let region = if i % 40 == 0 { "emea" } else { "americas" };
                        let body = json!({ "submission_id": key, "email": new_email,
                            "first_name": "Ada", "last_name": format!("Form {key}"),
                            "company": format!("Prospect {}", i % 97), "title": "Head of IT",
                            "region": region, "utm_source": "google", "utm_medium": "cpc",
                            "landing_page": "https://www.example.com/demo" });
                        (&self.form, self.form_delivery(body))
                    }
                    2 | 3 => {
                        let body = json!({ "id": format!("evt_{key}"), "object": "event",
                            "type": "customer.created", "created": now.timestamp(),
                            "data": { "object": { "id": format!("cus_{key}"), "object": "customer",
                                "email": new_email, "name": format!("Buyer {key}"),
                                "metadata": { "utm_source": "partner", "utm_medium": "referral" } } } });
                        (&self.stripe, stripe_delivery(&body))
                    }
                    4 | 5 => {
                        let body = json!({ "type": "user.signed_up", "at": at, "email": new_email,
                            "first_name": "Grace", "last_name": format!("Signup {key}"),
                            "company": format!("Prospect {}", i % 97), "title": "Engineer",
                            "utm_source": "newsletter", "utm_medium": "email" });
                        (&self.signups, self.webhook_delivery(&key, &body))
                    }
                    6..=14 => {
                        let kind = if i % 20 <= 11 { "open" } else { "click" };
                        let body = json!({ "type": kind, "at": at, "email": existing,
                            "utm_source": "newsletter", "utm_medium": "email",
                            "utm_campaign": "spring-launch" });
                        (&self.email, self.webhook_delivery(&key, &body))
                    }
                    15 | 16 => {
                        let body = json!({ "type": "call.completed", "at": at, "email": existing,
                            "summary": "Asked about pricing" });
                        (&self.calls, self.webhook_delivery(&key, &body))
                    }
                    _ => {
                        let body = json!({ "type": "meeting.booked", "at": at, "email": existing,
                            "subject": "Product demo" });
                        (&self.meetings, self.webhook_delivery(&key, &body))
                    }
                }
            })
            .collect()
    }

    /// A form relayed by the site's server, which presents the form's secret.
    fn form_delivery(&self, body: Value) -> NewDelivery {
        delivery_of(
            [
                ("content-type", "application/json".to_owned()),
                ("x-touchbase-form-secret", FORM_SECRET.to_owned()),
            ],
            body.to_string(),
        )
    }

    /// Signed as Standard Webhooks signs: HMAC-SHA256 over "id.timestamp.body".
    fn webhook_delivery(&self, key: &str, body: &Value) -> NewDelivery {
        let id = format!("msg_{key}");
        let timestamp = Utc::now().timestamp().to_string();
        let body = body.to_string();
        let mac = hmac_sha256(
            &self.webhook_key,
            &[
                id.as_bytes(),
                b".",
                timestamp.as_bytes(),
                b".",
                body.as_bytes(),
            ],
        );
        delivery_of(
            [
                ("content-type", "application/json".to_owned()),
                ("webhook-id", id),
                ("webhook-timestamp", timestamp),
                ("webhook-signature", format!("v1,{}", encode_base64(&mac))),
            ],
            body,
        )
    }
}

/// Signed as Stripe signs: HMAC-SHA256 over "t.body", keyed with the secret as written.
fn stripe_delivery(body: &Value) -> NewDelivery {
    let timestamp = Utc::now().timestamp().to_string();
    let body = body.to_string();
    let mac = hmac_sha256(
        STRIPE_SECRET.as_bytes(),
        &[timestamp.as_bytes(), b".", body.as_bytes()],
    );
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    delivery_of(
        [
            ("content-type", "application/json".to_owned()),
            ("stripe-signature", format!("t={timestamp},v1={hex}")),
        ],
        body,
    )
}

fn delivery_of<const N: usize>(headers: [(&str, String); N], body: String) -> NewDelivery {
    NewDelivery {
        headers: headers
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect::<BTreeMap<_, _>>(),
        body: body.into_bytes(),
        url: String::new(),
        received_at: Utc::now(),
    }
}
