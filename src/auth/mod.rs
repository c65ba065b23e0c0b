//! Who a request is: local logins (argon2id passwords, HS256 access tokens, rotating refresh
//! tokens) and tokens from an outside identity provider (RS256/ES256 by PEM or JWKS).

pub mod external;
pub mod password;
pub mod rights;
pub mod tokens;

use entity::{enums::Role, user};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
};

/// Turns a bearer token into an `Actor`, or refuses it.
pub struct Authenticator {
    pub local: tokens::LocalTokens,
    pub external: Option<external::ExternalIdp>,
    pub rights: rights::Rights,
}

/// A caller whose token was accepted, and until when it is good.
pub struct Authenticated {
    pub actor: Actor,
    /// The token's `exp`, in seconds since the epoch.
    pub expires_at: i64,
}

impl Authenticator {
    /// Accepts a token that is well signed, current and whose user and session may still act,
    /// with the role and team the user has now (a token's own claims may be stale).
    pub async fn authenticate(
        &self,
        db: &DatabaseConnection,
        token: &str,
    ) -> Result<Authenticated> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AppError::Unauthenticated)?;
        let (user_id, session_id, expires_at) = if header.alg == jsonwebtoken::Algorithm::HS256 {
            let claims = self.local.verify(token)?;
            (claims.sub, Some(claims.sid), claims.exp)
        } else {
            let idp = self.external.as_ref().ok_or(AppError::Unauthenticated)?;
            let (email, expires_at) = idp.verify(token, &header).await?;
            let user = user::Entity::find()
                .filter(user::Column::Email.eq(email))
                .one(db)
                .await?
                .ok_or(AppError::Unauthenticated)?;
            (user.id, None, expires_at)
        };
        let standing = self
            .rights
            .standing(db, user_id, session_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        Ok(Authenticated {
            actor: Actor {
                user_id,
                role: standing.role,
                team_id: standing.team_id,
                session_id,
                request_id: None,
                cause: None,
            },
            expires_at,
        })
    }
}

pub fn actor_for(user: &user::Model, session_id: Option<Uuid>) -> Actor {
    Actor {
        user_id: user.id,
        role: user.role,
        team_id: user.team_id,
        session_id,
        request_id: None,
        cause: None,
    }
}

/// The actor used by the CLI, start-up tasks and the inbox worker, which act on the operator's
/// behalf: an admin that is no user ([`Actor::is_system`]).
pub fn system_actor() -> Actor {
    Actor {
        user_id: Uuid::nil(),
        role: Role::Admin,
        team_id: None,
        session_id: None,
        request_id: None,
        cause: None,
    }
}
