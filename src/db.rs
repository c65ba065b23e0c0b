//! Opens the store named by the configuration and brings its schema up to date. SQLite runs in
//! WAL mode so readers never wait for the single writer.

use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sha2::{Digest, Sha256};

/// A pool of at most `max_connections`; a request waits at most `acquire_timeout` for one of
/// them (or for a new connection to open), so an unreachable database fails requests quickly.
pub async fn connect(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .connect_timeout(acquire_timeout)
        // A checked-out connection is tested by its first query anyway; the extra ping per
        // acquire costs a round trip on every request.
        .test_before_acquire(false)
        .sqlx_logging(false);
    let mut db = Database::connect(options)
        .await
        .with_context(|| format!("connecting to {}", redact(url)))?;
    db.set_metric_callback(|info| {
        let outcome = if info.failed { "error" } else { "ok" };
        metrics::counter!("db_statements_total", "outcome" => outcome).increment(1);
        metrics::histogram!("db_statement_duration_seconds").record(info.elapsed.as_secs_f64());
    });
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA journal_mode = WAL")
            .await
            .context("enabling WAL")?;
    }
    Ok(db)
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("applying migrations")
}

/// A transaction that will write. On SQLite it takes the write lock at `BEGIN IMMEDIATE`: a
/// deferred transaction that read first could not upgrade once another writer committed, and
/// would fail at once instead of waiting its turn. PostgreSQL ignores the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Whether the database answers within `limit`; a connection to a server that stopped
/// answering could otherwise wait on the network for minutes.
pub async fn ping(db: &DatabaseConnection, limit: Duration) -> bool {
    matches!(tokio::time::timeout(limit, db.ping()).await, Ok(Ok(())))
}

/// The URL without its password, for log lines and errors.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Holds `names` until the transaction ends. On PostgreSQL, whose replicas and workers run side
/// by side, each name is a transaction-scoped advisory lock, taken in one sorted order so two
/// holders never wait on each other in a circle: a worker resolving a person another is
/// creating waits, then finds the lead the other committed. SQLite has one writer at a time and
/// needs none.
pub async fn lock(txn: &DatabaseTransaction, names: &[String]) -> crate::error::Result<()> {
    if txn.get_database_backend() != DbBackend::Postgres || names.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<i64> = names.iter().map(|name| lock_id(name)).collect();
    ids.sort_unstable();
    ids.dedup();
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    // The ids are numbers computed here, so they are written into the statement as they are.
    let sql = format!(
        "SELECT pg_advisory_xact_lock(id) FROM unnest(ARRAY[{}]::bigint[]) AS id",
        ids.join(",")
    );
    txn.execute_unprepared(&sql).await?;
    Ok(())
}

/// A name's advisory lock number; two names sharing one only wait for each other needlessly.
/// The prefix is the one identity resolution's locks were first made with, so replicas of
/// different versions agree on them during a rolling deploy.
fn lock_id(name: &str) -> i64 {
    let digest = Sha256::digest(format!("touchbase identity {name}").as_bytes());
    let mut first = [0; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}
