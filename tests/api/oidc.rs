//! Tokens from an outside identity provider: RS256 and ES256, keys by PEM or from a JWKS URL,
//! issuer and audience checked, mapped to the local user named by the `email` claim.

use axum::{Json, Router, routing::get};
use jsonwebtoken::{
    Algorithm, EncodingKey, Header,
    jwk::{Jwk, JwkSet},
};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, spawn_app_with};

const ISSUER: &str = "https://idp.example.com/";
const AUDIENCE: &str = "touchbase-api";
const RS256_KEY: &[u8] = include_bytes!("../fixtures/idp-rs256.key.pem");
const RS256_PUB: &str = include_str!("../fixtures/idp-rs256.pub.pem");
const ES256_KEY: &[u8] = include_bytes!("../fixtures/idp-es256.key.pem");
const ES256_PUB: &str = include_str!("../fixtures/idp-es256.pub.pem");
const ME: &str = "{ me { email role } }";

fn token(
    alg: Algorithm,
    key: &EncodingKey,
    kid: Option<&str>,
    email: &str,
    iss: &str,
    aud: &str,
) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    let claims = json!({ "iss": iss, "aud": aud, "sub": "idp-user-1", "email": email, "iat": now, "exp": now + 300 });
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

/// A user the identity provider vouches for; provisioned locally without a password.
async fn provision_sso_user(app: &TestApp) {
    let admin = app.admin().await;
    app.ok(
        &admin.access,
        "mutation($input: NewUserInput!) { createUser(input: $input) { user { id } } }",
        json!({ "input": { "email": "sso@example.com", "name": "SSO User", "role": "SALES" } }),
    )
    .await;
}

async fn me(app: &TestApp, token: &str) -> Value {
    app.gql(Some(token), ME, json!({})).await
}

#[tokio::test]
async fn rs256_tokens_verified_by_pem_act_as_the_local_user() {
    let app = spawn_app_with(|c| {
        c.oidc_issuer = Some(ISSUER.into());
        c.oidc_audience = Some(AUDIENCE.into());
        c.oidc_public_key_pem = Some(RS256_PUB.into());
    })
    .await;
    provision_sso_user(&app).await;
    let key = EncodingKey::from_rsa_pem(RS256_KEY).unwrap();

    let good = token(
        Algorithm::RS256,
        &key,
        None,
        "SSO@example.com",
        ISSUER,
        AUDIENCE,
    );
    assert_eq!(
        me(&app, &good).await["data"]["me"],
        json!({ "email": "sso@example.com", "role": "SALES" })
    );

    let refused = [
        (
            "wrong issuer",
            token(
                Algorithm::RS256,
                &key,
                None,
                "sso@example.com",
                "https://evil.example.com/",
                AUDIENCE,
            ),
        ),
        (
            "wrong audience",
            token(
                Algorithm::RS256,
                &key,
                None,
                "sso@example.com",
                ISSUER,
                "another-api",
            ),
        ),
        (
            "unknown user",
            token(
                Algorithm::RS256,
                &key,
                None,
                "stranger@example.com",
                ISSUER,
                AUDIENCE,
            ),
        ),
        // Algorithm confusion: the public key used as an HMAC secret.
        (
            "HS256 signed with the public key",
            token(
                Algorithm::HS256,
                &EncodingKey::from_secret(RS256_PUB.as_bytes()),
                None,
                "sso@example.com",
                ISSUER,
                AUDIENCE,
            ),
        ),
        (
            "signed by another key",
            token(
                Algorithm::ES256,
                &EncodingKey::from_ec_pem(ES256_KEY).unwrap(),
                None,
                "sso@example.com",
                ISSUER,
                AUDIENCE,
            ),
        ),
    ];
    for (name, token) in refused {
        assert_eq!(
            error_code(&me(&app, &token).await),
            Some("UNAUTHENTICATED"),
            "{name} was accepted"
        );
    }
}

#[tokio::test]
async fn es256_tokens_verified_by_pem() {
    let app = spawn_app_with(|c| {
        c.oidc_issuer = Some(ISSUER.into());
        c.oidc_audience = Some(AUDIENCE.into());
        c.oidc_public_key_pem = Some(ES256_PUB.into());
    })
    .await;
    provision_sso_user(&app).await;
    let good = token(
        Algorithm::ES256,
        &EncodingKey::from_ec_pem(ES256_KEY).unwrap(),
        None,
        "sso@example.com",
        ISSUER,
        AUDIENCE,
    );
    assert_eq!(
        me(&app, &good).await["data"]["me"]["email"],
        "sso@example.com"
    );
}

/// Serves a JWKS document on 127.0.0.1, as an identity provider's `jwks_uri` does.
async fn serve_jwks(keys: Vec<Jwk>) -> String {
    let set = JwkSet { keys };
    let router = Router::new().route(
        "/.well-known/jwks.json",
        get(move || async move { Json(set.clone()) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}/.well-known/jwks.json")
}

fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    jwk
}

#[tokio::test]
async fn tokens_are_verified_with_keys_from_the_jwks_url() {
    let rsa = EncodingKey::from_rsa_pem(RS256_KEY).unwrap();
    let ec = EncodingKey::from_ec_pem(ES256_KEY).unwrap();
    let url = serve_jwks(vec![
        jwk(&rsa, Algorithm::RS256, "rsa-1"),
        jwk(&ec, Algorithm::ES256, "ec-1"),
    ])
    .await;
    let app = spawn_app_with(|c| {
        c.oidc_issuer = Some(ISSUER.into());
        c.oidc_audience = Some(AUDIENCE.into());
        c.oidc_jwks_url = Some(url);
    })
    .await;
    provision_sso_user(&app).await;

    for (alg, key, kid) in [
        (Algorithm::RS256, &rsa, "rsa-1"),
        (Algorithm::ES256, &ec, "ec-1"),
    ] {
        let good = token(alg, key, Some(kid), "sso@example.com", ISSUER, AUDIENCE);
        assert_eq!(
            me(&app, &good).await["data"]["me"]["email"],
            "sso@example.com",
            "{alg:?} refused"
        );
    }
    let refused = [
        (
            "no kid",
            token(
                Algorithm::RS256,
                &rsa,
                None,
                "sso@example.com",
                ISSUER,
                AUDIENCE,
            ),
        ),
        (
            "unknown kid",
            token(
                Algorithm::RS256,
                &rsa,
                Some("rotated-away"),
                "sso@example.com",
                ISSUER,
                AUDIENCE,
            ),
        ),
        (
            "kid of another key",
            token(
                Algorithm::RS256,
                &rsa,
                Some("ec-1"),
                "sso@example.com",
                ISSUER,
                AUDIENCE,
            ),
        ),
        (
            "wrong audience",
            token(
                Algorithm::ES256,
                &ec,
                Some("ec-1"),
                "sso@example.com",
                ISSUER,
                "another-api",
            ),
        ),
    ];
    for (name, token) in refused {
        assert_eq!(
            error_code(&me(&app, &token).await),
            Some("UNAUTHENTICATED"),
            "{name} was accepted"
        );
    }
}
