//! What makes a table a CRM record type: who may read and write it, how it is owned, ordered,
//! archived and announced. The lifecycle in [`super::records`] and the rules in
//! [`super::scope`] are written once against this trait.

use entity::enums::{CustomFieldRecordType, Role};
use sea_orm::{ActiveModelBehavior, ActiveModelTrait, EntityTrait, IntoActiveModel};
use serde::Serialize;

use crate::{
    actor::Actor,
    error::Result,
    events::Event,
    services::{filter::Filter, page},
};

/// What happened to a record, for [`Record::event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
}

/// A CRM record type and the rules that govern it.
pub trait Record:
    EntityTrait<
        Model: Serialize + IntoActiveModel<Self::ActiveModel> + Send + Sync,
        ActiveModel: ActiveModelTrait<Entity = Self> + ActiveModelBehavior + Send,
    >
{
    /// Singular name used in audit actions and messages (`lead`).
    const KIND: &'static str;
    const READERS: &'static [Role];
    const WRITERS: &'static [Role];
    fn id_column() -> Self::Column;
    /// The column the row rules read, when the type has per-user ownership.
    fn owner_column() -> Option<Self::Column>;
    /// The input field that sets the owner, as the API spells it.
    const OWNER_FIELD: &'static str = "ownerId";
    /// The fields a list of these records can be ordered by.
    type OrderField: page::SortField<Self::Model> + Send + Sync;
    /// The order of a list when the caller asks for none; the id (creation order) when empty.
    fn default_order() -> Vec<(Self::OrderField, page::SortDirection)> {
        Vec::new()
    }
    /// Set when the record is archived; `None` for history that is never archived.
    fn archived_at_column() -> Option<Self::Column>;
    fn updated_at_column() -> Option<Self::Column>;
    /// Set on a record merged into another (a tombstone): the id of the record it became.
    /// `None` for types that do not merge.
    fn merged_into_column() -> Option<Self::Column> {
        None
    }
    /// The model whose fields stand in for columns a list did not read; lists of a type without
    /// one always read whole rows. See [`crate::services::projection`].
    fn blank() -> Option<Self::Model> {
        None
    }
    /// Refuses a list the actor may not ask for, such as one filtered or ordered by a field the
    /// actor may not read; any list by default.
    fn ensure_listable(
        actor: &Actor,
        filter: &Filter<Self::Column>,
        order: &[(Self::OrderField, page::SortDirection)],
    ) -> Result<()> {
        let _ = (actor, filter, order);
        Ok(())
    }
    /// The columns whose every change is kept as a transition (a status, a stage); see
    /// [`super::transitions`]. None by default.
    fn tracked() -> Vec<Self::Column> {
        Vec::new()
    }
    /// The column search reads and the columns whose words it holds, folded (see
    /// [`super::search`]); the lifecycle rewrites it on every write. None by default.
    fn search_text() -> Option<(Self::Column, Vec<Self::Column>)> {
        None
    }
    /// The type a record is filed under for duplicate detection and its keys there (see
    /// [`super::match_keys`]); none for types dedupe does not cover.
    fn match_keys(model: &Self::Model) -> Option<(CustomFieldRecordType, Vec<String>)> {
        let _ = model;
        None
    }
    /// What subscribers hear once a change to a record of this type is committed; nothing
    /// unless the type says so.
    fn event(change: Change, model: &Self::Model) -> Option<Event> {
        let _ = (change, model);
        None
    }
}

/// Where a nested list hangs: the column of the listed type that holds its parent's id (the
/// lead of an activity, the account of a contact). Each type names its own, beside it.
pub struct Parent<E: Record>(pub E::Column);

impl<E: Record> Clone for Parent<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E: Record> Copy for Parent<E> {}
