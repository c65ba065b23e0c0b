//! Postmark inbound: an email someone sent to our Postmark inbound address.
//!
//! Postmark POSTs JSON: `From`, `FromName`, `FromFull {Email, Name}`, `To`, `ToFull`, `Subject`,
//! `Date` (RFC 2822, often with a `-05:00` style offset), `MessageID` (Postmark's id),
//! `TextBody`, `HtmlBody`, `StrippedTextReply` (the reply without the quoted thread) and
//! `Headers` (a list of `{Name, Value}`, carrying the email's own Message-ID and In-Reply-To).
//!
//! Postmark does not sign; its webhook URL carries basic-auth credentials
//! (`https://user:password@host/…`, with an IP allowlist recommended beside it). The
//! connector's secret is that `user:password`, and the request's `Authorization: Basic` header
//! must decode to it exactly (compared in constant time).
//!
//! The delivery is stored under `MessageID` (else the body digest) and becomes one touchpoint:
//! event `inbound`, channel Email, direction Inbound, external id = `MessageID`, the person from
//! `FromFull`, the subject, `StrippedTextReply` or else `TextBody` (the HTML converted when
//! neither) cut to 500 characters as summary, occurred at `Date` or else when the hub received
//! it, provider ids `message_id` (the email's Message-ID header), `in_reply_to` and `to`.
//!
//! Settings: none; any key is refused.

use chrono::{DateTime, Utc};
use mail_parser::decoders::html::html_to_text;
use serde::Deserialize;
use serde_json::Value;

use crate::email::{self, INBOUND_MAIL_BYTES, InboundMail, first_non_empty, non_empty};
use crate::{Connector, ConnectorError, InboundRequest, NormalizedTouchpoint, settings, signature};

pub struct Postmark;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {}

