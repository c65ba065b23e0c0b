//! Settings, layered as the run contract says: defaults, then `touchbase.toml` if present, then
//! `TOUCHBASE_*` environment variables, then command-line flags (applied by the CLI).

use std::net::SocketAddr;

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    pub bind: SocketAddr,
    pub env: Environment,
    /// Base of the URLs handed to providers; `http://{bind}` when unset.
    pub public_url: Option<String>,
    /// HS256 key for access tokens; generated and kept in the database when unset.
    pub jwt_secret: Option<String>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// How long a replica may answer from its cache whether a user and session may still act,
    /// should it miss the announcement of a change (announcements apply at once).
    pub rights_cache_ms: u64,
    /// An outside identity provider whose RS256/ES256 tokens are accepted too.
    pub oidc_issuer: Option<String>,
    pub oidc_audience: Option<String>,
    pub oidc_jwks_url: Option<String>,
    /// PEM public key (inline) for the outside provider when it has no JWKS endpoint.
    pub oidc_public_key_pem: Option<String>,
    /// Encrypts connector secrets at rest; generated and kept in the database when unset.
    pub secret_key: Option<String>,
    /// Creates this admin on first start when no user exists yet.
    pub admin_email: Option<String>,
    pub admin_password: Option<String>,
    /// ISO 3166 region used to read phone numbers written without a country code.
    pub default_phone_region: String,
    /// Login attempts on one account from one client address; other addresses keep their own.
    pub login_attempts_per_account_per_minute: u32,
    /// Login attempts from one client address, whatever the account.
    pub login_attempts_per_ip_per_minute: u32,
    pub max_page_size: u32,
    /// Deepest selection nesting a query may have.
    pub max_depth: usize,
    /// Largest cost a query may have; a connection costs `first` times its selection.
    pub max_complexity: usize,
    /// Deepest nesting of lists and objects in one argument value or variable.
    pub max_input_depth: usize,
    /// Most aliases in one document (alias amplification).
    pub max_aliases: usize,
    /// Most top-level fields in one operation.
    pub max_root_fields: usize,
    /// A GraphQL operation running longer is stopped.
    pub execution_timeout_ms: u64,
    /// Per-user (or per-address, when anonymous) GraphQL request budget.
    pub requests_per_second_per_user: u32,
    pub request_burst_per_user: u32,
    pub request_timeout_secs: u64,
    /// On SIGTERM, how long the inbox workers get to finish the deliveries in hand.
    pub shutdown_grace_secs: u64,
    pub max_body_bytes: usize,
    pub max_db_connections: u32,
    /// How long a request waits for a database connection before it fails, so an unreachable
    /// database is answered (503 from `/readyz` and `/hooks`) within this rather than hanging.
    pub db_acquire_timeout_ms: u64,
    /// A WebSocket client that sends no `connection_init` within this long is disconnected.
    pub ws_init_timeout_ms: u64,
    /// How often open activities whose due time has passed are looked for and announced.
    pub activity_due_interval_ms: u64,
    /// How often every lead is scored again, so engagement follows its touches' age.
    pub rescore_interval_ms: u64,
    /// How often assignments whose follow-up SLA ran out without a response are looked for,
    /// marked breached and, where their rule says so, handed to the next person.
    pub assignment_sla_interval_ms: u64,
    /// The currency RFM's monetary value is summed in (ISO 4217). Payments in other currencies
    /// count toward recency and frequency but not toward the monetary value: no rate is
    /// guessed.
    pub rfm_currency: String,
    /// How often every account's and contact's RFM scores are computed again.
    pub rfm_interval_ms: u64,
    /// A paying account whose last purchase is older than this many days becomes an inactive
    /// customer, and an active one again when it buys.
    pub rfm_quiet_days: i64,
    /// Largest webhook body any provider may post. Unset, each connector kind has its own cap:
    /// 64 KiB for a web form or Twilio, 40 MiB for inbound mail with its attachments, 1 MiB for
    /// most event notifications.
    pub max_webhook_body_bytes: Option<usize>,
    /// Webhook requests one connector takes a minute on average, and at once at most; more are
    /// answered 429 with `Retry-After`.
    pub hook_requests_per_minute_per_connector: u32,
    pub hook_burst_per_connector: u32,
    /// Webhook requests one client address may make a minute over all connectors, on average
    /// and at once at most.
    pub hook_requests_per_minute_per_address: u32,
    pub hook_burst_per_address: u32,
    /// The tighter budget of one client address for connectors that take unsigned requests (a
    /// public web form): anyone can post there, so one visitor gets a person's share.
    pub hook_unsigned_requests_per_minute_per_address: u32,
    pub hook_unsigned_burst_per_address: u32,
    /// When set, `GET /metrics` answers only requests bearing `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
    /// Whether the inbox worker scores, qualifies and assigns the leads touches reach as it
    /// records them. Off, touches are only recorded (and new leads stay unassigned) until the
    /// next rescoring; for measuring what the sales engine costs, or an import of history.
    pub hub_sales_engine: bool,
    /// Concurrent inbox workers in this process; 0 makes a replica that only takes deliveries in.
    pub hub_workers: usize,
    /// How often an idle inbox worker looks for due deliveries (new ones also wake it).
    pub hub_poll_interval_ms: u64,
    /// Tries a delivery gets before it is dead-lettered.
    pub hub_max_attempts: u32,
    /// The wait after a delivery's first failure; it doubles with each further one, up to the max.
    pub hub_retry_base_ms: u64,
    pub hub_retry_max_ms: u64,
    /// Concurrent import workers in this process; 0 leaves imports to other replicas.
    pub import_workers: usize,
    /// Rows an import writes per transaction: its unit of progress and of redoing after a crash.
    pub import_batch_rows: usize,
    /// How often an idle import worker looks for runs (a started import also wakes it).
    pub import_poll_interval_ms: u64,
    /// Largest file `POST /imports` takes.
    pub import_max_bytes: usize,
    /// Most data rows one import may have.
    pub import_max_rows: usize,
    /// How many days a merge may be undone.
    pub merge_undo_days: u32,
    /// `text` or `json` log lines.
    pub log_format: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://touchbase.db?mode=rwc".into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            env: Environment::Development,
            public_url: None,
            jwt_secret: None,
            jwt_issuer: "touchbase".into(),
            jwt_audience: "touchbase".into(),
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            rights_cache_ms: 5_000,
            oidc_issuer: None,
            oidc_audience: None,
            oidc_jwks_url: None,
            oidc_public_key_pem: None,
            secret_key: None,
            admin_email: None,
            admin_password: None,
            default_phone_region: "US".into(),
            login_attempts_per_account_per_minute: 5,
            login_attempts_per_ip_per_minute: 30,
            max_page_size: 100,
            max_depth: 12,
            max_complexity: 20_000,
            max_input_depth: 16,
            max_aliases: 30,
            max_root_fields: 20,
            execution_timeout_ms: 10_000,
            requests_per_second_per_user: 20,
            request_burst_per_user: 100,
            request_timeout_secs: 30,
            shutdown_grace_secs: 20,
            max_body_bytes: 1024 * 1024,
            max_db_connections: 16,
            db_acquire_timeout_ms: 1_500,
            ws_init_timeout_ms: 3_000,
            activity_due_interval_ms: 5_000,
            assignment_sla_interval_ms: 60_000,
            rfm_currency: "USD".into(),
            rfm_interval_ms: 3_600_000,
            rescore_interval_ms: 3_600_000,
            hub_sales_engine: true,
            rfm_quiet_days: 180,
            max_webhook_body_bytes: None,
            hook_requests_per_minute_per_connector: 3_000,
            hook_burst_per_connector: 500,
            hook_requests_per_minute_per_address: 1_200,
            hook_burst_per_address: 200,
            hook_unsigned_requests_per_minute_per_address: 60,
            hook_unsigned_burst_per_address: 20,
            metrics_token: None,
            hub_workers: 2,
            hub_poll_interval_ms: 1_000,
            hub_max_attempts: 10,
            hub_retry_base_ms: 10_000,
            hub_retry_max_ms: 3_600_000,
            import_workers: 1,
            import_batch_rows: 200,
            import_poll_interval_ms: 1_000,
            import_max_bytes: 64 * 1024 * 1024,
            import_max_rows: 1_000_000,
            merge_undo_days: 30,
            log_format: "text".into(),
        }
    }
}

