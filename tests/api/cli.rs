//! The `touchbase` binary as an operator runs it: user creation from the command line, the
//! first admin from the environment, and a SIGTERM that lets in-flight requests finish.

use std::{
    io::Write,
    process::{Command, Stdio},
    time::Duration,
};

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{LOGIN, TestStore, listening_addr, serve, touchbase};

async fn login(addr: &str, email: &str, password: &str) -> Value {
    let body = json!({ "query": LOGIN, "variables": { "email": email, "password": password } });
    reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn user_add_reads_the_password_from_stdin_and_the_user_can_log_in() {
    let store = TestStore::new().await;
    let mut add = touchbase(&store.url)
        .args([
            "user",
            "add",
            "--email",
            "Rep@Example.com",
            "--role",
            "sales",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"a-long-enough-password\n")
        .unwrap();
    let output = add.wait_with_output().unwrap();
    assert!(output.status.success());
    assert!(uuid::Uuid::parse_str(String::from_utf8(output.stdout).unwrap().trim()).is_ok());

    let (mut server, addr) = serve(touchbase(&store.url));
    let body = login(&addr, "rep@example.com", "a-long-enough-password").await;
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
    server.kill().unwrap();
    server.wait().unwrap();
}

#[tokio::test]
async fn first_start_creates_the_admin_from_the_environment() {
    let store = TestStore::new().await;
    let mut command = touchbase(&store.url);
    command
        .env("TOUCHBASE_ADMIN_EMAIL", "boss@example.com")
        .env("TOUCHBASE_ADMIN_PASSWORD", "boss-password-1");
    let (mut server, addr) = serve(command);
    let body = login(&addr, "boss@example.com", "boss-password-1").await;
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
    server.kill().unwrap();
    server.wait().unwrap();
}

#[tokio::test]
async fn sigterm_lets_the_request_in_flight_finish() {
    let store = TestStore::new().await;
    let (mut server, addr) = serve(touchbase(&store.url));

    // A request whose headers have arrived but whose body is still on its way.
    let body = br#"{"query":"{ __typename }"}"#;
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let terminated = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.write_all(&body[5..]).await.unwrap();

    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.contains(r#"{"data":{"__typename":"Query"}}"#),
        "{response}"
    );

    let status = server.wait().unwrap();
    assert!(status.success(), "server exited with {status}");
}

/// SIGTERM while the inbox is busy: the workers finish the delivery in hand and claim no more,
/// the process exits cleanly, and the next start processes the rest: every delivery once.
#[tokio::test]
async fn sigterm_stops_the_inbox_workers_between_deliveries_and_loses_none() {
    use std::io::BufRead;
    let store = TestStore::new().await;
    let mut command = touchbase(&store.url);
    command
        .env("TOUCHBASE_ADMIN_EMAIL", "boss@example.com")
        .env("TOUCHBASE_ADMIN_PASSWORD", "boss-password-1")
        // One test client posts every form, more than one visitor's share.
        .env("TOUCHBASE_HOOK_UNSIGNED_BURST_PER_ADDRESS", "1000")
        .arg("serve")
        .stdout(Stdio::piped());
    let mut server = command.spawn().unwrap();
    let mut lines = std::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let message = |line: &str| -> Value {
        serde_json::from_str::<Value>(line).unwrap_or_default()["fields"]["message"].clone()
    };
    let addr = listening_addr(&mut lines);
    let client = reqwest::Client::new();
    let body = login(&addr, "boss@example.com", "boss-password-1").await;
    let token = body["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let created: Value = client
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": "mutation { createConnector(input: { kind: WEB_FORM, name: \"Site\" }) { connector { id } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let connector = created["data"]["createConnector"]["connector"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    const FORMS: usize = 40;
    for n in 0..FORMS {
        let response = client
            .post(format!("http://{addr}/hooks/{connector}"))
            .form(&[
                ("email", format!("visitor{n}@example.com")),
                ("first_name", format!("V{n}")),
            ])
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }
    let terminated = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    let said: Vec<Value> = lines.map_while(Result::ok).map(|l| message(&l)).collect();
    assert!(server.wait().unwrap().success());
    let stopped_workers = said.iter().position(|m| m == "the inbox workers stopped");
    let stopped = said.iter().position(|m| m == "stopped");
    assert!(
        stopped_workers.is_some() && stopped_workers < stopped,
        "{said:?}"
    );

    // The next start takes up what was left; nothing is processed twice.
    let (mut server, _) = serve(touchbase(&store.url));
    let db = sea_orm::Database::connect(&store.url).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let rows = entity::delivery::Entity::find().all(&db).await.unwrap();
        let processed = rows
            .iter()
            .filter(|r| r.status == entity::enums::DeliveryStatus::Processed)
            .count();
        if processed == FORMS {
            assert!(rows.iter().all(|r| r.attempts == 1), "{rows:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{processed} of {FORMS} processed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let touchpoints = entity::touchpoint::Entity::find().count(&db).await.unwrap();
    assert_eq!(touchpoints, FORMS as u64);
    db.close().await.unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
}
