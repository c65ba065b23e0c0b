//! Where a custom field's value sits in a record's `custom_fields` JSON column, as SQL that means
//! the same on SQLite and PostgreSQL. Each read is guarded by the JSON type it expects, since
//! untyped writers (web forms through the inbox) may have left any JSON under a key: a value of
//! another type reads as NULL on both stores rather than as whatever each store would make of it.
//!
//! The key is a literal in the SQL, so [`JsonKey::new`] accepts only letters, digits and
//! underscores; values a caller compares with are always bound parameters.

use sea_orm::{
    DbBackend,
    sea_query::{Expr, SimpleExpr},
};

use crate::error::{AppError, Result};

/// One key of one JSON column, on one store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonKey {
    column: String,
    key: String,
    backend: DbBackend,
}

impl JsonKey {
    /// `field` names the key in the error when it is not letters, digits and underscores.
    pub fn new(field: &str, column: &str, key: &str, backend: DbBackend) -> Result<Self> {
        let plain =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain(key) || !plain(column) {
            return Err(AppError::bad_input(
                field,
                "letters, digits and underscores only",
            ));
        }
        Ok(JsonKey {
            column: column.to_owned(),
            key: key.to_owned(),
            backend,
        })
    }

    fn postgres(&self) -> bool {
        self.backend == DbBackend::Postgres
    }

    /// The JSON value under the key (PostgreSQL) or its path (SQLite), with `path` below it.
    fn at(&self, path: &[&str]) -> (String, String) {
        let (column, key) = (&self.column, &self.key);
        let pg = path
            .iter()
            .fold(format!("(\"{column}\" -> '{key}')"), |json, step| {
                format!("({json} -> '{step}')")
            });
        let lite = path
            .iter()
            .fold(format!("'$.{key}"), |p, step| format!("{p}.{step}"));
        (pg, format!("{lite}'"))
    }

    /// The JSON type under `path`, spelt as PostgreSQL's `json_typeof` spells it, or NULL.
    fn type_at(&self, path: &[&str]) -> String {
        let (pg, lite) = self.at(path);
        if self.postgres() {
            format!("json_typeof({pg})")
        } else {
            let column = &self.column;
            format!(
                "(CASE json_type(\"{column}\", {lite}) WHEN 'text' THEN 'string' \
                 WHEN 'integer' THEN 'number' WHEN 'real' THEN 'number' \
                 WHEN 'true' THEN 'boolean' WHEN 'false' THEN 'boolean' \
                 ELSE json_type(\"{column}\", {lite}) END)"
            )
        }
    }

    /// The scalar under `path` as the store's text (PostgreSQL) or native value (SQLite).
    fn scalar_at(&self, path: &[&str]) -> String {
        let (pg, lite) = self.at(path);
        if self.postgres() {
            let (head, last) = pg.rsplit_once(" -> ").unwrap_or((&pg, ""));
            format!("{head} ->> {last}")
        } else {
            format!("json_extract(\"{}\", {lite})", self.column)
        }
    }

    /// The value as text, whatever its type (a boolean reads `true` or `false`, a number as
    /// written): what the untyped text operators compare with.
    pub fn any_as_text(&self) -> SimpleExpr {
        let (column, key) = (&self.column, &self.key);
        Expr::cust(if self.postgres() {
            format!("(\"{column}\" ->> '{key}')")
        } else {
            // SQLite's `true` would otherwise read 1.
            format!(
                "(CASE json_type(\"{column}\", '$.{key}') WHEN 'true' THEN 'true' \
                 WHEN 'false' THEN 'false' \
                 ELSE CAST(json_extract(\"{column}\", '$.{key}') AS TEXT) END)"
            )
        })
    }

    /// A number under `path` as a double; NULL for anything else.
    fn number_at(&self, path: &[&str]) -> SimpleExpr {
        let ty = self.type_at(path);
        let value = self.scalar_at(path);
        let cast = if self.postgres() {
            format!("({value})::double precision")
        } else {
            format!("CAST({value} AS REAL)")
        };
        Expr::cust(format!("(CASE WHEN {ty} = 'number' THEN {cast} END)"))
    }

    /// The value when it is a number; NULL for anything else.
    pub fn number(&self) -> SimpleExpr {
        self.number_at(&[])
    }

