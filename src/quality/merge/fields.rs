//! Choosing the survivor's values: for every column a merge chooses, each record's value, the
//! record the survivor takes it from and whether the records disagree. The caller names the
//! record for any field; otherwise the survivor keeps what it has and fills its blanks from
//! the merged records in the order given, a person's first touch being the earliest of theirs.

use std::{collections::HashSet, str::FromStr};

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, IdenStatic, Iterable, ModelTrait, Value};
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    quality::merge::kinds::{BOOKKEEPING, CUSTOM_FIELDS, Mergeable, Pick},
    services::{records, scope},
};

/// The caller's choice of the record a field comes from.
#[derive(Debug, Clone)]
pub struct Choice {
    /// A column as dedupe rules name them (`first_name`); `firstName` is read alike.
    pub field: String,
    pub from: Uuid,
}

/// One field of a merge: every record's value and the survivor's choice.
#[derive(Debug, Clone)]
pub struct FieldPlan {
    pub field: String,
    /// Each record's value, the survivor's first; null where the caller may not see it.
    pub values: Vec<(Uuid, Json)>,
    pub chosen_from: Uuid,
    pub chosen: Json,
    /// The records hold different values (blanks aside).
    pub conflict: bool,
}

/// The survivor's values: what the caller is shown, and what is written.
pub struct Plan {
    pub fields: Vec<FieldPlan>,
    takes: Vec<Take>,
    custom_fields: Json,
}

/// A column the survivor takes from record `from` (an index, the survivor being 0); `clear`
/// when that value would name a merged record and so is dropped.
struct Take {
    column: &'static str,
    from: usize,
    clear: bool,
}

/// `firstName` and `first_name` alike.
fn column_name(field: &str) -> String {
    let mut name = String::with_capacity(field.len() + 4);
    for c in field.chars() {
        if c.is_ascii_uppercase() {
            name.push('_');
            name.push(c.to_ascii_lowercase());
        } else {
            name.push(c);
        }
    }
    name
}

fn filled(value: &Json) -> bool {
    !(value.is_null() || value.as_str() == Some(""))
}

fn as_time(value: &Json) -> Option<DateTime<Utc>> {
    value.as_str()?.parse().ok()
}

/// The survivor's values for `models` (the survivor first, then the merged records in the
/// order given) under `choices`.
pub fn plan<E: Mergeable>(actor: &Actor, models: &[E::Model], choices: &[Choice]) -> Result<Plan> {
    let ids: Vec<Uuid> = models.iter().map(records::id_of::<E>).collect();
    let rows: Vec<Map<String, Json>> = models
        .iter()
        .map(|m| match serde_json::to_value(m) {
            Ok(Json::Object(row)) => Ok(row),
            _ => Err(AppError::internal(anyhow::anyhow!(
                "a record is not a JSON object"
            ))),
        })
        .collect::<Result<_>>()?;
    let hidden = !scope::can_see_amounts(actor);
    let columns = chosen_columns::<E>();
    let chosen = read_choices::<E>(choices, &columns, &ids, hidden)?;
    let value = |record: usize, column: &str| -> Json {
        let value = rows[record].get(column).cloned().unwrap_or(Json::Null);
        let names_merged = E::SELF_REFERENCES.contains(&column)
            && value
                .as_str()
                .and_then(|v| v.parse().ok())
                .is_some_and(|v| ids.contains(&v));
        if names_merged { Json::Null } else { value }
    };
    let mut fields = Vec::new();
    let mut takes = Vec::new();
    for (group, how) in groups::<E>(&columns) {
        let explicit = group.iter().find_map(|c| chosen.get(c).copied());
        // A role that may not see amounts leaves them as the survivor has them.
        let money = hidden && group.iter().any(|c| E::MONEY.contains(c));
        let from = match explicit {
            Some(from) => from,
            None if money => 0,
            None => pick(&group, how, models.len(), &value),
        };
        for column in group {
            let raw = rows[from].get(column).cloned().unwrap_or(Json::Null);
            let chosen_value = value(from, column);
            takes.push(Take {
                column,
                from,
                clear: raw != chosen_value,
            });
            let masked = hidden && E::MONEY.contains(&column);
            let shown = |v: Json| if masked { Json::Null } else { v };
            let values: Vec<Json> = (0..models.len()).map(|r| value(r, column)).collect();
            let distinct: HashSet<String> = values
                .iter()
                .filter(|v| filled(v))
                .map(Json::to_string)
                .collect();
            fields.push(FieldPlan {
                field: column.to_owned(),
                values: ids
                    .iter()
                    .copied()
                    .zip(values.into_iter().map(shown))
                    .collect(),
                chosen_from: ids[from],
                chosen: shown(chosen_value),
                conflict: distinct.len() > 1,
            });
        }
    }
    let (custom_fields, plan) = custom_fields(&rows, &ids, chosen.get(CUSTOM_FIELDS).copied());
    fields.push(plan);
    Ok(Plan {
        fields,
        takes,
        custom_fields,
    })
}

/// The columns a merge chooses, in table order: all but bookkeeping, computed ones and the
/// custom field object.
fn chosen_columns<E: Mergeable>() -> Vec<&'static str> {
    E::Column::iter()
        .map(|c| c.as_str())
        .filter(|c| !BOOKKEEPING.contains(c) && !E::DERIVED.contains(c) && *c != CUSTOM_FIELDS)
        .collect()
}

