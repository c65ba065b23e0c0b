//! Filters on a record type's columns, and their translation into SQL conditions that mean the
//! same on SQLite and PostgreSQL (case-insensitive matching lowercases both sides instead of
//! relying on either store's collation). A [`Filter`] is plain data: tests on columns combined
//! with `and`, `or` and `not`; [`Filter::condition`] checks its bounds before building SQL, so
//! no filter can exhaust the stack or reach a store's own limits.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, Condition, DbBackend,
    sea_query::{Alias, Expr, ExprTrait, Func, LikeExpr, SimpleExpr},
};
use uuid::Uuid;

use crate::{
    error::{AppError, Result},
    services::custom_sql::JsonKey,
    validate,
};

/// Most values an `in` list may hold.
const MAX_IN: usize = 500;
/// Longest custom field key a filter names; keys are short names, not data.
const MAX_KEY: usize = 256;
/// Longest text a filter compares with (SQLite refuses LIKE patterns past 50,000 bytes).
const MAX_TEXT: usize = 1_000;
/// Most levels of `and`/`or`/`not` one filter may nest.
const MAX_LOGIC_DEPTH: usize = 5;
/// Most filter objects one filter may hold: itself and every `and`, `or` and `not` part.
const MAX_PARTS: usize = 100;
/// Most values one filter may bind, far below what either store accepts in one statement
/// (SQLite 32,766; PostgreSQL 65,535), which row rules and paging share.
const MAX_VALUES: usize = 5_000;

/// Tests on a record type's columns: every test must hold, and every filter in `and`, and one
/// of `or` (when given), and not `not`.
#[derive(Clone, Debug)]
pub struct Filter<C> {
    tests: Vec<Test<C>>,
    pub and: Vec<Filter<C>>,
    pub or: Option<Vec<Filter<C>>>,
    pub not: Option<Box<Filter<C>>>,
}

impl<C> Default for Filter<C> {
    fn default() -> Self {
        Filter {
            tests: Vec::new(),
            and: Vec::new(),
            or: None,
            not: None,
        }
    }
}

/// One test on one column; `field` names it in error messages as the caller spells it.
#[derive(Clone, Debug)]
struct Test<C> {
    field: &'static str,
    column: C,
    test: FieldTest,
}

/// What a column is tested with.
#[derive(Clone, Debug)]
pub enum FieldTest {
    Text(StringFilter),
    Int(IntFilter),
    Time(DateTimeFilter),
    Id(IdFilter),
    Enum(EnumFilter),
    /// Equal to the value.
    Bool(bool),
    /// Tests on keys of a JSON object column; each must hold.
    Custom(Vec<CustomFieldFilter>),
    /// A test on the row of another table the column points at.
    Related(Box<Related>),
}

/// The column holds a `key` of `table`, and `test` holds on that row's `column` (a deal's
/// stage belongs to a pipeline): `column IN (SELECT key FROM table WHERE test)`.
#[derive(Clone, Debug)]
pub struct Related {
    pub table: &'static str,
    pub key: &'static str,
    pub column: &'static str,
    pub test: FieldTest,
}

impl<C: ColumnTrait> Filter<C> {
    /// Adds a test on `column`, when there is one.
    pub fn on(mut self, field: &'static str, column: C, test: Option<FieldTest>) -> Self {
        if let Some(test) = test {
            self.tests.push(Test {
                field,
                column,
                test,
            });
        }
        self
    }

    /// Whether the filter tests nothing at all (every record passes).
    pub fn is_empty(&self) -> bool {
        self.tests.is_empty() && self.and.is_empty() && self.or.is_none() && self.not.is_none()
    }

    /// Whether any part of the filter, however nested, tests `column`.
    pub fn tests_column(&self, column: C) -> bool {
        let mut pending = vec![self];
        while let Some(filter) = pending.pop() {
            if filter
                .tests
                .iter()
                .any(|t| t.column.as_str() == column.as_str())
            {
                return true;
            }
            pending.extend(filter.and.iter().chain(filter.or.iter().flatten()));
            pending.extend(filter.not.as_deref());
        }
        false
    }

