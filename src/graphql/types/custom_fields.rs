//! Custom fields as clients read them: the definitions, and a record's values typed by them.
//!
//! A value is the JSON its type stores: TEXT, DATE (`"2026-12-03"`), URL, EMAIL, PHONE (E.164)
//! and SINGLE_SELECT (the option value) are strings; NUMBER is a number; BOOLEAN a boolean;
//! MULTI_SELECT a list of option values; MONEY `{"minor": 1250, "currency": "EUR"}`, the amount
//! in minor units of the currency.

use async_graphql::{Context, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{
    custom_field_def,
    enums::{CustomFieldRecordType, CustomFieldType},
};

use crate::{error::Result, graphql::ContextExt, services::custom_fields};

/// An admin's definition of a custom field on one record type.
pub struct CustomFieldDefinition(pub custom_field_def::Model);

#[Object]
impl CustomFieldDefinition {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn record_type(&self) -> CustomFieldRecordType {
        self.0.record_type
    }
    /// Names the value in inputs, filters and the sales rules; never changes.
    async fn key(&self) -> &str {
        &self.0.key
    }
    async fn label(&self) -> &str {
        &self.0.label
    }
    #[graphql(name = "type")]
    async fn field_type(&self) -> CustomFieldType {
        self.0.field_type
    }
    /// A new record must have a value (or get the default); an existing one cannot lose it.
    async fn required(&self) -> bool {
        self.0.required
    }
    /// The choices of a select, in order; empty for other types.
    async fn options(&self) -> Vec<CustomFieldOption> {
        custom_fields::option_values(&self.0)
            .into_iter()
            .map(|(value, label)| CustomFieldOption { value, label })
            .collect()
    }
    /// The value a new record gets when its creator gives none, shaped as values are.
    async fn default(&self) -> Option<Json<serde_json::Value>> {
        self.0.default_value.clone().map(Json)
    }
    /// Set once the field is removed; its values are kept but not shown.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One choice of a select: `value` is stored and written, `label` is shown.
#[derive(SimpleObject)]
pub struct CustomFieldOption {
    pub value: String,
    pub label: String,
}

/// A record's value of one live custom field.
#[derive(SimpleObject)]
pub struct CustomFieldValue {
    pub key: String,
    pub label: String,
    #[graphql(name = "type")]
    pub field_type: CustomFieldType,
    /// Shaped by `type`: TEXT, DATE (`"2026-12-03"`), URL, EMAIL, PHONE (E.164) and
    /// SINGLE_SELECT (the option value) are strings; NUMBER a number; BOOLEAN a boolean;
    /// MULTI_SELECT a list of option values; MONEY `{"minor": 1250, "currency": "EUR"}`.
    pub value: Json<serde_json::Value>,
}

/// The values `stored` holds for the live definitions of `record_type`, in definition order.
pub async fn values_of(
    ctx: &Context<'_>,
    record_type: CustomFieldRecordType,
    stored: &serde_json::Value,
) -> Result<Vec<CustomFieldValue>> {
    let definitions = ctx
        .loaders()?
        .custom_fields
        .load_one(record_type)
        .await?
        .unwrap_or_default();
    Ok(custom_fields::visible_values(&definitions, stored)
        .map(|(definition, value)| CustomFieldValue {
            key: definition.key.clone(),
            label: definition.label.clone(),
            field_type: definition.field_type,
            value: Json(value.clone()),
        })
        .collect())
}
