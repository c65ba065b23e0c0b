//! Typed filter inputs shared by every list, and their translation into SQL conditions that
//! mean the same on SQLite and PostgreSQL (case-insensitive matching lowercases both sides
//! instead of relying on either store's collation).

use async_graphql::{EnumType, ID, InputObject, InputType};
use chrono::{DateTime, Utc};
use sea_orm::{
    Condition, DbBackend,
    sea_query::{Expr, ExprTrait, Func, LikeExpr, SimpleExpr},
};

use crate::{
    error::{AppError, Result},
    services::{
        accounts::AccountFilter, activities::ActivityFilter, campaigns::CampaignFilter,
        contacts::ContactFilter, input, leads::LeadFilter, opportunities::OpportunityFilter,
    },
    validate,
};

/// Most values an `in` list may hold.
const MAX_IN: usize = 500;
/// Longest text a filter compares with (SQLite refuses LIKE patterns past 50,000 bytes).
const MAX_TEXT: usize = 1_000;
/// Most levels of `and`/`or`/`not` one filter may nest.
const MAX_LOGIC_DEPTH: usize = 5;
/// Most filter objects one filter may hold: itself and every `and`, `or` and `not` part.
const MAX_PARTS: usize = 100;
/// Most values one filter may bind, far below what either store accepts in one statement
/// (SQLite 32,766; PostgreSQL 65,535), which row rules and paging share.
const MAX_VALUES: usize = 5_000;

#[derive(InputObject, Default)]
pub struct StringFilter {
    pub eq: Option<String>,
    /// Also matches records where the field is empty.
    pub ne: Option<String>,
    #[graphql(name = "in")]
    pub in_: Option<Vec<String>>,
    /// Case-insensitive substring match.
    pub contains: Option<String>,
    /// Case-insensitive prefix match.
    pub starts_with: Option<String>,
    pub is_null: Option<bool>,
}

#[derive(InputObject, Default)]
pub struct IntFilter {
    pub eq: Option<i64>,
    pub ne: Option<i64>,
    #[graphql(name = "in")]
    pub in_: Option<Vec<i64>>,
    pub gt: Option<i64>,
    pub gte: Option<i64>,
    pub lt: Option<i64>,
    pub lte: Option<i64>,
    pub is_null: Option<bool>,
}

#[derive(InputObject, Default)]
pub struct DateTimeFilter {
    pub eq: Option<DateTime<Utc>>,
    pub gt: Option<DateTime<Utc>>,
    pub gte: Option<DateTime<Utc>>,
    pub lt: Option<DateTime<Utc>>,
    pub lte: Option<DateTime<Utc>>,
    pub is_null: Option<bool>,
}

#[derive(InputObject, Default)]
pub struct IdFilter {
    pub eq: Option<ID>,
    pub ne: Option<ID>,
    #[graphql(name = "in")]
    pub in_: Option<Vec<ID>>,
    pub is_null: Option<bool>,
}

/// Equality tests on an enumeration.
#[derive(InputObject)]
#[graphql(concrete(name = "LeadStatusFilter", params(entity::enums::LeadStatus)))]
#[graphql(concrete(name = "LifecycleStageFilter", params(entity::enums::LifecycleStage)))]
#[graphql(concrete(name = "SourceCategoryFilter", params(entity::enums::SourceCategory)))]
#[graphql(concrete(name = "AccountStatusFilter", params(entity::enums::AccountStatus)))]
#[graphql(concrete(name = "ActivityKindFilter", params(entity::enums::ActivityKind)))]
#[graphql(concrete(name = "CampaignStatusFilter", params(entity::enums::CampaignStatus)))]
pub struct EnumFilter<T: EnumType + InputType> {
    pub eq: Option<T>,
    pub ne: Option<T>,
    #[graphql(name = "in")]
    pub in_: Option<Vec<T>>,
    pub is_null: Option<bool>,
}

