//! The building blocks every provider's scheme is made of: keyed digests compared in constant
//! time, timestamp windows, presented credentials checked against the configured secrets, and
//! the `t=<unix>,v1=<hex>` header more than one provider uses. Provider modules compose these;
//! none compares secrets by hand.

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use chrono::{DateTime, Utc};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::ConnectorError;

/// Whether `expected` is HMAC-SHA256 of the concatenated `parts` under `key`, in constant time.
pub fn hmac_sha256_matches(key: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    keyed::<Hmac<Sha256>>(key, parts)
        .verify_slice(expected)
        .is_ok()
}

/// Whether `expected` is HMAC-SHA1 of the concatenated `parts` under `key`, in constant time.
pub fn hmac_sha1_matches(key: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    keyed::<Hmac<Sha1>>(key, parts)
        .verify_slice(expected)
        .is_ok()
}

/// HMAC-SHA256 of the concatenated `parts`, for signing test requests and computing vectors.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    keyed::<Hmac<Sha256>>(key, parts)
        .finalize()
        .into_bytes()
        .to_vec()
}

/// HMAC-SHA1 of the concatenated `parts`.
pub fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    keyed::<Hmac<Sha1>>(key, parts)
        .finalize()
        .into_bytes()
        .to_vec()
}

fn keyed<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> M {
    let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac
}

/// Whether a presented credential equals a configured secret, in constant time: both are
/// reduced to HMACs under a fixed key, so the comparison never depends on where they differ or
/// on their lengths. An empty secret matches nothing.
pub fn same_secret(presented: &str, secret: &str) -> bool {
    const KEY: &[u8] = b"touchbase credential comparison";
    let presented = hmac_sha256(KEY, &[presented.as_bytes()]);
    !secret.is_empty() && hmac_sha256_matches(KEY, &[secret.as_bytes()], &presented)
}

/// Checks a credential a request presents in place of a signature (a basic-auth password, a
/// key in the URL, a form field) against every configured secret, in constant time;
/// `presented` holds what the request offers, wherever it put it, and any match passes.
pub fn check_presented<'a>(
    presented: impl IntoIterator<Item = &'a str>,
    secrets: &[&str],
) -> Result<(), ConnectorError> {
    if secrets.is_empty() {
        return Err(bad_signature("no secret is configured"));
    }
    let mut presented = presented.into_iter().peekable();
    if presented.peek().is_none() {
        return Err(bad_signature("the request presents no credential"));
    }
    if presented.any(|credential| secrets.iter().any(|secret| same_secret(credential, secret))) {
        Ok(())
    } else {
        Err(bad_signature("the credential matches no configured secret"))
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A delivery's external id for providers without an event id: the hex SHA-256 of the raw
/// body, so the same bytes delivered again are stored once.
pub fn body_digest(body: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(body))
}

/// Decodes a hex signature; a malformed one is a bad signature, not a malformed payload.
pub fn decode_hex(value: &str) -> Result<Vec<u8>, ConnectorError> {
    hex::decode(value.trim())
        .map_err(|_| ConnectorError::BadSignature("signature is not hex".into()))
}

/// Decodes a standard base64 signature.
pub fn decode_base64(value: &str) -> Result<Vec<u8>, ConnectorError> {
    BASE64
        .decode(value.trim())
        .map_err(|_| ConnectorError::BadSignature("signature is not base64".into()))
}

pub fn encode_base64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// A Unix timestamp in seconds as sent in a header or field.
pub fn parse_unix_seconds(value: &str) -> Result<DateTime<Utc>, ConnectorError> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .ok_or_else(|| {
            ConnectorError::BadSignature(format!("timestamp {value:?} is not a Unix time"))
        })
}

/// Refuses a signed timestamp older than `tolerance_secs` before `now`, and, where
/// `future_too`, one more than `tolerance_secs` after it (a sender's clock may run a little
/// ahead, but a far-future stamp is a replay kept for later).
pub fn check_timestamp(
    signed_at: DateTime<Utc>,
    now: DateTime<Utc>,
    tolerance_secs: i64,
    future_too: bool,
) -> Result<(), ConnectorError> {
    let age = (now - signed_at).num_seconds();
    if age > tolerance_secs {
        return Err(ConnectorError::BadSignature(format!(
            "timestamp is {age} s old, more than the {tolerance_secs} s allowed"
        )));
    }
    if future_too && -age > tolerance_secs {
        return Err(ConnectorError::BadSignature(format!(
            "timestamp is {} s in the future",
            -age
        )));
    }
    Ok(())
}

/// The `t=<unix>,v1=<hex>[,v1=<hex>…]` signature header Stripe defined and Calendly copied:
/// HMAC-SHA256 over `"{t}.{body}"`, keyed with each secret's UTF-8 bytes as they are. Any `v1`
/// under any secret passes (the sender adds one per live secret while a secret rolls); other
/// schemes (`v0`) and garbled entries are ignored. A `t` more than `tolerance_secs` before
/// `now` is refused; a sender's clock running ahead is tolerated, as the providers' SDKs do.
pub fn verify_t_v1_header(
    header: Option<&str>,
    body: &[u8],
    secrets: &[&str],
    now: DateTime<Utc>,
    tolerance_secs: i64,
) -> Result<(), ConnectorError> {
    let header = header.ok_or_else(|| bad_signature("no signature header"))?;
    let signed = TimestampedHeader::parse(header)?;
    if secrets.is_empty() {
        return Err(bad_signature("no signing secret is configured"));
    }
    let signed_at = parse_unix_seconds(signed.timestamp)?;
    let parts: [&[u8]; 3] = [signed.timestamp.as_bytes(), b".", body];
    let matches = secrets.iter().any(|secret| {
        signed
            .signatures
            .iter()
            .any(|signature| hmac_sha256_matches(secret.as_bytes(), &parts, signature))
    });
    if !matches {
        return Err(bad_signature("no v1 signature matches a configured secret"));
    }
    check_timestamp(signed_at, now, tolerance_secs, false)
}

