//! Login, refresh rotation and reuse detection, logout, refused tokens, rate limits.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use crate::helpers::{
    ADMIN_EMAIL, ADMIN_PASSWORD, LOGIN, UPDATE_USER, error_code, session, spawn_app, spawn_app_with,
};

const ME: &str = "{ me { email role } }";
const REFRESH: &str = "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken user { id } } }";

#[tokio::test]
async fn login_returns_tokens_that_authenticate() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let data = app.ok(&admin.access, ME, json!({})).await;
    assert_eq!(data["me"], json!({ "email": ADMIN_EMAIL, "role": "ADMIN" }));
}

#[tokio::test]
async fn login_answers_alike_for_unknown_email_and_wrong_password() {
    let app = spawn_app().await;
    let wrong_password = app
        .gql(
            None,
            LOGIN,
            json!({ "email": ADMIN_EMAIL, "password": "not-the-password" }),
        )
        .await;
    let unknown = app
        .gql(
            None,
            LOGIN,
            json!({ "email": "nobody@example.com", "password": "not-the-password" }),
        )
        .await;
    assert_eq!(error_code(&wrong_password), Some("UNAUTHENTICATED"));
    assert_eq!(
        wrong_password["errors"][0]["message"],
        unknown["errors"][0]["message"]
    );
    assert_eq!(
        wrong_password["errors"][0]["extensions"],
        unknown["errors"][0]["extensions"]
    );
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_family() {
    let app = spawn_app().await;
    let first = app.admin().await;
    let rotated = app.gql(None, REFRESH, json!({ "t": first.refresh })).await;
    let second = session(&rotated["data"]["refreshSession"]);
    assert_ne!(second.refresh, first.refresh);

    // The spent token comes back: theft. It is refused and the newer token dies with it.
    let replay = app.gql(None, REFRESH, json!({ "t": first.refresh })).await;
    assert_eq!(error_code(&replay), Some("UNAUTHENTICATED"));
    let after_replay = app.gql(None, REFRESH, json!({ "t": second.refresh })).await;
    assert_eq!(error_code(&after_replay), Some("UNAUTHENTICATED"));

    assert_eq!(
        session_audit(&app).await,
        ["session.login", "session.reuse_revoked"],
        "the login and the detected reuse are audited; routine refreshes are not"
    );

    // Another login is a separate family and still works.
    let fresh = app.admin().await;
    assert!(
        app.gql(None, REFRESH, json!({ "t": fresh.refresh }))
            .await
            .get("errors")
            .is_none()
    );
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    assert_eq!(
        app.ok(&admin.access, "mutation { logout }", json!({}))
            .await["logout"],
        true
    );
    let after = app.gql(None, REFRESH, json!({ "t": admin.refresh })).await;
    assert_eq!(error_code(&after), Some("UNAUTHENTICATED"));
    assert_eq!(
        session_audit(&app).await,
        ["session.login", "session.logout"]
    );
}

/// The session events in the audit log, oldest first.
async fn session_audit(app: &crate::helpers::TestApp) -> Vec<String> {
    entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::EntityType.eq("session"))
        .order_by_asc(entity::audit_log::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.action)
        .collect()
}

#[tokio::test]
async fn operations_without_a_token_are_unauthenticated() {
    let app = spawn_app().await;
    let body = app
        .gql(None, "{ leads(first: 1) { totalCount } }", json!({}))
        .await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
    assert!(body["data"].is_null());
}

/// Claims for the session `token` belongs to, expiring `exp_offset` seconds from now.
fn claims(token: &str, exp_offset: i64, aud: &str) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = payload(token);
    claims["aud"] = json!(aud);
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + exp_offset);
    claims
}

/// A JWT's claims, read without checking the signature.
fn payload(token: &str) -> serde_json::Value {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test]
async fn forged_expired_and_misaddressed_tokens_are_refused() {
    let secret = "a-test-secret-that-is-long-enough-for-hs256";
    let app = spawn_app_with(|c| c.jwt_secret = Some(secret.into())).await;
    let admin = app.admin().await;
    let key = EncodingKey::from_secret(secret.as_bytes());

    // Sanity: a token we mint with the right key and claims is accepted, so the refusals below
    // are about the one thing each changes.
    let valid = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(&admin.access, 600, "touchbase"),
        &key,
    )
    .unwrap();
    assert!(
        app.gql(Some(&valid), ME, json!({}))
            .await
            .get("errors")
            .is_none()
    );

    let expired = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(&admin.access, -600, "touchbase"),
        &key,
    )
    .unwrap();
    let wrong_audience = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(&admin.access, 600, "someone-else"),
        &key,
    )
    .unwrap();
    let wrong_key = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(&admin.access, 600, "touchbase"),
        &EncodingKey::from_secret(b"not-our-secret"),
    )
    .unwrap();
    let alg_none = unsigned_token(&claims(&admin.access, 600, "touchbase"));
    let mut early = claims(&admin.access, 600, "touchbase");
    early["nbf"] = json!(chrono::Utc::now().timestamp() + 300);
    let not_yet_valid = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &early, &key).unwrap();
    let mut unknown_session = claims(&admin.access, 600, "touchbase");
    unknown_session["sid"] = json!(uuid::Uuid::now_v7());
    let unknown_session =
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &unknown_session, &key).unwrap();
    let tampered = tamper_role(&admin.access);

    for (name, token) in [
        ("expired", expired),
        ("wrong audience", wrong_audience),
        ("wrong key", wrong_key),
        ("alg none", alg_none),
        ("tampered", tampered),
        ("not yet valid", not_yet_valid),
        ("of no session", unknown_session),
    ] {
        let body = app.gql(Some(&token), ME, json!({})).await;
        assert_eq!(
            error_code(&body),
            Some("UNAUTHENTICATED"),
            "{name} token was not refused: {body}"
        );
    }
}

