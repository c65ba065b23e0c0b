//! Keyset pagination in both directions. A page is the rows strictly after (or before) a cursor
//! in the list's order, never an OFFSET, so pages stay stable while rows are inserted. The order
//! always ends with the id, which makes it total; the cursor holds the sort values and the id of
//! the row it points at, and a tag of the order, so it continues no other.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    sea_query::{ExprTrait, SimpleExpr},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    error::{AppError, Result},
    services::projection,
};

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum SortDirection {
    #[default]
    Asc,
    Desc,
}

/// A sort value as a cursor keeps it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum SortValue {
    Text(String),
    Int(i64),
    Time(DateTime<Utc>),
    /// A custom number; always finite.
    Float(f64),
}

impl From<SortValue> for sea_orm::Value {
    fn from(value: SortValue) -> Self {
        match value {
            SortValue::Text(v) => v.into(),
            SortValue::Int(v) => v.into(),
            SortValue::Time(v) => v.into(),
            SortValue::Float(v) => v.into(),
        }
    }
}

impl SortValue {
    fn kind(&self) -> SortKind {
        match self {
            Self::Text(_) => SortKind::Text,
            Self::Int(_) => SortKind::Int,
            Self::Time(_) => SortKind::Time,
            Self::Float(_) => SortKind::Float,
        }
    }

    /// Whether the store can compare it: text without NUL, a time within the years it keeps.
    fn storable(&self) -> bool {
        match self {
            Self::Text(text) => !text.contains('\0'),
            Self::Int(_) => true,
            Self::Time(at) => crate::validate::timestamp("", at).is_ok(),
            Self::Float(v) => v.is_finite(),
        }
    }
}

/// What kind of value a field sorts by.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SortKind {
    Text,
    Int,
    Time,
    Float,
}

/// A field a list can be ordered by: the expression to sort on (nullable text is sorted as
/// the empty string, so both stores order it alike), how to read it from a row, and the kind
/// of value that is, which a cursor for the order must carry.
pub trait SortField<M>: Clone {
    fn expr(&self) -> SimpleExpr;
    fn value(&self, model: &M) -> SortValue;
    fn kind(&self) -> SortKind;
    /// For a field a row may have no value of (a custom field), which puts such rows last in
    /// both directions: 1 for those rows and 0 for the rest, sorted ascending ahead of
    /// [`Self::expr`], on which they must then all sort alike and never as NULL, since NULL
    /// equals nothing in a cursor's comparisons. None for a field every row has.
    fn missing(&self) -> Option<SimpleExpr> {
        None
    }
    /// Whether `model` is a row [`Self::missing`] puts last.
    fn is_missing(&self, model: &M) -> bool {
        let _ = model;
        false
    }
}

/// One expression a list is sorted on, and the kind of value a cursor holds for it.
struct SortKey {
    expr: SimpleExpr,
    direction: SortDirection,
    kind: SortKind,
}

/// What an order sorts on, one field after the other: each field's [`SortField::missing`]
/// flag when it has one, then the field itself.
fn sort_keys_of<M, F: SortField<M>>(order: &[(F, SortDirection)]) -> Vec<SortKey> {
    let mut keys = Vec::with_capacity(order.len());
    for (field, direction) in order {
        if let Some(missing) = field.missing() {
            keys.push(SortKey {
                expr: missing,
                direction: SortDirection::Asc,
                kind: SortKind::Int,
            });
        }
        keys.push(SortKey {
            expr: field.expr(),
            direction: *direction,
            kind: field.kind(),
        });
    }
    keys
}

/// A row's values under [`sort_keys_of`].
fn sort_values_of<M, F: SortField<M>>(row: &M, order: &[(F, SortDirection)]) -> Vec<SortValue> {
    let mut values = Vec::with_capacity(order.len());
    for (field, _) in order {
        if field.missing().is_some() {
            values.push(SortValue::Int(i64::from(field.is_missing(row))));
        }
        values.push(field.value(row));
    }
    values
}

/// Where a page starts: the sort values and id of a row, opaque to clients.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Cursor {
    keys: Vec<SortValue>,
    id: Uuid,
    /// The [`order_tag`] of the order the cursor was made in; it continues no other.
    order: u64,
}

