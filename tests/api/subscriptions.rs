//! Live updates over graphql-transport-ws at `/graphql/ws`: the protocol's close codes with raw
//! frames, the row rules on what a subscriber hears, the reference `graphql-ws` client (pinned
//! in tests/graphql-ws), and events crossing replicas through PostgreSQL.
//!
//! A subscription starts asynchronously after its `subscribe` message, so tests repeat the
//! write that should be heard until it is, then check what follows in order.

use std::{path::Path, process::Stdio, time::Duration};

use chrono::Utc;
use entity::{enums::TouchpointChannel, touchpoint};
use futures_util::{SinkExt, StreamExt};
use sea_orm::{ConnectionTrait, DbBackend, Set, Statement};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader, Lines},
    net::TcpStream,
    process::{Child, ChildStdout},
    time::{Instant, timeout},
};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};
use touchbase::{auth::system_actor, config::Config, services::records};
use uuid::Uuid;

use crate::helpers::{
    Gateway, Session, TestApp, UPDATE_USER, node_modules_in, spawn_app, spawn_app_with,
};

/// Long enough for a busy two-core machine, short enough to fail a broken test quickly.
const WAIT: Duration = Duration::from_secs(15);
/// How long a write is given to be heard before it is repeated.
const QUIET: Duration = Duration::from_millis(300);
const PROTOCOL: &str = "graphql-transport-ws";
const LEAD_CHANGED: &str = "subscription { leadChanged { id company archivedAt } }";

/// A raw graphql-transport-ws client.
struct Socket(WebSocketStream<MaybeTlsStream<TcpStream>>);

impl Socket {
    async fn open(app: &TestApp) -> Self {
        Self::open_with(app, Some(PROTOCOL)).await
    }

    async fn open_with(app: &TestApp, protocol: Option<&str>) -> Self {
        let mut request = format!("ws://{}/graphql/ws", app.addr)
            .into_client_request()
            .unwrap();
        if let Some(protocol) = protocol {
            request.headers_mut().insert(
                "sec-websocket-protocol",
                HeaderValue::from_str(protocol).unwrap(),
            );
        }
        let (stream, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("WebSocket handshake");
        Self(stream)
    }

    /// Opened and acknowledged as the session's user.
    async fn signed_in(app: &TestApp, session: &Session) -> Self {
        let mut socket = Self::open(app).await;
        socket
            .init(json!({ "Authorization": format!("Bearer {}", session.access) }))
            .await;
        assert_eq!(socket.recv().await, json!({ "type": "connection_ack" }));
        socket
    }

    async fn init(&mut self, payload: Value) {
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
    }

    async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let payload = json!({ "query": query, "variables": variables });
        self.send(json!({ "type": "subscribe", "id": id, "payload": payload }))
            .await;
    }

    async fn send(&mut self, message: Value) {
        self.send_text(&message.to_string()).await;
    }

    async fn send_text(&mut self, text: &str) {
        self.0.send(Message::text(text)).await.expect("sent");
    }

    /// The next protocol message; fails if the socket closes or stays silent.
    async fn recv(&mut self) -> Value {
        self.recv_within(WAIT)
            .await
            .expect("a message from the server")
    }

    async fn recv_within(&mut self, wait: Duration) -> Option<Value> {
        let deadline = Instant::now() + wait;
        loop {
            let frame = timeout(
                deadline.saturating_duration_since(Instant::now()),
                self.0.next(),
            );
            match frame.await {
                Err(_) => return None,
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Some(serde_json::from_str(&text).expect("JSON message"));
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(other) => panic!("expected a message, got {other:?}"),
            }
        }
    }

