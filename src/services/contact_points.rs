//! Contact points: the addresses, numbers and provider customer ids the hub has seen for a
//! lead or contact, with what providers reported (bounced, unsubscribed, reported as spam).
//! Read through the record they belong to, which the caller has already been allowed to see.

use entity::contact_point;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::error::Result;

/// Whose contact points to read.
pub enum Owner {
    Lead(Uuid),
    Contact(Uuid),
}

pub async fn of(db: &DatabaseConnection, owner: Owner) -> Result<Vec<contact_point::Model>> {
    let filter = match owner {
        Owner::Lead(id) => contact_point::Column::LeadId.eq(id),
        Owner::Contact(id) => contact_point::Column::ContactId.eq(id),
    };
    Ok(contact_point::Entity::find()
        .filter(filter)
        .order_by_asc(contact_point::Column::Id)
        .all(db)
        .await?)
}
