//! RFM over the store: every account's and every contact's purchases read, each scored against
//! all paying customers of its kind (accounts against accounts, contacts against contacts) and
//! written back in one transaction.
//!
//! A purchase is a Stripe payment recorded on the account or contact
//! (`checkout.session.completed`, `invoice.paid`, `charge.succeeded`) or a won deal of it. Stripe reports one payment several ways
//! (an invoice's charge, a Checkout's payment intent), so payments are counted once per
//! payment intent, else per invoice, charge or Checkout session. The monetary value sums the
//! purchases in the configured `rfm_currency`; purchases in other currencies count toward
//! recency and frequency only.
//!
//! The scores are derived values, recomputed wholesale from the purchases: they are written
//! directly, without an audit row per customer per run, and can always be computed again. Both
//! tables keep them in columns of the same names, so one statement shape serves both.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};
use entity::{
    account,
    enums::{AccountStatus, RfmSegment, TouchpointChannel},
    opportunity, pipeline_stage, touchpoint,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, ExprTrait,
    QueryFilter, QuerySelect, Set,
    prelude::Expr,
    sea_query::{Alias, ColumnDef, Query, SimpleExpr, Table},
};
use uuid::Uuid;

use super::{Measures, Purchase, Scores, Segment, score};
use crate::{
    config::Config,
    error::Result,
    events::{Event, Events},
    services::records,
};

/// The Stripe events that are a payment.
const PAYMENTS: [&str; 3] = [
    "checkout.session.completed",
    "invoice.paid",
    "charge.succeeded",
];

/// Which payment a touchpoint reports, strongest identity first.
const PAYMENT_IDS: [&str; 4] = ["payment_intent", "invoice", "charge", "checkout_session"];

/// A kind of customer RFM scores: the table that keeps its figures, and the columns that name
/// one on a touchpoint and on a deal.
#[derive(Clone, Copy)]
struct Customers {
    table: &'static str,
    on_touchpoint: touchpoint::Column,
    on_deal: opportunity::Column,
}

const ACCOUNTS: Customers = Customers {
    table: "accounts",
    on_touchpoint: touchpoint::Column::AccountId,
    on_deal: opportunity::Column::AccountId,
};

const CONTACTS: Customers = Customers {
    table: "contacts",
    on_touchpoint: touchpoint::Column::ContactId,
    on_deal: opportunity::Column::ContactId,
};

/// The paying customers of one kind, their measures and their scores, in the same order.
struct Scored {
    ids: Vec<Uuid>,
    measures: Vec<Measures>,
    scores: Vec<Scores>,
}

/// Scores every paying account and contact and clears the scores of those that no longer
/// are, and moves a paying account between active and inactive customer by whether it bought
/// within `quiet_days`; answers how many accounts and contacts were scored.
pub async fn recompute(
    db: &DatabaseConnection,
    announce: &Events,
    currency: &str,
    quiet_days: i64,
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut kinds = Vec::new();
    for customers in [ACCOUNTS, CONTACTS] {
        kinds.push((customers, scored(db, customers, currency, now).await?));
    }
    let txn = crate::db::begin_write(db).await?;
    // Replicas run this job side by side: one recompute at a time, each seeing the last one's
    // statuses, so no account is moved twice.
    crate::db::lock(&txn, &[RECOMPUTING.to_owned()]).await?;
    for (customers, scored) in &kinds {
        clear(&txn, *customers).await?;
        store(&txn, *customers, scored, currency).await?;
    }
    let events = move_statuses(&txn, quiet_days).await?;
    txn.commit().await?;
    for event in events {
        announce.publish(event).await;
    }
    Ok(kinds.iter().map(|(_, scored)| scored.ids.len()).sum())
}

/// The customers of a kind who ever paid, scored against each other at `now`.
async fn scored(
    db: &DatabaseConnection,
    customers: Customers,
    currency: &str,
    now: DateTime<Utc>,
) -> Result<Scored> {
    let purchases = purchases(db, customers, currency).await?;
    let mut ids = Vec::with_capacity(purchases.len());
    let mut measures = Vec::with_capacity(purchases.len());
    for (customer, bought) in purchases {
        let bought: Vec<Purchase> = bought.into_values().collect();
        if let Some(m) = Measures::of(&bought, now) {
            ids.push(customer);
            measures.push(m);
        }
    }
    let scores = score(&measures);
    Ok(Scored {
        ids,
        measures,
        scores,
    })
}