    /// The code and reason the server closed the connection with.
    async fn closed(&mut self) -> (u16, String) {
        loop {
            let frame = timeout(WAIT, self.0.next()).await.expect("closed in time");
            match frame {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (frame.code.into(), frame.reason.to_string());
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }

    /// Repeats `write` until a `next` for `id` arrives that `heard` accepts, and returns its
    /// payload. Anything else that arrives meanwhile is passed over.
    async fn until_heard(
        &mut self,
        id: &str,
        mut write: impl AsyncFnMut(),
        heard: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            write().await;
            let quiet = Instant::now() + QUIET;
            while let Some(message) = self
                .recv_within(quiet.saturating_duration_since(Instant::now()))
                .await
            {
                if message["type"] == "next" && message["id"] == id && heard(&message["payload"]) {
                    return message["payload"].clone();
                }
            }
        }
        panic!("nothing heard on {id} within {WAIT:?}");
    }

    /// The payload of the next `next` for `id`, passing over those `ignored` accepts.
    async fn next_result(&mut self, id: &str, ignored: impl Fn(&Value) -> bool) -> Value {
        loop {
            let message = self.recv().await;
            assert_eq!(message["id"], id, "unexpected message: {message}");
            assert_eq!(message["type"], "next", "unexpected message: {message}");
            if !ignored(&message["payload"]) {
                return message["payload"].clone();
            }
        }
    }

    /// Every message that arrives within `wait`.
    async fn drain(&mut self, wait: Duration) -> Vec<Value> {
        let deadline = Instant::now() + wait;
        let mut messages = Vec::new();
        while let Some(message) = self
            .recv_within(deadline.saturating_duration_since(Instant::now()))
            .await
        {
            messages.push(message);
        }
        messages
    }
}

fn lead_changed(payload: &Value) -> &Value {
    &payload["data"]["leadChanged"]
}

fn is_lead(id: &str) -> impl Fn(&Value) -> bool + '_ {
    move |payload| lead_changed(payload)["id"] == id
}

async fn set_company(app: &TestApp, token: &str, lead: &str, company: &str) {
    set_company_at(&app.url("/graphql"), token, lead, company).await;
}

/// The same change through the GraphQL endpoint at `url`, which may be another process.
async fn set_company_at(url: &str, token: &str, lead: &str, company: &str) {
    let body = json!({
        "query": "mutation($id: ID!, $input: LeadInput!) { updateLead(id: $id, input: $input) { lead { id } } }",
        "variables": { "id": lead, "input": { "company": company } },
    });
    let response: Value = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        response.get("errors").is_none(),
        "update failed: {response}"
    );
}

async fn two_reps(app: &TestApp) -> (Session, Session, Session) {
    let admin = app.admin().await;
    let ann = app.user(&admin, "ann@example.com", "SALES", None).await;
    let bob = app.user(&admin, "bob@example.com", "SALES", None).await;
    (admin, ann, bob)
}

fn on_postgres() -> bool {
    std::env::var("TOUCHBASE_TEST_DATABASE_URL").is_ok_and(|url| url.starts_with("postgres"))
}

#[tokio::test]
async fn a_sales_rep_hears_changes_to_the_leads_they_may_see_and_no_others() {
    let app = spawn_app().await;
    let (admin, ann, bob) = two_reps(&app).await;
    let probe = app
        .lead(&ann.access, json!({ "email": "probe@example.com" }))
        .await;
    let bobs = app
        .lead(&bob.access, json!({ "email": "bobs@example.com" }))
        .await;
    let mut socket = Socket::signed_in(&app, &ann).await;
    socket.subscribe("1", LEAD_CHANGED, json!({})).await;
    socket
        .until_heard(
            "1",
            async || set_company(&app, &ann.access, &probe, "Probe").await,
            is_lead(&probe),
        )
        .await;

    set_company(&app, &bob.access, &bobs, "Hidden").await;
    let mine = app
        .lead(&ann.access, json!({ "email": "mine@example.com" }))
        .await;
    let created = socket.next_result("1", is_lead(&probe)).await;
    assert_eq!(
        lead_changed(&created)["id"],
        mine,
        "Bob's lead must not be heard"
    );

    set_company(&app, &bob.access, &bobs, "Hidden again").await;
    let unassigned = app
        .lead(&admin.access, json!({ "email": "open@example.com" }))
        .await;
    let heard = socket.next_result("1", is_lead(&probe)).await;
    assert_eq!(
        lead_changed(&heard)["id"],
        unassigned,
        "an unassigned lead is visible to every rep, and each change is heard once"
    );

    app.ok(
        &ann.access,
        "mutation($id: ID!) { archiveLead(id: $id) { lead { id } } }",
        json!({ "id": mine }),
    )
    .await;
    let archived = socket.next_result("1", is_lead(&probe)).await;
    assert_eq!(lead_changed(&archived)["id"], mine);
    assert!(lead_changed(&archived)["archivedAt"].is_string());
}

