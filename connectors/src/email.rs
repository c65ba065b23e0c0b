//! What the inbound-mail connectors share (SendGrid Inbound Parse, Mailgun routes, Postmark
//! inbound): reading a received email's ids, sender, subject, text and date out of a raw MIME
//! message or a header block (mail-parser does the RFC 5322/2047 work), turning it into the one
//! touchpoint a received email becomes, reading the basic-auth credentials some of these
//! providers present instead of a signature, and the lenient readers of the JSON the email
//! event webhooks (SendGrid events, Mailgun) post.

use std::borrow::Cow;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mail_parser::{Addr, HeaderValue, Message, MessageParser};
use serde::Deserialize;
use serde_json::Value;

use crate::{
    Attribution, Channel, ConnectorError, Direction, InboundRequest, NormalizedTouchpoint,
    signature,
};

/// The event name of a received email; the providers have none of their own.
pub const INBOUND_EVENT: &str = "inbound";

const SUMMARY_CHARS: usize = 500;
/// The body cap of the inbound mail kinds: a whole message with its attachments, encoded
/// (Postmark takes messages up to 35 MB, SendGrid 30 MB, Mailgun 25 MB).
pub const INBOUND_MAIL_BYTES: usize = 40 * crate::MIB;

/// A received email, reduced to what the CRM records. Values are trimmed; empty ones are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboundMail {
    /// The Message-ID header without its angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub from_email: Option<String>,
    pub from_name: Option<String>,
    /// The recipients as the provider or the To header gives them.
    pub to: Option<String>,
    pub subject: Option<String>,
    /// The plain-text body (or the reply alone, where the provider strips quoted text).
    pub text: Option<String>,
    pub date: Option<DateTime<Utc>>,
}

impl InboundMail {
    /// A whole RFC 5322 message, headers and body.
    pub fn from_mime(raw: &[u8]) -> Result<InboundMail, ConnectorError> {
        let message = MessageParser::default()
            .parse(raw)
            .ok_or_else(|| ConnectorError::Malformed("the email is not a MIME message".into()))?;
        let mut mail = InboundMail::from_message(&message);
        mail.text = message.body_text(0).as_deref().and_then(non_empty);
        Ok(mail)
    }

    /// A header block alone (SendGrid's `headers` field); an unreadable one gives nothing.
    pub fn from_headers(raw: &[u8]) -> InboundMail {
        MessageParser::default()
            .parse_headers(raw)
            .map(|message| InboundMail::from_message(&message))
            .unwrap_or_default()
    }

    fn from_message(message: &Message<'_>) -> InboundMail {
        let from = message.from().and_then(|address| address.first());
        InboundMail {
            message_id: message.message_id().and_then(non_empty),
            in_reply_to: first_text(message.in_reply_to()),
            from_email: from.and_then(Addr::address).and_then(non_empty),
            from_name: from.and_then(Addr::name).and_then(non_empty),
            to: message.to().and_then(|to| {
                let addresses: Vec<_> = to.iter().filter_map(Addr::address).collect();
                non_empty(&addresses.join(", "))
            }),
            subject: message.subject().and_then(non_empty),
            text: None,
            date: message.date().and_then(mail_date),
        }
    }

    /// Sets the sender from a From header value (`"Ann Lee" <ann@example.com>`), keeping what
    /// is known when the value holds no address.
    pub fn set_from(&mut self, value: &str) {
        let parsed = InboundMail::from_headers(header_block([("From", value)]).as_bytes());
        if parsed.from_email.is_some() {
            self.from_email = parsed.from_email;
            self.from_name = parsed.from_name;
        }
    }

    /// The delivery's external id: the Message-ID where the email has one, else the body digest.
    pub fn external_id(&self, body: &[u8]) -> String {
        self.message_id
            .clone()
            .unwrap_or_else(|| signature::body_digest(body))
    }

    /// The touchpoint for this email, under `external_id` (normally [`InboundMail::external_id`]).
    /// It happened at its Date header, else when the hub received it.
    pub fn into_touchpoint(
        self,
        external_id: String,
        request: &InboundRequest<'_>,
    ) -> NormalizedTouchpoint {
        let mut touchpoint = NormalizedTouchpoint::new(
            external_id,
            INBOUND_EVENT,
            Channel::Email,
            Direction::Inbound,
            self.date.unwrap_or(request.received_at),
        );
        touchpoint.person.email = self.from_email;
        touchpoint.person.name = self.from_name;
        touchpoint.subject = self.subject;
        touchpoint.summary = self.text.as_deref().and_then(summary);
        let ids = [
            ("message_id", self.message_id),
            ("in_reply_to", self.in_reply_to),
            ("to", self.to),
        ];
        for (key, value) in ids {
            if let Some(value) = value.as_deref().and_then(non_empty) {
                touchpoint.provider_ids.insert(key.to_owned(), value);
            }
        }
        touchpoint
    }
}

