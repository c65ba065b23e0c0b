//! The background scan: every live record of a type through every active rule, the likely
//! duplicates joined into clusters for someone to review. Weights not set by an admin are
//! estimated from the data on the way (and kept on the rule, so single-record checks use
//! them). A scan replaces the open clusters of its type; a cluster someone dismissed is not
//! raised again while its members stay the same.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use entity::{
    dedupe_rule, duplicate_cluster,
    enums::{ClusterStatus, CustomFieldRecordType, Role, WeightsSource},
};
use linkage::{Linker, Row, cluster};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    quality::dedupe::{check, fields, rules},
    services::{
        Services,
        filter::col,
        match_keys,
        page::{SortField, SortKind, SortValue},
        records::{self, Record, Written},
        scope,
    },
};

/// Blocks larger than this are skipped, as a write's check skips them.
const MAX_BLOCK: usize = match_keys::MAX_BLOCK;
/// Most clusters one list answers.
pub const CLUSTERS_PAGE_MAX: u64 = 500;

impl Record for duplicate_cluster::Entity {
    type OrderField = ByFinding;
    const KIND: &'static str = "duplicate_cluster";
    /// Clusters name records across owners: reviewed by those who see every record.
    const READERS: &'static [Role] = &[Role::Admin, Role::Manager];
    const WRITERS: &'static [Role] = &[Role::Admin, Role::Manager];
    fn id_column() -> duplicate_cluster::Column {
        duplicate_cluster::Column::Id
    }
    fn owner_column() -> Option<duplicate_cluster::Column> {
        None
    }
    fn archived_at_column() -> Option<duplicate_cluster::Column> {
        None
    }
    fn updated_at_column() -> Option<duplicate_cluster::Column> {
        None
    }
}

/// Clusters in the order scans found them (lists order them surest first: see [`clusters`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ByFinding {
    FoundAt,
}

impl SortField<duplicate_cluster::Model> for ByFinding {
    fn expr(&self) -> sea_orm::sea_query::SimpleExpr {
        col(duplicate_cluster::Column::FoundAt)
    }
    fn value(&self, model: &duplicate_cluster::Model) -> SortValue {
        SortValue::Time(model.found_at)
    }
    fn kind(&self) -> SortKind {
        SortKind::Time
    }
}

/// A cluster as a scan finds it: each member's row index with its best match probability.
type Cluster = Vec<(u32, f64)>;

/// What a scan did.
#[derive(Clone, Debug, PartialEq)]
pub struct ScanSummary {
    pub record_type: CustomFieldRecordType,
    pub records: usize,
    pub rules: usize,
    pub clusters: usize,
    pub duplicates: usize,
}

/// Scans every live record of `record_type`; replaces its open clusters with what it finds.
pub async fn scan(
    svc: &Services,
    actor: &Actor,
    record_type: CustomFieldRecordType,
) -> Result<ScanSummary> {
    scope::ensure_writer::<duplicate_cluster::Entity>(actor)?;
    let rules = rules::active_for(&svc.db, record_type).await?;
    let records = check::live_records(&svc.db, record_type, None).await?;
    let ids: Vec<Uuid> = records.iter().map(|(id, _)| *id).collect();
    let mut found: Vec<(rules::Rule, Vec<Cluster>)> = Vec::new();
    for rule in rules {
        let rows: Vec<Row> = records
            .iter()
            .map(|(_, record)| fields::row(record, &rule.fields))
            .collect();
        let (rule, clusters) = tokio::task::spawn_blocking(move || link(rule, &rows))
            .await
            .map_err(AppError::internal)?;
        found.push((rule, clusters));
    }
    let dismissed = dismissed_sets(&svc.db, record_type).await?;
    let summary = ScanSummary {
        record_type,
        records: records.len(),
        rules: found.len(),
        clusters: 0,
        duplicates: 0,
    };
    records::together(svc, async |txn, _| {
        let mut summary = summary;
        duplicate_cluster::Entity::delete_many()
            .filter(duplicate_cluster::Column::RecordType.eq(record_type))
            .filter(duplicate_cluster::Column::Status.eq(ClusterStatus::Open))
            .exec(txn)
            .await?;
        let mut raised: HashSet<Vec<Uuid>> = HashSet::new();
        for (rule, clusters) in found {
            if rule.stored.weights_source != WeightsSource::Admin {
                keep_estimate(txn, &rule).await?;
            }
            let now = Utc::now();
            let mut rows = Vec::new();
            for members in clusters {
                let mut set: Vec<Uuid> = members.iter().map(|(i, _)| ids[*i as usize]).collect();
                set.sort();
                if dismissed.contains(&set) || !raised.insert(set) {
                    continue;
                }
                summary.clusters += 1;
                summary.duplicates += members.len() - 1;
                let top = members.iter().map(|(_, p)| *p).fold(0.0, f64::max);
                rows.push(duplicate_cluster::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    record_type: Set(record_type),
                    rule_id: Set(rule.stored.id),
                    members: Set(Value::Array(
                        members
                            .iter()
                            .map(|(i, p)| json!({"id": ids[*i as usize], "probability": p}))
                            .collect(),
                    )),
                    size: Set(members.len() as i32),
                    top_probability: Set(top),
                    status: Set(ClusterStatus::Open),
                    found_at: Set(now),
                    reviewed_at: Set(None),
                    reviewed_by: Set(None),
                });
            }
            for chunk in rows.chunks(500) {
                duplicate_cluster::Entity::insert_many(chunk.to_vec())
                    .exec(txn)
                    .await?;
            }
        }
        Ok(summary)
    })
    .await
}