/// The fields of Postmark's inbound JSON the CRM reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Inbound {
    from: Option<String>,
    from_name: Option<String>,
    from_full: Option<Contact>,
    to: Option<String>,
    to_full: Vec<Contact>,
    subject: Option<String>,
    date: Option<String>,
    #[serde(rename = "MessageID")]
    message_id: Option<String>,
    text_body: Option<String>,
    html_body: Option<String>,
    stripped_text_reply: Option<String>,
    headers: Vec<Header>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Contact {
    email: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Header {
    name: String,
    value: String,
}

fn read(request: &InboundRequest<'_>) -> Result<Inbound, ConnectorError> {
    serde_json::from_slice(request.body).map_err(|error| {
        ConnectorError::Malformed(format!("not a Postmark inbound email: {error}"))
    })
}

/// The delivery's external id: Postmark's `MessageID`, else the body digest.
fn external_id_of(inbound: &Inbound, body: &[u8]) -> String {
    inbound
        .message_id
        .as_deref()
        .and_then(non_empty)
        .unwrap_or_else(|| signature::body_digest(body))
}

/// The email's own ids and date come from its headers; Postmark's fields give the rest.
fn mail(inbound: Inbound) -> InboundMail {
    let headers = inbound
        .headers
        .iter()
        .map(|h| (h.name.as_str(), h.value.as_str()));
    let mut mail = InboundMail::from_headers(email::header_block(headers).as_bytes());
    let from = inbound.from_full.unwrap_or_default();
    mail.from_email = first_non_empty([from.email, inbound.from]);
    mail.from_name = first_non_empty([from.name, inbound.from_name]);
    let to: Vec<_> = inbound
        .to_full
        .into_iter()
        .filter_map(|contact| contact.email)
        .collect();
    mail.to = non_empty(&to.join(", ")).or(inbound.to);
    mail.subject = inbound.subject.as_deref().and_then(non_empty);
    mail.date = inbound
        .date
        .as_deref()
        .and_then(email::parse_mail_date)
        .or(mail.date);
    mail.text = first_non_empty([inbound.stripped_text_reply, inbound.text_body])
        .or_else(|| inbound.html_body.as_deref().map(html_to_text));
    mail
}

impl Connector for Postmark {
    /// A whole email with its attachments.
    fn max_body_bytes(&self) -> usize {
        INBOUND_MAIL_BYTES
    }

    fn check_settings(&self, settings: &Value) -> Result<(), ConnectorError> {
        settings::read::<Settings>(settings).map(drop)
    }

    fn verify(
        &self,
        request: &InboundRequest<'_>,
        secrets: &[&str],
        _now: DateTime<Utc>,
        _settings: &Value,
    ) -> Result<(), ConnectorError> {
        let presented = email::basic_credentials(request);
        signature::check_presented(presented.as_deref(), secrets)
    }

    fn external_id(&self, request: &InboundRequest<'_>) -> Result<String, ConnectorError> {
        Ok(external_id_of(&read(request)?, request.body))
    }

    fn parse(
        &self,
        request: &InboundRequest<'_>,
        _settings: &Value,
    ) -> Result<Vec<NormalizedTouchpoint>, ConnectorError> {
        let inbound = read(request)?;
        let external_id = external_id_of(&inbound, request.body);
        Ok(vec![mail(inbound).into_touchpoint(external_id, request)])
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::{Channel, Direction};

    use super::*;

    /// When the hub received the tests' requests.
    fn received_at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2023-11-14T22:13:30Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    const INBOUND: &[u8] = include_bytes!("../tests/fixtures/postmark/inbound.json");
    const SECRET: &str = "postmark:correct horse battery";

    fn headers(credentials: Option<&str>) -> BTreeMap<String, String> {
        let mut headers =
            BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]);
        if let Some(credentials) = credentials {
            let value = format!("Basic {}", signature::encode_base64(credentials.as_bytes()));
            headers.insert("authorization".to_owned(), value);
        }
        headers
    }

    fn request<'a>(headers: &'a BTreeMap<String, String>, body: &'a [u8]) -> InboundRequest<'a> {
        InboundRequest {
            headers,
            body,
            url: "https://crm.example.com/hooks/postmark",
            received_at: received_at(),
        }
    }

    fn verify(credentials: Option<&str>, secrets: &[&str]) -> Result<(), ConnectorError> {
        let headers = headers(credentials);
        Postmark.verify(
            &request(&headers, INBOUND),
            secrets,
            Utc::now(),
            &Value::Null,
        )
    }

    fn refused(result: Result<(), ConnectorError>) -> bool {
        matches!(result, Err(ConnectorError::BadSignature(_)))
    }

    #[test]
    fn the_configured_basic_auth_credentials_are_accepted() {
        assert_eq!(verify(Some(SECRET), &[SECRET]), Ok(()));
    }

    #[test]
    fn the_previous_credentials_are_accepted_during_rotation() {
        assert_eq!(
            verify(Some("postmark:old"), &[SECRET, "postmark:old"]),
            Ok(())
        );
    }

    #[test]
    fn wrong_partial_or_missing_credentials_are_refused() {
        assert!(refused(verify(Some("postmark:wrong"), &[SECRET])));
        assert!(refused(verify(
            Some("other:correct horse battery"),
            &[SECRET]
        )));
        assert!(refused(verify(Some("postmark"), &[SECRET])));
        assert!(refused(verify(None, &[SECRET])));
        assert!(refused(verify(Some(SECRET), &[])));
        let mut bearer = headers(None);
        bearer.insert(
            "authorization".into(),
            "Bearer cG9zdG1hcms6Y29ycmVjdA==".into(),
        );
        assert!(refused(Postmark.verify(
            &request(&bearer, INBOUND),
            &[SECRET],
            Utc::now(),
            &Value::Null
        )));
    }

    #[test]
    fn the_credentials_do_not_cover_the_body() {
        // Basic auth authenticates the sender, not the bytes: a changed body still passes.
        let headers = headers(Some(SECRET));
        let tampered = request(&headers, b"{\"MessageID\":\"x\"}");
        let verified = Postmark.verify(&tampered, &[SECRET], Utc::now(), &Value::Null);
        assert_eq!(verified, Ok(()));
    }

    #[test]
    fn the_external_id_is_postmarks_message_id() {
        let headers = headers(None);
        let id = Postmark.external_id(&request(&headers, INBOUND)).unwrap();
        assert_eq!(id, "73e6d360-66eb-11e1-8e72-a8904824019b");
        let without_id = br#"{"From":"a@b.c"}"#;
        let id = Postmark
            .external_id(&request(&headers, without_id))
            .unwrap();
        assert_eq!(id, signature::body_digest(without_id));
        assert!(matches!(
            Postmark.external_id(&request(&headers, b"[1,2]")),
            Err(ConnectorError::Malformed(_))
        ));
    }

    fn parse(body: &[u8]) -> NormalizedTouchpoint {
        let headers = headers(None);
        let mut touchpoints = Postmark
            .parse(&request(&headers, body), &Value::Null)
            .unwrap();
        assert_eq!(touchpoints.len(), 1);
        touchpoints.remove(0)
    }

    #[test]
    fn an_inbound_email_becomes_a_touchpoint() {
        let touchpoint = parse(INBOUND);
        assert_eq!(
            touchpoint.external_id,
            "73e6d360-66eb-11e1-8e72-a8904824019b"
        );
        assert_eq!(touchpoint.event, "inbound");
        assert_eq!(
            (touchpoint.channel, touchpoint.direction),
            (Channel::Email, Direction::Inbound)
        );
        assert_eq!(
            touchpoint.occurred_at,
            DateTime::from_timestamp(1_700_000_000, 0).unwrap()
        );
        assert_eq!(touchpoint.person.email.as_deref(), Some("ann@example.com"));
        assert_eq!(touchpoint.person.name.as_deref(), Some("Ann Lee"));
        assert_eq!(touchpoint.subject.as_deref(), Some("Re: Your quote"));
        assert_eq!(
            touchpoint.summary.as_deref(),
            Some("Sounds good, send the contract.")
        );
        let id = |key: &str| touchpoint.provider_ids.get(key).map(String::as_str);
        assert_eq!(
            id("message_id"),
            Some("CAGXpo2WKfxHWZ5UFYCR3H_J9SNMG+5AXUovfEFL6DjWBJSyZaA@mail.example.com")
        );
        assert_eq!(id("in_reply_to"), Some("quote-1001@crm.example.com"));
        assert_eq!(
            id("to"),
            Some("4e8d6dec234dd90018e7bfd2b5d79107+lead42@inbound.postmarkapp.com")
        );
        assert!(touchpoint.attribution.is_empty());
    }

    #[test]
    fn a_sparse_email_falls_back_to_text_body_and_received_time() {
        let body = br#"{"From":" bob@example.org ","FromName":"Bob","MessageID":"m-2",
            "TextBody":"  Call me back  ","Date":"","Headers":[]}"#;
        let touchpoint = parse(body);
        assert_eq!(touchpoint.person.email.as_deref(), Some("bob@example.org"));
        assert_eq!(touchpoint.person.name.as_deref(), Some("Bob"));
        assert_eq!(touchpoint.summary.as_deref(), Some("Call me back"));
        let received = DateTime::parse_from_rfc3339("2023-11-14T22:13:30Z").unwrap();
        assert_eq!(touchpoint.occurred_at, received);
        assert!(touchpoint.provider_ids.is_empty());
    }

    #[test]
    fn settings_take_no_keys() {
        assert_eq!(Postmark.check_settings(&Value::Null), Ok(()));
        assert!(
            Postmark
                .check_settings(&serde_json::json!({ "user": "x" }))
                .is_err()
        );
    }
}
