//! Who is calling. Every service call takes an `Actor`, so the row and field rules always know
//! whom they apply to.

use entity::enums::Role;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Uuid,
    pub role: Role,
    pub team_id: Option<Uuid>,
    /// The login session behind the access token, when it is one of ours.
    pub session_id: Option<Uuid>,
    /// Correlates audit rows and log lines with the HTTP request.
    pub request_id: Option<String>,
    /// Why the actor makes the change, when it says: the rule or touch behind an automatic
    /// move, the reason a rep gives for a manual one. Kept with the transitions it causes.
    pub cause: Option<String>,
}

impl Actor {
    pub fn is(&self, role: Role) -> bool {
        self.role == role
    }

    pub fn is_any(&self, roles: &[Role]) -> bool {
        roles.contains(&self.role)
    }

    /// Touchbase itself (the CLI, start-up tasks, the inbox worker) rather than a signed-in
    /// user: no user has the nil id, and no token can name one that does not exist.
    pub fn is_system(&self) -> bool {
        self.user_id.is_nil()
    }

    /// The same actor, giving `cause` as the reason for what it changes next.
    #[must_use]
    pub fn because(&self, cause: impl Into<String>) -> Actor {
        Actor {
            cause: Some(cause.into()),
            ..self.clone()
        }
    }
}
