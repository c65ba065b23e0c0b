//! The merge API: merge records of one type into a survivor (or rehearse it with `dryRun`),
//! merge a reviewed duplicate cluster in one call, read a record's merges and undo one.

use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{enums::CustomFieldRecordType, merge};

use crate::{
    error::Result,
    graphql::{ContextExt, changes::uuid},
    quality::merge::{self as merging, Choice, FieldPlan, MergeRequest, Merged, Move},
};

/// Most field choices one merge takes: more than any record type has fields.
const MAX_CHOICES: usize = 200;

/// Which record a field of the survivor comes from.
#[derive(InputObject)]
pub struct MergeFieldChoice {
    /// The field (`email`, `firstName`, `customFields`).
    pub field: String,
    /// The survivor or one of the merged records.
    pub record_id: ID,
}

#[derive(InputObject)]
pub struct MergeRecordsInput {
    pub record_type: CustomFieldRecordType,
    /// The record that stays.
    pub survivor_id: ID,
    /// The records folded into it, which become its tombstones.
    pub merged_ids: Vec<ID>,
    /// Fields to take from a record other than the default: the survivor's value, or where it
    /// has none the first merged record's that has one.
    #[graphql(default)]
    pub fields: Vec<MergeFieldChoice>,
    /// Check and answer everything the merge would do, and write nothing.
    #[graphql(default = false)]
    pub dry_run: bool,
}

/// One record's value of a field.
#[derive(SimpleObject)]
pub struct MergeFieldValue {
    pub record_id: ID,
    /// Null where the record has none or the caller may not see it.
    pub value: Json<serde_json::Value>,
}

/// One field of a merge: every record's value and the survivor's.
#[derive(SimpleObject)]
pub struct MergeField {
    pub field: String,
    /// The survivor's first, then the merged records' in the order given.
    pub values: Vec<MergeFieldValue>,
    pub chosen_from: ID,
    pub chosen: Json<serde_json::Value>,
    /// The records hold different values (blanks aside).
    pub conflict: bool,
}

/// Rows that pointed at a merged record and move (or moved) to the survivor.
#[derive(SimpleObject)]
pub struct MergeMove {
    /// `touchpoints`, `activities`, `opportunities`, `contact points`, `contacts`,
    /// `child accounts`, `converted leads`, `tombstones`.
    pub relation: String,
    pub from_id: ID,
    pub count: i32,
    pub ids: Vec<ID>,
}

/// What a merge did, or with a dry run would do.
#[derive(SimpleObject)]
pub struct MergeResult {
    pub dry_run: bool,
    pub survivor_id: ID,
    pub merged_ids: Vec<ID>,
    pub fields: Vec<MergeField>,
    pub moves: Vec<MergeMove>,
    /// The stored merge, to undo it; null after a dry run.
    pub merge: Option<Merge>,
}

/// A merge as stored, undoable until `undoUntil`.
pub struct Merge(merge::Model);

#[Object]
impl Merge {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn record_type(&self) -> CustomFieldRecordType {
        self.0.record_type
    }
    async fn survivor_id(&self) -> ID {
        ID(self.0.survivor_id.to_string())
    }
    async fn merged_ids(&self) -> Vec<ID> {
        ids_in(&self.0.merged_ids)
    }
    async fn actor_id(&self) -> Option<ID> {
        self.0.actor_id.map(|id| ID(id.to_string()))
    }
    async fn moves(&self) -> Vec<MergeMove> {
        let moves: Vec<Move> = serde_json::from_value(self.0.moves.clone()).unwrap_or_default();
        moves.into_iter().map(MergeMove::from).collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn undo_until(&self) -> DateTime<Utc> {
        self.0.undo_until
    }
    async fn undone_at(&self) -> Option<DateTime<Utc>> {
        self.0.undone_at
    }
}

fn ids_in(value: &serde_json::Value) -> Vec<ID> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(|s| ID(s.to_owned())))
        .collect()
}

impl From<Move> for MergeMove {
    fn from(m: Move) -> Self {
        MergeMove {
            relation: m.relation,
            from_id: ID(m.from.to_string()),
            count: i32::try_from(m.ids.len()).unwrap_or(i32::MAX),
            ids: m.ids.into_iter().map(|id| ID(id.to_string())).collect(),
        }
    }
}

