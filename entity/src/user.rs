use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::enums::Role;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub email: String,
    pub name: String,
    /// Argon2id PHC string; `None` for users who only sign in through an outside identity provider.
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub role: Role,
    pub team_id: Option<Uuid>,
    pub active: bool,
    /// Out of office from this day (inclusive); assignment passes the user over meanwhile.
    pub away_from: Option<Date>,
    /// Out of office until this day (inclusive).
    pub away_until: Option<Date>,
    /// Open leads the user takes at most; assignment passes over a user who has as many.
    pub max_open_leads: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
