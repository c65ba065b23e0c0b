//! Credentials a provider presents in the clear (Postmark's basic-auth password, SendGrid
//! Inbound's `?key=` or basic-auth password, a web form's `_secret` field or header) verify the
//! request and are then masked: no byte of the database and no field of `deliveries` shows
//! them, and the stored deliveries still process, replayed too.

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::{
    helpers::{Session, TestApp, spawn_app},
    hub::{connector, deliver, hex, settled_deliveries},
};

const POSTMARK: &str = include_str!("../../connectors/tests/fixtures/postmark/inbound.json");
const SENDGRID_INBOUND: &[u8] =
    include_bytes!("../../connectors/tests/fixtures/sendgrid/inbound_parsed.multipart");
const MULTIPART: &str = "multipart/form-data; boundary=xYzZY";

/// The header a provider sends `user:password` in as basic auth.
pub fn basic_auth(credentials: &str) -> Vec<(String, String)> {
    vec![(
        "authorization".to_owned(),
        format!("Basic {}", BASE64.encode(credentials)),
    )]
}

/// Every spelling of `secret` a store could hold it in: as it is, in a basic-auth header
/// (`user:secret` in base64), and as hex (PostgreSQL's text form of bytes).
fn spellings(secret: &str, basic_user: &str) -> Vec<String> {
    vec![
        secret.to_owned(),
        BASE64.encode(format!("{basic_user}:{secret}")),
        hex(secret.as_bytes()),
    ]
}

/// Where in the store any of `needles` occurs: the SQLite files byte for byte, or every row of
/// every PostgreSQL table as JSON text.
async fn found_in_store(app: &TestApp, needles: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(path) = app.store_url().strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap();
        for file in [path.to_owned(), format!("{path}-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            found.extend(
                needles
                    .iter()
                    .filter(|n| text.contains(n.as_str()))
                    .map(|n| format!("{n} in {file}")),
            );
        }
        return found;
    }
    let tables = app
        .db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT tablename::text AS name FROM pg_tables WHERE schemaname = current_schema()",
        ))
        .await
        .unwrap();
    for table in tables {
        let name: String = table.try_get("", "name").unwrap();
        let rows = app
            .db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("SELECT row_to_json(t)::text AS row FROM \"{name}\" t"),
            ))
            .await
            .unwrap();
        for row in rows {
            let text: String = row.try_get("", "row").unwrap();
            let text = text.to_lowercase();
            found.extend(
                needles
                    .iter()
                    .filter(|n| text.contains(&n.to_lowercase()))
                    .map(|n| format!("{n} in {name}")),
            );
        }
    }
    found
}

const DELIVERIES: &str = "query($id: ID!) { connector(id: $id) { deliveries(first: 20) {
    edges { node { id status lastError touchpointCount url headers body } } } } }";

async fn deliveries(app: &TestApp, admin: &Session, connector_id: &str) -> Vec<Value> {
    let data = app
        .ok(&admin.access, DELIVERIES, json!({ "id": connector_id }))
        .await;
    data["connector"]["deliveries"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .collect()
}

/// Replays every delivery of the connector and waits until they are processed again.
async fn replay_all(app: &TestApp, admin: &Session, connector_id: &str) {
    let replay = "mutation($id: ID!) { replayDelivery(id: $id) { delivery { status } } }";
    let stored = deliveries(app, admin, connector_id).await;
    for delivery in &stored {
        app.ok(&admin.access, replay, json!({ "id": delivery["id"] }))
            .await;
    }
    settled_deliveries(app, admin, connector_id, stored.len()).await;
}

async fn touchpoint_count(app: &TestApp, admin: &Session, email: &str) -> usize {
    let data = app
        .ok(
            &admin.access,
            "query($email: String!) { leads(first: 1, filter: { email: { eq: $email } }) { edges { node {
                touchpoints(first: 20) { edges { node { id } } } } } } }",
            json!({ "email": email }),
        )
        .await;
    data["leads"]["edges"][0]["node"]["touchpoints"]["edges"]
        .as_array()
        .map_or(0, Vec::len)
}