#[tokio::test]
async fn touchpoint_added_is_heard_by_subscribers_of_that_lead_only() {
    let app = spawn_app().await;
    let (_, ann, _) = two_reps(&app).await;
    let lead = app
        .lead(&ann.access, json!({ "email": "lead@example.com" }))
        .await;
    let other = app
        .lead(&ann.access, json!({ "email": "other@example.com" }))
        .await;
    let mut socket = Socket::signed_in(&app, &ann).await;
    socket
        .subscribe(
            "t",
            "subscription($lead: ID!) { touchpointAdded(leadId: $lead) { channel source } }",
            json!({ "lead": lead }),
        )
        .await;
    let source = |payload: &Value| payload["data"]["touchpointAdded"]["source"].clone();
    let probe = socket
        .until_heard(
            "t",
            async || add_touchpoint(&app, &lead, "probe").await,
            |_| true,
        )
        .await;
    assert_eq!(probe["data"]["touchpointAdded"]["channel"], "WEB");

    add_touchpoint(&app, &other, "elsewhere").await;
    add_touchpoint(&app, &lead, "newsletter").await;
    let heard = socket.next_result("t", |p| source(p) == "probe").await;
    assert_eq!(source(&heard), "newsletter");
}

/// A touchpoint recorded through the service layer, as the hub records them.
async fn add_touchpoint(app: &TestApp, lead: &str, source: &str) {
    let now = Utc::now();
    let touchpoint = touchpoint::ActiveModel {
        id: Set(Uuid::now_v7()),
        lead_id: Set(Some(lead.parse().unwrap())),
        channel: Set(TouchpointChannel::Web),
        source: Set(Some(source.into())),
        occurred_at: Set(now),
        created_at: Set(now),
        ..Default::default()
    };
    records::insert::<touchpoint::Entity>(&app.services, &system_actor(), touchpoint)
        .await
        .expect("touchpoint recorded");
}

#[tokio::test]
async fn a_webhook_processed_by_the_hub_is_heard_as_touchpoint_added() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lead = app
        .lead(&admin.access, json!({ "email": "payer@example.com" }))
        .await;
    let secret = "whsec_subscription_test_0001";
    let (connector, _) =
        crate::hub::connector(&app, &admin, "STRIPE", Some(secret), json!({})).await;
    let mut socket = Socket::signed_in(&app, &admin).await;
    socket
        .subscribe(
            "t",
            "subscription($lead: ID!) { touchpointAdded(leadId: $lead) { channel source event } }",
            json!({ "lead": lead }),
        )
        .await;
    let mut attempt = 0;
    let heard = socket
        .until_heard(
            "t",
            async || {
                attempt += 1;
                let body = json!({ "id": format!("evt_heard_{attempt}"), "object": "event",
                    "type": "customer.created", "created": 1_764_000_000,
                    "data": { "object": { "id": format!("cus_heard_{attempt}"), "object": "customer",
                        "email": "payer@example.com", "metadata": {} } } })
                .to_string();
                let signature = crate::hub::t_v1_signature(secret, &body);
                let headers = [("stripe-signature".to_owned(), signature)];
                let (status, _) =
                    crate::hub::deliver(&app, &connector, "application/json", &headers, body).await;
                assert_eq!(status, 200);
            },
            |_| true,
        )
        .await;
    assert_eq!(heard["data"]["touchpointAdded"]["channel"], "BILLING");
    assert_eq!(heard["data"]["touchpointAdded"]["source"], "stripe");
    assert_eq!(
        heard["data"]["touchpointAdded"]["event"],
        "customer.created"
    );
}

