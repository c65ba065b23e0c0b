//! Credentials a request carries as they are (a basic-auth password, a key in the URL, a form's
//! secret field), as opposed to signatures made with them, and the request with those masked:
//! what the hub may store once it has verified the original. Masking replaces only the
//! credential's value, so the stored request still parses to the same touchpoints.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{FormEncoding, InboundRequest};

/// What a masked credential's value becomes; plain ASCII, so it needs no escaping in a header,
/// a URL, a urlencoded body or JSON.
pub const MASK: &str = "REDACTED";

/// Where a provider's requests carry credentials in the clear. Names compare ignoring ASCII case.
#[derive(Debug, Clone, Copy, Default)]
pub struct Places {
    pub headers: &'static [&'static str],
    /// Parameters of the URL's query.
    pub query: &'static [&'static str],
    /// Top-level fields of a urlencoded or JSON-object body.
    pub fields: &'static [&'static str],
}

impl Places {
    pub const NONE: Places = Places {
        headers: &[],
        query: &[],
        fields: &[],
    };
}

/// What any request may carry, whatever its provider: HTTP authentication (Postmark's and
/// SendGrid Inbound's basic-auth passwords), cookies, API-key headers, and the query parameters
/// keys are usually put in (SendGrid Inbound's `?key=`).
pub const ANY_PROVIDER: Places = Places {
    headers: &[
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
    ],
    query: &[
        "key",
        "api_key",
        "apikey",
        "token",
        "access_token",
        "secret",
        "password",
    ],
    fields: &[],
};

/// A request as the hub keeps it: what [`InboundRequest`] borrows, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRequest {
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    pub url: String,
    pub received_at: DateTime<Utc>,
}

impl StoredRequest {
    pub fn inbound(&self) -> InboundRequest<'_> {
        InboundRequest {
            headers: &self.headers,
            body: &self.body,
            url: &self.url,
            received_at: self.received_at,
        }
    }

    /// This request with the credentials [`ANY_PROVIDER`] and `provider` name masked. Bytes
    /// that carry no credential are kept as they are.
    pub fn without_credentials(mut self, provider: Places) -> Self {
        for places in [ANY_PROVIDER, provider] {
            for (name, value) in &mut self.headers {
                if listed(places.headers, name) {
                    *value = MASK.to_owned();
                }
            }
            if let Some(url) = masked_query(&self.url, places.query) {
                self.url = url;
            }
            if let Some(body) = masked_fields(&self.inbound(), places.fields) {
                self.body = body;
            }
        }
        self
    }
}

fn listed(names: &[&str], name: &str) -> bool {
    names.iter().any(|listed| listed.eq_ignore_ascii_case(name))
}

/// The URL with the listed query parameters' values masked; `None` when it has none of them.
fn masked_query(url: &str, names: &[&str]) -> Option<String> {
    let (base, rest) = url.split_once('?')?;
    let (query, fragment) = match rest.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (rest, None),
    };
    let query = masked_pairs(query.as_bytes(), names)?;
    let query = String::from_utf8(query).ok()?;
    Some(match fragment {
        Some(fragment) => format!("{base}?{query}#{fragment}"),
        None => format!("{base}?{query}"),
    })
}

/// A urlencoded text with the listed names' values masked, every other pair byte for byte;
/// `None` when no listed name occurs.
fn masked_pairs(encoded: &[u8], names: &[&str]) -> Option<Vec<u8>> {
    if names.is_empty() {
        return None;
    }
    let mut found = false;
    let pairs: Vec<Vec<u8>> = encoded
        .split(|byte| *byte == b'&')
        .map(|pair| {
            let raw_name = pair.split(|byte| *byte == b'=').next().unwrap_or_default();
            let name = form_urlencoded::parse(raw_name)
                .next()
                .map(|(name, _)| name);
            if name.is_some_and(|name| listed(names, &name)) {
                found = true;
                [raw_name, b"=", MASK.as_bytes()].concat()
            } else {
                pair.to_vec()
            }
        })
        .collect();
    found.then(|| pairs.join(&b'&'))
}

