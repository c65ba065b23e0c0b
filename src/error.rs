//! The one error type of the application. Every failure a client can cause maps to a public
//! code from DESIGN.md; everything else is `Internal`, logged with its call site and causes and
//! shown to the client only as a request id.

use std::{fmt, panic::Location};

use sea_orm::{DbErr, SqlErr};

pub type Result<T, E = AppError> = std::result::Result<T, E>;

#[derive(thiserror::Error)]
pub enum AppError {
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid email or password")]
    BadCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// `field` is the input field's name as the API spells it.
    #[error("{field}: {message}")]
    BadInput { field: String, message: String },
    #[error("{message}")]
    Conflict {
        field: Option<String>,
        message: String,
    },
    #[error("too many attempts, retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Conflict {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    #[track_caller]
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into().context(CallSite(Location::caller())))
    }

    /// One line saying what failed and why, for a delivery's row: the field and the message,
    /// or an internal error's causes, each once, without the call site.
    pub fn brief(&self) -> String {
        match self {
            Self::Internal(source) => causes(source),
            Self::Conflict {
                field: Some(field),
                message,
            } => format!("{field}: {message}"),
            other => other.to_string(),
        }
    }

    /// The `extensions.code` clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated | Self::BadCredentials => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadInput { .. } => "BAD_USER_INPUT",
            Self::Conflict { .. } => "CONFLICT",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Internal(_) => "INTERNAL",
        }
    }
}

/// Batch loaders share one error among every field waiting on the batch.
impl From<std::sync::Arc<AppError>> for AppError {
    fn from(shared: std::sync::Arc<AppError>) -> Self {
        match shared.as_ref() {
            Self::Unauthenticated => Self::Unauthenticated,
            Self::BadCredentials => Self::BadCredentials,
            Self::Forbidden(message) => Self::Forbidden(message.clone()),
            Self::NotFound(kind) => Self::NotFound(kind),
            Self::BadInput { field, message } => Self::BadInput {
                field: field.clone(),
                message: message.clone(),
            },
            Self::Conflict { field, message } => Self::Conflict {
                field: field.clone(),
                message: message.clone(),
            },
            Self::RateLimited { retry_after_secs } => Self::RateLimited {
                retry_after_secs: *retry_after_secs,
            },
            Self::Internal(_) => Self::Internal(anyhow::anyhow!("{shared:?}")),
        }
    }
}

/// Log lines print errors with `?`: one line, an internal error with its call site, and never
/// a backtrace, since a store outage fails every request alike and must not flood the log.
impl fmt::Debug for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Internal(source) => {
                f.write_str(&causes(source))?;
                match source.downcast_ref::<CallSite>() {
                    Some(site) => write!(f, " ({site})"),
                    None => Ok(()),
                }
            }
            other => write!(f, "{}: {}", other.code(), other.brief()),
        }
    }
}

/// Where an internal error was raised, kept apart from its causes so a brief can leave it out.
#[derive(Debug)]
struct CallSite(&'static Location<'static>);

impl fmt::Display for CallSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}", self.0)
    }
}

/// An internal error's causes, outermost first, without its call site and without a wrapper
/// that only repeats its cause (`Execution Error: error returned from database: X`, then `X`).
fn causes(error: &anyhow::Error) -> String {
    let skip = usize::from(error.downcast_ref::<CallSite>().is_some());
    let messages: Vec<String> = error.chain().skip(skip).map(|c| c.to_string()).collect();
    let distinct: Vec<&str> = messages
        .iter()
        .enumerate()
        .filter(|(i, message)| {
            messages
                .get(i + 1)
                .is_none_or(|cause| !message.contains(cause.as_str()))
        })
        .map(|(_, message)| message.as_str())
        .collect();
    distinct.join(": ")
}

impl From<DbErr> for AppError {
    #[track_caller]
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(detail)) => Self::Conflict {
                field: unique_field(&detail),
                message: "a record with this value already exists".into(),
            },
            _ => Self::internal(err),
        }
    }
}

/// Names the input field behind a unique-constraint message from either store
/// (`UNIQUE constraint failed: leads.email` on SQLite, `… "idx-leads-email" …` on PostgreSQL).
fn unique_field(detail: &str) -> Option<String> {
    const FIELDS: [(&str, &str); 5] = [
        ("canonical_domain", "domain"),
        ("email", "email"),
        ("utm_campaign", "utmCampaign"),
        ("name", "name"),
        ("token_hash", "refreshToken"),
    ];
    FIELDS
        .iter()
        .find(|(column, _)| detail.contains(column))
        .map(|(_, field)| field.to_string())
}

#[cfg(test)]
mod tests {
    use sea_orm::RuntimeErr;

    use super::*;

    #[test]
    fn an_internal_error_reads_as_its_cause_once_and_logs_with_its_call_site_only() {
        let error = AppError::from(DbErr::Exec(RuntimeErr::Internal(
            "no such table: touchpoints".into(),
        )));
        assert_eq!(error.brief(), "no such table: touchpoints");
        let logged = format!("{error:?}");
        assert!(
            logged.starts_with("no such table: touchpoints (at src/error.rs:"),
            "{logged}"
        );
        assert_eq!(logged.lines().count(), 1, "{logged}");
    }

    #[test]
    fn public_errors_name_their_field() {
        let conflict = AppError::conflict("email", "a record with this value already exists");
        assert_eq!(
            conflict.brief(),
            "email: a record with this value already exists"
        );
        let bad = AppError::bad_input("body", "not JSON");
        assert_eq!(bad.brief(), "body: not JSON");
        assert_eq!(format!("{bad:?}"), "BAD_USER_INPUT: body: not JSON");
    }
}