/// One rule over all rows: its weights (estimated unless an admin set them) and its clusters,
/// each member with its best match probability.
fn link(mut rule: rules::Rule, rows: &[Row]) -> (rules::Rule, Vec<Cluster>) {
    let passes = rule.passes();
    let linker = if rule.stored.weights_source == WeightsSource::Admin {
        Linker {
            specs: rule.specs.clone(),
            passes,
            model: rule.model.clone(),
            max_block: MAX_BLOCK,
        }
    } else {
        Linker::estimated(rule.specs.clone(), passes, rows, MAX_BLOCK)
    };
    rule.model = linker.model.clone();
    let matches = linker.matches(rows, rule.stored.threshold);
    let mut best: HashMap<u32, f64> = HashMap::new();
    for m in &matches {
        for i in [m.a, m.b] {
            let p = best.entry(i).or_default();
            *p = p.max(m.probability);
        }
    }
    let clusters = cluster::clusters(rows.len(), matches.iter().map(|m| (m.a, m.b)))
        .into_iter()
        .map(|members| members.into_iter().map(|i| (i, best[&i])).collect())
        .collect();
    (rule, clusters)
}

/// Keeps the weights a scan estimated on the rule. Written directly: it is derived data, as
/// the clusters are, and no person's change.
async fn keep_estimate(db: &impl ConnectionTrait, rule: &rules::Rule) -> Result<()> {
    let weights = serde_json::to_value(&rule.model).map_err(AppError::internal)?;
    dedupe_rule::Entity::update_many()
        .col_expr(
            dedupe_rule::Column::Weights,
            sea_orm::sea_query::Expr::value(weights),
        )
        .col_expr(
            dedupe_rule::Column::WeightsSource,
            sea_orm::sea_query::Expr::value(WeightsSource::Estimated.as_str()),
        )
        .filter(dedupe_rule::Column::Id.eq(rule.stored.id))
        .filter(dedupe_rule::Column::WeightsSource.ne(WeightsSource::Admin))
        .exec(db)
        .await?;
    Ok(())
}

/// The member sets of the clusters someone dismissed.
async fn dismissed_sets(
    db: &impl ConnectionTrait,
    record_type: CustomFieldRecordType,
) -> Result<HashSet<Vec<Uuid>>> {
    let dismissed = duplicate_cluster::Entity::find()
        .filter(duplicate_cluster::Column::RecordType.eq(record_type))
        .filter(duplicate_cluster::Column::Status.eq(ClusterStatus::Dismissed))
        .all(db)
        .await?;
    Ok(dismissed.iter().map(member_ids).collect())
}

/// A cluster's members' ids, sorted.
pub fn member_ids(cluster: &duplicate_cluster::Model) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = cluster
        .members
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("id")?.as_str()?.parse().ok())
        .collect();
    ids.sort();
    ids
}

/// The clusters of `record_type` in `status`, surest first, at most `limit`.
pub async fn clusters(
    db: &impl ConnectionTrait,
    actor: &Actor,
    record_type: CustomFieldRecordType,
    status: ClusterStatus,
    limit: u64,
) -> Result<Vec<duplicate_cluster::Model>> {
    Ok(scope::visible::<duplicate_cluster::Entity>(actor)?
        .filter(duplicate_cluster::Column::RecordType.eq(record_type))
        .filter(duplicate_cluster::Column::Status.eq(status))
        .order_by_desc(duplicate_cluster::Column::TopProbability)
        .order_by_asc(duplicate_cluster::Column::Id)
        .limit(limit.min(CLUSTERS_PAGE_MAX))
        .all(db)
        .await?)
}

/// Marks a cluster reviewed and not duplicates; the next scan leaves those records be.
pub async fn dismiss(svc: &Services, actor: &Actor, id: Uuid) -> Result<duplicate_cluster::Model> {
    set_status(svc, actor, id, ClusterStatus::Dismissed).await
}

/// Marks a cluster reviewed with `status`.
pub async fn set_status(
    svc: &Services,
    actor: &Actor,
    id: Uuid,
    status: ClusterStatus,
) -> Result<duplicate_cluster::Model> {
    records::alone::<duplicate_cluster::Entity>(svc, actor, async |txn| {
        review_in(txn, actor, id, status).await
    })
    .await
}

/// [`set_status`] inside the caller's transaction (a merge of the cluster); the caller publishes
/// the event once it commits. Only an open cluster is reviewed.
pub async fn review_in(
    txn: &DatabaseTransaction,
    actor: &Actor,
    id: Uuid,
    status: ClusterStatus,
) -> Result<Written<duplicate_cluster::Model>> {
    let reviewer = actor.user_id;
    records::update_in::<duplicate_cluster::Entity, _>(
        txn,
        actor,
        id,
        "review",
        async |_, before, active| {
            if before.status != ClusterStatus::Open {
                return Err(AppError::Conflict {
                    field: Some("id".into()),
                    message: format!("this cluster was already {}", before.status.as_str()),
                });
            }
            active.status = Set(status);
            active.reviewed_at = Set(Some(Utc::now()));
            active.reviewed_by = Set(Some(reviewer));
            Ok(())
        },
    )
    .await
}
