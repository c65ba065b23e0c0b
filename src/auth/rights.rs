//! What a signed-in user may do now. A token says who its bearer is; the database says what
//! they may do: whether they are still active, their current role and team, and whether the
//! login session the token belongs to is still open. Every request and every open WebSocket
//! asks here, so a logout, a revoked session, a deactivation or a new role applies at once.
//!
//! Answers are cached for `rights_cache_ms`. A change is announced on the event bus
//! (`Event::AccessChanged`), which drops the user's cached answers on every replica and makes
//! their open WebSockets look again; the cache lifetime only bounds how long a replica whose
//! event listener was reconnecting (and so missed the announcement) keeps an old answer.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use entity::{enums::Role, refresh_token, user};
use futures_util::{Stream, StreamExt};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use crate::{error::Result, events::Event};

/// Cached answers kept at most; past it the cache starts over rather than grow.
const MAX_CACHED: usize = 100_000;

/// A user's rights as the database has them now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub role: Role,
    pub team_id: Option<Uuid>,
}

/// One user's answer: `None` once they or their session may no longer act.
type Answer = Option<Standing>;

/// Answers by user and login session, with when each was read.
type Cache = HashMap<(Uuid, Option<Uuid>), (Instant, Answer)>;

pub struct Rights {
    ttl: Duration,
    cache: Mutex<Cache>,
    /// Counts the changes announced so far: an answer read while one was announced may predate
    /// it, and is not kept.
    changes: AtomicU64,
}

impl Rights {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            cache: Mutex::new(HashMap::new()),
            changes: AtomicU64::new(0),
        }
    }

    /// The user's standing, from the cache while it is fresh. `session` is the login session
    /// of one of our tokens; outside tokens have none.
    pub async fn standing<C: ConnectionTrait>(
        &self,
        db: &C,
        user_id: Uuid,
        session: Option<Uuid>,
    ) -> Result<Answer> {
        if let Some(answer) = self.cached(user_id, session) {
            return Ok(answer);
        }
        self.fresh(db, user_id, session).await
    }

    /// The user's standing read from the database now.
    pub async fn fresh<C: ConnectionTrait>(
        &self,
        db: &C,
        user_id: Uuid,
        session: Option<Uuid>,
    ) -> Result<Answer> {
        let changes = self.changes.load(Ordering::SeqCst);
        let answer = read(db, user_id, session).await?;
        self.remember((user_id, session), answer, changes);
        Ok(answer)
    }

    /// Drops every cached answer about the user.
    pub fn forget(&self, user_id: Uuid) {
        let mut cache = self.lock();
        self.changes.fetch_add(1, Ordering::SeqCst);
        cache.retain(|(user, _), _| *user != user_id);
    }

    /// Drops cached answers as changes are announced, for as long as `events` runs.
    pub async fn follow(&self, events: impl Stream<Item = Event>) {
        let mut events = std::pin::pin!(events);
        while let Some(event) = events.next().await {
            if let Event::AccessChanged { user_id } = event {
                self.forget(user_id);
            }
        }
    }

    /// Keeps an answer read when `changes` changes had been announced, unless another came
    /// since: the answer may then be older than the change.
    fn remember(&self, key: (Uuid, Option<Uuid>), answer: Answer, changes: u64) {
        let mut cache = self.lock();
        if self.changes.load(Ordering::SeqCst) != changes {
            return;
        }
        if cache.len() >= MAX_CACHED {
            let ttl = self.ttl;
            cache.retain(|_, (at, _)| at.elapsed() < ttl);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(key, (Instant::now(), answer));
    }

    fn cached(&self, user_id: Uuid, session: Option<Uuid>) -> Option<Answer> {
        let cache = self.lock();
        let (at, answer) = cache.get(&(user_id, session))?;
        (at.elapsed() < self.ttl).then_some(*answer)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A panic while holding the lock leaves nothing half-written: every update is one insert.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

async fn read<C: ConnectionTrait>(db: &C, user_id: Uuid, session: Option<Uuid>) -> Result<Answer> {
    let Some(user) = user::Entity::find_by_id(user_id)
        .filter(user::Column::Active.eq(true))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if let Some(family) = session {
        // Logging out and a replayed refresh token revoke every token of the session.
        let open = refresh_token::Entity::find()
            .filter(refresh_token::Column::FamilyId.eq(family))
            .filter(refresh_token::Column::UserId.eq(user_id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .count(db)
            .await?;
        if open == 0 {
            return Ok(None);
        }
    }
    Ok(Some(Standing {
        role: user.role,
        team_id: user.team_id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDING: Answer = Some(Standing {
        role: Role::Sales,
        team_id: None,
    });

    #[test]
    fn an_answer_read_before_a_change_was_announced_is_not_kept() {
        let rights = Rights::new(Duration::from_secs(60));
        let (user, session) = (Uuid::now_v7(), Some(Uuid::now_v7()));
        let before = rights.changes.load(Ordering::SeqCst);
        rights.forget(user);
        rights.remember((user, session), STANDING, before);
        assert_eq!(rights.cached(user, session), None);

        let now = rights.changes.load(Ordering::SeqCst);
        rights.remember((user, session), STANDING, now);
        assert_eq!(rights.cached(user, session), Some(STANDING));
        rights.forget(user);
        assert_eq!(rights.cached(user, session), None);
    }
}
