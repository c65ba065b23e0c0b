//! Login sessions: password login, refresh-token rotation with reuse detection, logout.
//!
//! Each login starts a token family. Using a refresh token spends it and issues the next one in
//! the family; presenting a spent token again means it was stolen or replayed, so the whole
//! family is revoked and both parties must log in again.

use std::net::IpAddr;

use chrono::{Duration, Utc};
use entity::{refresh_token, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    actor::Actor,
    auth::{self, password, tokens},
    error::{AppError, Result},
    events::Event,
    services::{Services, audit},
    validate,
};

pub struct SessionTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub user: user::Model,
}

/// Answers the same for an unknown email and a wrong password.
pub async fn login(
    svc: &Services,
    email: &str,
    password: &str,
    ip: Option<IpAddr>,
) -> Result<SessionTokens> {
    let email = validate::email("email", email).unwrap_or_else(|_| email.trim().to_lowercase());
    svc.login_limiter.check(&email, ip)?;
    let user = user::Entity::find()
        .filter(user::Column::Email.eq(&email))
        .one(&svc.db)
        .await?;
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let matches = password::verify(password.to_owned(), stored).await?;
    let user = user
        .filter(|u| matches && u.active)
        .ok_or(AppError::BadCredentials)?;
    start_session(svc, user, Uuid::now_v7(), Some("login")).await
}

pub async fn refresh(svc: &Services, presented: &str) -> Result<SessionTokens> {
    let hash = tokens::refresh_token_hash(presented);
    let token = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .one(&svc.db)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if token.revoked_at.is_some() || token.expires_at <= Utc::now() {
        return Err(AppError::Unauthenticated);
    }
    // Spend the token only if no one else has: the conditional update is the race-free check.
    let spent = refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::SpentAt,
            Expr::value(Some(Utc::now())),
        )
        .filter(refresh_token::Column::Id.eq(token.id))
        .filter(refresh_token::Column::SpentAt.is_null())
        .exec(&svc.db)
        .await?;
    if spent.rows_affected != 1 {
        revoke_family(&svc.db, token.family_id).await?;
        access_changed(svc, token.user_id).await;
        tracing::warn!(family = %token.family_id, user = %token.user_id, "refresh token reused; session revoked");
        let system = auth::system_actor();
        audit::record(
            &svc.db,
            &system,
            "session",
            "reuse_revoked",
            token.user_id,
            None::<&()>,
            None,
        )
        .await?;
        return Err(AppError::Unauthenticated);
    }
    let user = user::Entity::find_by_id(token.user_id)
        .filter(user::Column::Active.eq(true))
        .one(&svc.db)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    // Routine refreshes are not audited: they happen every few minutes for every user.
    start_session(svc, user, token.family_id, None).await
}

/// Ends the session the access token belongs to: its refresh tokens stop working.
pub async fn logout(svc: &Services, actor: &Actor) -> Result<()> {
    let txn = crate::db::begin_write(&svc.db).await?;
    if let Some(family) = actor.session_id {
        revoke_family(&txn, family).await?;
    }
    audit::record(
        &txn,
        actor,
        "session",
        "logout",
        actor.user_id,
        None::<&()>,
        None,
    )
    .await?;
    txn.commit().await?;
    access_changed(svc, actor.user_id).await;
    Ok(())
}

/// Tells every replica that what was decided about the user's rights no longer holds: their
/// cached standing is dropped and their open WebSockets look again. Call it after the change
/// is committed; this replica forgets at once, before the announcement comes back.
pub async fn access_changed(svc: &Services, user_id: Uuid) {
    svc.auth.rights.forget(user_id);
    svc.events.publish(Event::AccessChanged { user_id }).await;
}

/// Issues the next refresh token of `family` and an access token; `audit_verb` records the
/// event in the same transaction.
async fn start_session(
    svc: &Services,
    user: user::Model,
    family: Uuid,
    audit_verb: Option<&str>,
) -> Result<SessionTokens> {
    let refresh_token = tokens::new_refresh_token();
    let now = Utc::now();
    let txn = crate::db::begin_write(&svc.db).await?;
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        family_id: Set(family),
        token_hash: Set(tokens::refresh_token_hash(&refresh_token)),
        expires_at: Set(now + Duration::seconds(svc.config.refresh_token_ttl_secs as i64)),
        created_at: Set(now),
        spent_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    if let Some(verb) = audit_verb {
        let actor = auth::actor_for(&user, Some(family));
        audit::record(&txn, &actor, "session", verb, user.id, None::<&()>, None).await?;
    }
    txn.commit().await?;
    let access_token = svc
        .auth
        .local
        .issue(user.id, user.role, user.team_id, family)?;
    Ok(SessionTokens {
        access_token,
        refresh_token,
        expires_in: svc.auth.local.access_ttl_secs,
        user,
    })
}

async fn revoke_family<C: ConnectionTrait>(conn: &C, family: Uuid) -> Result<()> {
    refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::RevokedAt,
            Expr::value(Some(Utc::now())),
        )
        .filter(refresh_token::Column::FamilyId.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}
