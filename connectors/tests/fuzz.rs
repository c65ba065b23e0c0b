//! Fuzzes every connector kind the way the hub calls it: verification with a configured
//! secret, then the external id, the replay nonce, masking and parsing, on bodies mutated from
//! the provider fixtures and the committed corpus (`fuzz/corpus/connectors/`), with random
//! headers and URLs. Each call must answer `Ok` or `Err`; a panic fails the test with the input.
//! Every kind in [`Kind::ALL`] runs on every input, so a new kind is fuzzed once it is listed.

use std::{collections::BTreeMap, path::Path};

use chrono::{DateTime, Utc};
use connectors::{Kind, credentials::StoredRequest};
use fuzz::proptest::{self, prelude::*, sample::Index};
use serde_json::Value;

/// Cases per CI run (each runs every kind).
const CASES: u32 = 600;

/// Secrets an admin could save, in every format a scheme takes; each kind verifies with those
/// its `check_secret` accepts, as the gateway would have let it save them.
const SECRETS: &[&str] = &[
    "whsec_ZnV6ei1zZWNyZXQta2V5LTAxMjM0NTY3ODlhYmNkZWY=",
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAETasdalVDtmNSCb53yggeeKlAzs+JjUAyJCbBPgFjqyV9KrFkmOYF6ihkQs2A5d4JtXiga+qnOIoyqATFv9YK0Q==",
    "fuzz-shared-secret",
];

/// Headers the connectors read, so random values land where they are looked at.
const HEADER_NAMES: &[&str] = &[
    "content-type",
    "authorization",
    "date",
    "referer",
    "stripe-signature",
    "x-twilio-signature",
    "x-twilio-webhooks-signature-settings",
    "x-twilio-email-event-webhook-signature",
    "x-twilio-email-event-webhook-timestamp",
    "typeform-signature",
    "calendly-webhook-signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "x-touchbase-form-secret",
    "x-mailgun-signature",
    "x-postmark-signature",
];

/// Header values shaped like each scheme's, with hostile numbers and encodings in them.
const HEADER_VALUES: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xYzZY",
    "multipart/form-data",
    "multipart/form-data; boundary=",
    "text/plain; charset=x-unknown",
    "t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
    "t=-9223372036854775808,v1=00",
    "t=9223372036854775807,v1=zz,v0=",
    "t=,v1=",
    "v1,ZnV6eg==",
    "v1,ZnV6eg== v1a,!!!! v2,",
    "sha256=ZnV6eg==",
    "sha256=",
    "1700000000",
    "-1",
    "99999999999999999999",
    "Basic Zm9vOmJhcg==",
    "Basic !!!",
    "Basic Og==",
    "Bearer x",
    "bm90IGEgZGVyIHNpZ25hdHVyZQ==",
    "MEUCIQ==",
    "HMAC_SHA1",
    "HMAC_SHA256",
    "msg_2Lb4n2NH1gYGDEcYZWNELgm42Nw",
    "2024-01-01T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    "Fri, 31 Dec 9999 23:59:59 +0000",
    "https://example.com/form?utm_source=x",
    "",
    " ",
];

/// URLs the provider could have posted to.
const URLS: &[&str] = &[
    "https://crm.example.com/hooks/0190c3a4-8f8c-7c5e-9a4e-2d8f5c3b1a00",
    "https://crm.example.com/hooks/x?utm_source=ads&gclid=abc&token=secret&secret=1",
    "https://crm.example.com/hooks/x?%ff=%00&&==&a=%E2%82",
    "http://[::1]:8080/hooks/x?#",
    "",
    "?",
];

const NOW: i64 = 1_700_000_000;

fn seeds() -> Vec<Vec<u8>> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut seeds = fuzz::files_under(&fixtures);
    seeds.extend(fuzz::corpus("connectors"));
    seeds
}

fn settings() -> Vec<Value> {
    fuzz::corpus("connector_settings")
        .iter()
        .map(|bytes| serde_json::from_slice(bytes).expect("connector settings seeds are JSON"))
        .collect()
}

/// The content type a body looks like it needs: multipart with the boundary of its first
/// line, JSON, or a form.
fn content_type_of(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    if let Some(boundary) = text.strip_prefix("--") {
        let boundary = boundary.lines().next().unwrap_or_default().trim();
        return format!("multipart/form-data; boundary={boundary}");
    }
    match text.trim_start().chars().next() {
        Some('{' | '[') => "application/json".into(),
        _ => "application/x-www-form-urlencoded".into(),
    }
}

#[derive(Debug, Clone)]
enum HeaderValue {
    Listed(Index),
    Random(String),
}

