//! The import workers: each takes a batch of whichever run waits longest, again and again, and
//! sleeps when none waits until a run is started or its poll interval passes. Stopping between
//! batches, or being killed inside one, loses nothing: an unfinished batch was never committed.

use std::time::Duration;

use futures_util::StreamExt;

use crate::{events::Event, quality::import::job, services::Services};

/// Works import batches for as long as the process runs.
pub async fn run(svc: Services) {
    let poll = Duration::from_millis(svc.config.import_poll_interval_ms);
    let mut started = Box::pin(
        svc.events
            .subscribe()
            .filter(|e| std::future::ready(matches!(e, Event::ImportProgressed { .. }))),
    );
    loop {
        match job::work_next(&svc).await {
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(error) => tracing::error!(?error, "an import batch failed; it will be tried again"),
        }
        tokio::select! {
            _ = started.next() => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
}
