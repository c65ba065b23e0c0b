//! Form bodies as providers post them: `multipart/form-data` (RFC 7578; SendGrid Inbound Parse,
//! Mailgun routes with attachments) and `application/x-www-form-urlencoded` (Mailgun routes
//! without). The connectors are synchronous and hold the whole body already, so the multipart
//! parser (`multer`, the one axum uses) is fed the body as a single chunk and driven to the end
//! on the calling thread; it never waits on anything.
//!
//! Field values stay bytes until asked for: a raw MIME message must reach the mail parser
//! undecoded, and SendGrid names each text field's charset in a separate `charsets` field.

use std::convert::Infallible;

use encoding_rs::{Encoding, UTF_8};

use crate::{ConnectorError, InboundRequest};

/// The fields of a form body, in the order sent.
#[derive(Debug, Clone, Default)]
pub struct Form {
    fields: Vec<FormField>,
}

#[derive(Debug, Clone)]
struct FormField {
    name: String,
    /// The charset the part declared in its own `Content-Type`, if any.
    charset: Option<String>,
    value: Vec<u8>,
}

impl Form {
    /// Reads the request body by its `Content-Type`; anything but the two form types is
    /// malformed.
    pub fn from_request(request: &InboundRequest<'_>) -> Result<Form, ConnectorError> {
        match request.media_type().as_str() {
            "multipart/form-data" => Form::from_multipart(
                request.header("content-type").unwrap_or_default(),
                request.body,
            ),
            "application/x-www-form-urlencoded" => Ok(Form::from_urlencoded(request.body)),
            other => Err(ConnectorError::Malformed(format!(
                "expected a form body, got content type {other:?}"
            ))),
        }
    }

    /// Parses a `multipart/form-data` body; `content_type` carries the boundary.
    pub fn from_multipart(content_type: &str, body: &[u8]) -> Result<Form, ConnectorError> {
        let boundary = multer::parse_boundary(content_type).map_err(malformed)?;
        let chunk = Ok::<_, Infallible>(body.to_vec());
        let stream = futures_util::stream::once(std::future::ready(chunk));
        let mut multipart = multer::Multipart::new(stream, boundary);
        futures_executor::block_on(async {
            let mut form = Form::default();
            while let Some(field) = multipart.next_field().await.map_err(malformed)? {
                let name = field.name().map(str::to_owned);
                let charset = field
                    .content_type()
                    .and_then(|mime| mime.get_param("charset"))
                    .map(|charset| charset.as_str().to_owned());
                let value = field.bytes().await.map_err(malformed)?.to_vec();
                // A part without a name cannot be looked up; RFC 7578 requires one anyway.
                if let Some(name) = name {
                    form.fields.push(FormField {
                        name,
                        charset,
                        value,
                    });
                }
            }
            Ok(form)
        })
    }

    /// Parses an `application/x-www-form-urlencoded` body (always UTF-8).
    pub fn from_urlencoded(body: &[u8]) -> Form {
        let fields = form_urlencoded::parse(body)
            .map(|(name, value)| FormField {
                name: name.into_owned(),
                charset: None,
                value: value.into_owned().into_bytes(),
            })
            .collect();
        Form { fields }
    }

    /// The first field called `name`, as sent.
    pub fn bytes(&self, name: &str) -> Option<&[u8]> {
        self.field(name).map(|field| field.value.as_slice())
    }

    /// The first field called `name` as text: decoded with the part's own charset, else UTF-8.
    pub fn text(&self, name: &str) -> Option<String> {
        self.text_in(name, None)
    }

    /// Like [`Form::text`], with `fallback_charset` (an encoding label such as `iso-8859-1`)
    /// used when the part declares none. Undecodable bytes become U+FFFD rather than an error:
    /// a mangled character in a subject is no reason to lose an email.
    pub fn text_in(&self, name: &str, fallback_charset: Option<&str>) -> Option<String> {
        let field = self.field(name)?;
        let label = field
            .charset
            .as_deref()
            .or(fallback_charset)
            .unwrap_or("utf-8");
        let encoding = Encoding::for_label(label.trim().as_bytes()).unwrap_or(UTF_8);
        Some(encoding.decode(&field.value).0.into_owned())
    }

    fn field(&self, name: &str) -> Option<&FormField> {
        self.fields.iter().find(|field| field.name == name)
    }
}

fn malformed(error: multer::Error) -> ConnectorError {
    ConnectorError::Malformed(format!("unreadable multipart/form-data body: {error}"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const CONTENT_TYPE: &str = "multipart/form-data; boundary=xYzZY";

    fn multipart_body() -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(
            b"--xYzZY\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\n",
        );
        body.extend_from_slice(b"Caf\xe9 menu\r\n");
        body.extend_from_slice(b"--xYzZY\r\nContent-Disposition: form-data; name=\"text\"\r\n");
        body.extend_from_slice(
            b"Content-Type: text/plain; charset=utf-8\r\n\r\nline one\r\nline two\r\n",
        );
        body.extend_from_slice(
            b"--xYzZY\r\nContent-Disposition: form-data; name=\"attachment1\"; ",
        );
        body.extend_from_slice(
            b"filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n",
        );
        body.extend_from_slice(b"\x00\x01\xff\r\n--xYzZY--\r\n");
        body
    }

    #[test]
    fn multipart_fields_keep_their_exact_bytes() {
        let form = Form::from_multipart(CONTENT_TYPE, &multipart_body()).unwrap();
        assert_eq!(form.text("text").as_deref(), Some("line one\r\nline two"));
        assert_eq!(form.bytes("attachment1"), Some(&[0x00, 0x01, 0xff][..]));
        assert_eq!(form.bytes("missing"), None);
    }

    #[test]
    fn a_fallback_charset_decodes_parts_that_declare_none() {
        let form = Form::from_multipart(CONTENT_TYPE, &multipart_body()).unwrap();
        assert_eq!(form.text("subject").as_deref(), Some("Caf\u{fffd} menu"));
        assert_eq!(
            form.text_in("subject", Some("iso-8859-1")).as_deref(),
            Some("Café menu")
        );
        // The part's own charset wins over the fallback.
        assert_eq!(
            form.text_in("text", Some("iso-8859-1")).as_deref(),
            Some("line one\r\nline two")
        );
    }

    #[test]
    fn urlencoded_bodies_are_read_by_content_type() {
        let headers = BTreeMap::from([(
            "content-type".to_owned(),
            "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
        )]);
        let request = InboundRequest {
            headers: &headers,
            body: b"a=1&b=x+y%21",
            url: "",
            received_at: chrono::DateTime::UNIX_EPOCH,
        };
        let form = Form::from_request(&request).unwrap();
        assert_eq!(form.text("b").as_deref(), Some("x y!"));
    }

    #[test]
    fn broken_or_foreign_bodies_are_malformed() {
        let truncated = &multipart_body()[..60];
        assert!(matches!(
            Form::from_multipart(CONTENT_TYPE, truncated),
            Err(ConnectorError::Malformed(_))
        ));
        assert!(Form::from_multipart("multipart/form-data", b"").is_err());
        let headers = BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]);
        let request = InboundRequest {
            headers: &headers,
            body: b"{}",
            url: "",
            received_at: chrono::DateTime::UNIX_EPOCH,
        };
        assert!(matches!(
            Form::from_request(&request),
            Err(ConnectorError::Malformed(_))
        ));
    }
}
