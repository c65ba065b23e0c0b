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
    services::input,
};

/// Most values an `in` list may hold.
const MAX_IN: usize = 500;

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
    fn condition(&self, _field: &str, column: SimpleExpr) -> Result<Condition> {
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
