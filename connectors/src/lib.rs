//! Provider connectors: pure translation from a provider's request (headers, raw body bytes and
//! the time the hub received it, plus the connector's settings) to verified, normalized
//! touchpoints. No database, no GraphQL, no HTTP server lives here; the gateway stores and
//! processes what connectors return.
//!
//! The gateway uses a connector at three moments. When an admin saves one it calls
//! [`Connector::check_settings`] and [`Connector::check_secret`]. At intake it reads at most
//! [`Connector::max_body_bytes`] and calls [`Connector::verify`] and [`Connector::external_id`]
//! before it stores the request, its [`Connector::credentials`] masked; later its worker calls
//! [`Connector::parse`] on the stored request and the time it was received. Both see the same
//! settings, and parsing reads nothing masking changes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod credentials;
pub mod email;
mod mapping;
pub mod multipart;
mod settings;
pub mod signature;

pub mod calendly;
pub mod mailgun;
pub mod postmark;
pub mod sendgrid_events;
pub mod sendgrid_inbound;
pub mod standard_webhooks;
pub mod stripe;
pub mod twilio;
pub mod typeform;
pub mod web_form;

/// A request as the provider sent it; signatures are checked over `body` exactly as received.
#[derive(Debug, Clone, Copy)]
pub struct InboundRequest<'a> {
    /// Header names lowercased; a repeated header's values joined with ", ".
    pub headers: &'a BTreeMap<String, String>,
    pub body: &'a [u8],
    /// The public URL the provider posted to, query string included, for schemes that sign it.
    pub url: &'a str,
    /// When the hub received the request. Parsing never reads the clock, so a payload without
    /// a time of its own is placed at this one.
    pub received_at: DateTime<Utc>,
}

impl InboundRequest<'_> {
    /// A header's value by its lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// A header a signature scheme needs; a missing or blank one is a bad signature.
    pub fn signature_header(&self, name: &str) -> Result<&str, ConnectorError> {
        self.header(name)
            .filter(|value| !value.trim().is_empty())
            .ok_or_else(|| ConnectorError::BadSignature(format!("missing {name} header")))
    }

    /// The decoded values of a query parameter of [`InboundRequest::url`], in order.
    pub fn query_values(&self, name: &str) -> Vec<String> {
        let query = self.url.split_once('?').map(|(_, query)| query);
        let query = query
            .unwrap_or_default()
            .split('#')
            .next()
            .unwrap_or_default();
        form_urlencoded::parse(query.as_bytes())
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .collect()
    }

    /// The media type of the body, lowercased, without parameters.
    pub fn media_type(&self) -> String {
        self.header("content-type")
            .and_then(|value| value.split(';').next())
            .map(|value| value.trim().to_ascii_lowercase())
            .unwrap_or_default()
    }

    /// How a form-like body is encoded: by its media type, and without one by its first byte.
    pub(crate) fn form_encoding(&self) -> FormEncoding {
        let starts_like_json = self.body.trim_ascii_start().first() == Some(&b'{');
        match self.media_type().as_str() {
            "application/x-www-form-urlencoded" => FormEncoding::Urlencoded,
            "" if !starts_like_json => FormEncoding::Urlencoded,
            "" => FormEncoding::Json,
            json if json == "application/json" || json.ends_with("+json") => FormEncoding::Json,
            other => FormEncoding::Unsupported(other.to_owned()),
        }
    }
}

/// The encodings a form's fields arrive in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FormEncoding {
    Urlencoded,
    Json,
    /// Another media type, named.
    Unsupported(String),
}

/// Body caps of [`Connector::max_body_bytes`], in bytes.
pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * KIB;

/// Why a request was refused or could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// The request is not from the provider: missing, wrong or stale signature or credentials.
    #[error("signature verification failed: {0}")]
    BadSignature(String),
    /// The request is authentic but cannot be read.
    #[error("malformed payload: {0}")]
    Malformed(String),
    /// The connector's settings are unusable (refused when an admin saves them).
    #[error("invalid settings: {0}")]
    InvalidSettings(String),
}