/// The type's groups, then every other column as a group of its own.
fn groups<E: Mergeable>(columns: &[&'static str]) -> Vec<(Vec<&'static str>, Pick)> {
    let grouped: HashSet<&str> = E::GROUPS
        .iter()
        .flat_map(|g| g.columns.iter().copied())
        .collect();
    let own = columns
        .iter()
        .filter(|c| !grouped.contains(*c))
        .map(|c| (vec![*c], Pick::Filled));
    E::GROUPS
        .iter()
        .map(|g| (g.columns.to_vec(), g.pick))
        .chain(own)
        .collect()
}

/// The record a group comes from when the caller does not say.
fn pick(group: &[&str], how: Pick, records: usize, value: &impl Fn(usize, &str) -> Json) -> usize {
    let first = group[0];
    match how {
        Pick::Filled => (0..records)
            .find(|&r| filled(&value(r, first)))
            .unwrap_or(0),
        Pick::Earliest | Pick::Latest => {
            let dated = (0..records).filter_map(|r| Some((as_time(&value(r, first))?, r)));
            let best = if how == Pick::Earliest {
                dated.min()
            } else {
                dated.max()
            };
            best.map_or(0, |(_, r)| r)
        }
    }
}

/// The caller's choices as column → record index, each checked.
fn read_choices<E: Mergeable>(
    choices: &[Choice],
    columns: &[&'static str],
    ids: &[Uuid],
    hidden: bool,
) -> Result<std::collections::HashMap<&'static str, usize>> {
    let mut chosen = std::collections::HashMap::new();
    for (i, choice) in choices.iter().enumerate() {
        let name = column_name(&choice.field);
        let column = columns
            .iter()
            .chain(std::iter::once(&CUSTOM_FIELDS))
            .find(|c| **c == name)
            .ok_or_else(|| {
                AppError::bad_input(
                    format!("fields.{i}.field"),
                    format!(
                        "a merge chooses no field `{}` of a {}",
                        truncated(&choice.field),
                        E::KIND
                    ),
                )
            })?;
        if hidden && E::MONEY.contains(column) {
            return Err(AppError::forbidden(format!(
                "a merge by this role cannot choose `{name}`"
            )));
        }
        let from = ids
            .iter()
            .position(|id| *id == choice.from)
            .ok_or_else(|| {
                AppError::bad_input(
                    format!("fields.{i}.recordId"),
                    "not one of the records merged",
                )
            })?;
        if chosen.insert(*column, from).is_some() {
            return Err(AppError::bad_input(
                format!("fields.{i}.field"),
                "chosen twice",
            ));
        }
    }
    for group in E::GROUPS {
        let froms: HashSet<usize> = group
            .columns
            .iter()
            .filter_map(|c| chosen.get(c).copied())
            .collect();
        if froms.len() > 1 {
            return Err(AppError::bad_input(
                "fields",
                format!("{} come from one record together", group.columns.join(", ")),
            ));
        }
    }
    Ok(chosen)
}

fn truncated(text: &str) -> String {
    text.chars().take(64).filter(|c| !c.is_control()).collect()
}

/// The custom field object: the chosen record's whole, or else the survivor's keys with the
/// merged records' other keys added in order.
fn custom_fields(
    rows: &[Map<String, Json>],
    ids: &[Uuid],
    chosen: Option<usize>,
) -> (Json, FieldPlan) {
    let objects: Vec<Map<String, Json>> = rows
        .iter()
        .map(|row| match row.get(CUSTOM_FIELDS) {
            Some(Json::Object(object)) => object.clone(),
            _ => Map::new(),
        })
        .collect();
    let merged = match chosen {
        Some(from) => objects[from].clone(),
        None => {
            let mut merged = Map::new();
            for object in &objects {
                for (key, value) in object {
                    if filled(value) && !merged.contains_key(key) {
                        merged.insert(key.clone(), value.clone());
                    }
                }
            }
            merged
        }
    };
    let conflict = objects.iter().any(|a| {
        objects.iter().any(|b| {
            a.iter().any(|(key, value)| {
                filled(value)
                    && b.get(key)
                        .is_some_and(|other| filled(other) && other != value)
            })
        })
    });
    let chosen_value = Json::Object(merged);
    let plan = FieldPlan {
        field: CUSTOM_FIELDS.to_owned(),
        values: ids
            .iter()
            .copied()
            .zip(objects.into_iter().map(Json::Object))
            .collect(),
        chosen_from: ids[chosen.unwrap_or(0)],
        chosen: chosen_value.clone(),
        conflict,
    };
    (chosen_value, plan)
}

impl Plan {
    /// Writes the chosen values onto the survivor, `models` being the records as [`plan`] saw
    /// them; only what differs from the survivor is set.
    pub fn apply<E: Mergeable>(&self, models: &[E::Model], survivor: &mut E::ActiveModel) {
        for take in &self.takes {
            let Ok(column) = E::Column::from_str(take.column) else {
                continue;
            };
            let mut value = models[take.from].get(column);
            if take.clear {
                value = value.as_null();
            }
            if value != models[0].get(column) {
                survivor.set(column, value);
            }
        }
        if let Ok(column) = E::Column::from_str(CUSTOM_FIELDS) {
            let value = Value::from(self.custom_fields.clone());
            if value != models[0].get(column) {
                survivor.set(column, value);
            }
        }
    }

    /// The survivor's value of a unique column once the merge is written.
    pub fn final_value<E: Mergeable>(&self, models: &[E::Model], column: &str) -> Option<Value> {
        let take = self.takes.iter().find(|t| t.column == column)?;
        let column = E::Column::from_str(column).ok()?;
        let value = models[take.from].get(column);
        Some(if take.clear { value.as_null() } else { value })
    }
}
