//! Starts the real application on 127.0.0.1:0 with a store of its own (a fresh SQLite file,
//! or a fresh PostgreSQL database when `TOUCHBASE_TEST_DATABASE_URL` names a PostgreSQL
//! server) and talks to it over HTTP.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use touchbase::{config::Config, http, server, services::Services};

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const PASSWORD: &str = "user-password-1";

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    /// The app's own store, for asserting what was written.
    pub db: DatabaseConnection,
    /// The app's services, for writes no API operation makes yet (touchpoints come from the hub).
    pub services: Services,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    /// Declared last: the server lets go of the store before the store is removed.
    _store: TestStore,
}

pub struct Session {
    pub access: String,
    pub refresh: String,
    pub user_id: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut Config)) -> TestApp {
    start(TestStore::new().await, customize).await
}

/// The app on a store the test made itself.
pub async fn spawn_app_with_store(
    store: TestStore,
    customize: impl FnOnce(&mut Config),
) -> TestApp {
    start(store, customize).await
}

async fn start(store: TestStore, customize: impl FnOnce(&mut Config)) -> TestApp {
    if std::env::var_os("RUST_LOG").is_some() {
        touchbase::telemetry::init("text");
    }
    let mut config = Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: store.url.clone(),
        ..Config::default()
    };
    config.admin_email = Some(ADMIN_EMAIL.into());
    config.admin_password = Some(ADMIN_PASSWORD.into());
    customize(&mut config);
    let state = server::build(config).await.expect("app builds");
    let db = state.services.db.clone();
    let services = state.services.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        http::serve(listener, state, async { drop(rx.await) })
            .await
            .expect("server runs");
    });
    TestApp {
        addr,
        client: reqwest::Client::new(),
        db,
        services,
        shutdown: Some(tx),
        server: Some(server),
        _store: store,
    }
}