#[tokio::test]
async fn touchpoint_added_refuses_a_lead_the_caller_may_not_see() {
    let app = spawn_app().await;
    let (_, ann, bob) = two_reps(&app).await;
    let bobs = app
        .lead(&bob.access, json!({ "email": "bobs@example.com" }))
        .await;
    let mut socket = Socket::signed_in(&app, &ann).await;
    socket
        .subscribe(
            "t",
            "subscription($lead: ID!) { touchpointAdded(leadId: $lead) { source } }",
            json!({ "lead": bobs }),
        )
        .await;
    let refused = socket.recv().await;
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(refused["payload"]["data"], Value::Null);
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );
    assert_eq!(
        socket.recv().await,
        json!({ "type": "complete", "id": "t" })
    );
}

#[tokio::test]
async fn a_role_that_may_not_read_leads_is_refused_lead_changed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let sue = app.user(&admin, "sue@example.com", "SUPPORT", None).await;
    let mut socket = Socket::signed_in(&app, &sue).await;
    socket.subscribe("1", LEAD_CHANGED, json!({})).await;
    let refused = socket.recv().await;
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "FORBIDDEN"
    );
    assert_eq!(
        socket.recv().await,
        json!({ "type": "complete", "id": "1" })
    );
}

#[tokio::test]
async fn activity_due_is_announced_once_to_those_who_may_see_the_activity() {
    let fast = |c: &mut Config| c.activity_due_interval_ms = 100;
    let app = spawn_app_with(fast).await;
    // On PostgreSQL a second replica looks for due activities too, and must not repeat them.
    // (SQLite serves one process, and a second one would announce to its own subscribers.)
    let _replica = if on_postgres() {
        Some(app.replica_with(fast).await)
    } else {
        None
    };
    let (_, ann, bob) = two_reps(&app).await;
    let probe = app
        .lead(&ann.access, json!({ "email": "probe@example.com" }))
        .await;
    let mut socket = Socket::signed_in(&app, &ann).await;
    socket
        .subscribe(
            "due",
            "subscription { activityDue { id subject done } }",
            json!({}),
        )
        .await;
    // Subscribed after `due`, so once this is heard `due` is listening too.
    socket.subscribe("probe", LEAD_CHANGED, json!({})).await;
    socket
        .until_heard(
            "probe",
            async || set_company(&app, &ann.access, &probe, "Probe").await,
            |_| true,
        )
        .await;

    let due_at = (Utc::now() + chrono::Duration::milliseconds(800)).to_rfc3339();
    let create =
        "mutation($input: ActivityInput!) { createActivity(input: $input) { activity { id } } }";
    let mine = app
        .ok(
            &ann.access,
            create,
            json!({ "input": { "kind": "CALL", "subject": "Call back", "dueAt": due_at } }),
        )
        .await["createActivity"]["activity"]["id"]
        .clone();
    app.ok(
        &bob.access,
        create,
        json!({ "input": { "kind": "TASK", "subject": "Bob's", "dueAt": due_at } }),
    )
    .await;

    let announced: Vec<Value> = socket
        .drain(Duration::from_secs(3))
        .await
        .into_iter()
        .filter(|m| m["id"] == "due")
        .collect();
    assert_eq!(announced.len(), 1, "{announced:?}");
    assert_eq!(announced[0]["type"], "next");
    let activity = &announced[0]["payload"]["data"]["activityDue"];
    assert_eq!(activity["id"], mine);
    assert_eq!(activity["done"], false);
}

