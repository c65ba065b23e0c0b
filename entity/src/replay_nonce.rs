use sea_orm::entity::prelude::*;

/// A one-time value a provider sent (Mailgun's `token`), kept so a replay is refused.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "replay_nonces")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub connector_id: Uuid,
    pub nonce: String,
    /// The external id of the delivery that carried it: the same delivery again is a retry,
    /// not a replay.
    pub external_id: String,
    pub seen_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