fn header_values() -> impl Strategy<Value = HeaderValue> {
    prop_oneof![
        3 => any::<Index>().prop_map(HeaderValue::Listed),
        1 => ".{0,40}".prop_map(HeaderValue::Random),
    ]
}

/// One request as a provider (or anyone) could send it.
#[derive(Debug, Clone)]
struct Case {
    body: Vec<u8>,
    /// `None` keeps the content type the body looks like it needs.
    content_type: Option<HeaderValue>,
    headers: Vec<(Index, HeaderValue)>,
    url: Index,
    settings: Index,
    /// When the hub received the request, as a Unix time within chrono's range.
    received_at: i64,
}

/// Receive times: mostly the test's clock, else any time chrono can hold.
fn received_times() -> impl Strategy<Value = i64> {
    let earliest = DateTime::<Utc>::MIN_UTC.timestamp();
    let latest = DateTime::<Utc>::MAX_UTC.timestamp();
    prop_oneof![
        3 => Just(NOW),
        1 => prop_oneof![Just(earliest), Just(latest), earliest..=latest],
    ]
}

fn cases() -> impl Strategy<Value = Case> {
    (
        fuzz::mutated(
            seeds(),
            &["&", "=", "--xYzZY", "\r\n\r\n", "Content-Type: "],
        ),
        proptest::option::weighted(0.2, header_values()),
        proptest::collection::vec((any::<Index>(), header_values()), 0..6),
        any::<Index>(),
        any::<Index>(),
        received_times(),
    )
        .prop_map(
            |(body, content_type, headers, url, settings, received_at)| Case {
                body,
                content_type,
                headers,
                url,
                settings,
                received_at,
            },
        )
}

fn value(value: &HeaderValue) -> String {
    match value {
        HeaderValue::Listed(index) => index.get(HEADER_VALUES).to_string(),
        HeaderValue::Random(text) => text.clone(),
    }
}

impl Case {
    fn request(&self) -> StoredRequest {
        let mut headers = BTreeMap::new();
        let content_type = match &self.content_type {
            Some(given) => value(given),
            None => content_type_of(&self.body),
        };
        headers.insert("content-type".to_owned(), content_type);
        for (name, given) in &self.headers {
            headers.insert(name.get(HEADER_NAMES).to_string(), value(given));
        }
        StoredRequest {
            headers,
            body: self.body.clone(),
            url: self.url.get(URLS).to_string(),
            received_at: DateTime::from_timestamp(self.received_at, 0).unwrap_or_default(),
        }
    }
}

/// The hub's intake and worker on one request, for one kind; errors are answers, panics fail.
fn deliver(kind: Kind, request: &StoredRequest, settings: &Value, now: DateTime<Utc>) {
    let connector = kind.connector();
    let settings = if connector.check_settings(settings).is_ok() {
        settings
    } else {
        &Value::Null
    };
    let secrets: Vec<&str> = SECRETS
        .iter()
        .copied()
        .filter(|secret| connector.check_secret(secret).is_ok())
        .collect();
    let inbound = request.inbound();
    let _ = connector.verify(&inbound, &secrets, now, settings);
    let _ = connector.verify(&inbound, &[], now, settings);
    let _ = connector.external_id(&inbound);
    let _ = connector.replay_nonce(&inbound);
    let _ = connector.parse(&inbound, settings);
    let stored = request.clone().without_credentials(connector.credentials());
    let _ = connector.parse(&stored.inbound(), settings);
}

proptest! {
    #![proptest_config(fuzz::config(CASES))]

    #[test]
    fn fuzz_every_connector_verifies_and_parses_without_panicking(case in cases()) {
        let settings = settings();
        let settings = case.settings.get(&settings);
        let request = case.request();
        let now = DateTime::from_timestamp(NOW, 0).unwrap_or_default();
        for kind in Kind::ALL {
            deliver(kind, &request, settings, now);
        }
    }

    #[test]
    fn fuzz_connector_settings_and_secrets_are_checked_without_panicking(
        settings in fuzz::json(&[
            "tolerance_secs", "fields", "honeypot", "event", "keep_unmapped", "questions",
            "algorithm", "email", "custom.x", "first_name",
        ]),
        secret in fuzz::mutated_text(
            SECRETS.iter().map(|secret| secret.as_bytes().to_vec()).collect(),
            &["-----BEGIN PUBLIC KEY-----\n", "\n-----END PUBLIC KEY-----", "whsec_"],
        ),
    ) {
        for kind in Kind::ALL {
            let connector = kind.connector();
            let _ = connector.check_settings(&settings);
            let _ = connector.check_secret(&secret);
        }
    }
}
