//! `/hooks` under abuse: floods are throttled per client address and per connector, bodies
//! larger than a connector's kind takes are refused unread, and a large accepted body is
//! stored once (in its delivery) while what is recorded from it stays small.

use entity::{audit_log, delivery, touchpoint};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use touchbase::hub::bounds::SUMMARY_CHARS;

use crate::{
    helpers::{TestApp, spawn_app, spawn_app_with},
    hub::{connector, deliver, settled_deliveries},
    hub_credentials::basic_auth,
};

const FORM: &str = "application/x-www-form-urlencoded";

/// Posts a small valid form; returns the status and the `Retry-After` header.
async fn post_form(app: &TestApp, connector_id: &str, n: usize) -> (u16, Option<u64>) {
    let response = app
        .client
        .post(app.url(&format!("/hooks/{connector_id}")))
        .header("content-type", FORM)
        .body(format!("email=flood{n}%40example.test&message=hello"))
        .send()
        .await
        .unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok());
    (response.status().as_u16(), retry_after)
}

async fn stored_deliveries(app: &TestApp) -> u64 {
    delivery::Entity::find().count(&app.db).await.unwrap()
}

#[tokio::test]
async fn one_address_beyond_its_budget_is_refused_with_retry_after_on_every_connector() {
    let app = spawn_app_with(|c| {
        c.hook_requests_per_minute_per_address = 1;
        c.hook_burst_per_address = 3;
    })
    .await;
    let admin = app.admin().await;
    let (a, _) = connector(&app, &admin, "WEB_FORM", None, json!({})).await;
    let (b, _) = connector(&app, &admin, "WEB_FORM", None, json!({})).await;
    for (n, id) in [&a, &b, &a].into_iter().enumerate() {
        assert_eq!(post_form(&app, id, n).await, (200, None), "post {n}");
    }
    for (n, id) in [&a, &b].into_iter().enumerate() {
        let (status, retry_after) = post_form(&app, id, 10 + n).await;
        assert_eq!(status, 429);
        assert!(retry_after.is_some_and(|secs| secs >= 1), "{retry_after:?}");
    }
    assert_eq!(
        stored_deliveries(&app).await,
        3,
        "refused posts store nothing"
    );
}

#[tokio::test]
async fn one_connector_beyond_its_budget_is_refused_while_another_still_takes_deliveries() {
    let app = spawn_app_with(|c| {
        c.hook_requests_per_minute_per_connector = 1;
        c.hook_burst_per_connector = 2;
    })
    .await;
    let admin = app.admin().await;
    let (busy, _) = connector(&app, &admin, "WEB_FORM", None, json!({})).await;
    let (quiet, _) = connector(&app, &admin, "WEB_FORM", None, json!({})).await;
    assert_eq!(post_form(&app, &busy, 1).await.0, 200);
    assert_eq!(post_form(&app, &busy, 2).await.0, 200);
    let (status, retry_after) = post_form(&app, &busy, 3).await;
    assert_eq!(status, 429);
    assert!(retry_after.is_some_and(|secs| secs >= 1), "{retry_after:?}");
    assert_eq!(post_form(&app, &quiet, 4).await.0, 200);
    assert_eq!(stored_deliveries(&app).await, 3);
}