impl Cursor {
    /// Whether the cursor was made in the order `tag` names, with values of the kinds its
    /// fields sort by that the store can compare. Cursors are opaque, not tamper-proof: one
    /// edited by hand must not reach the store as a value it refuses.
    fn continues<M, F: SortField<M>>(&self, tag: u64, order: &[(F, SortDirection)]) -> bool {
        let sorted_on = sort_keys_of(order);
        self.order == tag
            && self.keys.len() == sorted_on.len()
            && self
                .keys
                .iter()
                .zip(sorted_on)
                .all(|(value, key)| value.kind() == key.kind && value.storable())
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(field: &str, raw: &str) -> Result<Self> {
        let bytes = URL_SAFE_NO_PAD
            .decode(raw)
            .map_err(|_| AppError::bad_input(field, "malformed cursor"))?;
        serde_json::from_slice(&bytes).map_err(|_| AppError::bad_input(field, "malformed cursor"))
    }
}

#[derive(Debug, Clone)]
pub struct PageRequest {
    pub window: Window,
    /// Counting all matches costs a query of its own; only done when asked for.
    pub count_total: bool,
}

#[derive(Debug, Clone)]
pub enum Window {
    Forward { first: u64, after: Option<Cursor> },
    Backward { last: u64, before: Option<Cursor> },
}

#[derive(Clone)]
pub struct Page<T> {
    /// Each row with the cursor that points at it.
    pub items: Vec<(Cursor, T)>,
    pub has_next: bool,
    pub has_previous: bool,
    pub total: u64,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            items: Vec::new(),
            has_next: false,
            has_previous: false,
            total: 0,
        }
    }
}

/// One page of `select` in the order `order` (then id), with the total across all pages.
pub async fn fetch<E, F>(
    db: &DatabaseConnection,
    select: Select<E>,
    id: E::Column,
    order: &[(F, SortDirection)],
    request: PageRequest,
) -> Result<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: Send + Sync,
    F: SortField<E::Model>,
{
    let total = if request.count_total {
        select.clone().count(db).await?
    } else {
        0
    };
    let keys = sort_keys(id, order);
    let tag = order_tag(&keys);

    let (limit, cursor, backward) = match &request.window {
        Window::Forward { first, after } => (*first, after.as_ref(), false),
        Window::Backward { last, before } => (*last, before.as_ref(), true),
    };
    let mut query = select;
    if let Some(cursor) = cursor {
        if !cursor.continues(tag, order) {
            return Err(AppError::bad_input(
                if backward { "before" } else { "after" },
                "cursor does not match orderBy",
            ));
        }
        let mut values: Vec<sea_orm::Value> = cursor.keys.iter().cloned().map(Into::into).collect();
        values.push(cursor.id.into());
        query = query.filter(beyond(&keys, values, backward));
    }
    for (expr, direction) in &keys {
        // Walking backwards reads the reversed order, then flips the page back.
        let ascending = (*direction == SortDirection::Asc) != backward;
        query = query.order_by(
            expr.clone(),
            if ascending { Order::Asc } else { Order::Desc },
        );
    }
    let mut rows = query.limit(limit + 1).all(db).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    if backward {
        rows.reverse();
    }
    let items = rows
        .into_iter()
        .map(|row| (cursor_of(&row, id, order, tag), row))
        .collect();
    let (has_next, has_previous) = if backward {
        (cursor.is_some(), more)
    } else {
        (more, cursor.is_some())
    };
    Ok(Page {
        items,
        has_next,
        has_previous,
        total,
    })
}

/// The cursor that points at `row` in `order`.
fn cursor_of<M: sea_orm::ModelTrait, F: SortField<M>>(
    row: &M,
    id: <M::Entity as EntityTrait>::Column,
    order: &[(F, SortDirection)],
    tag: u64,
) -> Cursor {
    let keys = sort_values_of(row, order);
    let id = match row.get(id) {
        sea_orm::Value::Uuid(Some(id)) => id,
        _ => Uuid::nil(),
    };
    Cursor {
        keys,
        id,
        order: tag,
    }
}

/// The expressions a list is sorted on: the order's fields, then the id in the last field's
/// direction, which makes the order total.
fn sort_keys<C: ColumnTrait, M, F: SortField<M>>(
    id: C,
    order: &[(F, SortDirection)],
) -> Vec<(SimpleExpr, SortDirection)> {
    let id_direction = order.last().map_or(SortDirection::Asc, |(_, d)| *d);
    let mut keys: Vec<(SimpleExpr, SortDirection)> = sort_keys_of(order)
        .into_iter()
        .map(|key| (key.expr, key.direction))
        .collect();
    keys.push((crate::services::filter::col(id), id_direction));
    keys
}

/// Names an order, so a cursor made in one order is refused by another instead of being
/// compared against another field's values (of another type, even). `DefaultHasher::new()` has
/// fixed keys, so every replica computes the same tag.
fn order_tag(keys: &[(SimpleExpr, SortDirection)]) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    format!("{keys:?}").hash(&mut hasher);
    hasher.finish()
}

/// Rows strictly after (or before) the cursor's position:
/// `k1 > v1 OR (k1 = v1 AND k2 > v2) OR …`, with `<` for descending keys.
fn beyond(
    keys: &[(SimpleExpr, SortDirection)],
    values: Vec<sea_orm::Value>,
    backward: bool,
) -> Condition {
    let mut any = Condition::any();
    for i in 0..keys.len() {
        let mut branch = Condition::all();
        for (j, (expr, _)) in keys.iter().enumerate().take(i) {
            branch = branch.add(expr.clone().eq(values[j].clone()));
        }
        let (expr, direction) = &keys[i];
        let greater = (*direction == SortDirection::Asc) != backward;
        let value = values[i].clone();
        branch = branch.add(if greater {
            expr.clone().gt(value)
        } else {
            expr.clone().lt(value)
        });
        any = any.add(branch);
    }
    any
}

