//! Contact points: the addresses, numbers and provider customer ids the hub has seen for a
//! lead or contact, with what providers reported (bounced, unsubscribed, reported as spam).
//! Read through the records they belong to, which the caller has already been allowed to see.

use std::collections::HashMap;

use entity::contact_point;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::error::Result;

/// Whose contact points to read.
#[derive(Debug, Clone, Copy)]
pub enum Owner {
    Lead,
    Contact,
}

impl Owner {
    fn column(self) -> contact_point::Column {
        match self {
            Owner::Lead => contact_point::Column::LeadId,
            Owner::Contact => contact_point::Column::ContactId,
        }
    }

    fn of(self, point: &contact_point::Model) -> Option<Uuid> {
        match self {
            Owner::Lead => point.lead_id,
            Owner::Contact => point.contact_id,
        }
    }
}

/// The contact points of each of `owners` (leads or contacts), in one query.
pub async fn of(
    db: &DatabaseConnection,
    owner: Owner,
    owners: &[Uuid],
) -> Result<HashMap<Uuid, Vec<contact_point::Model>>> {
    let points = contact_point::Entity::find()
        .filter(owner.column().is_in(owners.iter().copied()))
        .order_by_asc(contact_point::Column::Id)
        .all(db)
        .await?;
    let mut grouped: HashMap<Uuid, Vec<contact_point::Model>> = HashMap::new();
    for point in points {
        if let Some(id) = owner.of(&point) {
            grouped.entry(id).or_default().push(point);
        }
    }
    Ok(grouped)
}