fn null_check(column: &SimpleExpr, is_null: Option<bool>) -> Option<SimpleExpr> {
    is_null.map(|null| {
        if null {
            column.clone().is_null()
        } else {
            column.clone().is_not_null()
        }
    })
}

fn check_text(field: &str, text: &str) -> Result<()> {
    if text.chars().count() > MAX_TEXT {
        return Err(AppError::bad_input(
            field,
            format!("filters compare at most {MAX_TEXT} characters"),
        ));
    }
    Ok(())
}

fn check_in_len(field: &str, len: usize) -> Result<()> {
    if len > MAX_IN {
        return Err(AppError::bad_input(
            field,
            format!("`in` takes at most {MAX_IN} values"),
        ));
    }
    Ok(())
}

/// `%`, `_` and the escape character match themselves.
fn like_pattern(prefix: &str, text: &str, suffix: &str) -> LikeExpr {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    LikeExpr::new(format!("{prefix}{escaped}{suffix}")).escape('\\')
}

/// A filter on one column; `field` names it in error messages.
pub trait ColumnFilter {
    fn condition(&self, field: &str, column: SimpleExpr) -> Result<Condition>;
}

impl ColumnFilter for StringFilter {
    fn condition(&self, field: &str, column: SimpleExpr) -> Result<Condition> {
        let texts = [&self.eq, &self.ne, &self.contains, &self.starts_with];
        for text in texts.into_iter().flatten().chain(self.in_.iter().flatten()) {
            check_text(field, text)?;
        }
        let mut all = Condition::all();
        let lower = || SimpleExpr::from(Func::lower(column.clone()));
        if let Some(v) = &self.eq {
            all = all.add(column.clone().eq(v.clone()));
        }
        if let Some(v) = &self.ne {
            all = all.add(
                Condition::any()
                    .add(column.clone().ne(v.clone()))
                    .add(column.clone().is_null()),
            );
        }
        if let Some(values) = &self.in_ {
            check_in_len(field, values.len())?;
            all = all.add(column.clone().is_in(values.clone()));
        }
        if let Some(v) = &self.contains {
            all = all.add(lower().like(like_pattern("%", v, "%")));
        }
        if let Some(v) = &self.starts_with {
            all = all.add(lower().like(like_pattern("", v, "%")));
        }
        if let Some(check) = null_check(&column, self.is_null) {
            all = all.add(check);
        }
        Ok(all)
    }
}

/// `eq`, `gt`, `gte`, `lt`, `lte` against one column.
fn comparisons<V: Into<sea_orm::Value>>(column: &SimpleExpr, bounds: [Option<V>; 5]) -> Condition {
    let ops: [fn(SimpleExpr, sea_orm::Value) -> SimpleExpr; 5] = [
        |c, v| c.eq(v),
        |c, v| c.gt(v),
        |c, v| c.gte(v),
        |c, v| c.lt(v),
        |c, v| c.lte(v),
    ];
    bounds
        .into_iter()
        .zip(ops)
        .fold(Condition::all(), |all, (bound, op)| match bound {
            Some(v) => all.add(op(column.clone(), v.into())),
            None => all,
        })
}

impl ColumnFilter for IntFilter {
    fn condition(&self, field: &str, column: SimpleExpr) -> Result<Condition> {
        let mut all = comparisons(&column, [self.eq, self.gt, self.gte, self.lt, self.lte]);
        if let Some(v) = self.ne {
            all = all.add(
                Condition::any()
                    .add(column.clone().ne(v))
                    .add(column.clone().is_null()),
            );
        }
        if let Some(values) = &self.in_ {
            check_in_len(field, values.len())?;
            all = all.add(column.clone().is_in(values.clone()));
        }
        if let Some(check) = null_check(&column, self.is_null) {
            all = all.add(check);
        }
        Ok(all)
    }
}

