//! One record's likely duplicates: the records sharing one of its match keys, scored by every
//! active rule of its type, each with the evidence field by field (what agreed, at which
//! level, for how many bits), so a warning says why. A lead is also compared with contacts:
//! the person may already be a customer.
//!
//! Writes run [`guard_in`] inside their transaction: a rule that blocks refuses the write
//! (CONFLICT naming the record it duplicates), a rule that warns hands its candidates back for
//! the payload, a rule that allows only lists them in `duplicates(of:)` and scans.

use entity::{
    account, contact,
    enums::{CustomFieldRecordType, DedupeAction},
    lead, opportunity,
};
use linkage::compare::vector;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, QueryFilter};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    events::Event,
    quality::dedupe::{fields, rules},
    services::{
        Services, match_keys,
        records::{self, Record},
        scope,
    },
};

/// Most records compared with one: keys shared by more are too common to tell people apart.
const CANDIDATES_MAX: u64 = 200;

/// What one field told about a pair.
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    pub field: String,
    /// The agreement level, 0 for exact; `None` when either value is missing.
    pub level: Option<u8>,
    /// Bits of evidence for (positive) or against (negative) a match.
    pub weight: f64,
}

/// A record judged a likely duplicate, by which rule and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub record_type: CustomFieldRecordType,
    pub id: Uuid,
    pub rule_id: Uuid,
    pub rule_name: String,
    pub action: DedupeAction,
    pub probability: f64,
    /// The match weight: the sum of the evidence, in bits.
    pub score: f64,
    pub evidence: Vec<Evidence>,
}

/// A record as dedupe reads it.
#[derive(Clone, Debug)]
pub struct Subject {
    pub record_type: CustomFieldRecordType,
    pub id: Uuid,
    pub record: Value,
    pub keys: Vec<String>,
}

impl Subject {
    /// The record of a type dedupe covers; `None` for others.
    pub fn of<E: Record>(model: &E::Model) -> Option<Subject> {
        let (record_type, keys) = E::match_keys(model)?;
        Some(Subject {
            record_type,
            id: records::id_of::<E>(model),
            record: serde_json::to_value(model).ok()?,
            keys,
        })
    }
}

/// A record written, with the likely duplicates its write was warned about.
#[derive(Clone, Debug)]
pub struct Checked<M> {
    pub model: M,
    pub duplicates: Vec<Candidate>,
}

/// Runs `write` in one transaction and checks the record it wrote against the rules of its
/// type before committing: a blocking rule's match rolls the write back.
pub async fn guarded<E: Record>(
    svc: &Services,
    actor: &Actor,
    write: impl AsyncFnOnce(&DatabaseTransaction, &mut Vec<Event>) -> Result<E::Model>,
) -> Result<Checked<E::Model>> {
    // Boxed: a lead's write (scoring, assignment) and the check make a future too large for
    // a worker thread's stack in unoptimised builds.
    Box::pin(records::together(svc, async |txn, events| {
        let model = Box::pin(write(txn, events)).await?;
        let duplicates = match Subject::of::<E>(&model) {
            Some(subject) => Box::pin(guard_in(txn, actor, &subject)).await?,
            None => Vec::new(),
        };
        Ok(Checked { model, duplicates })
    }))
    .await
}

/// The check of a write: CONFLICT on a blocking rule's match (whether or not the writer may
/// see the record it duplicates, since the write would make a duplicate all the same), else
/// the warning rules' candidates the writer may see.
pub async fn guard_in(
    txn: &DatabaseTransaction,
    actor: &Actor,
    subject: &Subject,
) -> Result<Vec<Candidate>> {
    let found = candidates(txn, subject).await?;
    if let Some(block) = found.iter().find(|c| c.action == DedupeAction::Block) {
        return Err(AppError::Conflict {
            field: None,
            message: format!(
                "likely duplicate of {} {} (match probability {:.3}, rule \"{}\")",
                block.record_type.as_str(),
                block.id,
                block.probability,
                block.rule_name
            ),
        });
    }
    let warned: Vec<Candidate> = found
        .into_iter()
        .filter(|c| c.action == DedupeAction::Warn)
        .collect();
    visible(txn, actor, warned).await
}

/// The likely duplicates of the record `id` of `record_type` that `actor` may see, best first.
pub async fn of_record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    record_type: CustomFieldRecordType,
    id: Uuid,
) -> Result<Vec<Candidate>> {
    let subject = match record_type {
        CustomFieldRecordType::Lead => subject_of::<lead::Entity>(db, actor, id).await?,
        CustomFieldRecordType::Contact => subject_of::<contact::Entity>(db, actor, id).await?,
        CustomFieldRecordType::Account => subject_of::<account::Entity>(db, actor, id).await?,
        CustomFieldRecordType::Opportunity => {
            subject_of::<opportunity::Entity>(db, actor, id).await?
        }
    };
    let found = candidates(db, &subject).await?;
    visible(db, actor, found).await
}