    /// Every custom field test of the filter, however nested, for checking against the
    /// definitions; walks a work list rather than recursing.
    pub(in crate::services) fn custom_tests_mut(&mut self) -> Vec<&mut CustomFieldFilter> {
        let mut found = Vec::new();
        let mut pending = vec![self];
        while let Some(filter) = pending.pop() {
            let Filter {
                tests,
                and,
                or,
                not,
            } = filter;
            for test in tests {
                if let FieldTest::Custom(custom) = &mut test.test {
                    found.extend(custom.iter_mut());
                }
            }
            pending.extend(and.iter_mut());
            pending.extend(or.iter_mut().flatten());
            pending.extend(not.as_deref_mut());
        }
        found
    }

    /// The SQL condition the filter stands for on `backend`, or why it is refused.
    pub fn condition(&self, backend: DbBackend) -> Result<Condition> {
        self.check_shape()?;
        let condition = self.build(backend)?;
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

    /// Refuses a filter nested too deep or made of too many parts, walking a work list rather
    /// than recursing.
    fn check_shape(&self) -> Result<()> {
        let mut pending = vec![(self, 0usize)];
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
            let nested = filter.and.iter().chain(filter.or.iter().flatten());
            pending.extend(nested.chain(filter.not.as_deref()).map(|f| (f, depth + 1)));
        }
        Ok(())
    }

    /// Built only once [`Self::check_shape`] has bounded the recursion.
    fn build(&self, backend: DbBackend) -> Result<Condition> {
        let mut all = Condition::all();
        for Test {
            field,
            column,
            test,
        } in &self.tests
        {
            all = all.add(test.condition(field, *column, backend)?);
        }
        for filter in &self.and {
            all = all.add(filter.build(backend)?);
        }
        if let Some(alternatives) = &self.or {
            let mut any = Condition::any();
            for filter in alternatives {
                any = any.add(filter.build(backend)?);
            }
            all = all.add(any);
        }
        if let Some(filter) = &self.not {
            all = all.add(filter.build(backend)?.not());
        }
        Ok(all)
    }
}

impl FieldTest {
    fn condition<C: ColumnTrait>(
        &self,
        field: &str,
        column: C,
        backend: DbBackend,
    ) -> Result<Condition> {
        match self {
            FieldTest::Custom(tests) => tests.iter().try_fold(Condition::all(), |all, test| {
                Ok(all.add(test.condition(field, column, backend)?))
            }),
            FieldTest::Related(related) => related.condition(field, col(column)),
            plain => plain.on_value(field, col(column)),
        }
    }

    /// The test on one plain value; a JSON key or another table is not one.
    fn on_value(&self, field: &str, expr: SimpleExpr) -> Result<Condition> {
        match self {
            FieldTest::Text(test) => test.condition(field, expr),
            FieldTest::Int(test) => test.condition(field, expr),
            FieldTest::Time(test) => test.condition(field, expr),
            FieldTest::Id(test) => test.condition(field, expr),
            FieldTest::Enum(test) => test.condition(field, expr),
            FieldTest::Bool(value) => Ok(Condition::all().add(expr.eq(*value))),
            FieldTest::Custom(_) | FieldTest::Related(_) => Err(AppError::internal(
                anyhow::anyhow!("{field}: not a test on one value"),
            )),
        }
    }
}

impl Related {
    fn condition(&self, field: &str, expr: SimpleExpr) -> Result<Condition> {
        let table = Alias::new(self.table);
        let there = Expr::col((table.clone(), Alias::new(self.column)));
        let keys = sea_orm::sea_query::Query::select()
            .column((table.clone(), Alias::new(self.key)))
            .from(table)
            .cond_where(self.test.on_value(field, there)?)
            .take();
        Ok(Condition::all().add(expr.in_subquery(keys)))
    }
}

#[derive(Clone, Debug, Default)]
pub struct StringFilter {
    pub eq: Option<String>,
    /// Also matches records where the field is empty.
    pub ne: Option<String>,
    pub in_: Option<Vec<String>>,
    /// Case-insensitive substring match.
    pub contains: Option<String>,
    /// Case-insensitive prefix match.
    pub starts_with: Option<String>,
    pub is_null: Option<bool>,
}