impl ColumnFilter for DateTimeFilter {
    fn condition(&self, field: &str, column: SimpleExpr) -> Result<Condition> {
        for bound in [self.eq, self.gt, self.gte, self.lt, self.lte]
            .iter()
            .flatten()
        {
            validate::timestamp(field, bound)?;
        }
        let mut all = comparisons(&column, [self.eq, self.gt, self.gte, self.lt, self.lte]);
        if let Some(check) = null_check(&column, self.is_null) {
            all = all.add(check);
        }
        Ok(all)
    }
}

impl ColumnFilter for IdFilter {
    fn condition(&self, field: &str, column: SimpleExpr) -> Result<Condition> {
        let mut all = Condition::all();
        if let Some(id) = &self.eq {
            all = all.add(column.clone().eq(input::uuid(field, id)?));
        }
        if let Some(id) = &self.ne {
            let id = input::uuid(field, id)?;
            all = all.add(
                Condition::any()
                    .add(column.clone().ne(id))
                    .add(column.clone().is_null()),
            );
        }
        if let Some(ids) = &self.in_ {
            check_in_len(field, ids.len())?;
            let ids = ids
                .iter()
                .map(|id| input::uuid(field, id))
                .collect::<Result<Vec<_>>>()?;
            all = all.add(column.clone().is_in(ids));
        }
        if let Some(check) = null_check(&column, self.is_null) {
            all = all.add(check);
        }
        Ok(all)
    }
}

impl<T: EnumType + InputType + sea_orm::ActiveEnum<Value = String>> ColumnFilter for EnumFilter<T> {
    fn condition(&self, field: &str, column: SimpleExpr) -> Result<Condition> {
        let mut all = Condition::all();
        if let Some(v) = &self.eq {
            all = all.add(column.clone().eq(sea_orm::ActiveEnum::to_value(v)));
        }
        if let Some(v) = &self.ne {
            all = all.add(
                Condition::any()
                    .add(column.clone().ne(sea_orm::ActiveEnum::to_value(v)))
                    .add(column.clone().is_null()),
            );
        }
        if let Some(values) = &self.in_ {
            check_in_len(field, values.len())?;
            all = all.add(
                column
                    .clone()
                    .is_in(values.iter().map(|v| sea_orm::ActiveEnum::to_value(v))),
            );
        }
        if let Some(check) = null_check(&column, self.is_null) {
            all = all.add(check);
        }
        Ok(all)
    }
}

/// A column as a filterable expression.
pub fn col<C: sea_orm::ColumnTrait>(column: C) -> SimpleExpr {
    Expr::col(column)
}

/// Gathers the conditions of a filter input: each field that is set, then `and`, `or` and `not`.
pub struct Conditions(Condition);

impl Default for Conditions {
    fn default() -> Self {
        Conditions(Condition::all())
    }
}

impl Conditions {
    /// Adds `filter`'s test on `column`, when the filter is set.
    pub fn on<F: ColumnFilter, C: sea_orm::ColumnTrait>(
        self,
        filter: &Option<F>,
        field: &str,
        column: C,
    ) -> Result<Self> {
        match filter {
            Some(filter) => Ok(self.with(filter.condition(field, col(column))?)),
            None => Ok(self),
        }
    }

    pub fn with(self, condition: Condition) -> Self {
        Conditions(self.0.add(condition))
    }

    /// Adds the `and`, `or` and `not` parts of a filter and returns the whole condition.
    pub fn combine<F>(
        self,
        and: &Option<Vec<F>>,
        or: &Option<Vec<F>>,
        not: &Option<Box<F>>,
        condition: impl Fn(&F) -> Result<Condition>,
    ) -> Result<Condition> {
        let mut all = self.0;
        for filter in and.iter().flatten() {
            all = all.add(condition(filter)?);
        }
        if let Some(alternatives) = or {
            let mut any = Condition::any();
            for filter in alternatives {
                any = any.add(condition(filter)?);
            }
            all = all.add(any);
        }
        if let Some(filter) = not {
            all = all.add(condition(filter)?.not());
        }
        Ok(all)
    }
}

