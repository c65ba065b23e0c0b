//! Login throttling per account and per client IP, so neither one account nor one address can
//! be used to guess passwords quickly.

use std::{net::IpAddr, num::NonZeroU32, time::Duration};

use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock, clock::DefaultClock};

use crate::error::{AppError, Result};

pub struct LoginLimiter {
    per_account: DefaultKeyedRateLimiter<String>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl LoginLimiter {
    pub fn new(per_account_per_minute: u32, per_ip_per_minute: u32) -> Self {
        let quota =
            |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
        Self {
            per_account: DefaultKeyedRateLimiter::keyed(quota(per_account_per_minute)),
            per_ip: DefaultKeyedRateLimiter::keyed(quota(per_ip_per_minute)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one attempt; refuses it when either budget is spent.
    pub fn check(&self, account: &str, ip: Option<IpAddr>) -> Result<()> {
        let ip_outcome = ip.map(|ip| self.per_ip.check_key(&ip)).unwrap_or(Ok(()));
        let outcome = ip_outcome.and_then(|_| self.per_account.check_key(&account.to_owned()));
        outcome.map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            AppError::RateLimited {
                retry_after_secs: wait.max(Duration::from_secs(1)).as_secs(),
            }
        })
    }

    /// Drops state of keys that are full again, so the maps do not grow without bound.
    pub fn prune(&self) {
        self.per_account.retain_recent();
        self.per_ip.retain_recent();
    }
}
