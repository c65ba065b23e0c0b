//! Assembles the application from its settings: store, migrations, keys, first admin, event
//! bus, services, background tasks (the inbox workers among them), schema and router.

use std::{sync::Arc, sync::OnceLock, time::Duration};

use anyhow::Context;
use entity::setting;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sea_orm::{DatabaseConnection, EntityTrait, Set};
use tokio::task::JoinSet;

use crate::{
    auth::{Authenticator, external::ExternalIdp, rights::Rights, tokens},
    config::Config,
    db,
    events::Events,
    graphql,
    http::AppState,
    hub::{
        Hub,
        secrets::SecretBox,
        worker::{WorkerContext, Workers},
    },
    quality,
    rate_limit::{HookLimiter, LoginLimiter, Throttle},
    sales,
    services::{Services, reminders, users},
};

const JWT_SECRET_KEY: &str = "jwt_secret";
const CONNECTOR_SECRET_KEY: &str = "connector_secret_key";

pub async fn build(config: Config) -> anyhow::Result<AppState> {
    let (db, auth, connector_key) = store_and_auth(&config).await?;
    if let (Some(email), Some(password)) = (&config.admin_email, &config.admin_password)
        && let Some(admin) = users::bootstrap_admin(&db, email, password)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
    {
        tracing::info!(email = %admin.email, "created the first admin");
    }
    let login_limiter = Arc::new(LoginLimiter::new(
        config.login_attempts_per_account_per_minute,
        config.login_attempts_per_ip_per_minute,
    ));
    let api_throttle = Arc::new(Throttle::per_second(
        config.requests_per_second_per_user,
        config.request_burst_per_user,
    ));
    let hook_limiter = Arc::new(HookLimiter::new(&config));
    spawn_throttle_pruning(
        login_limiter.clone(),
        api_throttle.clone(),
        hook_limiter.clone(),
    );
    let mut background = JoinSet::new();
    let events = Events::start(&db, &mut background)
        .await
        .context("starting the event bus")?;
    let services = Services {
        db,
        events,
        config: Arc::new(config),
        auth: Arc::new(auth),
        login_limiter,
    };
    let hub = Hub::new(SecretBox::new(&connector_key));
    let auth = services.auth.clone();
    let changes = services.events.subscribe();
    background.spawn(async move { auth.rights.follow(changes).await });
    background.spawn(sales::rfm::run(
        services.db.clone(),
        services.events.clone(),
        services.config.clone(),
        Duration::from_millis(services.config.rfm_interval_ms),
    ));
    background.spawn(sales::scoring::periodically(
        services.db.clone(),
        services.events.clone(),
        Duration::from_millis(services.config.rescore_interval_ms),
    ));
    background.spawn(sales::assignment::sla::run(
        services.clone(),
        Duration::from_millis(services.config.assignment_sla_interval_ms),
    ));
    background.spawn(reminders::run(
        services.clone(),
        Duration::from_millis(services.config.activity_due_interval_ms),
    ));
    for _ in 0..services.config.import_workers {
        background.spawn(quality::import::worker::run(services.clone()));
    }
    let workers = Workers::start(
        services.config.hub_workers,
        &WorkerContext::new(&services, hub.clone()),
    );
    let schema = graphql::schema(services.clone(), hub.clone());
    Ok(AppState {
        services,
        hub,
        schema,
        metrics: metrics_handle(),
        api_throttle,
        hook_limiter,
        background: Arc::new(background),
        workers,
    })
}

/// The store (connected and migrated), the authenticator and the key connector secrets are
/// sealed with.
async fn store_and_auth(
    config: &Config,
) -> anyhow::Result<(DatabaseConnection, Authenticator, String)> {
    let db = db::connect(
        &config.database_url,
        config.max_db_connections,
        Duration::from_millis(config.db_acquire_timeout_ms),
    )
    .await?;
    db::migrate(&db).await?;
    let secret = match &config.jwt_secret {
        Some(secret) => secret.clone(),
        None => stored_secret(&db, JWT_SECRET_KEY).await?,
    };
    let connector_key = match &config.secret_key {
        Some(key) => key.clone(),
        None => {
            tracing::warn!(
                "TOUCHBASE_SECRET_KEY is unset: connector secrets are sealed with a key kept in \
                 the database, so they are only as safe as the database"
            );
            stored_secret(&db, CONNECTOR_SECRET_KEY).await?
        }
    };
    let auth = Authenticator {
        local: tokens::LocalTokens::new(
            secret.as_bytes(),
            &config.jwt_issuer,
            &config.jwt_audience,
            config.access_token_ttl_secs,
        ),
        external: external_idp(config)?,
        rights: Rights::new(Duration::from_millis(config.rights_cache_ms)),
    };
    Ok((db, auth, connector_key))
}

/// The services alone, without the server's background work or routes: for a command (an
/// import from the CLI) that writes through them in this process.
pub async fn services(config: Config) -> anyhow::Result<Services> {
    let (db, auth, _) = store_and_auth(&config).await?;
    // Publishing needs no listener: on PostgreSQL the relay this starts is dropped at once,
    // and what the command writes is still announced to every running replica.
    let events = Events::start(&db, &mut JoinSet::new())
        .await
        .context("starting the event bus")?;
    let login_limiter = Arc::new(LoginLimiter::new(
        config.login_attempts_per_account_per_minute,
        config.login_attempts_per_ip_per_minute,
    ));
    Ok(Services {
        db,
        events,
        config: Arc::new(config),
        auth: Arc::new(auth),
        login_limiter,
    })
}

/// A generated secret kept in the database under `key`, created on first start. Replicas
/// starting together race to insert it; the losers read the winner's.
async fn stored_secret(db: &DatabaseConnection, key: &str) -> anyhow::Result<String> {
    let candidate = setting::ActiveModel {
        key: Set(key.into()),
        value: Set(tokens::generate_secret()),
    };
    setting::Entity::insert(candidate)
        .on_conflict_do_nothing_on([setting::Column::Key])
        .exec(db)
        .await
        .with_context(|| format!("storing the {key}"))?;
    let stored = setting::Entity::find_by_id(key)
        .one(db)
        .await
        .with_context(|| format!("reading the {key}"))?;
    stored
        .map(|s| s.value)
        .with_context(|| format!("the {key} vanished after it was stored"))
}

fn external_idp(config: &Config) -> anyhow::Result<Option<ExternalIdp>> {
    let (Some(issuer), Some(audience)) = (config.oidc_issuer.clone(), config.oidc_audience.clone())
    else {
        return Ok(None);
    };
    match (&config.oidc_public_key_pem, &config.oidc_jwks_url) {
        (Some(pem), _) => Ok(Some(
            ExternalIdp::from_pem(issuer, audience, pem).context("reading oidc_public_key_pem")?,
        )),
        (None, Some(url)) => Ok(Some(ExternalIdp::from_jwks_url(
            issuer,
            audience,
            url.clone(),
        ))),
        (None, None) => {
            anyhow::bail!("oidc_issuer is set but neither oidc_jwks_url nor oidc_public_key_pem")
        }
    }
}

fn spawn_throttle_pruning(
    login: Arc<LoginLimiter>,
    api: Arc<Throttle<String>>,
    hooks: Arc<HookLimiter>,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            login.prune();
            api.prune();
            hooks.prune();
        }
    });
}

/// One Prometheus recorder per process: the `metrics` macros write to a global.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first, in which case ours stays idle.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}
