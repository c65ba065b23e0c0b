//! The one error type of the application. Every failure a client can cause maps to a public
//! code from DESIGN.md; everything else is `Internal`, logged in full and shown to the client
//! only as a request id.

use sea_orm::{DbErr, SqlErr};

pub type Result<T, E = AppError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
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
        let location = std::panic::Location::caller();
        Self::Internal(error.into().context(format!("at {location}")))
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
            Self::Internal(source) => Self::Internal(anyhow::anyhow!("{source:?}")),
        }
    }
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
    const FIELDS: [(&str, &str); 4] = [
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