/// The first `SUMMARY_CHARS` characters of a body, trimmed.
pub fn summary(text: &str) -> Option<String> {
    non_empty(text).map(|text| {
        text.chars()
            .take(SUMMARY_CHARS)
            .collect::<String>()
            .trim_end()
            .to_owned()
    })
}

/// An RFC 2822 date as mail headers carry it; lenient about the variants senders produce
/// (Postmark's `-04:00` offsets, missing weekdays).
pub fn parse_mail_date(value: &str) -> Option<DateTime<Utc>> {
    mail_parser::DateTime::parse_rfc822(value)
        .as_ref()
        .and_then(mail_date)
}

fn mail_date(date: &mail_parser::DateTime) -> Option<DateTime<Utc>> {
    date.is_valid()
        .then(|| DateTime::from_timestamp(date.to_timestamp(), 0))
        .flatten()
}

/// Builds a header block from name/value pairs; line breaks in a value are flattened so that
/// it cannot add headers of its own.
pub fn header_block<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let flatten = |value: &str| value.replace(['\r', '\n'], " ");
    let mut block: String = headers
        .into_iter()
        .map(|(name, value)| format!("{}: {}\r\n", flatten(name), flatten(value)))
        .collect();
    block.push_str("\r\n");
    block
}

/// A message id as headers write it, without angle brackets.
pub fn bare_message_id(value: &str) -> Option<String> {
    non_empty(value.trim().trim_start_matches('<').trim_end_matches('>'))
}

fn first_text(value: &HeaderValue<'_>) -> Option<String> {
    match value {
        HeaderValue::Text(text) => non_empty(text),
        HeaderValue::TextList(list) => list.first().map(Cow::as_ref).and_then(non_empty),
        _ => None,
    }
}

/// For optional text fields of provider JSON: a value of another type reads as absent instead
/// of failing the whole delivery, since providers add and retype fields over time.
pub fn lenient_string<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(Value::deserialize(deserializer)?
        .as_str()
        .map(str::to_owned))
}

/// The attribution in the values sent along with a message (SendGrid's custom args, Mailgun's
/// user variables): the string `utm_*` ones.
pub fn utm_attribution(values: &BTreeMap<String, Value>) -> Attribution {
    Attribution::from_pairs(
        values
            .iter()
            .filter(|(key, _)| key.starts_with("utm_"))
            .filter_map(|(key, value)| Some((key.as_str(), value.as_str()?))),
    )
}