/// Sends `body` in chunks without a `Content-Length`, as a streaming client does; returns the
/// status line's code.
async fn post_chunked(app: &TestApp, connector_id: &str, body: &[u8]) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /hooks/{connector_id} HTTP/1.1\r\nhost: {}\r\ncontent-type: {FORM}\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        app.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(16 * 1024) {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        // The server may answer and close before the whole body is sent.
        if stream.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

#[tokio::test]
async fn a_body_over_its_kinds_cap_is_refused_with_413_and_nothing_is_stored() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (form, _) = connector(&app, &admin, "WEB_FORM", None, json!({})).await;
    let big = format!(
        "email=big%40example.test&message={}",
        "x".repeat(100 * 1024)
    );
    let (status, answer) = deliver(&app, &form, FORM, &[], big.clone()).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(post_chunked(&app, &form, big.as_bytes()).await, 413);
    assert_eq!(stored_deliveries(&app).await, 0);
    assert_eq!(touchpoint::Entity::find().count(&app.db).await.unwrap(), 0);

    // Inbound mail takes megabytes: the same size is a small email.
    let credentials = "postmark:pm-pass-size";
    let (mail, _) = connector(&app, &admin, "POSTMARK", Some(credentials), json!({})).await;
    let email = json!({ "MessageID": "big-1", "From": "big@example.test", "TextBody": "y".repeat(100 * 1024) });
    let auth = basic_auth(credentials);
    let (status, answer) = deliver(&app, &mail, "application/json", &auth, email.to_string()).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn the_global_body_cap_overrides_every_kinds_own() {
    let app = spawn_app_with(|c| c.max_webhook_body_bytes = Some(8 * 1024)).await;
    let admin = app.admin().await;
    let credentials = "postmark:pm-pass-cap";
    let (mail, _) = connector(&app, &admin, "POSTMARK", Some(credentials), json!({})).await;
    let auth = basic_auth(credentials);
    let email = |size: usize| {
        json!({ "MessageID": format!("m-{size}"), "From": "a@example.test", "TextBody": "z".repeat(size) }).to_string()
    };
    assert_eq!(
        deliver(&app, &mail, "application/json", &auth, email(16 * 1024))
            .await
            .0,
        413
    );
    assert_eq!(
        deliver(&app, &mail, "application/json", &auth, email(1024))
            .await
            .0,
        200
    );
    assert_eq!(stored_deliveries(&app).await, 1);
}

#[tokio::test]
async fn a_large_accepted_body_is_stored_once_and_recorded_cut_to_size() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let settings = json!({ "keep_unmapped": true });
    let (form, _) = connector(&app, &admin, "WEB_FORM", None, settings).await;
    // Just under the form cap: a message and an unmapped field of ~28 KiB each, every line
    // numbered so no cut-off part can pass for another.
    let text = |tag: &str| -> String {
        (0..2_000)
            .map(|n| format!("{tag}-{n:05};"))
            .collect::<String>()
    };
    let (message, notes) = (text("msg"), text("note"));
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("email", "long@example.test")
        .append_pair("message", &message)
        .append_pair("notes", &notes)
        .finish();
    let (status, answer) = deliver(&app, &form, FORM, &[], body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    let deliveries = settled_deliveries(&app, &admin, &form, 1).await;
    assert_eq!(deliveries[0]["status"], "PROCESSED", "{deliveries:?}");

    let stored = delivery::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].body,
        body.as_bytes(),
        "the delivery keeps the body whole"
    );

    let touchpoints = touchpoint::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(touchpoints.len(), 1);
    let summary = touchpoints[0].summary.clone().unwrap();
    assert_eq!(summary.chars().count(), SUMMARY_CHARS);
    assert!(message.starts_with(&summary));
    let details = touchpoints[0].details.clone().unwrap().to_string();
    assert!(!details.contains(&notes), "the unmapped field is cut too");

    // The full texts live in the delivery only: no audit row carries either.
    let tail = |text: &str| text[text.len() - 200..].to_owned();
    let audit = audit_log::Entity::find().all(&app.db).await.unwrap();
    assert!(audit.iter().any(|row| row.action == "touchpoint.create"));
    for row in &audit {
        let text = format!(
            "{}{}",
            row.before.clone().unwrap_or(Value::Null),
            row.after.clone().unwrap_or(Value::Null)
        );
        assert!(
            !text.contains(&tail(&message)) && !text.contains(&tail(&notes)),
            "{} carries the body",
            row.action
        );
        assert!(
            text.len() < 16 * 1024,
            "{}: {} bytes",
            row.action,
            text.len()
        );
    }
}

#[tokio::test]
async fn an_external_id_too_long_to_index_is_stored_under_its_digest() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (form, _) = connector(&app, &admin, "WEB_FORM", None, json!({})).await;
    // Random, so PostgreSQL cannot compress it into its index.
    let id: String = (0..300)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect();
    let body = format!("email=id%40example.test&submission_id={id}");
    let (status, answer) = deliver(&app, &form, FORM, &[], body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer["externalId"]
            .as_str()
            .is_some_and(|id| id.starts_with("sha256:")),
        "{answer}"
    );
    let (_, again) = deliver(&app, &form, FORM, &[], body).await;
    assert_eq!(again["status"], "duplicate", "{again}");
    let deliveries = settled_deliveries(&app, &admin, &form, 1).await;
    assert_eq!(deliveries[0]["status"], "PROCESSED", "{deliveries:?}");
    let touchpoints = touchpoint::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(touchpoints.len(), 1);
    assert!(
        touchpoints[0]
            .external_id
            .as_deref()
            .is_some_and(|id| id.starts_with("sha256:"))
    );
}

/// A public form takes anyone's post, so one address gets a visitor's share there while signed
/// connectors keep the wider budget.
#[tokio::test]
async fn an_address_flooding_an_unsigned_form_is_refused_long_before_the_general_budget() {
    let app = spawn_app_with(|c| {
        c.hook_unsigned_requests_per_minute_per_address = 1;
        c.hook_unsigned_burst_per_address = 3;
    })
    .await;
    let admin = app.admin().await;
    let (public, _) = connector(&app, &admin, "WEB_FORM", None, json!({})).await;
    for n in 0..3 {
        assert_eq!(post_form(&app, &public, n).await, (200, None), "post {n}");
    }
    let (status, retry_after) = post_form(&app, &public, 3).await;
    assert_eq!(status, 429);
    assert!(retry_after.is_some_and(|secs| secs >= 1), "{retry_after:?}");
    assert_eq!(stored_deliveries(&app).await, 3);
}