/// The filters a record filter combines with `and`, `or` and `not`.
pub struct Parts<'a, F> {
    and: &'a Option<Vec<F>>,
    or: &'a Option<Vec<F>>,
    not: &'a Option<Box<F>>,
}

/// A record filter, as far as its shape goes.
pub trait Logical: Sized {
    fn parts(&self) -> Parts<'_, Self>;
}

macro_rules! logical {
    ($($filter:ty),*) => {$(
        impl Logical for $filter {
            fn parts(&self) -> Parts<'_, Self> {
                Parts { and: &self.and, or: &self.or, not: &self.not }
            }
        }
    )*};
}

logical!(
    LeadFilter,
    ContactFilter,
    AccountFilter,
    OpportunityFilter,
    ActivityFilter,
    CampaignFilter
);

/// Translates a record filter once its shape is known to be within bounds, and refuses one
/// that would bind too many values. Every list's filter goes through here, so no filter can
/// exhaust the stack or reach a store's own limits (which would fail as an internal error).
pub fn translate<F: Logical>(
    filter: &F,
    condition: impl FnOnce(&F) -> Result<Condition>,
) -> Result<Condition> {
    let mut pending = vec![(filter, 0usize)];
    let mut parts = 0;
    while let Some((filter, depth)) = pending.pop() {
        parts += 1;
        if depth > MAX_LOGIC_DEPTH {
            return Err(AppError::bad_input(
                "filter",
                format!("`and`, `or` and `not` nest at most {MAX_LOGIC_DEPTH} levels"),
            ));
        }
        if parts > MAX_PARTS {
            return Err(AppError::bad_input(
                "filter",
                format!("a filter holds at most {MAX_PARTS} `and`, `or` and `not` parts"),
            ));
        }
        let Parts { and, or, not } = filter.parts();
        let nested = and.iter().chain(or.iter()).flatten();
        pending.extend(nested.chain(not.as_deref()).map(|f| (f, depth + 1)));
    }
    let condition = condition(filter)?;
    let (_, values) = sea_orm::sea_query::Query::select()
        .cond_where(condition.clone())
        .build(sea_orm::sea_query::SqliteQueryBuilder);
    if values.0.len() > MAX_VALUES {
        return Err(AppError::bad_input(
            "filter",
            format!("a filter compares with at most {MAX_VALUES} values in all"),
        ));
    }
    Ok(condition)
}

/// A test on one custom field's value, read as text.
#[derive(InputObject)]
pub struct CustomFieldFilter {
    /// The custom field's name: letters, digits and underscores.
    pub key: String,
    pub eq: Option<String>,
    /// Case-insensitive substring match.
    pub contains: Option<String>,
    pub is_null: Option<bool>,
}

impl CustomFieldFilter {
    pub fn condition<C: sea_orm::ColumnTrait>(
        &self,
        backend: DbBackend,
        column: C,
    ) -> Result<Condition> {
        if self.key.is_empty()
            || !self
                .key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(AppError::bad_input(
                "customFields.key",
                "letters, digits and underscores only",
            ));
        }
        let name = column.as_str();
        // The key is checked above to hold only letters, digits and underscores, so it can sit
        // in the SQL as a literal; both stores yield the value as text.
        let key = &self.key;
        let value: SimpleExpr = match backend {
            DbBackend::Postgres => Expr::cust(format!("(\"{name}\" ->> '{key}')")),
            _ => Expr::cust(format!("CAST(json_extract(\"{name}\", '$.{key}') AS TEXT)")),
        };
        let text = StringFilter {
            eq: self.eq.clone(),
            contains: self.contains.clone(),
            is_null: self.is_null,
            ..Default::default()
        };
        text.condition("customFields", value)
    }
}