/// `{"alg":"none"}` with the claims and an empty signature.
fn unsigned_token(claims: &serde_json::Value) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

/// The same token with its payload changed and the old signature kept.
fn tamper_role(token: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["exp"] = json!(payload["exp"].as_i64().unwrap() + 3600);
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    parts.join(".")
}

#[tokio::test]
async fn login_is_rate_limited_per_account() {
    let app = spawn_app_with(|c| c.login_attempts_per_account_per_minute = 3).await;
    for _ in 0..3 {
        let body = app
            .gql(
                None,
                LOGIN,
                json!({ "email": ADMIN_EMAIL, "password": "wrong-password" }),
            )
            .await;
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
    }
    // Even the right password is refused while the account's budget is spent.
    let limited = app
        .gql(
            None,
            LOGIN,
            json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(error_code(&limited), Some("RATE_LIMITED"));
    assert!(
        limited["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap()
            >= 1
    );
}

#[tokio::test]
async fn login_is_rate_limited_per_ip() {
    let app = spawn_app_with(|c| c.login_attempts_per_ip_per_minute = 4).await;
    for n in 0..4 {
        let body = app
            .gql(
                None,
                LOGIN,
                json!({ "email": format!("user{n}@example.com"), "password": "whatever-pass" }),
            )
            .await;
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
    }
    let limited = app
        .gql(
            None,
            LOGIN,
            json!({ "email": "fresh@example.com", "password": "whatever-pass" }),
        )
        .await;
    assert_eq!(error_code(&limited), Some("RATE_LIMITED"));
}

#[tokio::test]
async fn an_access_token_stops_working_when_its_session_is_logged_out() {
    let app = spawn_app().await;
    let first = app.admin().await;
    let second = app.admin().await;
    app.ok(&first.access, ME, json!({})).await;
    app.ok(&first.access, "mutation { logout }", json!({}))
        .await;
    let body = app.gql(Some(&first.access), ME, json!({})).await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    // The user's other session is theirs to end.
    app.ok(&second.access, ME, json!({})).await;
}

#[tokio::test]
async fn a_replayed_refresh_token_ends_the_access_tokens_of_its_session() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rotated = app.gql(None, REFRESH, json!({ "t": admin.refresh })).await;
    let rotated = session(&rotated["data"]["refreshSession"]);
    app.ok(&rotated.access, ME, json!({})).await;
    let replay = app.gql(None, REFRESH, json!({ "t": admin.refresh })).await;
    assert_eq!(error_code(&replay), Some("UNAUTHENTICATED"));
    for token in [&admin.access, &rotated.access] {
        let body = app.gql(Some(token), ME, json!({})).await;
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    }
}

const LEADS: &str = "{ leads(first: 5) { totalCount } }";

#[tokio::test]
async fn a_new_role_team_or_deactivation_applies_to_live_tokens_at_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let team = app.team(&admin, "East").await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    app.ok(&rep.access, LEADS, json!({})).await;

    let change = |input: serde_json::Value| {
        app.ok(
            &admin.access,
            UPDATE_USER,
            json!({ "id": rep.user_id, "input": input }),
        )
    };
    change(json!({ "role": "SUPPORT", "teamId": team })).await;
    let me = app
        .ok(&rep.access, "{ me { role team { id } } }", json!({}))
        .await;
    assert_eq!(me["me"]["role"], "SUPPORT");
    assert_eq!(me["me"]["team"]["id"], team);
    let body = app.gql(Some(&rep.access), LEADS, json!({})).await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");

    change(json!({ "active": false })).await;
    let body = app.gql(Some(&rep.access), ME, json!({})).await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");
}

/// The change goes through one replica; the other, whose cached answer would last a minute,
/// hears of it through PostgreSQL at once.
#[tokio::test]
async fn a_demotion_reaches_every_replica_at_once() {
    if !std::env::var("TOUCHBASE_TEST_DATABASE_URL").is_ok_and(|url| url.starts_with("postgres")) {
        return;
    }
    let app = spawn_app_with(|c| c.rights_cache_ms = 60_000).await;
    let other = app.replica_with(|c| c.rights_cache_ms = 60_000).await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    other.ok(&rep.access, LEADS, json!({})).await;
    app.ok(
        &admin.access,
        UPDATE_USER,
        json!({ "id": rep.user_id, "input": { "role": "SUPPORT" } }),
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let body = other.gql(Some(&rep.access), LEADS, json!({})).await;
        if error_code(&body) == Some("FORBIDDEN") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the other replica still serves: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