/// The kinds of connector the hub knows, one module each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Stripe,
    Twilio,
    SendgridEvents,
    SendgridInbound,
    Mailgun,
    Postmark,
    WebForm,
    Typeform,
    Calendly,
    StandardWebhooks,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Stripe,
        Kind::Twilio,
        Kind::SendgridEvents,
        Kind::SendgridInbound,
        Kind::Mailgun,
        Kind::Postmark,
        Kind::WebForm,
        Kind::Typeform,
        Kind::Calendly,
        Kind::StandardWebhooks,
    ];

    /// The module that speaks this provider's wire format.
    pub fn connector(self) -> &'static dyn Connector {
        match self {
            Kind::Stripe => &stripe::Stripe,
            Kind::Twilio => &twilio::Twilio,
            Kind::SendgridEvents => &sendgrid_events::SendgridEvents,
            Kind::SendgridInbound => &sendgrid_inbound::SendgridInbound,
            Kind::Mailgun => &mailgun::Mailgun,
            Kind::Postmark => &postmark::Postmark,
            Kind::WebForm => &web_form::WebForm,
            Kind::Typeform => &typeform::Typeform,
            Kind::Calendly => &calendly::Calendly,
            Kind::StandardWebhooks => &standard_webhooks::StandardWebhooks,
        }
    }

    /// The family the provider belongs to, for grouping in the admin.
    pub fn family(self) -> Family {
        match self {
            Kind::Stripe => Family::Billing,
            Kind::Twilio => Family::Telephony,
            Kind::SendgridEvents | Kind::SendgridInbound | Kind::Mailgun | Kind::Postmark => {
                Family::Email
            }
            Kind::WebForm | Kind::Typeform | Kind::Calendly => Family::WebForm,
            Kind::StandardWebhooks => Family::Generic,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Billing,
    Telephony,
    Email,
    WebForm,
    Generic,
}

/// What every provider module implements. Implementations are stateless unit structs; all they
/// need comes in as arguments, so a test can call them with fixed inputs and a fixed clock.
pub trait Connector: Send + Sync {
    /// Whether this provider signs requests with a shared secret. A connector that does not
    /// (a plain HTML form) may be saved without one.
    fn requires_secret(&self) -> bool {
        true
    }

    /// The largest body this provider sends, with room to spare; the gateway refuses larger
    /// ones unread. Event notifications are small; inbound mail carries its attachments.
    fn max_body_bytes(&self) -> usize {
        MIB
    }

    /// Where this provider's requests carry a credential as it is (a password, a key) rather
    /// than a signature made with one. The gateway masks these, and what any request may carry
    /// ([`credentials::ANY_PROVIDER`]), once it has verified a request and before it stores it.
    /// Nothing [`Connector::parse`] reads may be listed.
    fn credentials(&self) -> credentials::Places {
        credentials::Places::NONE
    }

    /// Checks that the settings an admin saves can be used; the gateway refuses others.
    fn check_settings(&self, settings: &serde_json::Value) -> Result<(), ConnectorError> {
        let _ = settings;
        Ok(())
    }

    /// Checks that a secret an admin saves can be used with this provider's scheme (SendGrid's
    /// must be a P-256 public key, say); the gateway refuses others, so a typo is caught when it
    /// is saved rather than as every delivery failing verification.
    fn check_secret(&self, secret: &str) -> Result<(), ConnectorError> {
        let _ = secret;
        Ok(())
    }

    /// Checks the request's authenticity with the provider's scheme. `secrets` holds every secret
    /// currently valid for the connector (the current one, and the previous one while a rotation's
    /// grace period runs); the request is authentic if it verifies under any of them. `now`
    /// judges timestamp tolerances, and `settings` (as [`Connector::check_settings`] accepted
    /// them) tune the scheme where the provider lets them, such as a timestamp tolerance.
    /// Comparisons are constant-time. With no secrets, only a connector that does not
    /// [`Connector::requires_secret`] accepts a request, and the gateway then records it as
    /// unverified: it proves nothing about who sent it.
    fn verify(
        &self,
        request: &InboundRequest<'_>,
        secrets: &[&str],
        now: DateTime<Utc>,
        settings: &serde_json::Value,
    ) -> Result<(), ConnectorError>;

    /// The provider's key for this delivery, under which it is stored once: the provider's
    /// event id where it has one, else a digest of what identifies the delivery (see
    /// [`signature::body_digest`]). The same delivery sent again must give the same key.
    fn external_id(&self, request: &InboundRequest<'_>) -> Result<String, ConnectorError>;

    /// A value the provider promises never to repeat across deliveries (Mailgun's `token`); a
    /// second delivery carrying a value already seen is refused as a replay.
    fn replay_nonce(&self, request: &InboundRequest<'_>) -> Option<String> {
        let _ = request;
        None
    }

    /// Turns a verified request into touchpoints. An empty list is a delivery with nothing to
    /// record (an event type the CRM does not track, a honeypot-caught form).
    fn parse(
        &self,
        request: &InboundRequest<'_>,
        settings: &serde_json::Value,
    ) -> Result<Vec<NormalizedTouchpoint>, ConnectorError>;
}

/// The medium a touchpoint came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Call,
    Sms,
    WebForm,
    Billing,
    Meeting,
    Web,
    Other,
}

/// Whether the customer or we started the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// Who the touchpoint is about: the keys identity resolution matches on, and what a new lead
/// is created with when nobody matches. Values are as the provider sent them (trimmed); the
/// gateway normalizes emails and parses phones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The provider's id for the customer (Stripe `cus_…`).
    pub customer_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// A whole name when the provider does not split it.
    pub name: Option<String>,
    pub company: Option<String>,
    pub title: Option<String>,
}