#[derive(Clone, Debug, Default)]
pub struct IntFilter {
    pub eq: Option<i64>,
    pub ne: Option<i64>,
    pub in_: Option<Vec<i64>>,
    pub gt: Option<i64>,
    pub gte: Option<i64>,
    pub lt: Option<i64>,
    pub lte: Option<i64>,
    pub is_null: Option<bool>,
}

#[derive(Clone, Debug, Default)]
pub struct DateTimeFilter {
    pub eq: Option<DateTime<Utc>>,
    pub gt: Option<DateTime<Utc>>,
    pub gte: Option<DateTime<Utc>>,
    pub lt: Option<DateTime<Utc>>,
    pub lte: Option<DateTime<Utc>>,
    pub is_null: Option<bool>,
}

#[derive(Clone, Debug, Default)]
pub struct IdFilter {
    pub eq: Option<Uuid>,
    pub ne: Option<Uuid>,
    pub in_: Option<Vec<Uuid>>,
    pub is_null: Option<bool>,
}

/// Equality tests on an enumeration, by the values the store keeps.
#[derive(Clone, Debug, Default)]
pub struct EnumFilter {
    pub eq: Option<String>,
    pub ne: Option<String>,
    pub in_: Option<Vec<String>>,
    pub is_null: Option<bool>,
}

impl EnumFilter {
    /// Matches any of `values`.
    pub fn any_of<T: sea_orm::ActiveEnum<Value = String>>(values: &[T]) -> Self {
        EnumFilter {
            in_: Some(values.iter().map(|v| v.to_value()).collect()),
            ..Default::default()
        }
    }
}

/// A test on one custom field's value: as text, as a number or as a date, for any key (untyped
/// writers leave keys no definition names); and, for a key typed by its definition (see
/// [`crate::services::custom_filter::check`]), by the options of a multi select or the amount
/// and currency of money.
#[derive(Clone, Debug, Default)]
pub struct CustomFieldFilter {
    /// The custom field's key: letters, digits and underscores.
    pub key: String,
    pub eq: Option<String>,
    pub in_: Option<Vec<String>>,
    /// Case-insensitive substring match.
    pub contains: Option<String>,
    /// Bounds on a number; a value that is not a number is out of any range.
    pub gte: Option<f64>,
    pub lte: Option<f64>,
    /// Bounds on a date (`YYYY-MM-DD`, as date fields store them).
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub is_null: Option<bool>,
    /// A multi select holding at least one of these option values.
    pub has_any: Option<Vec<String>>,
    /// A multi select holding every one of these option values.
    pub has_all: Option<Vec<String>>,
    pub money: Option<MoneyFilter>,
    /// The type of the key's definition, once checked against it: the typed tests need it.
    pub(in crate::services) typed: Option<entity::enums::CustomFieldType>,
}

