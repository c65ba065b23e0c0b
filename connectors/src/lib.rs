//! Provider connectors: pure translation from a provider's request (headers and raw body bytes
//! plus the connector's settings) to verified, normalized touchpoints. No database, no GraphQL,
//! no HTTP server lives here; the gateway stores and processes what connectors return.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A request as the provider sent it; signatures are checked over `body` exactly as received.
pub struct InboundRequest<'a> {
    /// Header names lowercased.
    pub headers: &'a BTreeMap<String, String>,
    pub body: &'a [u8],
    /// The URL the provider posted to, for schemes that sign it.
    pub url: &'a str,
}

/// Why a request was refused or could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("signature verification failed: {0}")]
    BadSignature(String),
    #[error("malformed payload: {0}")]
    Malformed(String),
}

/// Identity keys that lead resolution matches on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub provider_customer_id: Option<String>,
}

/// One touchpoint in the provider-neutral shape the hub processes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalizedTouchpoint {
    /// The provider's id for the event, the key of idempotency.
    pub external_id: String,
    pub channel: String,
    pub occurred_at: DateTime<Utc>,
    pub identity: Identity,
    pub subject: Option<String>,
    pub summary: Option<String>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    /// UTM fields, referrer, landing page and click ids, keyed by their usual names.
    pub attribution: BTreeMap<String, String>,
}

/// What every provider module implements.
pub trait Connector {
    /// Checks the request's authenticity with the provider's scheme.
    fn verify(&self, request: &InboundRequest<'_>) -> Result<(), ConnectorError>;
    /// The provider's id for this delivery, used to store it once.
    fn event_id(&self, request: &InboundRequest<'_>) -> Result<String, ConnectorError>;
    /// Turns a verified request into touchpoints.
    fn parse(
        &self,
        request: &InboundRequest<'_>,
    ) -> Result<Vec<NormalizedTouchpoint>, ConnectorError>;
}