/// A nullable number column sorted as 0.
pub fn int_key<C: ColumnTrait>(column: C) -> SimpleExpr {
    sea_orm::sea_query::Func::coalesce([crate::services::filter::col(column), 0.into()]).into()
}

/// An RFM score's sort value: a record that never paid sorts as 0, as [`int_key`] has it.
pub fn score(value: Option<i16>) -> SortValue {
    SortValue::Int(value.map_or(0, i64::from))
}

/// A nullable text column sorted as the empty string.
pub fn text_key<C: ColumnTrait>(column: C) -> SimpleExpr {
    sea_orm::sea_query::Func::coalesce([crate::services::filter::col(column), "".into()]).into()
}

/// Which columns of a list to read, and the model that fills the fields of those not read. The
/// columns must include the id, the parent and those the list sorts by.
pub struct Projection<'a, E: EntityTrait> {
    pub columns: &'a [E::Column],
    pub blank: &'a E::Model,
}

/// The first page of children for many parents in two statements, however many parents there
/// are: the rows numbered within each parent by a window function, and the totals grouped by
/// parent. `select` carries the caller's row rules.
// Each argument is a distinct part of the one query; bundling them would only rename them.
#[allow(clippy::too_many_arguments)]
pub async fn first_pages<E, F>(
    db: &DatabaseConnection,
    select: Select<E>,
    id: E::Column,
    parent: E::Column,
    parents: &[Uuid],
    order: &[(F, SortDirection)],
    first: u64,
    count_totals: bool,
    projection: Option<Projection<'_, E>>,
) -> Result<std::collections::HashMap<Uuid, Page<E::Model>>>
where
    E: EntityTrait,
    E::Model: Send + Sync,
    F: SortField<E::Model>,
{
    use sea_orm::{
        FromQueryResult, QueryTrait,
        sea_query::{Alias, Asterisk, Expr, Query, WindowStatement},
    };

    let scoped = select.filter(parent.is_in(parents.iter().copied()));
    let keys = sort_keys(id, order);
    let tag = order_tag(&keys);
    let mut window = WindowStatement::partition_by(parent);
    for (expr, direction) in keys {
        window.order_by_expr(
            expr,
            if direction == SortDirection::Asc {
                Order::Asc
            } else {
                Order::Desc
            },
        );
    }
    let mut numbered = match &projection {
        Some(projection) => scoped
            .clone()
            .select_only()
            .columns(projection.columns.iter().copied())
            .into_query(),
        None => scoped.clone().into_query(),
    };
    numbered.expr_window_as(Expr::cust("ROW_NUMBER()"), window, Alias::new("tb_row"));
    let paged = Query::select()
        .column(Asterisk)
        .from_subquery(numbered, Alias::new("numbered"))
        .and_where(Expr::col(Alias::new("tb_row")).lte(first + 1))
        .order_by(Alias::new("tb_row"), Order::Asc)
        .to_owned();
    let statement = db.get_database_backend().build(&paged);
    let rows = match &projection {
        // The numbered rows hold the projected columns first, in order, then their number.
        Some(projection) => db
            .query_all_raw(statement)
            .await?
            .iter()
            .map(|row| projection::decode::<E>(row, projection.blank, projection.columns))
            .collect::<std::result::Result<Vec<_>, _>>()?,
        None => E::Model::find_by_statement(statement).all(db).await?,
    };

    let totals: std::collections::HashMap<Uuid, i64> = if count_totals {
        scoped
            .select_only()
            .column(parent)
            .column_as(Expr::col(id).count(), "total")
            .group_by(parent)
            .into_tuple::<(Uuid, i64)>()
            .all(db)
            .await?
            .into_iter()
            .collect()
    } else {
        std::collections::HashMap::new()
    };

    let mut pages: std::collections::HashMap<Uuid, Page<E::Model>> = parents
        .iter()
        .map(|p| {
            let total = totals.get(p).copied().unwrap_or(0) as u64;
            (
                *p,
                Page {
                    items: Vec::new(),
                    has_next: false,
                    has_previous: false,
                    total,
                },
            )
        })
        .collect();
    for row in rows {
        let owner = match sea_orm::ModelTrait::get(&row, parent) {
            sea_orm::Value::Uuid(Some(owner)) => owner,
            _ => continue,
        };
        let Some(page) = pages.get_mut(&owner) else {
            continue;
        };
        if page.items.len() as u64 == first {
            page.has_next = true;
            continue;
        }
        page.items.push((cursor_of(&row, id, order, tag), row));
    }
    Ok(pages)
}