#[tokio::test]
async fn the_reference_graphql_ws_client_receives_lead_changes() {
    let app = spawn_app().await;
    let (_, ann, _) = two_reps(&app).await;
    let lead = app
        .lead(&ann.access, json!({ "email": "lead@example.com" }))
        .await;
    let mut client = NodeClient::start(&app, &ann.access, LEAD_CHANGED).await;
    assert_eq!(client.line().await["event"], "connected");

    let deadline = Instant::now() + WAIT;
    let result = loop {
        assert!(Instant::now() < deadline, "the client heard nothing");
        set_company(&app, &ann.access, &lead, "Acme").await;
        if let Ok(Ok(Some(line))) = timeout(QUIET, client.lines.next_line()).await {
            let line: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(line["event"], "next", "{line}");
            break line["result"].clone();
        }
    };
    assert!(result.get("errors").is_none(), "{result}");
    assert_eq!(lead_changed(&result)["id"], lead);
    assert_eq!(lead_changed(&result)["company"], "Acme");
    // Having what it asked for, the client completes the operation and closes normally.
    assert_eq!(client.line().await, json!({ "event": "complete" }));
    let closed = client.line().await;
    assert_eq!(
        (&closed["event"], &closed["code"]),
        (&json!("closed"), &json!(1000)),
        "{closed}"
    );
    client.succeeds().await;
}

#[tokio::test]
async fn the_reference_graphql_ws_client_is_refused_a_bad_token_with_4403() {
    let app = spawn_app().await;
    let mut client = NodeClient::start(&app, "not-a-token", LEAD_CHANGED).await;
    assert_eq!(
        client.line().await,
        json!({ "event": "closed", "code": 4403, "reason": "Forbidden" })
    );
    let error = client.line().await;
    assert_eq!(error["event"], "error");
    assert_eq!(error["error"]["code"], 4403);
    client.succeeds().await;
}

/// tests/graphql-ws/subscribe.mjs, run with node, one JSON line per event it sees.
struct NodeClient {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl NodeClient {
    async fn start(app: &TestApp, token: &str, query: &str) -> Self {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/graphql-ws");
        let modules = dir.clone();
        tokio::task::spawn_blocking(move || node_modules_in(&modules))
            .await
            .expect("npm install finished");
        let mut child = tokio::process::Command::new("node")
            .arg("subscribe.mjs")
            .arg(format!("ws://{}/graphql/ws", app.addr))
            .arg(token)
            .arg(query)
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let stdout = child.stdout.take().expect("piped stdout");
        Self {
            child,
            lines: BufReader::new(stdout).lines(),
        }
    }

    async fn line(&mut self) -> Value {
        let line = timeout(WAIT, self.lines.next_line())
            .await
            .expect("the client printed in time")
            .expect("readable output")
            .expect("a line before the client exited");
        serde_json::from_str(&line).expect("a JSON line")
    }

    async fn succeeds(mut self) {
        let status = timeout(WAIT, self.child.wait())
            .await
            .expect("the client exited in time")
            .expect("exit status");
        assert!(status.success(), "the client failed: {status}");
    }
}

#[tokio::test]
async fn events_written_through_one_replica_reach_subscribers_of_another() {
    let app = spawn_app().await;
    let (_, ann, _) = two_reps(&app).await;
    let lead = app
        .lead(&ann.access, json!({ "email": "lead@example.com" }))
        .await;
    // SQLite serves one process, where events travel in-process: the same app writes. On
    // PostgreSQL a second gateway process on the same database writes, and the event crosses
    // over through NOTIFY/LISTEN.
    let other_process = on_postgres().then(|| Gateway::start(app.store_url()));
    let writer = match &other_process {
        Some(gateway) => format!("http://{}/graphql", gateway.addr),
        None => app.url("/graphql"),
    };
    let mut socket = Socket::signed_in(&app, &ann).await;
    socket.subscribe("1", LEAD_CHANGED, json!({})).await;
    let heard = socket
        .until_heard(
            "1",
            async || set_company_at(&writer, &ann.access, &lead, "Written elsewhere").await,
            |p| lead_changed(p)["company"] == "Written elsewhere",
        )
        .await;
    assert_eq!(lead_changed(&heard)["id"], lead);

    if on_postgres() {
        // Both gateways lose their LISTEN connection; they reconnect and events flow again.
        let dropped = app
            .db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND query LIKE 'LISTEN%'",
            ))
            .await
            .expect("listeners dropped");
        assert_eq!(dropped.len(), 2, "one listener per replica");
        let heard = socket
            .until_heard(
                "1",
                async || set_company_at(&writer, &ann.access, &lead, "After the drop").await,
                |p| lead_changed(p)["company"] == "After the drop",
            )
            .await;
        assert_eq!(lead_changed(&heard)["id"], lead);
    }
}

