//! SendGrid Inbound Parse: an email someone sent to one of our parse addresses.
//!
//! SendGrid POSTs `multipart/form-data`. In the default mode the email arrives taken apart:
//! `headers` (the raw header block), `text`, `html`, `from`, `to`, `cc`, `subject`, `envelope`
//! (JSON), `charsets` (JSON: the charset of each text field), `spam_score`, `attachments`,
//! `attachment-info` and one file part per attachment. In raw mode the whole MIME message is in
//! the `email` field instead. Both are read: the header block or MIME message by mail-parser,
//! the text fields in the charset `charsets` names.
//!
//! Inbound Parse does not sign by default, so the connector's secret is a shared credential the
//! parse URL carries: as the password of HTTP basic auth (`https://any-user:SECRET@host/…`, any
//! user name) or as `?key=SECRET` in the URL. Either is compared in constant time.
//!
//! The delivery is stored under the email's Message-ID (without angle brackets), else the body
//! digest. It becomes one touchpoint: event `inbound`, channel Email, direction Inbound,
//! external id = the same key, the person from the From address and name, the subject, the
//! first 500 characters of the text body (the HTML converted when there is no text) as summary,
//! occurred at the Date header or else when the hub received it, and provider ids
//! `message_id`, `in_reply_to` and `to`.
//!
//! Settings: none; any key is refused.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mail_parser::decoders::html::html_to_text;
use serde::Deserialize;
use serde_json::Value;

use crate::email::{self, INBOUND_MAIL_BYTES, InboundMail};
use crate::multipart::Form;
use crate::{Connector, ConnectorError, InboundRequest, NormalizedTouchpoint, settings, signature};

pub struct SendgridInbound;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {}

fn read_mail(request: &InboundRequest<'_>) -> Result<InboundMail, ConnectorError> {
    let form = Form::from_request(request)?;
    match form.bytes("email") {
        Some(raw) => InboundMail::from_mime(raw),
        None => Ok(parsed_mail(&form)),
    }
}

/// The default mode: the header block gives the ids and date; the fields fill what it lacks.
fn parsed_mail(form: &Form) -> InboundMail {
    let charsets = charsets(form);
    let text = |name: &str| {
        let charset = charsets.get(name).map(String::as_str);
        form.text_in(name, charset)
            .as_deref()
            .and_then(email::non_empty)
    };
    let mut mail = form
        .bytes("headers")
        .map(InboundMail::from_headers)
        .unwrap_or_default();
    if mail.from_email.is_none()
        && let Some(from) = text("from")
    {
        mail.set_from(&from);
    }
    mail.to = mail.to.or_else(|| text("to"));
    mail.subject = mail.subject.or_else(|| text("subject"));
    mail.text = text("text").or_else(|| text("html").as_deref().map(html_to_text));
    mail
}

/// The `charsets` field: which charset each text field is in. Unreadable means "assume UTF-8".
fn charsets(form: &Form) -> BTreeMap<String, String> {
    form.bytes("charsets")
        .and_then(|json| serde_json::from_slice(json).ok())
        .unwrap_or_default()
}

/// The credentials the request presents: the basic-auth password and any `key` in the URL.
fn presented_credentials(request: &InboundRequest<'_>) -> Vec<String> {
    let mut presented = request.query_values("key");
    presented.extend(email::basic_password(request));
    presented
}

impl Connector for SendgridInbound {
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
        let presented = presented_credentials(request);
        signature::check_presented(presented.iter().map(String::as_str), secrets)
    }

    fn external_id(&self, request: &InboundRequest<'_>) -> Result<String, ConnectorError> {
        Ok(read_mail(request)?.external_id(request.body))
    }

    fn parse(
        &self,
        request: &InboundRequest<'_>,
        _settings: &Value,
    ) -> Result<Vec<NormalizedTouchpoint>, ConnectorError> {
        let mail = read_mail(request)?;
        let external_id = mail.external_id(request.body);
        Ok(vec![mail.into_touchpoint(external_id, request)])
    }
}

#[cfg(test)]
mod tests {
    use crate::{Channel, Direction};

