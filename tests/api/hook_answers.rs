//! What a provider hears back names the stored delivery the way the API does, and the time the
//! hub received a delivery travels to connectors as the delivery's own, never as a header.

use chrono::{DateTime, Utc};
use entity::{delivery, enums::DeliveryStatus};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    helpers::{Session, TestApp, spawn_app},
    hub::{connector, deliver, settled_deliveries},
};

const FORM: &str = "application/x-www-form-urlencoded";

const DELIVERY: &str = "query($id: ID!) { delivery(id: $id) {
    id externalId status receivedAt headers connector { id } } }";

const TOUCHES: &str =
    "query($email: String!) { leads(first: 1, filter: { email: { eq: $email } }) {
    edges { node { touchpoints(first: 5) { edges { node { occurredAt delivery { id } } } } } } } }";

async fn delivery(app: &TestApp, admin: &Session, id: &str) -> Value {
    app.ok(&admin.access, DELIVERY, json!({ "id": id })).await["delivery"].clone()
}

/// The touchpoints of the lead with `email`: `(occurredAt, delivery id)`.
async fn touches(app: &TestApp, admin: &Session, email: &str) -> Vec<(DateTime<Utc>, String)> {
    let data = app
        .ok(&admin.access, TOUCHES, json!({ "email": email }))
        .await;
    data["leads"]["edges"][0]["node"]["touchpoints"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no lead with {email}: {data}"))
        .iter()
        .map(|edge| {
            let node = &edge["node"];
            (
                time(&node["occurredAt"]),
                node["delivery"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("not a time: {value}"))
}

#[tokio::test]
async fn the_hook_answers_the_id_that_delivery_fetches_and_the_providers_key_as_external_id() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (connector_id, _) = connector(&app, &admin, "WEB_FORM", None, json!({})).await;
    let body = "email=ada%40example.com&submission_id=sub-42";

    let (status, answer) = deliver(&app, &connector_id, FORM, &[], body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "accepted");
    assert_eq!(
        answer["externalId"], "sub-42",
        "the provider's key: {answer}"
    );
    let id = answer["id"].as_str().expect("the delivery's id").to_owned();
    assert!(id.parse::<Uuid>().is_ok(), "{answer}");
    assert!(answer.get("deliveryId").is_none(), "{answer}");

    let stored = delivery(&app, &admin, &id).await;
    assert_eq!(stored["id"], id);
    assert_eq!(stored["externalId"], answer["externalId"]);
    assert_eq!(stored["connector"]["id"], connector_id);

    // The provider's retry is answered with the delivery stored the first time.
    let (status, again) = deliver(&app, &connector_id, FORM, &[], body).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["status"], "duplicate");
    assert_eq!(
        (&again["id"], &again["externalId"]),
        (&answer["id"], &answer["externalId"])
    );
}

#[tokio::test]
async fn a_delivery_shows_the_headers_it_came_with_and_its_touch_takes_the_receive_time() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (connector_id, _) = connector(&app, &admin, "WEB_FORM", None, json!({})).await;
    let referer = [(
        "referer".to_owned(),
        "https://www.acme.test/pricing".to_owned(),
    )];
    let (_, answer) = deliver(
        &app,
        &connector_id,
        FORM,
        &referer,
        "email=ada%40example.com",
    )
    .await;
    let id = answer["id"].as_str().unwrap().to_owned();
    settled_deliveries(&app, &admin, &connector_id, 1).await;

    let stored = delivery(&app, &admin, &id).await;
    assert_eq!(stored["status"], "PROCESSED", "{stored}");
    let headers = stored["headers"].as_object().unwrap();
    assert_eq!(headers["referer"], "https://www.acme.test/pricing");
    assert!(
        headers.keys().all(|name| !name.starts_with("x-touchbase")),
        "no header the hub made up: {headers:?}"
    );
    // A web form carries no time of its own: its touch happened when the hub received it.
    let received_at = time(&stored["receivedAt"]);
    assert_eq!(
        touches(&app, &admin, "ada@example.com").await,
        [(received_at, id)]
    );

    // A request that sends such a header itself does not set the time with it.
    let claimed = [(
        "x-touchbase-received-at".to_owned(),
        "2001-01-01T00:00:00Z".to_owned(),
    )];
    let (_, answer) = deliver(
        &app,
        &connector_id,
        FORM,
        &claimed,
        "email=bob%40example.com",
    )
    .await;
    let id = answer["id"].as_str().unwrap().to_owned();
    settled_deliveries(&app, &admin, &connector_id, 2).await;
    let received_at = time(&delivery(&app, &admin, &id).await["receivedAt"]);
    assert_eq!(
        touches(&app, &admin, "bob@example.com").await,
        [(received_at, id)]
    );
}

#[tokio::test]
async fn a_delivery_stored_with_the_old_receive_time_header_is_still_processed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (connector_id, _) = connector(&app, &admin, "WEB_FORM", None, json!({})).await;
    // As the hub stored deliveries before the receive time became the request's field.
    let received_at: DateTime<Utc> = "2026-11-20T08:00:00Z".parse().unwrap();
    let id = Uuid::now_v7();
    delivery::ActiveModel {
        id: Set(id),
        connector_id: Set(connector_id.parse().unwrap()),
        external_id: Set("form-old".into()),
        headers: Set(json!({
            "content-type": FORM,
            "x-touchbase-received-at": "2026-11-20T08:00:00.000000Z",
        })),
        body: Set(b"email=old%40example.com".to_vec()),
        url: Set(format!("http://127.0.0.1/hooks/{connector_id}")),
        verified: Set(false),
        status: Set(DeliveryStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(received_at),
        last_error: Set(None),
        touchpoint_count: Set(0),
        received_at: Set(received_at),
        processed_at: Set(None),
    }
    .insert(&app.db)
    .await
    .unwrap();

    let settled = settled_deliveries(&app, &admin, &connector_id, 1).await;
    assert_eq!(settled[0]["status"], "PROCESSED", "{settled:?}");
    assert_eq!(
        touches(&app, &admin, "old@example.com").await,
        [(received_at, id.to_string())]
    );
}
