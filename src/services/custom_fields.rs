//! Typed custom fields: the definitions admins give each record type, and the check every
//! record write runs its custom field values through.
//!
//! A record keeps its values in one JSON object keyed by definition key, so a label rename
//! touches no record and an archived definition's values stay where they are: reads show only
//! the values of live definitions, and restoring a definition brings its values back. Values
//! are stored in one shape per type (money as `{"minor", "currency"}`, a date as `YYYY-MM-DD`,
//! a multi select as a list of option values), which the sales rules and filters read by key.

use std::collections::{BTreeMap, HashSet};

use chrono::{NaiveDate, Utc};
use entity::{
    custom_field_def,
    enums::{CustomFieldRecordType, CustomFieldType, Role},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, sea_query::SimpleExpr,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    services::{
        Services,
        filter::col,
        input::{LONG_TEXT, Patch, SHORT_TEXT},
        page::{SortField, SortKind, SortValue},
        records::{self, Record},
        scope,
    },
    validate,
};

/// Longest key: short enough to read in a filter, long enough to say what it holds.
pub const KEY_MAX: usize = 64;
/// Most options a select offers.
pub const OPTIONS_MAX: usize = 200;
/// Most values one write may set: more than any record type has fields is a mistake.
pub const VALUES_PER_WRITE_MAX: usize = 200;

impl Record for custom_field_def::Entity {
    type OrderField = ByCreation;
    const KIND: &'static str = "custom_field";
    /// Everyone who reads records reads what their fields mean.
    const READERS: &'static [Role] = &[
        Role::Admin,
        Role::Manager,
        Role::Sales,
        Role::Marketing,
        Role::Support,
    ];
    const WRITERS: &'static [Role] = &[Role::Admin];
    fn id_column() -> custom_field_def::Column {
        custom_field_def::Column::Id
    }
    fn owner_column() -> Option<custom_field_def::Column> {
        None
    }
    fn archived_at_column() -> Option<custom_field_def::Column> {
        Some(custom_field_def::Column::ArchivedAt)
    }
    fn updated_at_column() -> Option<custom_field_def::Column> {
        Some(custom_field_def::Column::UpdatedAt)
    }
}

/// Definitions are listed in the order they were made.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ByCreation {
    CreatedAt,
}

impl SortField<custom_field_def::Model> for ByCreation {
    fn expr(&self) -> SimpleExpr {
        col(custom_field_def::Column::CreatedAt)
    }
    fn value(&self, model: &custom_field_def::Model) -> SortValue {
        SortValue::Time(model.created_at)
    }
    fn kind(&self) -> SortKind {
        SortKind::Time
    }
}

/// One choice of a select: the stored value and the label people read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldOption {
    pub value: String,
    pub label: String,
}

/// A new definition as an admin describes it.
#[derive(Clone, Debug)]
pub struct NewField {
    pub record_type: CustomFieldRecordType,
    pub key: String,
    pub label: String,
    pub field_type: CustomFieldType,
    pub required: bool,
    pub options: Vec<FieldOption>,
    /// As a value is written; checked against the type and the options.
    pub default: Option<Value>,
}

/// What an admin may change of a definition; the key, the record type and the type are fixed,
/// since stored values depend on them. `None` keeps a field.
#[derive(Clone, Debug, Default)]
pub struct FieldChanges {
    pub label: Option<String>,
    pub required: Option<bool>,
    pub options: Option<Vec<FieldOption>>,
    pub default: Patch<Value>,
}

/// One value a write sets: `None` clears the key.
#[derive(Clone, Debug)]
pub struct FieldValue {
    pub key: String,
    pub value: Option<Value>,
}

