//! The inbox across processes: several gateways on one store share the work without doing any
//! delivery twice, and a gateway killed mid-burst loses nothing it acknowledged.

use std::{collections::HashSet, time::Duration};

use entity::{delivery, enums::DeliveryStatus, touchpoint};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::{
    helpers::{Gateway, TestApp, spawn_app_with, touchbase},
    hub::{connector, t_v1_signature},
};

const SECRET: &str = "whsec_process_tests_0123456789";

/// A Stripe `customer.created` event with its own id and customer, signed the Stripe way.
fn signed_event(n: usize) -> (String, String, String) {
    let id = format!("evt_burst_{n:04}");
    let body = json!({ "id": id, "object": "event", "type": "customer.created", "created": 1_764_000_000 + n,
        "data": { "object": { "id": format!("cus_burst_{n:04}"), "object": "customer",
            "email": format!("buyer{n}@example.com"), "name": format!("Buyer {n}"), "metadata": {} } } })
    .to_string();
    let header = t_v1_signature(SECRET, &body);
    (id, body, header)
}

/// Posts event `n` to a gateway; its id when the gateway acknowledged it with 2xx.
async fn post(
    client: &reqwest::Client,
    addr: &str,
    connector_id: &str,
    n: usize,
) -> Option<String> {
    let (id, body, signature) = signed_event(n);
    let response = client
        .post(format!("http://{addr}/hooks/{connector_id}"))
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    response.status().is_success().then_some(id)
}

/// A gateway process that works the inbox eagerly.
fn worker_gateway(app: &TestApp) -> Gateway {
    let mut command = touchbase(app.store_url());
    command.env("TOUCHBASE_HUB_POLL_INTERVAL_MS", "20");
    Gateway::spawn(command)
}

/// Waits until no stored delivery is waiting.
async fn drained(app: &TestApp) {
    for _ in 0..600 {
        let waiting = delivery::Entity::find()
            .filter(
                delivery::Column::Status.is_in([DeliveryStatus::Pending, DeliveryStatus::Retrying]),
            )
            .count(&app.db)
            .await
            .unwrap();
        if waiting == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the inbox did not drain");
}

async fn processed_by(client: &reqwest::Client, gateway: &Gateway) -> u64 {
    let text = client
        .get(format!("http://{}/metrics", gateway.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|line| {
            line.starts_with("hub_deliveries_processed_total")
                && line.contains("status=\"processed\"")
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test]
async fn two_gateways_share_the_inbox_and_process_every_delivery_once() {
    // The test's own app only serves the admin API: it works no deliveries itself.
    let app = spawn_app_with(|config| config.hub_workers = 0).await;
    let admin = app.admin().await;
    let (connector_id, _) = connector(&app, &admin, "STRIPE", Some(SECRET), json!({})).await;
    let (first, second) = (worker_gateway(&app), worker_gateway(&app));
    let client = reqwest::Client::new();

    const EVENTS: usize = 120;
    let mut acknowledged = HashSet::new();
    for chunk in (0..EVENTS).collect::<Vec<_>>().chunks(8) {
        let posts = chunk
            .iter()
            .map(|&n| post(&client, &first.addr, &connector_id, n));
        acknowledged.extend(
            futures_util::future::join_all(posts)
                .await
                .into_iter()
                .flatten(),
        );
    }
    assert_eq!(acknowledged.len(), EVENTS);
    drained(&app).await;

    let events = delivery::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(events.len(), EVENTS);
    assert!(
        events
            .iter()
            .all(|e| e.status == DeliveryStatus::Processed && e.attempts == 1),
        "each delivery claimed once"
    );
    assert_eq!(
        touchpoint::Entity::find().count(&app.db).await.unwrap(),
        EVENTS as u64
    );
    let (by_first, by_second) = (
        processed_by(&client, &first).await,
        processed_by(&client, &second).await,
    );
    assert_eq!(by_first + by_second, EVENTS as u64);
    assert!(
        by_second > 0,
        "the gateway that took no requests worked the inbox too ({by_first} / {by_second})"
    );
}

#[tokio::test]
async fn a_gateway_killed_mid_burst_loses_no_acknowledged_delivery() {
    let app = spawn_app_with(|config| config.hub_workers = 0).await;
    let admin = app.admin().await;
    let (connector_id, _) = connector(&app, &admin, "STRIPE", Some(SECRET), json!({})).await;
    let mut gateway = worker_gateway(&app);
    let client = reqwest::Client::new();

    const EVENTS: usize = 300;
    let (acks_tx, mut acks) = tokio::sync::mpsc::unbounded_channel();
    let burst = {
        let (client, addr, connector_id) =
            (client.clone(), gateway.addr.clone(), connector_id.clone());
        tokio::spawn(async move {
            for chunk in (0..EVENTS).collect::<Vec<_>>().chunks(8) {
                let posts = chunk
                    .iter()
                    .map(|&n| post(&client, &addr, &connector_id, n));
                for id in futures_util::future::join_all(posts)
                    .await
                    .into_iter()
                    .flatten()
                {
                    let _ = acks_tx.send(id);
                }
            }
        })
    };
    let mut acknowledged = HashSet::new();
    while acknowledged.len() < 60 {
        acknowledged.insert(acks.recv().await.expect("the burst is under way"));
    }
    gateway.kill();
    burst.await.unwrap();
    while let Ok(id) = acks.try_recv() {
        acknowledged.insert(id);
    }
    assert!(acknowledged.len() < EVENTS, "the kill landed mid-burst");

    let _restarted = worker_gateway(&app);
    drained(&app).await;
    for id in &acknowledged {
        let stored = delivery::Entity::find()
            .filter(delivery::Column::ExternalId.eq(id.as_str()))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged {id} was lost"));
        assert_eq!(stored.status, DeliveryStatus::Processed, "{id}");
        let recorded = touchpoint::Entity::find()
            .filter(touchpoint::Column::ExternalId.eq(id.as_str()))
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(recorded, 1, "{id} recorded once");
    }
    let stored = delivery::Entity::find().count(&app.db).await.unwrap();
    assert_eq!(
        touchpoint::Entity::find().count(&app.db).await.unwrap(),
        stored,
        "no delivery recorded twice"
    );
}
