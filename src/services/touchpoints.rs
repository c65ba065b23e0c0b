//! Touchpoints: the customer's history. Read here; written by the integrations hub through
//! the record lifecycle.

use entity::{enums::Role, touchpoint};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, sea_query::SimpleExpr};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::Result,
    events::Event,
    services::{
        filter::col,
        leads,
        page::{Page, PageRequest},
        page::{SortDirection, SortField, SortKind, SortValue},
        records::{self, Change, Parent, Record},
        scope,
    },
};

impl Record for touchpoint::Entity {
    type OrderField = TouchpointOrder;
    const KIND: &'static str = "touchpoint";
    const READERS: &'static [Role] = scope::EVERY_ROLE;
    const WRITERS: &'static [Role] = &[Role::Admin];
    fn default_order() -> Vec<(TouchpointOrder, SortDirection)> {
        vec![(TouchpointOrder::OccurredAt, SortDirection::Asc)]
    }
    fn id_column() -> touchpoint::Column {
        touchpoint::Column::Id
    }
    /// Row rules come from the record a touchpoint hangs on, which the caller has already read.
    fn owner_column() -> Option<touchpoint::Column> {
        None
    }
    fn archived_at_column() -> Option<touchpoint::Column> {
        None
    }
    fn updated_at_column() -> Option<touchpoint::Column> {
        None
    }
    fn blank() -> Option<touchpoint::Model> {
        Some(touchpoint::Model::default())
    }
    /// A new touchpoint on a lead is heard as added to it; a later state of one (a call's next
    /// status) changes the lead's history, so the lead is heard as changed.
    fn event(change: Change, touchpoint: &touchpoint::Model) -> Option<Event> {
        let lead_id = touchpoint.lead_id?;
        Some(match change {
            Change::Created => Event::TouchpointAdded {
                lead_id,
                touchpoint_id: touchpoint.id,
            },
            Change::Updated => Event::LeadChanged { lead_id },
        })
    }
}

/// A contact's history: its own touchpoints and those of the leads converted into it, oldest
/// first.
pub async fn of_contact(
    db: &DatabaseConnection,
    actor: &Actor,
    contact: Uuid,
    request: PageRequest,
) -> Result<Page<touchpoint::Model>> {
    let mine = Condition::any()
        .add(touchpoint::Column::ContactId.eq(contact))
        .add(touchpoint::Column::LeadId.in_subquery(leads::converted_into(contact)));
    records::list_where::<touchpoint::Entity>(db, actor, mine, request).await
}

/// A lead's touchpoints.
pub fn of_lead() -> Parent<touchpoint::Entity> {
    Parent(touchpoint::Column::LeadId)
}

/// Touchpoints are history: they read in the order they happened.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TouchpointOrder {
    OccurredAt,
}

impl SortField<touchpoint::Model> for TouchpointOrder {
    fn expr(&self) -> SimpleExpr {
        col(touchpoint::Column::OccurredAt)
    }

    fn value(&self, touchpoint: &touchpoint::Model) -> SortValue {
        SortValue::Time(touchpoint.occurred_at)
    }

    fn kind(&self) -> SortKind {
        SortKind::Time
    }
}