/// Empties every customer's figures, to be filled again for those who still pay.
async fn clear(txn: &DatabaseTransaction, customers: Customers) -> Result<()> {
    let mut update = Query::update();
    update.table(Alias::new(customers.table));
    for column in FIGURES.iter().chain(["rfm_currency"].iter()) {
        update.value(Alias::new(*column), null());
    }
    update.and_where(Expr::col(Alias::new(FIGURES[0])).is_not_null());
    txn.execute(&update).await?;
    Ok(())
}

/// Moves each scored account whose customer status no longer fits its recency, through the
/// record lifecycle, so the move is audited and kept as a transition.
async fn move_statuses(txn: &DatabaseTransaction, quiet_days: i64) -> Result<Vec<Event>> {
    let scored = account::Entity::find()
        .select_only()
        .columns([
            account::Column::Id,
            account::Column::Status,
            account::Column::RfmRecencyDays,
        ])
        .filter(account::Column::RfmRecencyDays.is_not_null())
        .into_tuple::<(Uuid, AccountStatus, i32)>()
        .all(txn)
        .await?;
    let system = crate::auth::system_actor();
    let mut events = Vec::new();
    for (id, status, recency_days) in scored {
        let fitting = if i64::from(recency_days) > quiet_days {
            AccountStatus::InactiveCustomer
        } else {
            AccountStatus::ActiveCustomer
        };
        if status == fitting {
            continue;
        }
        records::update_in::<account::Entity, _>(
            txn,
            &system,
            id,
            "rfm_status",
            async |_, _, account| {
                account.status = Set(fitting);
                Ok(())
            },
        )
        .await?
        .keep_event_in(&mut events);
    }
    Ok(events)
}

/// Recomputes every `every` until the process stops; a failed run is logged and tried again at
/// the next.
pub async fn run(
    db: DatabaseConnection,
    events: Events,
    config: std::sync::Arc<Config>,
    every: Duration,
) {
    // The scores are kept in the store, so a start (or a test's server) need not recompute them
    // at once: the first run is one interval in.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tick.tick().await;
        let quiet = config.rfm_quiet_days;
        if let Err(error) = recompute(&db, &events, &config.rfm_currency, quiet, Utc::now()).await {
            tracing::error!(?error, "computing RFM scores failed");
        }
    }
}

fn null() -> SimpleExpr {
    Expr::value(sea_orm::Value::Int(None))
}

/// The figures both tables keep, as the scratch table holds them too.
const FIGURES: [&str; 7] = [
    "rfm_recency_days",
    "rfm_frequency",
    "rfm_monetary_minor",
    "rfm_recency_score",
    "rfm_frequency_score",
    "rfm_monetary_score",
    "rfm_segment",
];

/// Writes the scores with one UPDATE from a temporary table filled a chunk at a time, rather
/// than one statement per customer: on SQLite the write lock is held for as short as it can be.
async fn store(
    txn: &DatabaseTransaction,
    customers: Customers,
    scored: &Scored,
    currency: &str,
) -> Result<()> {
    let scratch = Alias::new(SCRATCH);
    let columns: Vec<&str> = ["id"].into_iter().chain(FIGURES).collect();
    txn.execute_unprepared(&format!("DROP TABLE IF EXISTS {SCRATCH}"))
        .await?;
    let mut create = Table::create();
    create
        .table(scratch.clone())
        .temporary()
        .col(
            ColumnDef::new(Alias::new("id"))
                .uuid()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(Alias::new(FIGURES[0])).integer())
        .col(ColumnDef::new(Alias::new(FIGURES[1])).integer())
        .col(ColumnDef::new(Alias::new(FIGURES[2])).big_integer())
        .col(ColumnDef::new(Alias::new(FIGURES[3])).small_integer())
        .col(ColumnDef::new(Alias::new(FIGURES[4])).small_integer())
        .col(ColumnDef::new(Alias::new(FIGURES[5])).small_integer())
        .col(ColumnDef::new(Alias::new(FIGURES[6])).string());
    txn.execute(&create).await?;
    let rows = scored.ids.iter().zip(&scored.measures).zip(&scored.scores);
    let rows: Vec<_> = rows.collect();
    for chunk in rows.chunks(CHUNK) {
        let mut insert = Query::insert();
        insert
            .into_table(scratch.clone())
            .columns(columns.iter().map(|c| Alias::new(*c)));
        for ((id, m), s) in chunk {
            let segment = Segment::of(**s).map(|segment| RfmSegment::from(segment).as_str());
            insert
                .values([
                    (**id).into(),
                    clamp(m.recency_days).into(),
                    clamp(m.frequency).into(),
                    m.monetary_minor.into(),
                    i16::from(s.recency).into(),
                    i16::from(s.frequency).into(),
                    i16::from(s.monetary).into(),
                    segment.into(),
                ])
                .map_err(crate::error::AppError::internal)?;
        }
        txn.execute(&insert).await?;
    }
    let table = customers.table;
    let mut update = Query::update();
    update.table(Alias::new(table));
    for column in FIGURES {
        let from_scratch =
            format!("(SELECT s.{column} FROM {SCRATCH} s WHERE s.id = \"{table}\".\"id\")");
        update.value(Alias::new(column), Expr::cust(from_scratch));
    }
    update
        .value(Alias::new("rfm_currency"), currency)
        .and_where(
            Expr::col((Alias::new(table), Alias::new("id"))).in_subquery(
                Query::select()
                    .column(Alias::new("id"))
                    .from(scratch)
                    .take(),
            ),
        );
    txn.execute(&update).await?;
    txn.execute_unprepared(&format!("DROP TABLE {SCRATCH}"))
        .await?;
    Ok(())
}