/// The settings that hold text, read from the environment as written.
const TEXT_SETTINGS: [&str; 16] = [
    "database_url",
    "public_url",
    "jwt_secret",
    "jwt_issuer",
    "jwt_audience",
    "oidc_issuer",
    "oidc_audience",
    "oidc_jwks_url",
    "oidc_public_key_pem",
    "secret_key",
    "admin_email",
    "admin_password",
    "default_phone_region",
    "rfm_currency",
    "metrics_token",
    "log_format",
];

impl Config {
    /// Defaults, then `touchbase.toml` in the working directory, then `TOUCHBASE_*` variables.
    pub fn load() -> anyhow::Result<Self> {
        Self::figment(Figment::from(Serialized::defaults(Config::default())))
            .extract()
            .map_err(|e| anyhow::anyhow!("reading settings: {e}"))
    }

    /// `base`, then the file, then the environment. A variable is read as TOML-like data
    /// (`true`, `42`), except for the text settings, which keep its text as it is: a secret
    /// of digits such as `TOUCHBASE_SECRET_KEY=0042` is the string `0042`, not a number.
    fn figment(base: Figment) -> Figment {
        let env = Env::prefixed("TOUCHBASE_");
        let mut figment = base
            .merge(Toml::file("touchbase.toml"))
            .merge(env.clone().ignore(&TEXT_SETTINGS));
        for (key, text) in env.only(&TEXT_SETTINGS).iter() {
            figment = figment.merge(Serialized::default(key.as_str(), text));
        }
        figment
    }

    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }

    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.bind),
        }
    }
}