struct TimestampedHeader<'a> {
    timestamp: &'a str,
    signatures: Vec<Vec<u8>>,
}

impl<'a> TimestampedHeader<'a> {
    fn parse(header: &'a str) -> Result<Self, ConnectorError> {
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for item in header.split(',') {
            match item.trim().split_once('=') {
                Some(("t", value)) if timestamp.is_none() => timestamp = Some(value.trim()),
                // One garbled entry must not hide a good one sent beside it.
                Some(("v1", value)) => signatures.extend(decode_hex(value).ok()),
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or_else(|| bad_signature("signature header has no t="))?;
        if signatures.is_empty() {
            return Err(bad_signature("signature header has no hex v1= signature"));
        }
        Ok(TimestampedHeader {
            timestamp,
            signatures,
        })
    }
}

pub(crate) fn bad_signature(reason: &str) -> ConnectorError {
    ConnectorError::BadSignature(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_only_its_own_digest() {
        let digest = hmac_sha256(b"key", &[b"a", b"b"]);
        assert!(hmac_sha256_matches(b"key", &[b"ab"], &digest));
        assert!(!hmac_sha256_matches(b"other", &[b"ab"], &digest));
        assert!(!hmac_sha256_matches(b"key", &[b"ab"], &digest[..31]));
    }

    #[test]
    fn timestamps_outside_the_window_are_refused() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let old = DateTime::from_timestamp(1_700_000_000 - 301, 0).unwrap();
        let ahead = DateTime::from_timestamp(1_700_000_000 + 301, 0).unwrap();
        assert!(check_timestamp(now, now, 300, true).is_ok());
        assert!(check_timestamp(old, now, 300, false).is_err());
        assert!(check_timestamp(ahead, now, 300, false).is_ok());
        assert!(check_timestamp(ahead, now, 300, true).is_err());
    }

    const T_V1_SECRET: &str = "whsec_test";
    const T_V1_BODY: &[u8] = br#"{"id":"evt_1","type":"lead.created"}"#;
    const T_V1_HEADER: &str =
        "t=1700000000,v1=b05d3640f2b57a63571590bc68c9de40faec2638da1b635f60bd8d02848b23fa";

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    fn t_v1(header: &str, secrets: &[&str], now: i64) -> Result<(), ConnectorError> {
        verify_t_v1_header(Some(header), T_V1_BODY, secrets, at(now), 300)
    }

    #[test]
    fn the_t_v1_vector_verifies_under_any_configured_secret() {
        let digest = hmac_sha256(T_V1_SECRET.as_bytes(), &[b"1700000000.", T_V1_BODY]);
        assert_eq!(
            T_V1_HEADER,
            format!("t=1700000000,v1={}", hex::encode(digest))
        );
        assert_eq!(
            t_v1(T_V1_HEADER, &["other", T_V1_SECRET], 1_700_000_000),
            Ok(())
        );
        assert!(t_v1(T_V1_HEADER, &["other"], 1_700_000_000).is_err());
        assert!(t_v1(T_V1_HEADER, &[], 1_700_000_000).is_err());
        assert!(
            verify_t_v1_header(None, T_V1_BODY, &[T_V1_SECRET], at(1_700_000_000), 300).is_err()
        );
    }

    #[test]
    fn a_t_v1_header_may_carry_garbled_and_other_scheme_entries() {
        let crowded = T_V1_HEADER.replacen(",v1=", ",v1=zz,v0=abc,v1=00ff,v1=", 1);
        assert_eq!(t_v1(&crowded, &[T_V1_SECRET], 1_700_000_000), Ok(()));
        for garbled in ["v1=abcd", "t=1700000000", "t=1700000000,v1=zz"] {
            assert!(matches!(
                t_v1(garbled, &[T_V1_SECRET], 1_700_000_000),
                Err(ConnectorError::BadSignature(_))
            ));
        }
    }

    #[test]
    fn a_stale_t_is_refused_and_one_ahead_is_tolerated() {
        assert!(t_v1(T_V1_HEADER, &[T_V1_SECRET], 1_700_000_301).is_err());
        assert_eq!(t_v1(T_V1_HEADER, &[T_V1_SECRET], 1_700_000_300), Ok(()));
        assert_eq!(t_v1(T_V1_HEADER, &[T_V1_SECRET], 1_699_990_000), Ok(()));
        let wide = verify_t_v1_header(
            Some(T_V1_HEADER),
            T_V1_BODY,
            &[T_V1_SECRET],
            at(1_700_000_301),
            600,
        );
        assert_eq!(wide, Ok(()));
    }

    #[test]
    fn a_presented_credential_must_match_a_configured_secret() {
        assert_eq!(check_presented(["old", "new"], &["new"]), Ok(()));
        assert_eq!(check_presented(Some("old"), &["new", "old"]), Ok(()));
        for (presented, secrets) in [
            (&["other"][..], &["new"][..]),
            (&[], &["new"]),
            (&["new"], &[]),
        ] {
            assert!(matches!(
                check_presented(presented.iter().copied(), secrets),
                Err(ConnectorError::BadSignature(_))
            ));
        }
    }

    #[test]
    fn secrets_are_compared_whole() {
        assert!(same_secret("s3cr:et", "s3cr:et"));
        assert!(!same_secret("s3cr:et", "s3cr:eT"));
        assert!(!same_secret("s3cr:e", "s3cr:et"));
        assert!(!same_secret("", ""));
    }
}