impl From<FieldPlan> for MergeField {
    fn from(f: FieldPlan) -> Self {
        MergeField {
            field: f.field,
            values: f
                .values
                .into_iter()
                .map(|(id, value)| MergeFieldValue {
                    record_id: ID(id.to_string()),
                    value: Json(value),
                })
                .collect(),
            chosen_from: ID(f.chosen_from.to_string()),
            chosen: Json(f.chosen),
            conflict: f.conflict,
        }
    }
}

fn result(merged: Merged, dry_run: bool) -> MergeResult {
    MergeResult {
        dry_run,
        survivor_id: ID(merged.survivor_id.to_string()),
        merged_ids: merged
            .merged_ids
            .iter()
            .map(|id| ID(id.to_string()))
            .collect(),
        fields: merged.fields.into_iter().map(MergeField::from).collect(),
        moves: merged.moves.into_iter().map(MergeMove::from).collect(),
        merge: merged.merge.map(Merge),
    }
}

fn choices(fields: Vec<MergeFieldChoice>) -> Result<Vec<Choice>> {
    if fields.len() > MAX_CHOICES {
        return Err(crate::error::AppError::bad_input(
            "fields",
            format!("at most {MAX_CHOICES} choices"),
        ));
    }
    fields
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            Ok(Choice {
                from: uuid(&format!("fields.{i}.recordId"), &f.record_id)?,
                field: f.field,
            })
        })
        .collect()
}

#[derive(Default)]
pub struct MergeQuery;

#[Object]
impl MergeQuery {
    /// The merges into a record, newest first.
    async fn merges(
        &self,
        ctx: &Context<'_>,
        record_type: CustomFieldRecordType,
        survivor_id: ID,
    ) -> Result<Vec<Merge>> {
        let id = uuid("survivorId", &survivor_id)?;
        let found = merging::history(&ctx.services().db, ctx.actor()?, record_type, id).await?;
        Ok(found.into_iter().map(Merge).collect())
    }
}

#[derive(Default)]
pub struct MergeMutation;

#[Object]
impl MergeMutation {
    /// Merges records of one type into a survivor: fields chosen, every relation moved, the
    /// merged records left as tombstones that answer the survivor. Undoable with `undoMerge`.
    async fn merge_records(
        &self,
        ctx: &Context<'_>,
        input: MergeRecordsInput,
    ) -> Result<MergeResult> {
        if input.merged_ids.len() > merging::MAX_MERGED {
            return Err(crate::error::AppError::bad_input(
                "input.mergedIds",
                format!("at most {} records merge at once", merging::MAX_MERGED),
            ));
        }
        let request = MergeRequest {
            record_type: input.record_type,
            survivor_id: uuid("survivorId", &input.survivor_id)?,
            merged_ids: input
                .merged_ids
                .iter()
                .enumerate()
                .map(|(i, id)| uuid(&format!("mergedIds.{i}"), id))
                .collect::<Result<_>>()?,
            choices: choices(input.fields)?,
            dry_run: input.dry_run,
        };
        let merged = merging::merge(ctx.services(), ctx.actor()?, request).await?;
        Ok(result(merged, input.dry_run))
    }

    /// Merges the records of an open duplicate cluster into one of them (by default the one
    /// made first) and marks the cluster merged.
    async fn merge_duplicate_cluster(
        &self,
        ctx: &Context<'_>,
        id: ID,
        survivor_id: Option<ID>,
        #[graphql(default)] fields: Vec<MergeFieldChoice>,
        #[graphql(default = false)] dry_run: bool,
    ) -> Result<MergeResult> {
        let survivor = survivor_id.map(|s| uuid("survivorId", &s)).transpose()?;
        let merged = merging::merge_cluster(
            ctx.services(),
            ctx.actor()?,
            uuid("id", &id)?,
            survivor,
            choices(fields)?,
            dry_run,
        )
        .await?;
        Ok(result(merged, dry_run))
    }

    /// Undoes a merge within its window: the survivor's fields, every moved row and the merged
    /// records come back as they were.
    async fn undo_merge(&self, ctx: &Context<'_>, id: ID) -> Result<Merge> {
        let undone = merging::undo(ctx.services(), ctx.actor()?, uuid("id", &id)?).await?;
        Ok(Merge(undone))
    }
}