async fn subject_of<E: Record>(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> Result<Subject> {
    let model = records::get::<E>(db, actor, id).await?;
    Subject::of::<E>(&model).ok_or(AppError::NotFound(E::KIND))
}

/// Every active rule's likely duplicates of `subject`, whoever may see them, best first and
/// each record once (under the rule that rates it highest).
pub async fn candidates(db: &impl ConnectionTrait, subject: &Subject) -> Result<Vec<Candidate>> {
    let rules = rules::active_for(db, subject.record_type).await?;
    if rules.is_empty() || subject.keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut others = Vec::new();
    for record_type in searched(subject.record_type) {
        let ids =
            match_keys::sharing(db, record_type, &subject.keys, subject.id, CANDIDATES_MAX).await?;
        if ids.is_empty() {
            continue;
        }
        for (id, record) in live_records(db, record_type, Some(&ids)).await? {
            others.push((record_type, id, record));
        }
    }
    let mut found: Vec<Candidate> = Vec::new();
    for rule in &rules {
        let ours = fields::row(&subject.record, &rule.fields);
        for (record_type, id, record) in &others {
            let theirs = fields::row(record, &rule.fields);
            let levels = vector(&rule.specs, &ours, &theirs);
            let weights = rule.model.weights(&levels);
            let score: f64 = weights.iter().sum();
            let probability = rule.model.probability(score);
            if probability < rule.stored.threshold {
                continue;
            }
            let candidate = Candidate {
                record_type: *record_type,
                id: *id,
                rule_id: rule.stored.id,
                rule_name: rule.stored.name.clone(),
                action: rule.stored.action,
                probability,
                score,
                evidence: rule
                    .fields
                    .iter()
                    .zip(levels.iter().zip(weights))
                    .map(|(field, (level, weight))| Evidence {
                        field: field.clone(),
                        level: *level,
                        weight,
                    })
                    .collect(),
            };
            match found.iter_mut().find(|c| c.id == candidate.id) {
                // A blocking rule's match stands whatever a laxer rule rates the pair.
                Some(kept) if kept.action == DedupeAction::Block => {}
                Some(kept)
                    if candidate.action == DedupeAction::Block
                        || candidate.probability > kept.probability =>
                {
                    *kept = candidate
                }
                Some(_) => {}
                None => found.push(candidate),
            }
        }
    }
    found.sort_by(|a, b| b.probability.total_cmp(&a.probability));
    Ok(found)
}

/// The types a record's duplicates are looked for among: its own, and for a lead the contacts.
fn searched(record_type: CustomFieldRecordType) -> Vec<CustomFieldRecordType> {
    match record_type {
        CustomFieldRecordType::Lead => vec![record_type, CustomFieldRecordType::Contact],
        _ => vec![record_type],
    }
}

/// The live records of `record_type` (those among `ids`, when given), as JSON.
pub async fn live_records(
    db: &impl ConnectionTrait,
    record_type: CustomFieldRecordType,
    ids: Option<&[Uuid]>,
) -> Result<Vec<(Uuid, Value)>> {
    match record_type {
        CustomFieldRecordType::Lead => live::<lead::Entity>(db, ids).await,
        CustomFieldRecordType::Contact => live::<contact::Entity>(db, ids).await,
        CustomFieldRecordType::Account => live::<account::Entity>(db, ids).await,
        CustomFieldRecordType::Opportunity => live::<opportunity::Entity>(db, ids).await,
    }
}

async fn live<E: Record>(
    db: &impl ConnectionTrait,
    ids: Option<&[Uuid]>,
) -> Result<Vec<(Uuid, Value)>> {
    let mut select = E::find();
    if let Some(ids) = ids {
        select = select.filter(E::id_column().is_in(ids.iter().copied()));
    }
    if let Some(archived_at) = E::archived_at_column() {
        select = select.filter(archived_at.is_null());
    }
    Ok(select
        .all(db)
        .await?
        .iter()
        .filter_map(|model| {
            Some((
                records::id_of::<E>(model),
                serde_json::to_value(model).ok()?,
            ))
        })
        .collect())
}

/// `found` without the records `actor` may not see.
async fn visible(
    db: &impl ConnectionTrait,
    actor: &Actor,
    found: Vec<Candidate>,
) -> Result<Vec<Candidate>> {
    let mut kept = Vec::with_capacity(found.len());
    for record_type in [
        CustomFieldRecordType::Lead,
        CustomFieldRecordType::Contact,
        CustomFieldRecordType::Account,
        CustomFieldRecordType::Opportunity,
    ] {
        let ids: Vec<Uuid> = found
            .iter()
            .filter(|c| c.record_type == record_type)
            .map(|c| c.id)
            .collect();
        if ids.is_empty() {
            continue;
        }
        let seen = match record_type {
            CustomFieldRecordType::Lead => seen_ids::<lead::Entity>(db, actor, &ids).await?,
            CustomFieldRecordType::Contact => seen_ids::<contact::Entity>(db, actor, &ids).await?,
            CustomFieldRecordType::Account => seen_ids::<account::Entity>(db, actor, &ids).await?,
            CustomFieldRecordType::Opportunity => {
                seen_ids::<opportunity::Entity>(db, actor, &ids).await?
            }
        };
        kept.extend(
            found
                .iter()
                .filter(|c| c.record_type == record_type && seen.contains(&c.id))
                .cloned(),
        );
    }
    kept.sort_by(|a, b| b.probability.total_cmp(&a.probability));
    Ok(kept)
}

/// Those of `ids` the actor may see; none when the actor may not read the type at all.
async fn seen_ids<E: Record>(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ids: &[Uuid],
) -> Result<Vec<Uuid>> {
    let Ok(select) = scope::visible::<E>(actor) else {
        return Ok(Vec::new());
    };
    let models = select
        .filter(E::id_column().is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(models.iter().map(records::id_of::<E>).collect())
}