/// Tests on a money value. Bounds are decimal amounts (`"1250.50"`) in `currency`, which they
/// need: amounts in different currencies do not compare, so only values in that currency
/// match.
#[derive(Clone, Debug, Default)]
pub struct MoneyFilter {
    /// ISO 4217; alone, the value's currency equals it.
    pub currency: Option<String>,
    pub gte: Option<String>,
    pub lte: Option<String>,
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

impl StringFilter {
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

impl IntFilter {
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

impl DateTimeFilter {
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

impl IdFilter {
    fn condition(&self, field: &str, column: SimpleExpr) -> Result<Condition> {
        let mut all = Condition::all();
        if let Some(id) = self.eq {
            all = all.add(column.clone().eq(id));
        }
        if let Some(id) = self.ne {
            all = all.add(
                Condition::any()
                    .add(column.clone().ne(id))
                    .add(column.clone().is_null()),
            );
        }
        if let Some(ids) = &self.in_ {
            check_in_len(field, ids.len())?;
            all = all.add(column.clone().is_in(ids.iter().copied()));
        }
        if let Some(check) = null_check(&column, self.is_null) {
            all = all.add(check);
        }
        Ok(all)
    }
}

impl EnumFilter {
    fn condition(&self, field: &str, column: SimpleExpr) -> Result<Condition> {
        let mut all = Condition::all();
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
            all = all.add(column.clone().is_in(values.iter().cloned()));
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

impl CustomFieldFilter {
    /// A test on `key` that tests nothing yet; typed only by a check against its definition.
    pub fn on_key(key: String) -> Self {
        CustomFieldFilter {
            key,
            ..Default::default()
        }
    }

    fn condition<C: ColumnTrait>(
        &self,
        field: &str,
        column: C,
        backend: DbBackend,
    ) -> Result<Condition> {
        if self.key.chars().count() > MAX_KEY {
            return Err(AppError::bad_input(
                format!("{field}.key"),
                format!("at most {MAX_KEY} characters"),
            ));
        }
        let json = JsonKey::new(&format!("{field}.key"), column.as_str(), &self.key, backend)?;
        let value = json.any_as_text();
        let number = json.number();
        let text = StringFilter {
            eq: self.eq.clone(),
            in_: self.in_.clone(),
            contains: self.contains.clone(),
            is_null: self.is_null,
            ..Default::default()
        };
        let mut all = text.condition(field, value.clone())?;
        for bound in [self.gte, self.lte].into_iter().flatten() {
            if !bound.is_finite() {
                return Err(AppError::bad_input(field, "bounds are finite numbers"));
            }
        }
        if self.gte.is_some() || self.lte.is_some() {
            all = all.add(comparisons(&number, [None, None, self.gte, None, self.lte]));
        }
        let day = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
        if self.from.is_some() || self.to.is_some() {
            // Only a date-shaped text is a date: `2027-01-31` sorts as text in date order.
            let dated = Condition::all().add(value.clone().like("____-__-__"));
            all = all.add(dated).add(comparisons(
                &value,
                [None, None, day(self.from), None, day(self.to)],
            ));
        }
        Ok(all.add(self.typed_condition(field, &json)?))
    }

    /// The tests only a key typed by its definition takes. Refused for a key that was not
    /// checked against one, so no caller can skip the check of the options and the currency.
    fn typed_condition(&self, field: &str, json: &JsonKey) -> Result<Condition> {
        use entity::enums::CustomFieldType as T;
        let mut all = Condition::all();
        let options = [(&self.has_any, false), (&self.has_all, true)];
        for (values, every) in options {
            let Some(values) = values else { continue };
            if self.typed != Some(T::MultiSelect) {
                return Err(AppError::bad_input(
                    field,
                    "hasAny and hasAll test multi select fields",
                ));
            }
            let mut wanted: Vec<String> = values.clone();
            wanted.sort();
            wanted.dedup();
            if wanted.is_empty() || wanted.len() > MAX_IN {
                return Err(AppError::bad_input(
                    field,
                    format!("hasAny and hasAll take 1 to {MAX_IN} option values"),
                ));
            }
            let needed = if every { wanted.len() as i64 } else { 1 };
            all = all.add(json.items_among(&wanted).gte(needed));
        }
        if let Some(money) = &self.money {
            if self.typed != Some(T::Money) {
                return Err(AppError::bad_input(field, "money tests money fields"));
            }
            all = all.add(money.condition(&format!("{field}.money"), json)?);
        }
        Ok(all)
    }
}

impl MoneyFilter {
    fn condition(&self, field: &str, json: &JsonKey) -> Result<Condition> {
        let bounded = self.gte.is_some() || self.lte.is_some();
        let Some(currency) = &self.currency else {
            if bounded {
                return Err(AppError::bad_input(
                    format!("{field}.currency"),
                    "amount bounds need the currency they are in",
                ));
            }
            return Ok(Condition::all());
        };
        let currency_field = format!("{field}.currency");
        check_text(&currency_field, currency)?;
        let currency = validate::currency(&currency_field, currency)?;
        let mut all = Condition::all().add(json.money_currency().eq(currency.code()));
        let minor = |name: &str, bound: &Option<String>| -> Result<Option<f64>> {
            let Some(bound) = bound else { return Ok(None) };
            let name = format!("{field}.{name}");
            check_text(&name, bound)?;
            // Minor units as the store reads them, a double: exact for any amount a write takes.
            Ok(Some(validate::amount_minor(&name, bound, currency)? as f64))
        };
        let (gte, lte) = (minor("gte", &self.gte)?, minor("lte", &self.lte)?);
        if bounded {
            all = all.add(comparisons(
                &json.money_minor(),
                [None, None, gte, None, lte],
            ));
        }
        Ok(all)
    }
}