    use super::*;

    /// When the hub received the tests' requests.
    fn received_at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2023-11-14T22:13:25Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    const PARSED: &[u8] = include_bytes!("../tests/fixtures/sendgrid/inbound_parsed.multipart");
    const RAW: &[u8] = include_bytes!("../tests/fixtures/sendgrid/inbound_raw.multipart");
    const URL: &str = "https://crm.example.com/hooks/sendgrid-inbound";
    const SECRET: &str = "parse-secret-1";

    fn headers(authorization: Option<&str>) -> BTreeMap<String, String> {
        let mut headers = BTreeMap::from([(
            "content-type".to_owned(),
            "multipart/form-data; boundary=xYzZY".to_owned(),
        )]);
        if let Some(credentials) = authorization {
            let value = format!("Basic {}", signature::encode_base64(credentials.as_bytes()));
            headers.insert("authorization".to_owned(), value);
        }
        headers
    }

    fn verify(
        headers: &BTreeMap<String, String>,
        url: &str,
        secrets: &[&str],
    ) -> Result<(), ConnectorError> {
        let request = InboundRequest {
            headers,
            body: PARSED,
            url,
            received_at: received_at(),
        };
        SendgridInbound.verify(&request, secrets, Utc::now(), &Value::Null)
    }

    fn is_refused(result: Result<(), ConnectorError>) -> bool {
        matches!(result, Err(ConnectorError::BadSignature(_)))
    }

    #[test]
    fn the_secret_is_accepted_as_basic_auth_password_or_url_key() {
        assert_eq!(
            verify(&headers(Some("sendgrid:parse-secret-1")), URL, &[SECRET]),
            Ok(())
        );
        let keyed = format!("{URL}?key={SECRET}");
        assert_eq!(verify(&headers(None), &keyed, &[SECRET]), Ok(()));
    }

    #[test]
    fn the_previous_secret_is_accepted_during_rotation() {
        let headers = headers(Some("any:old-secret"));
        assert_eq!(verify(&headers, URL, &[SECRET, "old-secret"]), Ok(()));
    }

    #[test]
    fn a_wrong_or_missing_credential_is_refused() {
        assert!(is_refused(verify(
            &headers(Some("sendgrid:parse-secret-2")),
            URL,
            &[SECRET]
        )));
        assert!(is_refused(verify(
            &headers(None),
            &format!("{URL}?key=nope"),
            &[SECRET]
        )));
        assert!(is_refused(verify(&headers(None), URL, &[SECRET])));
        assert!(is_refused(verify(
            &headers(Some("parse-secret-1")),
            URL,
            &[SECRET]
        )));
        assert!(is_refused(verify(
            &headers(Some("sendgrid:parse-secret-1")),
            URL,
            &[]
        )));
    }

    #[test]
    fn the_credential_is_not_tied_to_the_body() {
        // No signature covers the body: a tampered body with the right credential passes, which
        // is why the parse URL's secret must be kept like a password.
        let headers = headers(Some("sendgrid:parse-secret-1"));
        let request = InboundRequest {
            headers: &headers,
            body: b"tampered",
            url: URL,
            received_at: received_at(),
        };
        assert_eq!(
            SendgridInbound.verify(&request, &[SECRET], Utc::now(), &Value::Null),
            Ok(())
        );
    }

    fn parse(body: &[u8]) -> NormalizedTouchpoint {
        let headers = headers(None);
        let request = InboundRequest {
            headers: &headers,
            body,
            url: URL,
            received_at: received_at(),
        };
        let mut touchpoints = SendgridInbound.parse(&request, &Value::Null).unwrap();
        assert_eq!(touchpoints.len(), 1);
        touchpoints.remove(0)
    }

