//! Dedupe rules: per record type, the fields compared and with which comparator, the
//! Fellegi-Sunter weights (defaults until an admin sets them or a scan estimates them from the
//! data), the match probability that makes a duplicate, and what a write does about one.
//! Admins edit them; rules are switched off rather than deleted, so a cluster always names the
//! rule that found it.

use chrono::Utc;
use entity::{
    dedupe_rule,
    enums::{CustomFieldRecordType, DedupeAction, Role, WeightsSource},
};
use linkage::{Comparator, FieldSpec, KeyPart, Model, Pass, Transform};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    quality::dedupe::fields,
    services::{
        Services,
        filter::col,
        input::SHORT_TEXT,
        page::{SortField, SortKind, SortValue},
        records::{self, Record},
        scope,
    },
    validate,
};

/// Most fields one rule compares: more says nothing a person could tune.
pub const FIELDS_MAX: usize = 20;

impl Record for dedupe_rule::Entity {
    type OrderField = ByCreation;
    const KIND: &'static str = "dedupe_rule";
    /// Whoever is warned about duplicates may read why.
    const READERS: &'static [Role] = &[
        Role::Admin,
        Role::Manager,
        Role::Sales,
        Role::Marketing,
        Role::Support,
    ];
    const WRITERS: &'static [Role] = &[Role::Admin];
    fn id_column() -> dedupe_rule::Column {
        dedupe_rule::Column::Id
    }
    fn owner_column() -> Option<dedupe_rule::Column> {
        None
    }
    fn archived_at_column() -> Option<dedupe_rule::Column> {
        None
    }
    fn updated_at_column() -> Option<dedupe_rule::Column> {
        Some(dedupe_rule::Column::UpdatedAt)
    }
}

/// Rules are listed in the order they were made.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ByCreation {
    CreatedAt,
}

impl SortField<dedupe_rule::Model> for ByCreation {
    fn expr(&self) -> sea_orm::sea_query::SimpleExpr {
        col(dedupe_rule::Column::CreatedAt)
    }
    fn value(&self, model: &dedupe_rule::Model) -> SortValue {
        SortValue::Time(model.created_at)
    }
    fn kind(&self) -> SortKind {
        SortKind::Time
    }
}

/// One field of a rule as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleField {
    pub field: String,
    pub comparator: Comparator,
}

/// A stored rule made ready to score pairs.
#[derive(Clone, Debug)]
pub struct Rule {
    pub stored: dedupe_rule::Model,
    pub fields: Vec<String>,
    pub specs: Vec<FieldSpec>,
    pub model: Model,
}

impl Rule {
    pub fn of(stored: dedupe_rule::Model) -> Result<Rule> {
        let parsed: Vec<RuleField> = serde_json::from_value(stored.fields.clone())
            .map_err(|e| AppError::internal(anyhow::anyhow!("dedupe rule {}: {e}", stored.id)))?;
        let fields = parsed.iter().map(|f| f.field.clone()).collect();
        let specs: Vec<FieldSpec> = parsed
            .iter()
            .map(|f| FieldSpec::new(f.comparator))
            .collect();
        // Stored weights that no longer fit the fields (an admin changed them) are dropped.
        let model = stored
            .weights
            .clone()
            .and_then(|w| serde_json::from_value::<Model>(w).ok())
            .filter(|m| {
                m.fields.len() == specs.len()
                    && m.fields.iter().zip(&specs).all(|(w, s)| {
                        w.m.len() == s.levels.count() && w.u.len() == s.levels.count()
                    })
            })
            .unwrap_or_else(|| Model::starting(&specs));
        Ok(Rule {
            stored,
            fields,
            specs,
            model,
        })
    }

    /// The blocking passes a scan uses: each exact field alone (an email, a domain), and every
    /// two fuzzy fields by their first three characters (a surname with a first name), or the
    /// one fuzzy field by its first four.
    pub fn passes(&self) -> Vec<Pass> {
        let prefix = |field, n| KeyPart {
            field,
            transform: Transform::Prefix(n),
        };
        let mut passes: Vec<Pass> = Vec::new();
        let mut fuzzy = Vec::new();
        for (i, spec) in self.specs.iter().enumerate() {
            match spec.comparator {
                Comparator::Exact => passes.push(Pass::on(&[i])),
                _ => fuzzy.push(i),
            }
        }
        match fuzzy.as_slice() {
            [] => {}
            [only] => passes.push(Pass(vec![prefix(*only, 4)])),
            many => {
                for (n, a) in many.iter().enumerate() {
                    for b in &many[n + 1..] {
                        passes.push(Pass(vec![prefix(*a, 3), prefix(*b, 3)]));
                    }
                }
            }
        }
        passes
    }
}

/// The active rules of `record_type`, oldest first.
pub async fn active_for(
    db: &impl ConnectionTrait,
    record_type: CustomFieldRecordType,
) -> Result<Vec<Rule>> {
    dedupe_rule::Entity::find()
        .filter(dedupe_rule::Column::RecordType.eq(record_type))
        .filter(dedupe_rule::Column::Active.eq(true))
        .order_by_asc(dedupe_rule::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(Rule::of)
        .collect()
}

/// Every rule of `record_type` (all types when `None`), active or not.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    record_type: Option<CustomFieldRecordType>,
) -> Result<Vec<dedupe_rule::Model>> {
    let mut select = scope::visible::<dedupe_rule::Entity>(actor)?;
    if let Some(record_type) = record_type {
        select = select.filter(dedupe_rule::Column::RecordType.eq(record_type));
    }
    Ok(select
        .order_by_asc(dedupe_rule::Column::CreatedAt)
        .all(db)
        .await?)
}

