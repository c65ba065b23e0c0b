//! The `touchbase` binary as an operator runs it: user creation from the command line, the
//! first admin from the environment, and a SIGTERM that lets in-flight requests finish.

use std::{
    io::Write,
    process::{Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{LOGIN, TestStore, serve, touchbase};

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
