//! Token-bucket throttles (governor) keyed by account, client address, user or connector. A
//! refusal says how long to wait.

use std::{hash::Hash, net::IpAddr, num::NonZeroU32, time::Duration};

use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock, clock::DefaultClock};
use uuid::Uuid;

use crate::error::{AppError, Result};

/// One keyed token bucket.
pub struct Throttle<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    clock: DefaultClock,
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    /// `per_minute` requests a minute on average, all of them at once at most.
    pub fn per_minute(per_minute: u32) -> Self {
        Self::new(Quota::per_minute(at_least_one(per_minute)))
    }

    /// `per_minute` on average, with bursts of up to `burst`.
    pub fn per_minute_with_burst(per_minute: u32, burst: u32) -> Self {
        Self::new(Quota::per_minute(at_least_one(per_minute)).allow_burst(at_least_one(burst)))
    }

    /// `per_second` on average, with bursts of up to `burst`.
    pub fn per_second(per_second: u32, burst: u32) -> Self {
        Self::new(Quota::per_second(at_least_one(per_second)).allow_burst(at_least_one(burst)))
    }

    fn new(quota: Quota) -> Self {
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one token for `key`, or says how long until one is free.
    pub fn check(&self, key: &K) -> Result<()> {
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            AppError::RateLimited {
                retry_after_secs: wait.max(Duration::from_secs(1)).as_secs(),
            }
        })
    }

    /// Forgets keys whose buckets are full again, so the map does not grow without bound.
    pub fn prune(&self) {
        self.limiter.retain_recent();
    }
}

fn at_least_one(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// Login throttling per account and per client address, so neither one account nor one
/// address can be used to guess passwords quickly.
pub struct LoginLimiter {
    per_account: Throttle<String>,
    per_ip: Throttle<IpAddr>,
}

impl LoginLimiter {
    pub fn new(per_account_per_minute: u32, per_ip_per_minute: u32) -> Self {
        Self {
            per_account: Throttle::per_minute(per_account_per_minute),
            per_ip: Throttle::per_minute(per_ip_per_minute),
        }
    }

    /// Counts one attempt; refuses it when either budget is spent.
    pub fn check(&self, account: &str, ip: Option<IpAddr>) -> Result<()> {
        if let Some(ip) = ip {
            self.per_ip.check(&ip)?;
        }
        self.per_account.check(&account.to_owned())
    }

    pub fn prune(&self) {
        self.per_account.prune();
        self.per_ip.prune();
    }
}

/// Webhook throttling per connector and per client address: one sender cannot flood the inbox
/// through many connectors, and many senders cannot flood one connector.
pub struct HookLimiter {
    per_connector: Throttle<Uuid>,
    per_address: Throttle<IpAddr>,
}

impl HookLimiter {
    pub fn new(config: &crate::config::Config) -> Self {
        Self {
            per_connector: Throttle::per_minute_with_burst(
                config.hook_requests_per_minute_per_connector,
                config.hook_burst_per_connector,
            ),
            per_address: Throttle::per_minute_with_burst(
                config.hook_requests_per_minute_per_address,
                config.hook_burst_per_address,
            ),
        }
    }

    /// Counts one request; refuses it when either budget is spent. The address pays first, so
    /// a sender refused for its own rate spends none of the connector's budget that other
    /// senders share.
    pub fn check(&self, connector_id: Uuid, address: IpAddr) -> Result<()> {
        self.per_address.check(&address)?;
        self.per_connector.check(&connector_id)
    }

    pub fn prune(&self) {
        self.per_connector.prune();
        self.per_address.prune();
    }
}
