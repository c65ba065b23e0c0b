//! Who a request is: local logins (argon2id passwords, HS256 access tokens, rotating refresh
//! tokens) and tokens from an outside identity provider (RS256/ES256 by PEM or JWKS).

pub mod external;
pub mod password;
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
}

impl Authenticator {
    pub async fn authenticate(&self, db: &DatabaseConnection, token: &str) -> Result<Actor> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AppError::Unauthenticated)?;
        if header.alg == jsonwebtoken::Algorithm::HS256 {
            let claims = self.local.verify(token)?;
            return Ok(Actor {
                user_id: claims.sub,
                role: claims.role,
                team_id: claims.team,
                session_id: Some(claims.sid),
                request_id: None,
            });
        }
        let idp = self.external.as_ref().ok_or(AppError::Unauthenticated)?;
        let email = idp.verify(token, &header).await?;
        let user = user::Entity::find()
            .filter(user::Column::Email.eq(email))
            .filter(user::Column::Active.eq(true))
            .one(db)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        Ok(actor_for(&user, None))
    }
}

pub fn actor_for(user: &user::Model, session_id: Option<Uuid>) -> Actor {
    Actor {
        user_id: user.id,
        role: user.role,
        team_id: user.team_id,
        session_id,
        request_id: None,
    }
}

/// The actor used by the CLI and start-up tasks that act on the operator's behalf.
pub fn system_actor() -> Actor {
    Actor {
        user_id: Uuid::nil(),
        role: Role::Admin,
        team_id: None,
        session_id: None,
        request_id: None,
    }
}
