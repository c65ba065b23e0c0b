//! Keyset pagination: a page is the rows after a cursor in id order (ids are UUIDv7, so this is
//! creation order), never an OFFSET, so pages stay stable while rows are inserted.

use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use uuid::Uuid;

use crate::error::Result;

#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub first: u64,
    pub after: Option<Uuid>,
}

pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next: bool,
    pub has_previous: bool,
    pub total: u64,
}

pub async fn fetch<E: EntityTrait>(
    db: &DatabaseConnection,
    select: Select<E>,
    id: E::Column,
    request: PageRequest,
) -> Result<Page<E::Model>>
where
    E::Model: Send + Sync,
{
    let total = select.clone().count(db).await?;
    let select = match request.after {
        Some(after) => select.filter(id.gt(after)),
        None => select,
    };
    let mut items = select
        .order_by_asc(id)
        .limit(request.first + 1)
        .all(db)
        .await?;
    let has_next = items.len() as u64 > request.first;
    items.truncate(request.first as usize);
    Ok(Page {
        items,
        has_next,
        has_previous: request.after.is_some(),
        total,
    })
}