/// Processes what was posted to `connector_id`, checks that nothing shows `needles`, replays
/// every delivery and checks they process again without recording anything twice.
async fn assert_masked_and_replayable(
    app: &TestApp,
    admin: &Session,
    connector_id: &str,
    count: usize,
    needles: &[String],
    email: &str,
) {
    let settled = settled_deliveries(app, admin, connector_id, count).await;
    assert!(
        settled.iter().all(|d| d["status"] == "PROCESSED"),
        "{settled:?}"
    );
    let touchpoints = touchpoint_count(app, admin, email).await;
    assert!(touchpoints >= 1, "nothing recorded for {email}");

    let shown = deliveries(app, admin, connector_id).await;
    for delivery in &shown {
        let text = format!(
            "{} {} {}",
            delivery["url"], delivery["headers"], delivery["body"]
        );
        for needle in needles {
            assert!(
                !text.contains(needle.as_str()),
                "deliveries show {needle}: {text}"
            );
        }
    }
    let leaks = found_in_store(app, needles).await;
    assert!(leaks.is_empty(), "the store holds a credential: {leaks:?}");

    replay_all(app, admin, connector_id).await;
    let replayed = deliveries(app, admin, connector_id).await;
    assert!(
        replayed
            .iter()
            .all(|d| d["status"] == "PROCESSED" && d["lastError"].is_null()),
        "{replayed:?}"
    );
    assert_eq!(touchpoint_count(app, admin, email).await, touchpoints);
}

#[tokio::test]
async fn postmarks_basic_auth_password_is_neither_stored_nor_shown() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let secret = "pm-pass-7f3a9c1e";
    let (id, _) = connector(
        &app,
        &admin,
        "POSTMARK",
        Some(&format!("postmark:{secret}")),
        json!({}),
    )
    .await;
    let auth = basic_auth(&format!("postmark:{secret}"));
    let (status, answer) = deliver(&app, &id, "application/json", &auth, POSTMARK).await;
    assert_eq!(status, 200, "{answer}");
    let needles = spellings(secret, "postmark");
    assert_masked_and_replayable(&app, &admin, &id, 1, &needles, "ann@example.com").await;
}

#[tokio::test]
async fn sendgrid_inbounds_url_key_and_password_are_neither_stored_nor_shown() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let secret = "sg-key-51b2d8e0";
    let (id, _) = connector(&app, &admin, "SENDGRID_INBOUND", Some(secret), json!({})).await;
    let keyed = format!("{id}?key={secret}&tag=sales");
    let (status, answer) = deliver(&app, &keyed, MULTIPART, &[], SENDGRID_INBOUND).await;
    assert_eq!(status, 200, "{answer}");
    // The same mail again, with the key as the basic-auth password: one delivery, one touch.
    let auth = basic_auth(&format!("sendgrid:{secret}"));
    let (status, answer) = deliver(&app, &id, MULTIPART, &auth, SENDGRID_INBOUND).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("duplicate"))
    );
    let needles = spellings(secret, "sendgrid");
    assert_masked_and_replayable(&app, &admin, &id, 1, &needles, "ann@example.com").await;
    let shown = deliveries(&app, &admin, &id).await;
    let url = shown[0]["url"].as_str().unwrap();
    assert!(url.ends_with("?key=REDACTED&tag=sales"), "{url}");
}

#[tokio::test]
async fn a_web_forms_secret_field_and_header_are_neither_stored_nor_shown() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let secret = "form-secret-c04e6d2b";
    let (id, _) = connector(&app, &admin, "WEB_FORM", Some(secret), json!({})).await;
    let urlencoded = format!("email=relay%40example.test&_secret={secret}&message=from+the+field");
    let json_body =
        json!({ "email": "relay@example.test", "_secret": secret, "message": "from JSON" });
    let header = vec![("x-touchbase-form-secret".to_owned(), secret.to_owned())];
    let posts = [
        ("application/x-www-form-urlencoded", vec![], urlencoded),
        ("application/json", vec![], json_body.to_string()),
        (
            "application/x-www-form-urlencoded",
            header,
            "email=relay%40example.test&message=from+the+header".to_owned(),
        ),
    ];
    for (content_type, headers, body) in posts {
        let (status, answer) = deliver(&app, &id, content_type, &headers, body).await;
        assert_eq!(status, 200, "{answer}");
    }
    let needles = spellings(secret, "-");
    assert_masked_and_replayable(&app, &admin, &id, 3, &needles, "relay@example.test").await;
    assert_eq!(
        touchpoint_count(&app, &admin, "relay@example.test").await,
        3
    );
}