/// The definitions of `record_type`, oldest first; archived ones only when asked for.
pub async fn definitions<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    record_type: CustomFieldRecordType,
    with_archived: bool,
) -> Result<Vec<custom_field_def::Model>> {
    let mut select = scope::visible::<custom_field_def::Entity>(actor)?
        .filter(custom_field_def::Column::RecordType.eq(record_type));
    if !with_archived {
        select = select.filter(custom_field_def::Column::ArchivedAt.is_null());
    }
    Ok(select
        .order_by_asc(custom_field_def::Column::CreatedAt)
        .order_by_asc(custom_field_def::Column::Id)
        .all(conn)
        .await?)
}

/// The definitions of `record_type` the actor may read, removed ones included: what filters and
/// orders are checked against (see [`queryable_key`]).
pub async fn queryable<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    record_type: CustomFieldRecordType,
) -> Result<Vec<custom_field_def::Model>> {
    definitions(conn, actor, record_type, true).await
}

/// Whether the actor may filter or order by `definition`: a live field, and no amount for a
/// role that may not see amounts (an order by one would rank records by it).
pub fn usable(actor: &Actor, definition: &custom_field_def::Model) -> bool {
    definition.archived_at.is_none()
        && (definition.field_type != CustomFieldType::Money || scope::can_see_amounts(actor))
}

/// The definition of `key` among `definitions` (from [`queryable`]) the actor may filter or
/// order by. An unknown key, a removed field's and one the actor may not use are refused
/// alike, so the answer does not tell them apart; `field` names the key in the error.
pub fn queryable_key<'a>(
    actor: &Actor,
    definitions: &'a [custom_field_def::Model],
    record_type: CustomFieldRecordType,
    field: &str,
    key: &str,
) -> Result<&'a custom_field_def::Model> {
    definitions
        .iter()
        .find(|d| d.key == key && usable(actor, d))
        .ok_or_else(|| {
            AppError::bad_input(
                field,
                format!(
                    "no {} custom field `{}` to filter or order by",
                    record_type.as_str(),
                    printable(key)
                ),
            )
        })
}

/// The live definitions of `record_type`, whoever asks: what a write is checked against.
async fn live<C: ConnectionTrait>(
    conn: &C,
    record_type: CustomFieldRecordType,
) -> Result<Vec<custom_field_def::Model>> {
    Ok(custom_field_def::Entity::find()
        .filter(custom_field_def::Column::RecordType.eq(record_type))
        .filter(custom_field_def::Column::ArchivedAt.is_null())
        .order_by_asc(custom_field_def::Column::CreatedAt)
        .all(conn)
        .await?)
}