/// The value trimmed, or `None` when nothing is left.
pub fn non_empty(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// The first of `values` that is not empty once trimmed, trimmed: where a provider sends the
/// same thing in several fields, in order of preference.
pub fn first_non_empty<S: AsRef<str>>(
    values: impl IntoIterator<Item = Option<S>>,
) -> Option<String> {
    values
        .into_iter()
        .flatten()
        .find_map(|value| non_empty(value.as_ref()))
}

/// The decoded `user:password` of an `Authorization: Basic …` header, if the request has one.
pub fn basic_credentials(request: &InboundRequest<'_>) -> Option<String> {
    let value = request.header("authorization")?.trim();
    let (scheme, credentials) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = signature::decode_base64(credentials).ok()?;
    String::from_utf8(decoded).ok()
}

/// The password of an `Authorization: Basic …` header.
pub fn basic_password(request: &InboundRequest<'_>) -> Option<String> {
    let credentials = basic_credentials(request)?;
    credentials
        .split_once(':')
        .map(|(_, password)| password.to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn request<'a>(
        headers: &'a BTreeMap<String, String>,
        body: &'a [u8],
        url: &'a str,
    ) -> InboundRequest<'a> {
        InboundRequest {
            headers,
            body,
            url,
            received_at: received_at(),
        }
    }

    /// When the hub received the tests' requests: later than [`RAW`]'s Date.
    fn received_at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_704_067_200, 0).unwrap()
    }

    const RAW: &[u8] = b"From: \"Ann Lee\" <ann@example.com>\r\n\
To: Sales <sales@crm.example.com>, b@example.com\r\n\
Subject: =?UTF-8?Q?Caf=C3=A9_pricing?=\r\n\
Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n\
Message-ID: <abc.123@mail.example.com>\r\n\
In-Reply-To: <out.1@crm.example.com>\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\n\
Hello, what does it cost?\r\n";

    #[test]
    fn a_mime_message_gives_ids_sender_subject_text_and_date() {
        let mail = InboundMail::from_mime(RAW).unwrap();
        assert_eq!(mail.message_id.as_deref(), Some("abc.123@mail.example.com"));
        assert_eq!(mail.in_reply_to.as_deref(), Some("out.1@crm.example.com"));
        assert_eq!(mail.from_email.as_deref(), Some("ann@example.com"));
        assert_eq!(mail.from_name.as_deref(), Some("Ann Lee"));
        assert_eq!(
            mail.to.as_deref(),
            Some("sales@crm.example.com, b@example.com")
        );
        assert_eq!(mail.subject.as_deref(), Some("Café pricing"));
        assert_eq!(mail.text.as_deref(), Some("Hello, what does it cost?"));
        assert_eq!(mail.date, DateTime::from_timestamp(1_700_000_000, 0));
    }

    #[test]
    fn the_touchpoint_falls_back_to_the_received_time_and_the_digest() {
        let headers = BTreeMap::new();
        let request = request(&headers, b"body", "");
        let mail = InboundMail {
            from_email: Some("a@b.c".into()),
            ..InboundMail::default()
        };
        let id = mail.external_id(request.body);
        let touchpoint = mail.into_touchpoint(id, &request);
        assert_eq!(touchpoint.external_id, signature::body_digest(b"body"));
        assert_eq!(touchpoint.occurred_at, request.received_at);
        assert!(touchpoint.provider_ids.is_empty());

        let dated = InboundMail::from_mime(RAW)
            .unwrap()
            .into_touchpoint("x".into(), &request);
        assert_eq!(
            dated.occurred_at,
            DateTime::from_timestamp(1_700_000_000, 0).unwrap()
        );
    }

    #[test]
    fn lenient_dates_and_sender_values_are_read() {
        let expected = DateTime::parse_from_rfc3339("2014-08-01T20:45:32Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_mail_date("Fri, 1 Aug 2014 16:45:32 -04:00"),
            Some(expected)
        );
        assert_eq!(parse_mail_date("not a date"), None);
        let mut mail = InboundMail::default();
        mail.set_from("Bob <bob@example.com>");
        assert_eq!(mail.from_email.as_deref(), Some("bob@example.com"));
        assert_eq!(mail.from_name.as_deref(), Some("Bob"));
        mail.set_from("undisclosed");
        assert_eq!(mail.from_email.as_deref(), Some("bob@example.com"));
        let injected = header_block([("From", "a@example.com\r\nSubject: injected")]);
        assert_eq!(InboundMail::from_headers(injected.as_bytes()).subject, None);
    }

    #[test]
    fn the_first_non_empty_value_wins_and_utm_values_are_attribution() {
        assert_eq!(
            first_non_empty([None, Some("  "), Some(" b "), Some("c")]).as_deref(),
            Some("b")
        );
        assert_eq!(first_non_empty::<&str>([None, Some("")]), None);
        let values = BTreeMap::from([
            ("utm_source".to_owned(), Value::from("newsletter")),
            ("utm_medium".to_owned(), Value::from(7)),
            ("source".to_owned(), Value::from("ignored")),
        ]);
        let attribution = utm_attribution(&values);
        assert_eq!(attribution.source.as_deref(), Some("newsletter"));
        assert_eq!(attribution.medium, None);
    }

    #[test]
    fn summaries_are_cut_at_500_characters() {
        let long = "é".repeat(600);
        assert_eq!(summary(&long).unwrap().chars().count(), 500);
        assert_eq!(summary("  \r\n"), None);
    }

    #[test]
    fn credentials_come_from_basic_auth_or_the_query() {
        let headers = BTreeMap::from([(
            "authorization".to_owned(),
            format!("Basic {}", signature::encode_base64(b"parse:s3cr:et")),
        )]);
        let request = request(
            &headers,
            b"",
            "https://h.example/hooks/x?a=1&key=k%2B1#frag",
        );
        assert_eq!(
            basic_credentials(&request).as_deref(),
            Some("parse:s3cr:et")
        );
        assert_eq!(basic_password(&request).as_deref(), Some("s3cr:et"));
        assert_eq!(request.query_values("key"), vec!["k+1".to_owned()]);
    }
}
