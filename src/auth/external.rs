//! Tokens from an outside identity provider: RS256 or ES256, keys from a PEM or a JWKS URL,
//! `iss` and `aud` checked. The token's `email` claim names the local user it acts as.

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation, jwk::JwkSet};
use serde::Deserialize;
use tokio::sync::RwLock;

use crate::error::{AppError, Result};

const ACCEPTED: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];
/// A kid we do not know triggers a refetch at most this often, so forged kids cannot make
/// us hammer the provider.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

enum Keys {
    Pem(DecodingKey),
    Jwks {
        url: String,
        client: reqwest::Client,
        cache: RwLock<Option<(JwkSet, Instant)>>,
    },
}

pub struct ExternalIdp {
    issuer: String,
    audience: String,
    keys: Keys,
}

#[derive(Deserialize)]
struct ExternalClaims {
    email: String,
    exp: i64,
}

impl ExternalIdp {
    pub fn from_pem(issuer: String, audience: String, pem: &str) -> anyhow::Result<Self> {
        let key = DecodingKey::from_rsa_pem(pem.as_bytes())
            .or_else(|_| DecodingKey::from_ec_pem(pem.as_bytes()))?;
        Ok(Self {
            issuer,
            audience,
            keys: Keys::Pem(key),
        })
    }

    pub fn from_jwks_url(issuer: String, audience: String, url: String) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            issuer,
            audience,
            keys: Keys::Jwks {
                url,
                client,
                cache: RwLock::new(None),
            },
        }
    }

    /// Verifies the token and returns the email it vouches for and its expiry.
    pub async fn verify(&self, token: &str, header: &Header) -> Result<(String, i64)> {
        if !ACCEPTED.contains(&header.alg) {
            return Err(AppError::Unauthenticated);
        }
        let key = match &self.keys {
            Keys::Pem(key) => key.clone(),
            Keys::Jwks { url, client, cache } => {
                let kid = header.kid.as_deref().ok_or(AppError::Unauthenticated)?;
                jwks_key(url, client, cache, kid).await?
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        let data = jsonwebtoken::decode::<ExternalClaims>(token, &key, &validation)
            .map_err(|_| AppError::Unauthenticated)?;
        let email = crate::validate::email("email", &data.claims.email)
            .map_err(|_| AppError::Unauthenticated)?;
        Ok((email, data.claims.exp))
    }
}

async fn jwks_key(
    url: &str,
    client: &reqwest::Client,
    cache: &RwLock<Option<(JwkSet, Instant)>>,
    kid: &str,
) -> Result<DecodingKey> {
    let cached = |slot: &Option<(JwkSet, Instant)>| {
        slot.as_ref().and_then(|(set, _)| set.find(kid).cloned())
    };
    if let Some(jwk) = cached(&*cache.read().await) {
        return DecodingKey::from_jwk(&jwk).map_err(|_| AppError::Unauthenticated);
    }
    let mut slot = cache.write().await;
    // Another request may have refreshed the set while this one waited for the lock.
    if cached(&slot).is_none() {
        if slot
            .as_ref()
            .is_some_and(|(_, fetched)| fetched.elapsed() < JWKS_REFETCH_INTERVAL)
        {
            return Err(AppError::Unauthenticated);
        }
        let set: JwkSet = async {
            client
                .get(url)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await
        }
        .await
        .map_err(|e: reqwest::Error| {
            AppError::internal(anyhow::anyhow!("fetching JWKS from {url}: {e}"))
        })?;
        *slot = Some((set, Instant::now()));
    }
    let jwk = cached(&slot).ok_or(AppError::Unauthenticated)?;
    DecodingKey::from_jwk(&jwk).map_err(|_| AppError::Unauthenticated)
}