#[cfg(test)]
mod tests {
    use figment::Jail;

    use super::*;

    #[test]
    // `Jail` fixes the closure's error type, figment's own.
    #[allow(clippy::result_large_err)]
    fn text_settings_keep_digits_as_text_and_numbers_still_parse() {
        Jail::expect_with(|jail| {
            jail.set_env("TOUCHBASE_SECRET_KEY", "0000000000000000000000000000000042");
            jail.set_env("TOUCHBASE_JWT_SECRET", "12345678901234567890123456789012");
            jail.set_env("TOUCHBASE_ADMIN_PASSWORD", "1e3");
            jail.set_env("TOUCHBASE_JWT_ISSUER", "true");
            jail.set_env("TOUCHBASE_MAX_PAGE_SIZE", "50");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(
                config.secret_key.as_deref(),
                Some("0000000000000000000000000000000042")
            );
            assert_eq!(
                config.jwt_secret.as_deref(),
                Some("12345678901234567890123456789012")
            );
            assert_eq!(config.admin_password.as_deref(), Some("1e3"));
            assert_eq!(config.jwt_issuer, "true");
            assert_eq!(config.max_page_size, 50);
            Ok(())
        });
    }

    /// Every setting that takes text is in `TEXT_SETTINGS`, and nothing else is: a setting
    /// takes text when a string is accepted for it where a number would not be.
    #[test]
    fn the_text_settings_are_exactly_the_settings_that_hold_text() {
        let defaults = serde_json::to_value(Config::default()).unwrap();
        let mut text = Vec::new();
        for key in defaults.as_object().unwrap().keys() {
            let mut values = defaults.clone();
            values[key.as_str()] = serde_json::json!("a-string-not-a-number");
            if serde_json::from_value::<Config>(values).is_ok() {
                text.push(key.as_str());
            }
        }
        let mut expected = TEXT_SETTINGS.to_vec();
        expected.sort_unstable();
        text.sort_unstable();
        assert_eq!(text, expected);
    }
}
