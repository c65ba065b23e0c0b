//! RFM over the store: every account's purchases read, scored against all paying accounts and
//! written back in one transaction.
//!
//! A purchase is a Stripe payment recorded on the account (`checkout.session.completed`,
//! `invoice.paid`, `charge.succeeded`) or a won deal. Stripe reports one payment several ways
//! (an invoice's charge, a Checkout's payment intent), so payments are counted once per
//! payment intent, else per invoice, charge or Checkout session. The monetary value sums the
//! purchases in the configured `rfm_currency`; purchases in other currencies count toward
//! recency and frequency only.
//!
//! The scores are derived values, recomputed wholesale from the purchases: they are written
//! directly, without an audit row per account per run, and can always be computed again.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};
use entity::{
    account,
    enums::{AccountStatus, RfmSegment, TouchpointChannel},
    opportunity, pipeline_stage, touchpoint,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
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

/// Scores every paying account and clears the scores of those that no longer are, and moves a
/// paying account between active and inactive customer by whether it bought within
/// `quiet_days`; answers how many were scored.
pub async fn recompute(
    db: &DatabaseConnection,
    announce: &Events,
    currency: &str,
    quiet_days: i64,
    now: DateTime<Utc>,
) -> Result<usize> {
    let purchases = purchases(db, currency).await?;
    let mut accounts = Vec::with_capacity(purchases.len());
    let mut measures = Vec::with_capacity(purchases.len());
    for (account, bought) in purchases {
        let bought: Vec<Purchase> = bought.into_values().collect();
        if let Some(m) = Measures::of(&bought, now) {
            accounts.push(account);
            measures.push(m);
        }
    }
    let scores = score(&measures);
    let txn = crate::db::begin_write(db).await?;
    // Replicas run this job side by side: one recompute at a time, each seeing the last one's
    // statuses, so no account is moved twice.
    crate::db::lock(&txn, &[RECOMPUTING.to_owned()]).await?;
    account::Entity::update_many()
        .col_expr(account::Column::RfmRecencyDays, null())
        .col_expr(account::Column::RfmFrequency, null())
        .col_expr(account::Column::RfmMonetaryMinor, null())
        .col_expr(account::Column::RfmCurrency, null())
        .col_expr(account::Column::RfmRecencyScore, null())
        .col_expr(account::Column::RfmFrequencyScore, null())
        .col_expr(account::Column::RfmMonetaryScore, null())
        .col_expr(account::Column::RfmSegment, null())
        .filter(account::Column::RfmRecencyDays.is_not_null())
        .exec(&txn)
        .await?;
    store(&txn, &accounts, &measures, &scores, currency).await?;
    let events = move_statuses(&txn, quiet_days).await?;
    txn.commit().await?;
    for event in events {
        announce.publish(event).await;
    }
    Ok(accounts.len())
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

/// Writes the scores with one UPDATE from a temporary table filled a chunk at a time, rather
/// than one statement per account: on SQLite the write lock is held for as short as it can be.
async fn store(
    txn: &DatabaseTransaction,
    accounts: &[Uuid],
    measures: &[Measures],
    scores: &[Scores],
    currency: &str,
) -> Result<()> {
    let scratch = Alias::new(SCRATCH);
    let columns = [
        "id",
        "rfm_recency_days",
        "rfm_frequency",
        "rfm_monetary_minor",
        "rfm_recency_score",
        "rfm_frequency_score",
        "rfm_monetary_score",
        "rfm_segment",
    ];
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
        .col(ColumnDef::new(Alias::new(columns[1])).integer())
        .col(ColumnDef::new(Alias::new(columns[2])).integer())
        .col(ColumnDef::new(Alias::new(columns[3])).big_integer())
        .col(ColumnDef::new(Alias::new(columns[4])).small_integer())
        .col(ColumnDef::new(Alias::new(columns[5])).small_integer())
        .col(ColumnDef::new(Alias::new(columns[6])).small_integer())
        .col(ColumnDef::new(Alias::new(columns[7])).string());
    txn.execute(&create).await?;
    let rows = accounts.iter().zip(measures).zip(scores);
    let rows: Vec<_> = rows.collect();
    for chunk in rows.chunks(CHUNK) {
        let mut insert = Query::insert();
        insert
            .into_table(scratch.clone())
            .columns(columns.map(Alias::new));
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
    let mut update = Query::update();
    update.table(account::Entity);
    for column in &columns[1..] {
        let from_scratch =
            format!("(SELECT s.{column} FROM {SCRATCH} s WHERE s.id = \"accounts\".\"id\")");
        update.value(Alias::new(*column), Expr::cust(from_scratch));
    }
    update
        .value(account::Column::RfmCurrency, currency)
        .and_where(
            account::Column::Id.in_subquery(
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

/// Each account's purchases, by the payment they are; amounts outside `currency` count 0.
async fn purchases(
    db: &DatabaseConnection,
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
            touchpoint::Column::AccountId,
            touchpoint::Column::Id,
            touchpoint::Column::OccurredAt,
            touchpoint::Column::AmountMinor,
            touchpoint::Column::Currency,
            touchpoint::Column::Details,
        ])
        .filter(touchpoint::Column::Channel.eq(TouchpointChannel::Billing))
        .filter(touchpoint::Column::Event.is_in(PAYMENTS))
        .filter(touchpoint::Column::AccountId.is_not_null())
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
    for (account, id, at, amount, code, details) in payments {
        let key = payment_of(details.as_ref()).unwrap_or_else(|| format!("touchpoint {id}"));
        let amount_minor = in_currency(amount, code.as_deref());
        purchases
            .entry(account)
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
            opportunity::Column::AccountId,
            opportunity::Column::Id,
            opportunity::Column::ClosedAt,
            opportunity::Column::AmountMinor,
            opportunity::Column::Currency,
        ])
        .filter(opportunity::Column::StageId.in_subquery(won))
        .filter(opportunity::Column::AccountId.is_not_null())
        .filter(opportunity::Column::ClosedAt.is_not_null())
        .filter(opportunity::Column::ArchivedAt.is_null())
        .into_tuple::<(Uuid, Uuid, DateTime<Utc>, i64, String)>()
        .all(db)
        .await?;
    for (account, id, at, amount, code) in deals {
        let amount_minor = in_currency(amount, Some(&code));
        purchases
            .entry(account)
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