/// A rule as an admin describes it; on update, `None` keeps what is stored.
#[derive(Clone, Debug, Default)]
pub struct RuleChanges {
    pub name: Option<String>,
    pub action: Option<DedupeAction>,
    pub fields: Option<Vec<RuleField>>,
    pub threshold: Option<f64>,
    /// Weights an admin sets by hand; they are kept until the admin clears them.
    pub weights: Option<Model>,
    /// Back to the defaults, to be estimated by the next scan.
    pub clear_weights: bool,
    pub active: Option<bool>,
}

pub async fn create(
    svc: &Services,
    actor: &Actor,
    record_type: CustomFieldRecordType,
    changes: RuleChanges,
) -> Result<dedupe_rule::Model> {
    scope::ensure_writer::<dedupe_rule::Entity>(actor)?;
    let now = Utc::now();
    let Some(fields) = changes.fields.clone() else {
        return Err(AppError::bad_input(
            "fields",
            "a rule compares at least one field",
        ));
    };
    let mut rule = dedupe_rule::Model {
        id: Uuid::now_v7(),
        record_type,
        name: String::new(),
        action: DedupeAction::Warn,
        fields: serde_json::to_value(&fields).map_err(AppError::internal)?,
        threshold: 0.9,
        weights: None,
        weights_source: WeightsSource::Default,
        active: true,
        created_at: now,
        updated_at: now,
    };
    if changes.name.is_none() {
        return Err(AppError::bad_input("name", "required"));
    }
    apply(&mut rule, changes)?;
    let model: dedupe_rule::ActiveModel = rule.into();
    records::insert::<dedupe_rule::Entity>(svc, actor, model).await
}

pub async fn update(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    changes: RuleChanges,
) -> Result<dedupe_rule::Model> {
    records::update::<dedupe_rule::Entity, _>(
        svc,
        actor,
        id,
        "update",
        async |_, before, active| {
            let mut after = before.clone();
            apply(&mut after, changes)?;
            active.name = Set(after.name);
            active.action = Set(after.action);
            active.fields = Set(after.fields);
            active.threshold = Set(after.threshold);
            active.weights = Set(after.weights);
            active.weights_source = Set(after.weights_source);
            active.active = Set(after.active);
            Ok(())
        },
    )
    .await
}

/// Checks `changes` and applies them to `rule`.
fn apply(rule: &mut dedupe_rule::Model, changes: RuleChanges) -> Result<()> {
    if let Some(name) = changes.name {
        rule.name = validate::required_text("name", &name, SHORT_TEXT)?;
    }
    if let Some(action) = changes.action {
        rule.action = action;
    }
    if let Some(threshold) = changes.threshold {
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(AppError::bad_input(
                "threshold",
                "a match probability above 0, at most 1",
            ));
        }
        rule.threshold = threshold;
    }
    if let Some(fields) = changes.fields {
        if fields.is_empty() || fields.len() > FIELDS_MAX {
            return Err(AppError::bad_input(
                "fields",
                format!("between 1 and {FIELDS_MAX} fields"),
            ));
        }
        for (i, field) in fields.iter().enumerate() {
            fields::checked(rule.record_type, &format!("fields.{i}.field"), &field.field)?;
            if fields[..i].iter().any(|f| f.field == field.field) {
                return Err(AppError::bad_input(
                    format!("fields.{i}.field"),
                    "named twice",
                ));
            }
        }
        let value = serde_json::to_value(&fields).map_err(AppError::internal)?;
        if value != rule.fields {
            rule.fields = value;
            // Weights are per field and level: new fields start from the defaults again.
            rule.weights = None;
            rule.weights_source = WeightsSource::Default;
        }
    }
    if changes.clear_weights {
        rule.weights = None;
        rule.weights_source = WeightsSource::Default;
    }
    if let Some(weights) = changes.weights {
        let parsed: Vec<RuleField> =
            serde_json::from_value(rule.fields.clone()).map_err(AppError::internal)?;
        checked_weights(&parsed, &weights)?;
        rule.weights = Some(serde_json::to_value(&weights).map_err(AppError::internal)?);
        rule.weights_source = WeightsSource::Admin;
    }
    if let Some(active) = changes.active {
        rule.active = active;
    }
    Ok(())
}

/// Weights an admin sets: one `m` and `u` per level of each field, each a probability, each
/// list summing to 1, and a prior strictly between 0 and 1.
fn checked_weights(fields: &[RuleField], weights: &Model) -> Result<()> {
    if weights.fields.len() != fields.len() {
        return Err(AppError::bad_input(
            "weights.fields",
            format!("one entry per field of the rule ({})", fields.len()),
        ));
    }
    if !(weights.prior > 0.0 && weights.prior < 1.0) {
        return Err(AppError::bad_input(
            "weights.prior",
            "a probability between 0 and 1",
        ));
    }
    for (i, (field, w)) in fields.iter().zip(&weights.fields).enumerate() {
        let levels = FieldSpec::new(field.comparator).levels.count();
        for (name, values) in [("m", &w.m), ("u", &w.u)] {
            let path = format!("weights.fields.{i}.{name}");
            if values.len() != levels {
                return Err(AppError::bad_input(
                    path,
                    format!(
                        "{levels} levels for a {:?} field, disagreement last",
                        field.comparator
                    ),
                ));
            }
            if values.iter().any(|p| !(*p > 0.0 && *p <= 1.0)) {
                return Err(AppError::bad_input(
                    path,
                    "each a probability above 0, at most 1",
                ));
            }
            if (values.iter().sum::<f64>() - 1.0).abs() > 1e-6 {
                return Err(AppError::bad_input(
                    path,
                    "the levels' probabilities sum to 1",
                ));
            }
        }
    }
    Ok(())
}
