//! Touchpoints: the customer's history. Read here; written by the integrations hub.

use entity::{enums::Role, touchpoint};
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

use crate::services::records::Record;

impl Record for touchpoint::Entity {
    const KIND: &'static str = "touchpoint";
    const READERS: &'static [Role] = &[
        Role::Admin,
        Role::Manager,
        Role::Sales,
        Role::Marketing,
        Role::Support,
    ];
    const WRITERS: &'static [Role] = &[Role::Admin];
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
}

pub fn of_lead(lead: Uuid) -> Condition {
    Condition::all().add(touchpoint::Column::LeadId.eq(lead))
}