#[tokio::test]
async fn a_query_over_the_socket_gets_its_result_then_complete() {
    let app = spawn_app().await;
    let (_, ann, _) = two_reps(&app).await;
    let mut socket = Socket::signed_in(&app, &ann).await;
    socket.subscribe("q", "{ me { id } }", json!({})).await;
    let result = socket.recv().await;
    assert_eq!(result["type"], "next", "{result}");
    assert_eq!(result["payload"]["data"]["me"]["id"], ann.user_id);
    assert_eq!(
        socket.recv().await,
        json!({ "type": "complete", "id": "q" })
    );
}

#[tokio::test]
async fn an_invalid_operation_gets_an_error_message_with_a_code_and_no_complete() {
    let app = spawn_app().await;
    let (_, ann, _) = two_reps(&app).await;
    let mut socket = Socket::signed_in(&app, &ann).await;
    socket
        .subscribe(
            "1",
            "subscription { leadChanged { noSuchField } }",
            json!({}),
        )
        .await;
    let error = socket.recv().await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["id"], "1");
    assert_eq!(error["payload"][0]["extensions"]["code"], "BAD_USER_INPUT");
    socket.send(json!({ "type": "ping" })).await;
    assert_eq!(socket.recv().await, json!({ "type": "pong" }));
}

#[tokio::test]
async fn ping_gets_pong_and_complete_stops_a_subscription() {
    let app = spawn_app().await;
    let (_, ann, _) = two_reps(&app).await;
    let lead = app
        .lead(&ann.access, json!({ "email": "lead@example.com" }))
        .await;
    let mut socket = Socket::signed_in(&app, &ann).await;
    socket
        .send(json!({ "type": "ping", "payload": { "at": 1 } }))
        .await;
    assert_eq!(
        socket.recv().await,
        json!({ "type": "pong", "payload": { "at": 1 } })
    );

    socket.subscribe("1", LEAD_CHANGED, json!({})).await;
    let touch = async || set_company(&app, &ann.access, &lead, "Acme").await;
    socket.until_heard("1", touch, |_| true).await;
    socket.send(json!({ "type": "complete", "id": "1" })).await;
    // Only the new operation hears what follows.
    socket.subscribe("2", LEAD_CHANGED, json!({})).await;
    let touch = async || set_company(&app, &ann.access, &lead, "Acme").await;
    socket.until_heard("2", touch, |_| true).await;
    let later = socket.drain(QUIET).await;
    assert!(later.iter().all(|m| m["id"] != "1"), "{later:?}");
}

#[tokio::test]
async fn a_client_without_the_subprotocol_is_closed_with_4406() {
    let app = spawn_app().await;
    let mut socket = Socket::open_with(&app, None).await;
    assert_eq!(socket.closed().await.0, 4406);
}

#[tokio::test]
async fn invalid_messages_close_the_connection_with_4400() {
    let app = spawn_app().await;
    let (_, ann, _) = two_reps(&app).await;
    let long_id = "x".repeat(500);
    let invalid = [
        "not json".to_owned(),
        json!({ "type": "no_such_type" }).to_string(),
        json!({ "type": "subscribe", "id": "1" }).to_string(),
        json!({ "type": "subscribe", "id": "", "payload": { "query": "{ me { id } }" } })
            .to_string(),
        json!({ "type": "subscribe", "id": long_id, "payload": { "query": 7 } }).to_string(),
        json!({ "type": "connection_init", "payload": "a string" }).to_string(),
    ];
    for message in invalid {
        let mut socket = Socket::signed_in(&app, &ann).await;
        socket.send_text(&message).await;
        let (code, reason) = socket.closed().await;
        assert_eq!(code, 4400, "{message}");
        assert!(reason.len() <= 123, "{reason}");
    }
    let mut socket = Socket::open(&app).await;
    socket
        .0
        .send(Message::binary(b"{}".to_vec()))
        .await
        .unwrap();
    assert_eq!(socket.closed().await.0, 4400);
}

