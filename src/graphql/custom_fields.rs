//! The custom fields API: everyone reads the definitions of a record type; admins create,
//! change, remove and restore them. Values are written through the records' own inputs
//! (`customFieldValues`) and read on the records (`customFieldValues`).

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use entity::enums::{CustomFieldRecordType, CustomFieldType};

use crate::{
    error::Result,
    graphql::{ContextExt, changes::uuid, types::CustomFieldDefinition},
    services::custom_fields::{self, FieldChanges, FieldOption, NewField},
};

/// One choice of a select: `value` is what records store, `label` what people read.
#[derive(InputObject)]
pub struct CustomFieldOptionInput {
    pub value: String,
    pub label: String,
}

fn options(input: Vec<CustomFieldOptionInput>) -> Vec<FieldOption> {
    input
        .into_iter()
        .map(|o| FieldOption {
            value: o.value,
            label: o.label,
        })
        .collect()
}

/// A new custom field. The key (snake_case, at most 64 characters) and the type are fixed once
/// made; selects need options.
#[derive(InputObject)]
pub struct NewCustomFieldInput {
    pub record_type: CustomFieldRecordType,
    pub key: String,
    pub label: String,
    #[graphql(name = "type")]
    pub field_type: CustomFieldType,
    #[graphql(default = false)]
    pub required: bool,
    #[graphql(default)]
    pub options: Vec<CustomFieldOptionInput>,
    /// Given to new records that set no value; written as a value is.
    pub default: Option<Json<serde_json::Value>>,
}

/// What to change of a custom field; what is left out stays. Values on records are untouched.
#[derive(InputObject, Default)]
pub struct CustomFieldInput {
    pub label: Option<String>,
    pub required: Option<bool>,
    /// Replaces the options of a select.
    pub options: Option<Vec<CustomFieldOptionInput>>,
    /// Null removes the default.
    pub default: MaybeUndefined<Json<serde_json::Value>>,
}

#[derive(SimpleObject)]
pub struct CustomFieldPayload {
    pub field: CustomFieldDefinition,
}

#[derive(Default)]
pub struct CustomFieldsQuery;

#[Object]
impl CustomFieldsQuery {
    /// The custom fields of a record type, oldest first; removed ones only when asked for.
    async fn custom_field_definitions(
        &self,
        ctx: &Context<'_>,
        record_type: CustomFieldRecordType,
        #[graphql(default = false)] include_removed: bool,
    ) -> Result<Vec<CustomFieldDefinition>> {
        let found = custom_fields::definitions(
            &ctx.services().db,
            ctx.actor()?,
            record_type,
            include_removed,
        )
        .await?;
        Ok(found.into_iter().map(CustomFieldDefinition).collect())
    }
}

#[derive(Default)]
pub struct CustomFieldsMutation;

/// Admins only; every change is audited.
#[Object]
impl CustomFieldsMutation {
    async fn create_custom_field(
        &self,
        ctx: &Context<'_>,
        input: NewCustomFieldInput,
    ) -> Result<CustomFieldPayload> {
        let field = NewField {
            record_type: input.record_type,
            key: input.key,
            label: input.label,
            field_type: input.field_type,
            required: input.required,
            options: options(input.options),
            default: input.default.map(|Json(value)| value),
        };
        let created = custom_fields::create(ctx.services(), ctx.actor()?, field).await?;
        Ok(CustomFieldPayload {
            field: CustomFieldDefinition(created),
        })
    }

    /// Relabels a field or changes its requirement, options or default; stored values stay.
    async fn update_custom_field(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: CustomFieldInput,
    ) -> Result<CustomFieldPayload> {
        let id = uuid("id", &id)?;
        let changes = FieldChanges {
            label: input.label,
            required: input.required,
            options: input.options.map(options),
            default: input.default.map_value(|Json(value)| value).into(),
        };
        let updated = custom_fields::update(ctx.services(), ctx.actor()?, id, changes).await?;
        Ok(CustomFieldPayload {
            field: CustomFieldDefinition(updated),
        })
    }

    /// Archives a field: records keep their values, which reads no longer show and writes no
    /// longer take, until the field is restored.
    async fn remove_custom_field(&self, ctx: &Context<'_>, id: ID) -> Result<CustomFieldPayload> {
        let id = uuid("id", &id)?;
        let removed = custom_fields::remove(ctx.services(), ctx.actor()?, id).await?;
        Ok(CustomFieldPayload {
            field: CustomFieldDefinition(removed),
        })
    }

    /// Brings a removed field back, with the values records kept.
    async fn restore_custom_field(&self, ctx: &Context<'_>, id: ID) -> Result<CustomFieldPayload> {
        let id = uuid("id", &id)?;
        let restored = custom_fields::restore(ctx.services(), ctx.actor()?, id).await?;
        Ok(CustomFieldPayload {
            field: CustomFieldDefinition(restored),
        })
    }
}
