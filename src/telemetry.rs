//! Structured logs through `tracing`; `RUST_LOG` filters, `log_format = "json"` for machines.
//!
//! Each log statement writes a burst of lines and then a few a second ([`Throttle`]): a fault
//! that fails every request alike (the store down at hundreds of requests a second, a flood of
//! badly signed webhooks) shows as its line a few times a second, not once per request. Lines
//! left out are counted in `log_lines_suppressed_total`.

use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota};
use tracing::{Event, Level, callsite::Identifier};
use tracing_subscriber::{
    EnvFilter, Layer, fmt,
    layer::{Context, Filter, SubscriberExt},
    util::SubscriberInitExt,
};

pub fn init(format: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let lines = fmt::layer().with_target(false);
    let registry = tracing_subscriber::registry().with(filter);
    let result = if format == "json" {
        registry
            .with(lines.json().with_filter(Throttle::default()))
            .try_init()
    } else {
        registry
            .with(lines.with_filter(Throttle::default()))
            .try_init()
    };
    // A second call (tests start several servers in one process) keeps the first subscriber.
    drop(result);
}

/// Lines one statement may write at once, and then each second.
const BURST: u32 = 20;
const PER_SECOND: u32 = 5;

/// Limits the lines of each log statement (its callsite) at `INFO` and above; `DEBUG` and
/// `TRACE`, asked for with `RUST_LOG`, are written in full.
pub struct Throttle {
    per_statement: DefaultKeyedRateLimiter<Identifier>,
}

impl Default for Throttle {
    fn default() -> Self {
        let quota = Quota::per_second(NonZeroU32::new(PER_SECOND).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(BURST).unwrap_or(NonZeroU32::MIN));
        Throttle {
            per_statement: DefaultKeyedRateLimiter::keyed(quota),
        }
    }
}

impl<S> Filter<S> for Throttle {
    fn enabled(&self, _: &tracing::Metadata<'_>, _: &Context<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, event: &Event<'_>, _: &Context<'_, S>) -> bool {
        let metadata = event.metadata();
        if *metadata.level() > Level::INFO {
            return true;
        }
        let allowed = self.per_statement.check_key(&metadata.callsite()).is_ok();
        if !allowed {
            metrics::counter!("log_lines_suppressed_total").increment(1);
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use std::{
        io::Write,
        sync::{Arc, Mutex},
    };

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    /// Log output kept in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut kept) = self.0.lock() {
                kept.extend_from_slice(bytes);
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[test]
    fn a_statement_failing_on_every_request_writes_a_burst_and_others_still_write() {
        let captured = Captured::default();
        let lines = fmt::layer()
            .with_writer(captured.clone())
            .with_filter(Throttle::default());
        let subscriber = tracing_subscriber::registry().with(lines);
        tracing::subscriber::with_default(subscriber, || {
            for request in 0..1_000 {
                tracing::error!(request, "the store is unreachable");
            }
            tracing::warn!("another statement");
            for step in 0..50 {
                tracing::debug!(step, "asked-for detail");
            }
        });
        let text = String::from_utf8(captured.0.lock().map(|k| k.clone()).unwrap_or_default())
            .unwrap_or_default();
        let count = |needle: &str| text.lines().filter(|l| l.contains(needle)).count();
        // The loop may outlast a second on a slow machine; a few more lines then pass.
        let unreachable = count("the store is unreachable");
        assert!(
            (BURST as usize..=BURST as usize + 50).contains(&unreachable),
            "{unreachable} lines"
        );
        assert_eq!(count("another statement"), 1);
        assert_eq!(count("asked-for detail"), 50);
    }
}