#[tokio::test]
async fn subscribe_before_connection_ack_closes_with_4401() {
    let app = spawn_app().await;
    let mut socket = Socket::open(&app).await;
    socket.subscribe("1", LEAD_CHANGED, json!({})).await;
    assert_eq!(socket.closed().await, (4401, "Unauthorized".to_owned()));
}

#[tokio::test]
async fn connection_init_without_an_accepted_token_closes_with_4403() {
    let app = spawn_app().await;
    let (_, ann, _) = two_reps(&app).await;
    for payload in [
        Value::Null,
        json!({}),
        json!({ "Authorization": "Bearer not-a-token" }),
        json!({ "Authorization": ann.access }),
        json!({ "token": "not-a-token" }),
    ] {
        let mut socket = Socket::open(&app).await;
        socket.init(payload.clone()).await;
        assert_eq!(
            socket.closed().await,
            (4403, "Forbidden".to_owned()),
            "{payload}"
        );
    }
    let mut socket = Socket::open(&app).await;
    socket.init(json!({ "token": ann.access })).await;
    assert_eq!(socket.recv().await, json!({ "type": "connection_ack" }));
}

#[tokio::test]
async fn no_connection_init_within_the_timeout_closes_with_4408() {
    let app = spawn_app_with(|c| c.ws_init_timeout_ms = 500).await;
    let opened = Instant::now();
    let mut socket = Socket::open(&app).await;
    // Pings are answered, but only connection_init stops the clock.
    socket.send(json!({ "type": "ping" })).await;
    assert_eq!(socket.recv().await, json!({ "type": "pong" }));
    let (code, _) = socket.closed().await;
    assert_eq!(code, 4408);
    assert!(opened.elapsed() >= Duration::from_millis(500));
}

#[tokio::test]
async fn a_duplicate_active_subscription_id_closes_with_4409() {
    let app = spawn_app().await;
    let (_, ann, _) = two_reps(&app).await;
    let mut socket = Socket::signed_in(&app, &ann).await;
    socket.subscribe("1", LEAD_CHANGED, json!({})).await;
    socket.subscribe("1", LEAD_CHANGED, json!({})).await;
    assert_eq!(socket.closed().await.0, 4409);
}

#[tokio::test]
async fn a_second_connection_init_closes_with_4429() {
    let app = spawn_app().await;
    let (_, ann, _) = two_reps(&app).await;
    let mut socket = Socket::signed_in(&app, &ann).await;
    socket.init(json!({ "token": ann.access })).await;
    assert_eq!(
        socket.closed().await,
        (4429, "Too many initialisation requests".to_owned())
    );
}

#[tokio::test]
async fn a_socket_is_closed_with_4403_when_its_session_is_logged_out() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    let mut socket = Socket::signed_in(&app, &rep).await;
    socket.subscribe("1", LEAD_CHANGED, json!({})).await;
    app.ok(&rep.access, "mutation { logout }", json!({})).await;
    assert_eq!(socket.closed().await.0, 4403);
}

#[tokio::test]
async fn a_socket_is_closed_with_4403_when_its_user_is_demoted_or_deactivated() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    let mut socket = Socket::signed_in(&app, &rep).await;
    socket.subscribe("1", LEAD_CHANGED, json!({})).await;
    let change = |input: Value| {
        app.ok(
            &admin.access,
            UPDATE_USER,
            json!({ "id": rep.user_id, "input": input }),
        )
    };
    change(json!({ "role": "SUPPORT" })).await;
    assert_eq!(socket.closed().await.0, 4403);

    // Connecting again with the same token gets the rights the user has now.
    let mut socket = Socket::signed_in(&app, &rep).await;
    socket.subscribe("1", LEAD_CHANGED, json!({})).await;
    let refused = socket.recv().await;
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "FORBIDDEN"
    );
    assert_eq!(socket.recv().await["type"], "complete");

    change(json!({ "active": false })).await;
    assert_eq!(socket.closed().await.0, 4403);
    let mut socket = Socket::open(&app).await;
    socket
        .init(json!({ "Authorization": format!("Bearer {}", rep.access) }))
        .await;
    assert_eq!(socket.closed().await.0, 4403);
}