    /// A money value's amount in minor units; NULL unless it has a numeric `minor`.
    pub fn money_minor(&self) -> SimpleExpr {
        self.number_at(&["minor"])
    }

    /// A money value's currency code; NULL unless it has a text `currency`.
    pub fn money_currency(&self) -> SimpleExpr {
        Expr::cust(self.string_at(&["currency"], false))
    }

    /// A string under `path`, folded to ASCII lowercase when `folded`; NULL for anything else.
    /// Both stores compare it byte by byte (SQLite's BINARY, PostgreSQL's "C"), and both fold
    /// only ASCII letters (SQLite's LOWER; PostgreSQL's under "C"), whatever the database's
    /// locale, so a list is in the same order on either.
    fn string_at(&self, path: &[&str], folded: bool) -> String {
        let ty = self.type_at(path);
        let mut value = self.scalar_at(path);
        if self.postgres() {
            value = format!("(({value}) COLLATE \"C\")");
        }
        if folded {
            value = format!("LOWER({value})");
        }
        format!("(CASE WHEN {ty} = 'string' THEN {value} END)")
    }

    /// The value when it is a string, ASCII-folded; NULL for anything else.
    pub fn folded(&self) -> SimpleExpr {
        Expr::cust(self.string_at(&[], true))
    }

    /// The value when it is a string shaped as a date (`YYYY-MM-DD`, which sorts as text in
    /// date order); NULL for anything else.
    pub fn date(&self) -> SimpleExpr {
        let text = self.string_at(&[], false);
        Expr::cust(format!(
            "(CASE WHEN {text} LIKE '____-__-__' THEN {text} END)"
        ))
    }

    /// The value when it is a boolean, as 0 or 1; NULL for anything else.
    pub fn boolean(&self) -> SimpleExpr {
        let ty = self.type_at(&[]);
        let value = if self.postgres() {
            self.scalar_at(&[])
        } else {
            let (_, lite) = self.at(&[]);
            format!("json_type(\"{}\", {lite})", self.column)
        };
        Expr::cust(format!(
            "(CASE WHEN {ty} = 'boolean' THEN (CASE WHEN {value} = 'true' THEN 1 ELSE 0 END) END)"
        ))
    }

    /// A list's first item when it is a string, ASCII-folded; NULL for anything else.
    pub fn first_item_folded(&self) -> SimpleExpr {
        let list = self.type_at(&[]);
        let (pg, lite) = self.at(&[]);
        let (ty, value) = if self.postgres() {
            (
                format!("json_typeof({pg} -> 0)"),
                format!("LOWER(({pg} ->> 0) COLLATE \"C\")"),
            )
        } else {
            let column = &self.column;
            let first = format!("{}[0]'", lite.trim_end_matches('\''));
            (
                format!("json_type(\"{column}\", {first})"),
                format!("LOWER(json_extract(\"{column}\", {first}))"),
            )
        };
        let string = if self.postgres() { "string" } else { "text" };
        Expr::cust(format!(
            "(CASE WHEN {list} = 'array' AND {ty} = '{string}' THEN {value} END)"
        ))
    }

    /// How many distinct string items of the list (none when the value is not a list) are
    /// among `values`.
    pub fn items_among(&self, values: &[String]) -> SimpleExpr {
        let list = self.type_at(&[]);
        let (pg, lite) = self.at(&[]);
        let (items, placeholders): (String, Vec<String>) = if self.postgres() {
            (
                format!(
                    "SELECT COUNT(DISTINCT (e.v #>> '{{}}')) FROM json_array_elements({pg}) AS e(v) \
                     WHERE json_typeof(e.v) = 'string' AND (e.v #>> '{{}}') IN"
                ),
                (1..=values.len()).map(|i| format!("${i}")).collect(),
            )
        } else {
            (
                format!(
                    "SELECT COUNT(DISTINCT e.value) FROM json_each(\"{}\", {lite}) AS e \
                     WHERE e.type = 'text' AND e.value IN",
                    self.column
                ),
                values.iter().map(|_| "?".to_owned()).collect(),
            )
        };
        // PostgreSQL refuses to list the items of anything but an array, so the count is only
        // reached for one; SQLite would list a lone string as one item.
        Expr::cust_with_values(
            format!(
                "(CASE WHEN {list} = 'array' THEN ({items} ({})) ELSE 0 END)",
                placeholders.join(", ")
            ),
            values.iter().cloned(),
        )
    }
}
