//! Which columns a list's nodes need, read off the query: each output type that supports it maps
//! its fields to the columns they read. A field without a mapping makes the list read whole rows,
//! so a new field is never served from a column that was not read.

use async_graphql::{Context, SelectionField};
use sea_orm::EntityTrait;

use crate::services::{projection::Columns, records::Record};

pub trait Projected {
    type Entity: Record;
    /// The columns every row needs besides its id and parent: those its list sorts by.
    const SORT_COLUMNS: &'static [<Self::Entity as EntityTrait>::Column];
    /// The columns `field` reads, or `None` when it is not mapped.
    fn columns(field: &str) -> Option<&'static [<Self::Entity as EntityTrait>::Column]>;
}

/// The columns the nodes of the connection being resolved read, through `edges { node }` or
/// `nodes`; `None` when one of their fields is not mapped.
pub fn selected<T: Projected>(ctx: &Context<'_>) -> Option<Columns> {
    let mut columns = T::SORT_COLUMNS.to_vec();
    for field in ctx.field().selection_set().flat_map(nodes) {
        if field.name() != "__typename" {
            columns.extend_from_slice(T::columns(field.name())?);
        }
    }
    Columns::of::<T::Entity>(columns)
}

/// The fields selected on the nodes under one field of a connection.
fn nodes<'a>(field: SelectionField<'a>) -> Vec<SelectionField<'a>> {
    match field.name() {
        "edges" => field
            .selection_set()
            .filter(|edge| edge.name() == "node")
            .flat_map(|node| node.selection_set().collect::<Vec<_>>())
            .collect(),
        "nodes" => field.selection_set().collect(),
        _ => Vec::new(),
    }
}