pub async fn create(
    svc: &Services,
    actor: &Actor,
    input: NewField,
) -> Result<custom_field_def::Model> {
    scope::ensure_writer::<custom_field_def::Entity>(actor)?;
    let key = checked_key(&input.key)?;
    let label = validate::required_text("label", &input.label, SHORT_TEXT)?;
    let options = checked_options(input.field_type, input.options)?;
    let now = Utc::now();
    let mut definition = custom_field_def::Model {
        id: Uuid::now_v7(),
        record_type: input.record_type,
        key,
        label,
        field_type: input.field_type,
        required: input.required,
        options,
        default_value: None,
        archived_at: None,
        created_at: now,
        updated_at: now,
    };
    if let Some(default) = input.default {
        let region = &svc.config.default_phone_region;
        definition.default_value = Some(stored_value("default", &definition, default, region)?);
    }
    records::alone::<custom_field_def::Entity>(svc, actor, async |txn| {
        let taken = custom_field_def::Entity::find()
            .filter(custom_field_def::Column::RecordType.eq(definition.record_type))
            .filter(custom_field_def::Column::Key.eq(definition.key.as_str()))
            .one(txn)
            .await?;
        if let Some(taken) = taken {
            return Err(AppError::conflict(
                "key",
                format!(
                    "the {} field `{}` exists already{}",
                    definition.record_type.as_str(),
                    taken.key,
                    if taken.archived_at.is_some() {
                        " (removed; restore it instead)"
                    } else {
                        ""
                    }
                ),
            ));
        }
        let model = custom_field_def::ActiveModel {
            id: Set(definition.id),
            record_type: Set(definition.record_type),
            key: Set(definition.key.clone()),
            label: Set(definition.label.clone()),
            field_type: Set(definition.field_type),
            required: Set(definition.required),
            options: Set(definition.options.clone()),
            default_value: Set(definition.default_value.clone()),
            archived_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        records::insert_in::<custom_field_def::Entity>(txn, actor, model).await
    })
    .await
}

/// Changes a definition's label, requirement, options or default; values stay as stored.
pub async fn update(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    changes: FieldChanges,
) -> Result<custom_field_def::Model> {
    let region = svc.config.default_phone_region.clone();
    let keep_default = changes.default.is_keep();
    records::update::<custom_field_def::Entity, _>(
        svc,
        actor,
        id,
        "update",
        async |_, before, active| {
            let mut after = before.clone();
            if let Some(label) = changes.label {
                after.label = validate::required_text("label", &label, SHORT_TEXT)?;
            }
            if let Some(required) = changes.required {
                after.required = required;
            }
            if let Some(options) = changes.options {
                after.options = checked_options(after.field_type, options)?;
            }
            match changes.default {
                Patch::Keep => {}
                Patch::Clear => after.default_value = None,
                Patch::Set(value) => {
                    after.default_value = Some(stored_value("default", &after, value, &region)?)
                }
            }
            // A default that names an option just dropped would be refused on every create.
            if keep_default && let Some(default) = after.default_value.clone() {
                stored_value("default", &after, default, &region)?;
            }
            active.label = Set(after.label);
            active.required = Set(after.required);
            active.options = Set(after.options);
            active.default_value = Set(after.default_value);
            Ok(())
        },
    )
    .await
}

/// Removes a definition: reads stop showing its values and writes refuse its key; the values
/// stay on the records and come back with [`restore`].
pub async fn remove(svc: &Services, actor: &Actor, id: Uuid) -> Result<custom_field_def::Model> {
    records::archive::<custom_field_def::Entity>(svc, actor, id).await
}

pub async fn restore(svc: &Services, actor: &Actor, id: Uuid) -> Result<custom_field_def::Model> {
    records::restore::<custom_field_def::Entity>(svc, actor, id).await
}

/// The values `stored` holds for live `definitions`, in their order: what a read shows.
pub fn visible_values<'a>(
    definitions: &'a [custom_field_def::Model],
    stored: &'a Value,
) -> impl Iterator<Item = (&'a custom_field_def::Model, &'a Value)> {
    definitions
        .iter()
        .filter(|d| d.archived_at.is_none())
        .filter_map(|d| Some((d, stored.get(&d.key).filter(|v| !v.is_null())?)))
}

/// `stored` with `changes` merged in, each checked against the live definitions of
/// `record_type`; a key left out keeps its value, a `None` clears it. On create (`creating`),
/// defaults fill keys still empty and every required field must then hold a value; on update a
/// required field cannot be cleared.
pub async fn merge<C: ConnectionTrait>(
    conn: &C,
    region: &str,
    record_type: CustomFieldRecordType,
    stored: &Value,
    changes: Vec<FieldValue>,
    creating: bool,
) -> Result<Value> {
    const FIELD: &str = "customFields";
    if changes.len() > VALUES_PER_WRITE_MAX {
        return Err(AppError::bad_input(
            FIELD,
            format!("at most {VALUES_PER_WRITE_MAX} values in one write"),
        ));
    }
    if changes.is_empty() && !creating {
        return Ok(stored.clone());
    }
    let definitions = live(conn, record_type).await?;
    let by_key: BTreeMap<&str, &custom_field_def::Model> =
        definitions.iter().map(|d| (d.key.as_str(), d)).collect();
    let mut values: Map<String, Value> = stored.as_object().cloned().unwrap_or_default();
    let mut seen = HashSet::new();
    for change in changes {
        let Some(definition) = by_key.get(change.key.as_str()) else {
            return Err(AppError::bad_input(
                format!("{FIELD}.{}", printable(&change.key)),
                format!("no {} custom field has this key", record_type.as_str()),
            ));
        };
        let field = format!("{FIELD}.{}", definition.key);
        if !seen.insert(definition.key.clone()) {
            return Err(AppError::bad_input(field, "set twice in one write"));
        }
        match change.value.filter(|v| !v.is_null()) {
            Some(value) => {
                values.insert(
                    definition.key.clone(),
                    stored_value(&field, definition, value, region)?,
                );
            }
            None => {
                values.remove(&definition.key);
            }
        }
    }
    for definition in &definitions {
        let empty = values.get(&definition.key).is_none_or(Value::is_null);
        if !empty {
            continue;
        }
        if creating && let Some(default) = &definition.default_value {
            values.insert(definition.key.clone(), default.clone());
            continue;
        }
        if definition.required && (creating || stored.get(&definition.key).is_some()) {
            return Err(AppError::bad_input(
                format!("{FIELD}.{}", definition.key),
                "required",
            ));
        }
    }
    validate::custom_fields(FIELD, values)
}