/// The lock a recompute holds (see [`crate::db::lock`]).
const RECOMPUTING: &str = "rfm recompute";

/// The temporary table the scores pass through.
const SCRATCH: &str = "tb_rfm_scores";

/// Rows per INSERT into it, within both stores' limits on bound values.
const CHUNK: usize = 1_000;

fn clamp(n: i64) -> i32 {
    n.clamp(0, i64::from(i32::MAX)) as i32
}

/// Each customer's purchases, by the payment they are; amounts outside `currency` count 0.
async fn purchases(
    db: &DatabaseConnection,
    customers: Customers,
    currency: &str,
) -> Result<HashMap<Uuid, HashMap<String, Purchase>>> {
    let mut purchases: HashMap<Uuid, HashMap<String, Purchase>> = HashMap::new();
    let in_currency = |amount: i64, code: Option<&str>| {
        if code.is_some_and(|code| code.eq_ignore_ascii_case(currency)) {
            amount
        } else {
            0
        }
    };
    let payments = touchpoint::Entity::find()
        .select_only()
        .columns([
            customers.on_touchpoint,
            touchpoint::Column::Id,
            touchpoint::Column::OccurredAt,
            touchpoint::Column::AmountMinor,
            touchpoint::Column::Currency,
            touchpoint::Column::Details,
        ])
        .filter(touchpoint::Column::Channel.eq(TouchpointChannel::Billing))
        .filter(touchpoint::Column::Event.is_in(PAYMENTS))
        .filter(customers.on_touchpoint.is_not_null())
        .filter(touchpoint::Column::AmountMinor.is_not_null())
        .into_tuple::<(
            Uuid,
            Uuid,
            DateTime<Utc>,
            i64,
            Option<String>,
            Option<serde_json::Value>,
        )>()
        .all(db)
        .await?;
    for (customer, id, at, amount, code, details) in payments {
        let key = payment_of(details.as_ref()).unwrap_or_else(|| format!("touchpoint {id}"));
        let amount_minor = in_currency(amount, code.as_deref());
        purchases
            .entry(customer)
            .or_default()
            .entry(key)
            .or_insert(Purchase { at, amount_minor });
    }
    let won = Query::select()
        .column(pipeline_stage::Column::Id)
        .from(pipeline_stage::Entity)
        .and_where(pipeline_stage::Column::IsWon.eq(true))
        .to_owned();
    let deals = opportunity::Entity::find()
        .select_only()
        .columns([
            customers.on_deal,
            opportunity::Column::Id,
            opportunity::Column::ClosedAt,
            opportunity::Column::AmountMinor,
            opportunity::Column::Currency,
        ])
        .filter(opportunity::Column::StageId.in_subquery(won))
        .filter(customers.on_deal.is_not_null())
        .filter(opportunity::Column::ClosedAt.is_not_null())
        .filter(opportunity::Column::ArchivedAt.is_null())
        .into_tuple::<(Uuid, Uuid, DateTime<Utc>, i64, String)>()
        .all(db)
        .await?;
    for (customer, id, at, amount, code) in deals {
        let amount_minor = in_currency(amount, Some(&code));
        purchases
            .entry(customer)
            .or_default()
            .insert(format!("deal {id}"), Purchase { at, amount_minor });
    }
    Ok(purchases)
}

/// The payment a touchpoint reports, from the provider ids it kept.
fn payment_of(details: Option<&serde_json::Value>) -> Option<String> {
    let ids = details?.get("provider_ids")?;
    PAYMENT_IDS.iter().find_map(|kind| {
        let id = ids.get(kind)?.as_str()?;
        Some(format!("{kind} {id}"))
    })
}