    #[test]
    fn a_parsed_mode_email_becomes_an_inbound_touchpoint() {
        let message_id = "CAN_P_JMvV7ZpAQhOnDienypLrJmuhN=LQWweu4yScw4jQyXY2w@mail.gmail.com";
        let touchpoint = parse(PARSED);
        assert_eq!(touchpoint.external_id, message_id);
        assert_eq!(touchpoint.event, "inbound");
        assert_eq!(touchpoint.channel, Channel::Email);
        assert_eq!(touchpoint.direction, Direction::Inbound);
        assert_eq!(
            touchpoint.occurred_at,
            DateTime::from_timestamp(1_700_000_000, 0).unwrap()
        );
        assert_eq!(touchpoint.person.email.as_deref(), Some("ann@example.com"));
        assert_eq!(touchpoint.person.name.as_deref(), Some("Ann Lée"));
        assert_eq!(touchpoint.subject.as_deref(), Some("Re: Your quote"));
        let summary = touchpoint.summary.unwrap();
        assert!(summary.starts_with("Thanks, the quote looks good.\nCan we start next week?"));
        assert_eq!(
            touchpoint
                .provider_ids
                .get("message_id")
                .map(String::as_str),
            Some(message_id)
        );
        assert_eq!(
            touchpoint
                .provider_ids
                .get("in_reply_to")
                .map(String::as_str),
            Some("out.42@crm.example.com")
        );
        assert_eq!(
            touchpoint.provider_ids.get("to").map(String::as_str),
            Some("sales@crm.example.com")
        );
        assert!(touchpoint.attribution.is_empty());
        assert_eq!(touchpoint.flag, None);
    }

    #[test]
    fn a_raw_mode_email_without_id_or_date_uses_the_digest_and_received_time() {
        let touchpoint = parse(RAW);
        assert_eq!(touchpoint.external_id, signature::body_digest(RAW));
        let received = DateTime::parse_from_rfc3339("2023-11-14T22:13:25Z").unwrap();
        assert_eq!(touchpoint.occurred_at, received);
        assert_eq!(touchpoint.person.email.as_deref(), Some("bob@example.org"));
        assert_eq!(touchpoint.person.name.as_deref(), Some("Bob Stone"));
        assert_eq!(touchpoint.subject.as_deref(), Some("Pricing question"));
        assert_eq!(
            touchpoint.summary.as_deref(),
            Some("Hi, do you offer volume discounts for 50 seats? – Bob")
        );
        assert_eq!(touchpoint.provider_ids.get("message_id"), None);
    }

    #[test]
    fn the_external_id_is_the_message_id_else_the_digest() {
        let headers = headers(None);
        let id = |body| {
            SendgridInbound.external_id(&InboundRequest {
                headers: &headers,
                body,
                url: URL,
                received_at: received_at(),
            })
        };
        assert_eq!(
            id(PARSED).unwrap(),
            "CAN_P_JMvV7ZpAQhOnDienypLrJmuhN=LQWweu4yScw4jQyXY2w@mail.gmail.com"
        );
        assert_eq!(id(RAW).unwrap(), signature::body_digest(RAW));
        assert!(matches!(
            id(b"--xYzZY\r\nbroken"),
            Err(ConnectorError::Malformed(_))
        ));
    }

    #[test]
    fn html_only_emails_are_summarised_from_their_html() {
        let body = b"--xYzZY\r\nContent-Disposition: form-data; name=\"headers\"\r\n\r\n\
Message-ID: <m1@example.com>\nFrom: c@example.com\nDate: Tue, 14 Nov 2023 22:13:20 +0000\n\r\n\
--xYzZY\r\nContent-Disposition: form-data; name=\"html\"\r\n\r\n<p>Call me <b>back</b></p>\r\n--xYzZY--\r\n";
        let touchpoint = parse(body);
        assert_eq!(touchpoint.summary.as_deref(), Some("Call me back"));
        assert_eq!(touchpoint.person.email.as_deref(), Some("c@example.com"));
    }

    #[test]
    fn settings_take_no_keys() {
        assert_eq!(SendgridInbound.check_settings(&Value::Null), Ok(()));
        assert_eq!(
            SendgridInbound.check_settings(&serde_json::json!({})),
            Ok(())
        );
        assert!(
            SendgridInbound
                .check_settings(&serde_json::json!({ "key": "x" }))
                .is_err()
        );
    }
}
