//! The `touchbase` command: run the server, print the schema, import files, manage users.

use std::{io::Read, net::SocketAddr, process::ExitCode, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand};
use entity::enums::{ImportStatus, Role};
use touchbase::{
    auth,
    config::{Config, Environment},
    db, graphql, http,
    quality::import::{
        job, mapping, report,
        upload::{self, NewImport},
    },
    server,
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
    /// Import a CSV or XLSX file of leads, contacts or accounts, written as an admin through the
    /// same checks as the API; prints the totals and every row that was not written.
    Import {
        file: std::path::PathBuf,
        /// lead, contact or account.
        #[arg(long = "type")]
        record_type: String,
        /// Overrides of the suggested column mapping: "Email=email,Company=company,Notes=".
        #[arg(long)]
        map: Option<String>,
        /// The upsert key (email for people, domain for accounts); "" creates every row.
        #[arg(long)]
        key: Option<String>,
        /// Merge a row a dedupe rule finds to be an existing record into it, filling its
        /// blanks, rather than creating a duplicate beside it.
        #[arg(long)]
        merge_duplicates: bool,
        /// Check every row and report, writing no record.
        #[arg(long)]
        dry_run: bool,
    },
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
        Command::Import {
            file,
            record_type,
            map,
            key,
            merge_duplicates,
            dry_run,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let new = NewImport {
                record_type: mapping::record_type(&record_type).map_err(brief)?,
                file_name: file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                bytes,
                overrides: mapping::parse_overrides(map.as_deref().unwrap_or_default())
                    .map_err(brief)?,
                upsert_key: key,
                merge_duplicates,
                dry_run,
            };
            let svc = server::services(Config::load()?).await?;
            let actor = auth::system_actor();
            let mut run = upload::store(&svc, &actor, new).await.map_err(brief)?;
            // A running server may take batches of the run too; it is done when it says so.
            while !matches!(run.status, ImportStatus::Done | ImportStatus::Failed) {
                run = match job::work_run(&svc, run.id).await.map_err(brief)? {
                    Some(worked) => worked,
                    None => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        report::get(&svc.db, &actor, run.id).await.map_err(brief)?
                    }
                };
            }
            print_report(&svc, &run).await.map_err(brief)?;
            svc.db.close().await.context("closing the database")?;
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

/// An error as one line, its field first.
fn brief(error: touchbase::error::AppError) -> anyhow::Error {
    anyhow::anyhow!("{}", error.brief())
}

/// The run's totals, then each row that was not written with its field and reason.
async fn print_report(
    svc: &touchbase::services::Services,
    run: &entity::import_run::Model,
) -> touchbase::error::Result<()> {
    let verb = if run.dry_run { "would be " } else { "" };
    println!("import {} ({} rows)", run.id, run.total_rows);
    println!(
        "{verb}created {}, {verb}updated {}, {verb}merged {}, skipped {}, refused {}",
        run.created, run.updated, run.merged, run.skipped, run.refused
    );
    let mut after = 0;
    loop {
        let (rows, more, _) = report::rows(&svc.db, run, after, 1_000, None).await?;
        for row in &rows {
            let outcome = row.outcome.map(|o| o.as_str()).unwrap_or("pending");
            if matches!(outcome, "skipped" | "refused" | "pending") {
                println!(
                    "row {}: {outcome} {}: {}",
                    row.row_no,
                    row.field.as_deref().unwrap_or("-"),
                    row.reason.as_deref().unwrap_or_default()
                );
            }
        }
        match rows.last() {
            Some(last) if more => after = last.row_no,
            _ => return Ok(()),
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