/// Where the touch came from, by the usual web names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub term: Option<String>,
    pub content: Option<String>,
    pub referrer: Option<String>,
    pub landing_page: Option<String>,
    pub gclid: Option<String>,
    pub fbclid: Option<String>,
    pub msclkid: Option<String>,
}

impl Attribution {
    /// Reads the standard keys (`utm_source` … `utm_content`, `referrer`, `landing_page`,
    /// `gclid`, `fbclid`, `msclkid`) from any string map; empty values count as absent.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut attribution = Attribution::default();
        for (key, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let slot = match key.to_ascii_lowercase().as_str() {
                "utm_source" | "source" => &mut attribution.source,
                "utm_medium" | "medium" => &mut attribution.medium,
                "utm_campaign" | "campaign" => &mut attribution.campaign,
                "utm_term" | "term" => &mut attribution.term,
                "utm_content" | "content" => &mut attribution.content,
                "referrer" | "referer" => &mut attribution.referrer,
                "landing_page" => &mut attribution.landing_page,
                "gclid" => &mut attribution.gclid,
                "fbclid" => &mut attribution.fbclid,
                "msclkid" => &mut attribution.msclkid,
                _ => continue,
            };
            *slot = Some(value.to_owned());
        }
        attribution
    }

    pub fn is_empty(&self) -> bool {
        *self == Attribution::default()
    }
}

/// An amount in the currency's minor unit, with its ISO 4217 code in upper case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: String,
}

/// A state of the contact point (the email address or number) that the CRM must respect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactFlag {
    Bounced,
    Unsubscribed,
    SpamReported,
}

/// A call's outcome, for the call activity the gateway logs when it ends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The provider's status (`completed`, `busy`, `no-answer` …).
    pub status: String,
    /// Whether the call has ended, successfully or not; an ended call becomes an activity.
    pub ended: bool,
    pub duration_secs: Option<i64>,
    pub recording_url: Option<String>,
}

/// One touchpoint in the provider-neutral shape the hub processes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NormalizedTouchpoint {
    /// The provider's id for the thing that happened (`evt_…`, `sg_event_id`, `CallSid`,
    /// `MessageSid`, a form response token). The hub keeps one touchpoint per connector and
    /// external id, so the same event delivered twice is recorded once.
    pub external_id: String,
    /// Where a provider sends updates of the same external id (a call's status callbacks), their
    /// order (Twilio's `SequenceNumber`): an update with a lower sequence than the one recorded
    /// is stale and ignored. `None` for events that are never updated.
    pub sequence: Option<i64>,
    /// The provider's name for the event (`invoice.paid`, `delivered`, `form_response`).
    pub event: String,
    pub channel: Channel,
    pub direction: Direction,
    pub occurred_at: DateTime<Utc>,
    pub person: Person,
    pub subject: Option<String>,
    pub summary: Option<String>,
    pub amount: Option<Money>,
    pub attribution: Attribution,
    /// Answers mapped onto lead fields by the connector's settings: `first_name`, `last_name`,
    /// `company`, `title`, `phone`, `website`, or `custom.<key>` for a custom field.
    pub fields: BTreeMap<String, String>,
    pub flag: Option<ContactFlag>,
    pub call: Option<Call>,
    /// Other provider ids worth keeping (`subscription`, `invoice`, `message_id`, `recording_sid`).
    pub provider_ids: BTreeMap<String, String>,
}

impl NormalizedTouchpoint {
    /// A touchpoint with the required parts and everything else empty.
    pub fn new(
        external_id: impl Into<String>,
        event: impl Into<String>,
        channel: Channel,
        direction: Direction,
        occurred_at: DateTime<Utc>,
    ) -> Self {
        NormalizedTouchpoint {
            external_id: external_id.into(),
            sequence: None,
            event: event.into(),
            channel,
            direction,
            occurred_at,
            person: Person::default(),
            subject: None,
            summary: None,
            amount: None,
            attribution: Attribution::default(),
            fields: BTreeMap::new(),
            flag: None,
            call: None,
            provider_ids: BTreeMap::new(),
        }
    }
}
