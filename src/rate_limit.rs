//! Token-bucket throttles (governor) keyed by account, client address, user or connector. A
//! refusal says how long to wait.

use std::{
    hash::Hash,
    net::{IpAddr, Ipv6Addr},
    num::NonZeroU32,
    time::Duration,
};

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

/// Login throttling per account and client address together, and per client address: no
/// address guesses quickly, at one account or across many, and wrong passwords sent from one
/// address never lock the account's owner out at another. An IPv6 client counts as its /64,
/// the block one subscriber holds, so rotating addresses within it buys nothing.
pub struct LoginLimiter {
    per_account_and_address: Throttle<(String, Option<IpAddr>)>,
    per_address: Throttle<IpAddr>,
}

impl LoginLimiter {
    pub fn new(per_account_and_address_per_minute: u32, per_address_per_minute: u32) -> Self {
        Self {
            per_account_and_address: Throttle::per_minute(per_account_and_address_per_minute),
            per_address: Throttle::per_minute(per_address_per_minute),
        }
    }

    /// Counts one attempt; refuses it when either budget is spent.
    pub fn check(&self, account: &str, ip: Option<IpAddr>) -> Result<()> {
        let address = ip.map(subscriber);
        if let Some(address) = address {
            self.per_address.check(&address)?;
        }
        self.per_account_and_address
            .check(&(account.to_owned(), address))
    }

    pub fn prune(&self) {
        self.per_account_and_address.prune();
        self.per_address.prune();
    }
}

/// The address a client is counted as: IPv4 as it is (also when mapped into IPv6), IPv6 as its
/// /64 network.
fn subscriber(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
    }
}

/// Webhook throttling per connector and per client address: one sender cannot flood the inbox
/// through many connectors, and many senders cannot flood one connector.
pub struct HookLimiter {
    per_connector: Throttle<Uuid>,
    per_address: Throttle<IpAddr>,
    unsigned_per_address: Throttle<IpAddr>,
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
            unsigned_per_address: Throttle::per_minute_with_burst(
                config.hook_unsigned_requests_per_minute_per_address,
                config.hook_unsigned_burst_per_address,
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

    /// Counts one more request from `address` to a connector that takes unsigned requests.
    pub fn check_unsigned(&self, address: IpAddr) -> Result<()> {
        self.unsigned_per_address.check(&address)
    }

    pub fn prune(&self) {
        self.per_connector.prune();
        self.per_address.prune();
        self.unsigned_per_address.prune();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[test]
    fn an_accounts_login_budget_is_kept_per_address() {
        let limiter = LoginLimiter::new(2, 100);
        for _ in 0..2 {
            assert!(limiter.check("owner@example.com", ip("192.0.2.7")).is_ok());
        }
        assert!(limiter.check("owner@example.com", ip("192.0.2.7")).is_err());
        assert!(
            limiter
                .check("owner@example.com", ip("198.51.100.1"))
                .is_ok()
        );
        assert!(limiter.check("other@example.com", ip("192.0.2.7")).is_ok());
    }

    #[test]
    fn an_ipv6_client_is_counted_as_its_64() {
        let limiter = LoginLimiter::new(2, 100);
        assert!(
            limiter
                .check("owner@example.com", ip("2001:db8::1"))
                .is_ok()
        );
        assert!(
            limiter
                .check("owner@example.com", ip("2001:db8::ffff:2"))
                .is_ok()
        );
        assert!(
            limiter
                .check("owner@example.com", ip("2001:db8::abcd:3"))
                .is_err()
        );
        assert!(
            limiter
                .check("owner@example.com", ip("2001:db8:0:1::1"))
                .is_ok()
        );
        // An IPv4 client seen through an IPv6 socket is the same client.
        assert!(limiter.check("owner@example.com", ip("192.0.2.9")).is_ok());
        assert!(
            limiter
                .check("owner@example.com", ip("::ffff:192.0.2.9"))
                .is_ok()
        );
        assert!(limiter.check("owner@example.com", ip("192.0.2.9")).is_err());
    }
}
