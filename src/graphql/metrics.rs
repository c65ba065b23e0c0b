//! Counts and times GraphQL operations by name, as the document names them.
//!
//! Names come from clients, so the label set is bounded: a name gets series of its own once an
//! operation by that name has succeeded for a signed-in caller, for the first
//! [`MAX_OPERATION_NAMES`] names a process sees; every other name is counted as `other`.
//! Callers without a session spend none of the budget, whatever they send; once it is spent,
//! the names already admitted keep their series. Unnamed operations are `anonymous`; names that are
//! not plain identifiers (up to 64 letters, digits and `_`) are `invalid`.

use std::{
    collections::HashSet,
    sync::{LazyLock, Mutex, PoisonError},
    time::Instant,
};

use async_graphql::Response;

/// The most operation names with series of their own, per process.
pub const MAX_OPERATION_NAMES: usize = 256;

/// The names admitted so far; the metrics recorder is one per process, and so is this.
static ADMITTED: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Mutex::default);

/// Records one finished operation that started at `started`, run for a signed-in caller or not.
pub fn record(
    operation_name: Option<&str>,
    signed_in: bool,
    started: Instant,
    response: &Response,
) {
    let succeeded = response.is_ok();
    let outcome = if succeeded { "ok" } else { "error" };
    let labels = [
        ("operation", label(operation_name, succeeded && signed_in)),
        ("outcome", outcome.to_owned()),
    ];
    metrics::counter!("graphql_operations_total", &labels).increment(1);
    metrics::histogram!("graphql_operation_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
}

/// The name's label; `admit` lets a new name take one of the free places.
fn label(name: Option<&str>, admit: bool) -> String {
    let Some(name) = name else {
        return "anonymous".into();
    };
    let plain = name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !plain {
        return "invalid".into();
    }
    // A panic elsewhere while holding the lock leaves the set intact: keep using it.
    let mut admitted = ADMITTED.lock().unwrap_or_else(PoisonError::into_inner);
    let known = admitted.contains(name)
        || (admit && admitted.len() < MAX_OPERATION_NAMES && admitted.insert(name.to_owned()));
    if known {
        name.to_owned()
    } else {
        "other".into()
    }
}