#[tokio::test]
async fn a_socket_is_closed_with_4403_when_its_token_expires() {
    let app = spawn_app_with(|c| c.access_token_ttl_secs = 2).await;
    let admin = app.admin().await;
    let mut socket = Socket::signed_in(&app, &admin).await;
    socket.subscribe("1", LEAD_CHANGED, json!({})).await;
    let (code, reason) = socket.closed().await;
    assert_eq!(code, 4403);
    assert!(reason.contains("expired"), "{reason}");
}

#[test]
fn node_packages_needed_by_many_tests_at_once_are_installed_once_and_whole() {
    let pinned = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/graphql-ws");
    let dir = tempfile::tempdir().unwrap();
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(pinned.join(file), dir.path().join(file)).unwrap();
    }
    // What an install cut off halfway leaves: the package's folder, nothing in it.
    std::fs::create_dir_all(dir.path().join("node_modules/graphql-ws")).unwrap();
    let installs: Vec<_> = (0..4)
        .map(|_| {
            let dir = dir.path().to_owned();
            std::thread::spawn(move || node_modules_in(&dir))
        })
        .collect();
    for install in installs {
        install.join().expect("no waiter saw a broken install");
    }
    let imported = std::process::Command::new("node")
        .args([
            "--input-type=module",
            "-e",
            "await import('graphql-ws'); await import('ws');",
        ])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(imported.success());
}

#[tokio::test]
async fn an_import_is_heard_batch_by_batch_until_it_is_done() {
    let app = spawn_app_with(|config| {
        config.import_workers = 0;
        config.import_batch_rows = 2;
    })
    .await;
    let admin = app.admin().await;
    let file = "Email\na@example.com\nb@example.com\nnot-an-email\nd@example.com\ne@example.com\n";
    let started: Value = app
        .client
        .post(app.url("/imports?type=lead"))
        .bearer_auth(&admin.access)
        .body(file)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = started["id"].as_str().unwrap().to_owned();
    let mut socket = Socket::signed_in(&app, &admin).await;
    socket
        .subscribe(
            "1",
            "subscription($id: ID!) { importProgressed(id: $id) { status rowsDone totalRows created refused } }",
            json!({ "id": id }),
        )
        .await;
    let progress = |payload: &Value| payload["data"]["importProgressed"].clone();
    let now = progress(&socket.next_result("1", |_| false).await);
    assert_eq!(now["status"], "PENDING");
    assert_eq!(
        (&now["rowsDone"], &now["totalRows"]),
        (&json!(0), &json!(5))
    );

    // The workers are off: the test works the batches itself, two rows at a time.
    let run = Uuid::parse_str(&id).unwrap();
    let mut heard = Vec::new();
    for _ in 0..3 {
        touchbase::quality::import::job::work_run(&app.services, run)
            .await
            .unwrap()
            .expect("a batch to work");
        heard.push(progress(&socket.next_result("1", |_| false).await));
    }
    let done: Vec<(&Value, &Value)> = heard
        .iter()
        .map(|p| (&p["rowsDone"], &p["status"]))
        .collect();
    assert_eq!(
        done,
        [
            (&json!(2), &json!("RUNNING")),
            (&json!(4), &json!("RUNNING")),
            (&json!(5), &json!("DONE")),
        ]
    );
    assert_eq!(
        (&heard[2]["created"], &heard[2]["refused"]),
        (&json!(4), &json!(1))
    );
    let last = socket.recv().await;
    assert_eq!(last["type"], "complete", "{last}");

    let other = app.user(&admin, "rep@example.com", "SALES", None).await;
    let mut socket = Socket::signed_in(&app, &other).await;
    socket
        .subscribe(
            "2",
            "subscription($id: ID!) { importProgressed(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    let refused = socket.recv().await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "another user's import is not theirs to follow: {refused}"
    );
}
