//! Contact points: the addresses, numbers and provider customer ids the hub has seen for a
//! lead or contact, with what providers reported (bounced, unsubscribed, reported as spam).
//! Read through the records they belong to, which the caller has already been allowed to see;
//! written by the integrations hub through the record lifecycle.

use std::collections::HashMap;

use chrono::Utc;
use entity::{
    contact_point,
    enums::{ContactPointKind, Role},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::SimpleExpr,
};
use uuid::Uuid;

use crate::{
    error::Result,
    services::{
        filter::col,
        page::{SortField, SortKind, SortValue},
        records::Record,
        scope,
    },
};

impl Record for contact_point::Entity {
    type OrderField = FirstSeen;
    const KIND: &'static str = "contact_point";
    const READERS: &'static [Role] = scope::EVERY_ROLE;
    /// Only what providers report makes or flags a contact point.
    const WRITERS: &'static [Role] = &[Role::Admin];
    fn id_column() -> contact_point::Column {
        contact_point::Column::Id
    }
    /// Row rules come from the lead or contact a contact point belongs to.
    fn owner_column() -> Option<contact_point::Column> {
        None
    }
    fn archived_at_column() -> Option<contact_point::Column> {
        None
    }
    fn updated_at_column() -> Option<contact_point::Column> {
        Some(contact_point::Column::UpdatedAt)
    }
}

/// Contact points read in the order they were first seen.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FirstSeen;

impl SortField<contact_point::Model> for FirstSeen {
    fn expr(&self) -> SimpleExpr {
        col(contact_point::Column::CreatedAt)
    }
    fn value(&self, point: &contact_point::Model) -> SortValue {
        SortValue::Time(point.created_at)
    }
    fn kind(&self) -> SortKind {
        SortKind::Time
    }
}

/// A contact point seen for the first time now, on a lead or contact, with nothing reported
/// about it yet; `provider` is empty but for a provider's customer id.
pub fn first_seen(
    kind: ContactPointKind,
    provider: &str,
    value: String,
    lead_id: Option<Uuid>,
    contact_id: Option<Uuid>,
) -> contact_point::ActiveModel {
    let now = Utc::now();
    contact_point::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(kind),
        provider: Set(provider.to_owned()),
        value: Set(value),
        normalized: Set(true),
        lead_id: Set(lead_id),
        contact_id: Set(contact_id),
        bounced_at: Set(None),
        unsubscribed_at: Set(None),
        spam_reported_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// The contact point of a kind, provider and value, if one was seen before.
pub async fn find(
    conn: &impl ConnectionTrait,
    kind: ContactPointKind,
    provider: &str,
    value: &str,
) -> Result<Option<contact_point::Model>> {
    Ok(contact_point::Entity::find()
        .filter(contact_point::Column::Kind.eq(kind))
        .filter(contact_point::Column::Provider.eq(provider))
        .filter(contact_point::Column::Value.eq(value))
        .one(conn)
        .await?)
}

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