/// A key as an error may quote it: a refused key can be anything a client sent.
pub fn printable(key: &str) -> String {
    let mut shown: String = key
        .chars()
        .filter(|c| !c.is_control())
        .take(KEY_MAX)
        .collect();
    if shown.len() < key.len() {
        shown.push('…');
    }
    shown
}

fn checked_key(raw: &str) -> Result<String> {
    let key = raw.trim();
    let snake = key
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let starts_with_letter = key.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    if !snake || !starts_with_letter || key.len() > KEY_MAX {
        return Err(AppError::bad_input(
            "key",
            format!(
                "snake_case: a lowercase letter, then lowercase letters, digits and underscores, at most {KEY_MAX} in all"
            ),
        ));
    }
    Ok(key.to_owned())
}

/// Options as stored: only selects have them, and a select needs at least one; values are
/// unique keys, labels free text.
fn checked_options(field_type: CustomFieldType, options: Vec<FieldOption>) -> Result<Value> {
    let select = matches!(
        field_type,
        CustomFieldType::SingleSelect | CustomFieldType::MultiSelect
    );
    if !select {
        if !options.is_empty() {
            return Err(AppError::bad_input("options", "only selects have options"));
        }
        return Ok(json!([]));
    }
    if options.is_empty() || options.len() > OPTIONS_MAX {
        return Err(AppError::bad_input(
            "options",
            format!("a select offers 1 to {OPTIONS_MAX} options"),
        ));
    }
    let mut seen = HashSet::new();
    let mut stored = Vec::with_capacity(options.len());
    for (i, option) in options.into_iter().enumerate() {
        let value =
            validate::required_text(&format!("options.{i}.value"), &option.value, SHORT_TEXT)?;
        let label =
            validate::required_text(&format!("options.{i}.label"), &option.label, SHORT_TEXT)?;
        if value.contains('\0') || label.contains('\0') {
            return Err(AppError::bad_input(
                format!("options.{i}"),
                "no NUL characters",
            ));
        }
        if !seen.insert(value.clone()) {
            return Err(AppError::bad_input(
                format!("options.{i}.value"),
                "two options share a value",
            ));
        }
        stored.push(json!({ "value": value, "label": label }));
    }
    Ok(Value::Array(stored))
}