/// The body with the listed form fields' values masked, read the way a web form is read;
/// `None` when it has none of them (or is no form at all).
fn masked_fields(request: &InboundRequest<'_>, names: &[&str]) -> Option<Vec<u8>> {
    if names.is_empty() {
        return None;
    }
    match request.form_encoding() {
        FormEncoding::Urlencoded => masked_pairs(request.body, names),
        FormEncoding::Json => {
            let Ok(Value::Object(mut object)) = serde_json::from_slice(request.body) else {
                return None;
            };
            let mut found = false;
            for (name, value) in &mut object {
                if listed(names, name) {
                    *value = Value::String(MASK.to_owned());
                    found = true;
                }
            }
            found
                .then(|| serde_json::to_vec(&Value::Object(object)).ok())
                .flatten()
        }
        FormEncoding::Unsupported(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Places = Places {
        headers: &["x-form-secret"],
        query: &[],
        fields: &["_secret"],
    };

    fn stored(content_type: &str, body: &str, url: &str) -> StoredRequest {
        StoredRequest {
            headers: BTreeMap::from([
                ("content-type".to_owned(), content_type.to_owned()),
                ("authorization".to_owned(), "Basic dTpzM2NyZXQ=".to_owned()),
                ("cookie".to_owned(), "session=s3cret".to_owned()),
                ("x-form-secret".to_owned(), "s3cret".to_owned()),
                ("stripe-signature".to_owned(), "t=1,v1=ab".to_owned()),
            ]),
            body: body.as_bytes().to_vec(),
            url: url.to_owned(),
            received_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn credential_headers_are_masked_and_signatures_kept() {
        let masked = stored("text/plain", "", "https://x.test/h").without_credentials(FORM);
        for name in ["authorization", "cookie", "x-form-secret"] {
            assert_eq!(masked.headers[name], MASK, "{name}");
        }
        assert_eq!(masked.headers["stripe-signature"], "t=1,v1=ab");
        assert_eq!(masked.headers["content-type"], "text/plain");
    }

    #[test]
    fn secret_query_parameters_are_masked_in_any_case_and_the_rest_kept_byte_for_byte() {
        let url = "https://x.test/h?a=%41+b&Key=s3cret&bodySHA256=abc%3D&token=t0k#frag";
        let masked = stored("", "", url).without_credentials(Places::NONE);
        assert_eq!(
            masked.url,
            "https://x.test/h?a=%41+b&Key=REDACTED&bodySHA256=abc%3D&token=REDACTED#frag"
        );
        let plain = "https://x.test/h?utm_source=x";
        assert_eq!(stored("", "", plain).without_credentials(FORM).url, plain);
    }

    #[test]
    fn a_urlencoded_secret_field_is_masked_and_the_other_fields_kept() {
        let body = "email=a%40b.test&%5Fsecret=s3cret&message=hi+there&_secret=again";
        let masked =
            stored("application/x-www-form-urlencoded", body, "u").without_credentials(FORM);
        assert_eq!(
            String::from_utf8(masked.body).unwrap(),
            "email=a%40b.test&%5Fsecret=REDACTED&message=hi+there&_secret=REDACTED"
        );
    }

    #[test]
    fn a_json_secret_field_is_masked_and_the_object_stays_json() {
        let body = r#"{"email":"a@b.test","_secret":"s3cret","tags":["x","y"]}"#;
        let masked = stored("application/json", body, "u").without_credentials(FORM);
        let value: Value = serde_json::from_slice(&masked.body).unwrap();
        assert_eq!(
            value,
            serde_json::json!({ "email": "a@b.test", "_secret": MASK, "tags": ["x", "y"] })
        );
    }

    #[test]
    fn bodies_without_the_fields_or_of_other_kinds_are_left_alone() {
        for (content_type, body) in [
            ("application/json", r#"{"email":"a@b.test"}"#),
            ("application/json", "not json"),
            ("multipart/form-data; boundary=x", "--x\r\n_secret=s3cret"),
            ("application/x-www-form-urlencoded", "email=a%40b.test"),
        ] {
            let masked = stored(content_type, body, "u").without_credentials(FORM);
            assert_eq!(masked.body, body.as_bytes(), "{content_type}");
        }
        let masked = stored("application/x-www-form-urlencoded", "_secret=s", "u")
            .without_credentials(Places::NONE);
        assert_eq!(masked.body, b"_secret=s");
    }
}
