//! The `touchbase` command: run the server, print the schema, manage users.

use std::{io::Read, net::SocketAddr, process::ExitCode, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand};
use entity::enums::Role;
use touchbase::{
    auth,
    config::{Config, Environment},
    db, graphql, http, server,
    services::users::{self, NewUser},
};

/// glibc's allocator spends a large share of a busy server's time consolidating and locking its
/// arenas; mimalloc, which also serves SQLite's own allocations, does not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(version, about = "Touchbase CRM gateway")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve {
        #[arg(long)]
        bind: Option<SocketAddr>,
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, value_enum)]
        env: Option<Environment>,
    },
    /// Print the GraphQL schema (SDL) that `schema.graphql` holds.
    Schema,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
}

fn parse_role(raw: &str) -> Result<Role, String> {
    serde_json::from_value(serde_json::Value::from(raw.to_lowercase()))
        .map_err(|_| "one of admin, manager, sales, marketing, support".to_owned())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Schema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Serve {
            bind,
            database_url,
            env,
        } => {
            let mut config = Config::load()?;
            config.bind = bind.unwrap_or(config.bind);
            config.database_url = database_url.unwrap_or(config.database_url);
            config.env = env.unwrap_or(config.env);
            touchbase::telemetry::init(&config.log_format);
            let listener = tokio::net::TcpListener::bind(config.bind)
                .await
                .with_context(|| format!("binding {}", config.bind))?;
            let state = server::build(config).await?;
            let (workers, db) = (state.workers.clone(), state.services.db.clone());
            let grace = Duration::from_secs(state.services.config.shutdown_grace_secs);
            tracing::info!(addr = %listener.local_addr()?, "listening");
            // Stops accepting, then lets the requests in flight finish.
            http::serve(listener, state, shutdown_signal()).await?;
            if workers.stop(grace).await {
                tracing::info!("the inbox workers stopped");
            } else {
                tracing::warn!(
                    ?grace,
                    "the inbox workers did not stop in time; their deliveries stay due"
                );
            }
            db.close().await.context("closing the database pool")?;
            tracing::info!("stopped");
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    email,
                    role,
                    name,
                    password_stdin,
                },
        } => {
            let config = Config::load()?;
            let password = if password_stdin {
                let mut password = String::new();
                std::io::stdin()
                    .read_to_string(&mut password)
                    .context("reading the password")?;
                Some(password.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let acquire = Duration::from_millis(config.db_acquire_timeout_ms);
            let conn = db::connect(&config.database_url, 1, acquire).await?;
            db::migrate(&conn).await?;
            let input = NewUser {
                name: name.unwrap_or_else(|| email.clone()),
                email,
                role,
                password,
                team_id: None,
            };
            let user = users::create(&conn, &auth::system_actor(), input)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", user.id);
            Ok(())
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM; the server then stops accepting and finishes in-flight work.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