/// The option values of a select definition.
pub fn option_values(definition: &custom_field_def::Model) -> Vec<(String, String)> {
    definition
        .options
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| {
            Some((
                o.get("value")?.as_str()?.to_owned(),
                o.get("label")?.as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// `value` checked against `definition` and put in the shape it is stored in.
fn stored_value(
    field: &str,
    definition: &custom_field_def::Model,
    value: Value,
    region: &str,
) -> Result<Value> {
    let bad = |message: &str| AppError::bad_input(field, message.to_owned());
    let text = |value: &Value| -> Result<String> {
        let text = value.as_str().ok_or_else(|| bad("expected a string"))?;
        if text.contains('\0') {
            return Err(bad("no NUL characters"));
        }
        Ok(text.to_owned())
    };
    let option = |value: &Value| -> Result<String> {
        let chosen = text(value)?;
        if option_values(definition).iter().any(|(v, _)| *v == chosen) {
            Ok(chosen)
        } else {
            Err(AppError::bad_input(
                field,
                format!("`{}` is not one of the options", printable(&chosen)),
            ))
        }
    };
    Ok(match definition.field_type {
        CustomFieldType::Text => {
            Value::String(validate::required_text(field, &text(&value)?, LONG_TEXT)?)
        }
        CustomFieldType::Number => match value {
            Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => Value::Number(n),
            _ => return Err(bad("expected a finite number")),
        },
        CustomFieldType::Money => {
            let amount = value
                .get("amount")
                .ok_or_else(|| bad("expected {\"amount\": \"12.50\", \"currency\": \"EUR\"}"))?;
            let currency = value
                .get("currency")
                .ok_or_else(|| bad("expected {\"amount\": \"12.50\", \"currency\": \"EUR\"}"))?;
            let extra = value.as_object().is_some_and(|o| o.len() > 2);
            if extra {
                return Err(bad("a money value holds only an amount and a currency"));
            }
            let currency = validate::currency(&format!("{field}.currency"), &text(currency)?)?;
            let amount = match amount {
                Value::Number(n) => n.to_string(),
                other => text(other)?,
            };
            let minor = validate::amount_minor(&format!("{field}.amount"), &amount, currency)?;
            json!({ "minor": minor, "currency": currency.code() })
        }
        CustomFieldType::Date => {
            let day = NaiveDate::parse_from_str(&text(&value)?, "%Y-%m-%d")
                .map_err(|_| bad("expected an ISO date, YYYY-MM-DD"))?;
            validate::date(field, &day)?;
            Value::String(day.format("%Y-%m-%d").to_string())
        }
        CustomFieldType::Boolean => match value {
            Value::Bool(b) => Value::Bool(b),
            _ => return Err(bad("expected true or false")),
        },
        CustomFieldType::SingleSelect => Value::String(option(&value)?),
        CustomFieldType::MultiSelect => {
            let items = value
                .as_array()
                .ok_or_else(|| bad("expected a list of option values"))?;
            let mut chosen: Vec<String> = Vec::with_capacity(items.len());
            for item in items {
                let item = option(item)?;
                if !chosen.contains(&item) {
                    chosen.push(item);
                }
            }
            json!(chosen)
        }
        CustomFieldType::Url => Value::String(validate::web_url(field, &text(&value)?)?),
        CustomFieldType::Email => Value::String(validate::email(field, &text(&value)?)?),
        CustomFieldType::Phone => Value::String(validate::phone(field, &text(&value)?, region)?),
    })
}

/// Runs a write's custom field values through [`merge`] into a record's `custom_fields`
/// column. `None` is a writer that sets no typed values (the inbox worker, conversion): the
/// column is left as it is, unheld to required fields, so no touch is lost to a field only a
/// person can fill.
pub async fn write_into<C: ConnectionTrait>(
    conn: &C,
    region: &str,
    record_type: CustomFieldRecordType,
    column: &mut sea_orm::ActiveValue<Value>,
    changes: Option<Vec<FieldValue>>,
    creating: bool,
) -> Result<()> {
    let Some(changes) = changes else {
        return Ok(());
    };
    let stored = match column {
        sea_orm::ActiveValue::Set(v) | sea_orm::ActiveValue::Unchanged(v) => v.clone(),
        sea_orm::ActiveValue::NotSet => json!({}),
    };
    *column = Set(merge(conn, region, record_type, &stored, changes, creating).await?);
    Ok(())
}