/// An empty store of the kind the suite runs against, removed when dropped.
pub struct TestStore {
    pub url: String,
    _sqlite_dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestStore {
    pub async fn new() -> Self {
        match std::env::var("TOUCHBASE_TEST_DATABASE_URL") {
            Ok(admin_url) if admin_url.starts_with("postgres") => {
                let name = format!("tb_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("PostgreSQL reachable");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("test database created");
                admin.close().await.ok();
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(base, _)| base)
                    .unwrap_or(&admin_url);
                TestStore {
                    url: format!("{base}/{name}"),
                    _sqlite_dir: None,
                    postgres: Some((admin_url, name)),
                }
            }
            _ => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("touchbase.db").display()
                );
                TestStore {
                    url,
                    _sqlite_dir: Some(dir),
                    postgres: None,
                }
            }
        }
    }

    /// Another handle on a store someone else owns and removes.
    fn shared(url: &str) -> Self {
        TestStore {
            url: url.to_owned(),
            _sqlite_dir: None,
            postgres: None,
        }
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            // The test's runtime may be shutting down; drop the database from a runtime of our own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    if let Ok(admin) = Database::connect(&admin_url).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A second gateway on this app's store, as another replica runs: its own connections,
    /// event listener and background tasks. Drop it before this app, which owns the store.
    /// The URL of the store this app runs on.
    pub fn store_url(&self) -> &str {
        &self._store.url
    }

    pub async fn replica_with(&self, customize: impl FnOnce(&mut Config)) -> TestApp {
        start(TestStore::shared(&self._store.url), customize).await
    }

    /// Posts a GraphQL operation and returns the whole response body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request sent");
        assert!(response.status().is_success(), "HTTP {}", response.status());
        response.json().await.expect("JSON body")
    }

    /// Runs an operation that must succeed and returns its `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.gql(Some(token), query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    pub async fn login(&self, email: &str, password: &str) -> Session {
        let body = self
            .gql(None, LOGIN, json!({ "email": email, "password": password }))
            .await;
        assert!(body.get("errors").is_none(), "login failed: {body}");
        session(&body["data"]["login"])
    }

    pub async fn admin(&self) -> Session {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Creates a user through the API as admin and signs them in.
    pub async fn user(
        &self,
        admin: &Session,
        email: &str,
        role: &str,
        team: Option<&str>,
    ) -> Session {
        self.ok(
            &admin.access,
            "mutation($input: NewUserInput!) { createUser(input: $input) { user { id } } }",
            json!({ "input": { "email": email, "name": email, "role": role, "password": PASSWORD, "teamId": team } }),
        )
        .await;
        self.login(email, PASSWORD).await
    }

    pub async fn team(&self, admin: &Session, name: &str) -> String {
        let data = self
            .ok(
                &admin.access,
                "mutation($n: String!) { createTeam(name: $n) { team { id } } }",
                json!({ "n": name }),
            )
            .await;
        data["createTeam"]["team"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Creates a lead and returns its id.
    pub async fn lead(&self, token: &str, input: Value) -> String {
        let data = self
            .ok(
                token,
                "mutation($input: LeadInput!) { createLead(input: $input) { lead { id } } }",
                json!({ "input": input }),
            )
            .await;
        data["createLead"]["lead"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

pub const UPDATE_USER: &str = "mutation($id: ID!, $input: UserChangesInput!) { updateUser(id: $id, input: $input) { user { id active } } }";

pub const LOGIN: &str = "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken refreshToken user { id } } }";

pub fn session(payload: &Value) -> Session {
    Session {
        access: payload["accessToken"]
            .as_str()
            .expect("access token")
            .to_owned(),
        refresh: payload["refreshToken"]
            .as_str()
            .expect("refresh token")
            .to_owned(),
        user_id: payload["user"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

pub const BIN: &str = env!("CARGO_BIN_EXE_touchbase");

/// The `touchbase` binary with a clean environment, on the store at `store_url`, listening on a
/// free port and logging JSON lines.
pub fn touchbase(store_url: &str) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TOUCHBASE_DATABASE_URL", store_url)
        .env("TOUCHBASE_BIND", "127.0.0.1:0")
        .env("TOUCHBASE_LOG_FORMAT", "json")
        .current_dir(std::env::temp_dir());
    command
}

/// Starts `serve` and returns the process with the address it logged.
pub fn serve(mut command: Command) -> (Child, String) {
    let mut child = command
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = listening_addr(&mut lines);
    // Keep draining the log so the server never blocks on a full pipe; its errors go to the
    // test's output, which a failing test shows.
    std::thread::spawn(move || {
        for line in lines.map_while(std::io::Result::ok) {
            if line.contains(r#""level":"ERROR""#) {
                eprintln!("{line}");
            }
        }
    });
    (child, addr)
}

/// Reads a server's JSON log lines until it says where it listens.
pub fn listening_addr(lines: &mut impl Iterator<Item = std::io::Result<String>>) -> String {
    loop {
        let line = lines
            .next()
            .expect("server exited before listening")
            .unwrap();
        let log: Value = serde_json::from_str(&line).unwrap_or_default();
        if log["fields"]["message"] == "listening" {
            return log["fields"]["addr"].as_str().unwrap().to_owned();
        }
    }
}

/// A server process that is killed when the test ends, however it ends.
pub struct Gateway {
    child: Child,
    pub addr: String,
}

impl Gateway {
    /// `touchbase serve` in a process of its own, on the store at `store_url`.
    pub fn start(store_url: &str) -> Self {
        Self::spawn(touchbase(store_url))
    }

    /// `serve` as `command` describes it (extra settings in its environment).
    pub fn spawn(command: Command) -> Self {
        let (child, addr) = serve(command);
        Gateway { child, addr }
    }

    /// Ends the process at once, as a crash or `kill -9` would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `dir/node_modules`, installed from `dir/package-lock.json`. As with [`python_with`], the
/// first test process to need it installs it under a lock while the others wait, and it counts
/// as ready only once `node_modules/.installed-lock.json` (written last) matches the lock file,
/// so an install cut off halfway is done again.
pub fn node_modules_in(dir: &std::path::Path) {
    let wanted = std::fs::read(dir.join("package-lock.json")).expect("package-lock.json");
    let installed = dir.join("node_modules/.installed-lock.json");
    let ready = || std::fs::read(&installed).is_ok_and(|have| have == wanted);
    if ready() {
        return;
    }
    let lock = std::fs::File::create(dir.join(".npm.lock")).expect("lock file");
    lock.lock().expect("lock taken");
    if !ready() {
        let done = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(done, "npm ci in {} failed", dir.display());
        std::fs::write(&installed, &wanted).expect("install recorded");
    }
}

/// The Python of `dir/.venv`, with `dir/requirements.txt` installed. Test processes run in
/// parallel and each may be the first to need it: one builds it under a lock while the others
/// wait, and it counts as ready only once `.venv/requirements.txt` (written last) matches the
/// requirements, so a half-built or outdated environment is built again.
pub fn python_with(dir: &std::path::Path) -> std::path::PathBuf {
    let venv = dir.join(".venv");
    let python = venv.join("bin/python");
    let wanted = std::fs::read(dir.join("requirements.txt")).expect("requirements.txt");
    let installed = venv.join("requirements.txt");
    let ready = || std::fs::read(&installed).is_ok_and(|have| have == wanted);
    if ready() {
        return python;
    }
    let lock = std::fs::File::create(dir.join(".venv.lock")).expect("lock file");
    lock.lock().expect("lock taken");
    if !ready() {
        let _ = std::fs::remove_dir_all(&venv);
        let built = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(dir.join("requirements.txt"))
                .status()
                .is_ok_and(|s| s.success());
        assert!(
            built,
            "installing {} failed",
            dir.join("requirements.txt").display()
        );
        std::fs::write(&installed, &wanted).expect("requirements recorded");
    }
    python
}
