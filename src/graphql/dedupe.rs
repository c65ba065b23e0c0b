//! The dedupe API: everyone reads the rules and asks for one record's likely duplicates
//! (among those they may see); admins edit rules; admins and managers scan a type and review
//! its clusters. Writes of leads, contacts, accounts and opportunities answer the duplicates a
//! warning rule found in their payload's `duplicates`.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{
    dedupe_rule, duplicate_cluster,
    enums::{ClusterStatus, CustomFieldRecordType, DedupeAction, WeightsSource},
};
use linkage::Comparator;

use crate::{
    error::Result,
    graphql::{ContextExt, changes::uuid},
    quality::dedupe::{
        Candidate, check,
        rules::{self, RuleChanges, RuleField},
        scan::{self, ScanSummary},
    },
};

/// How a rule compares a field.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DedupeComparator {
    /// Equal or not: canonical keys (email, phone, domain, ids).
    Exact,
    /// Kind to typos near the end: names.
    JaroWinkler,
    /// Edits over length.
    Levenshtein,
    /// Edits, a swap of neighbours counting once: dates and numbers.
    Damerau,
    /// Words as sets, order and extra words mattering less: companies, full names.
    TokenSet,
}

impl From<DedupeComparator> for Comparator {
    fn from(c: DedupeComparator) -> Self {
        match c {
            DedupeComparator::Exact => Comparator::Exact,
            DedupeComparator::JaroWinkler => Comparator::JaroWinkler,
            DedupeComparator::Levenshtein => Comparator::Levenshtein,
            DedupeComparator::Damerau => Comparator::Damerau,
            DedupeComparator::TokenSet => Comparator::TokenSet,
        }
    }
}

impl From<Comparator> for DedupeComparator {
    fn from(c: Comparator) -> Self {
        match c {
            Comparator::Exact => DedupeComparator::Exact,
            Comparator::JaroWinkler => DedupeComparator::JaroWinkler,
            Comparator::Levenshtein => DedupeComparator::Levenshtein,
            Comparator::Damerau => DedupeComparator::Damerau,
            Comparator::TokenSet => DedupeComparator::TokenSet,
        }
    }
}

/// What one field told about a pair.
#[derive(SimpleObject)]
pub struct MatchEvidence {
    pub field: String,
    /// Agreement level: 0 is exact, higher is looser; null when either value is missing.
    pub level: Option<i32>,
    /// Bits of evidence for (positive) or against (negative) the match.
    pub weight: f64,
}

/// A likely duplicate, with the rule that found it and why.
#[derive(SimpleObject)]
pub struct DuplicateCandidate {
    pub record_type: CustomFieldRecordType,
    pub id: ID,
    pub rule_id: ID,
    pub rule_name: String,
    pub action: DedupeAction,
    /// The Fellegi-Sunter match probability.
    pub probability: f64,
    /// The match weight in bits: the sum of the evidence.
    pub score: f64,
    pub evidence: Vec<MatchEvidence>,
}

impl From<Candidate> for DuplicateCandidate {
    fn from(c: Candidate) -> Self {
        DuplicateCandidate {
            record_type: c.record_type,
            id: ID(c.id.to_string()),
            rule_id: ID(c.rule_id.to_string()),
            rule_name: c.rule_name,
            action: c.action,
            probability: c.probability,
            score: c.score,
            evidence: c
                .evidence
                .into_iter()
                .map(|e| MatchEvidence {
                    field: e.field,
                    level: e.level.map(i32::from),
                    weight: e.weight,
                })
                .collect(),
        }
    }
}

/// The candidates of a write, for its payload.
pub fn candidates(found: Vec<Candidate>) -> Vec<DuplicateCandidate> {
    found.into_iter().map(DuplicateCandidate::from).collect()
}

/// One field of a rule.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "DedupeRuleFieldInput")]
pub struct DedupeRuleField {
    /// A column of the record type (`last_name`, `canonical_domain`) or `custom.<key>`.
    pub field: String,
    pub comparator: DedupeComparator,
}

pub struct DedupeRule(pub dedupe_rule::Model);

#[Object]
impl DedupeRule {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn record_type(&self) -> CustomFieldRecordType {
        self.0.record_type
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn action(&self) -> DedupeAction {
        self.0.action
    }
    async fn fields(&self) -> Vec<DedupeRuleField> {
        serde_json::from_value::<Vec<RuleField>>(self.0.fields.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|f| DedupeRuleField {
                field: f.field,
                comparator: f.comparator.into(),
            })
            .collect()
    }
    /// The match probability from which a pair is a duplicate.
    async fn threshold(&self) -> f64 {
        self.0.threshold
    }
    /// Fellegi-Sunter `m` and `u` per field and level (disagreement last) and the prior;
    /// null until an admin sets them or a scan estimates them.
    async fn weights(&self) -> Option<Json<serde_json::Value>> {
        self.0.weights.clone().map(Json)
    }
    async fn weights_source(&self) -> WeightsSource {
        self.0.weights_source
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A member of a cluster, with its best match probability to another member.
#[derive(SimpleObject)]
pub struct ClusterMember {
    pub id: ID,
    pub probability: f64,
}

pub struct DuplicateCluster(pub duplicate_cluster::Model);

#[Object]
impl DuplicateCluster {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn record_type(&self) -> CustomFieldRecordType {
        self.0.record_type
    }
    async fn rule_id(&self) -> ID {
        ID(self.0.rule_id.to_string())
    }
    async fn members(&self) -> Vec<ClusterMember> {
        self.0
            .members
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| {
                Some(ClusterMember {
                    id: ID(m.get("id")?.as_str()?.to_owned()),
                    probability: m.get("probability")?.as_f64()?,
                })
            })
            .collect()
    }
    async fn size(&self) -> i32 {
        self.0.size
    }
    async fn top_probability(&self) -> f64 {
        self.0.top_probability
    }
    async fn status(&self) -> ClusterStatus {
        self.0.status
    }
    async fn found_at(&self) -> DateTime<Utc> {
        self.0.found_at
    }
    async fn reviewed_at(&self) -> Option<DateTime<Utc>> {
        self.0.reviewed_at
    }
}

/// What a scan found.
#[derive(SimpleObject)]
pub struct DuplicateScan {
    pub record_type: CustomFieldRecordType,
    /// Live records compared.
    pub records: i32,
    pub rules: i32,
    /// Open clusters raised.
    pub clusters: i32,
    /// Records that duplicate another: each cluster's size less one, summed.
    pub duplicates: i32,
}

impl From<ScanSummary> for DuplicateScan {
    fn from(s: ScanSummary) -> Self {
        let int = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        DuplicateScan {
            record_type: s.record_type,
            records: int(s.records),
            rules: int(s.rules),
            clusters: int(s.clusters),
            duplicates: int(s.duplicates),
        }
    }
}

#[derive(Default)]
pub struct DedupeQuery;

#[Object]
impl DedupeQuery {
    /// The dedupe rules of a record type (every type when left out), oldest first.
    async fn dedupe_rules(
        &self,
        ctx: &Context<'_>,
        record_type: Option<CustomFieldRecordType>,
    ) -> Result<Vec<DedupeRule>> {
        let found = rules::list(&ctx.services().db, ctx.actor()?, record_type).await?;
        Ok(found.into_iter().map(DedupeRule).collect())
    }

    /// The likely duplicates of one record among those the caller may see, surest first; for
    /// a lead, contacts too.
    async fn duplicates(
        &self,
        ctx: &Context<'_>,
        of: ID,
        record_type: CustomFieldRecordType,
    ) -> Result<Vec<DuplicateCandidate>> {
        let id = uuid("of", &of)?;
        let found = check::of_record(&ctx.services().db, ctx.actor()?, record_type, id).await?;
        Ok(candidates(found))
    }

    /// The clusters the last scan of a record type found, surest first.
    async fn duplicate_clusters(
        &self,
        ctx: &Context<'_>,
        record_type: CustomFieldRecordType,
        #[graphql(default_with = "ClusterStatus::Open")] status: ClusterStatus,
        #[graphql(default = 100, validator(minimum = 1, maximum = 500))] first: u64,
    ) -> Result<Vec<DuplicateCluster>> {
        let found =
            scan::clusters(&ctx.services().db, ctx.actor()?, record_type, status, first).await?;
        Ok(found.into_iter().map(DuplicateCluster).collect())
    }
}

/// A new rule.
#[derive(InputObject)]
pub struct NewDedupeRuleInput {
    pub record_type: CustomFieldRecordType,
    pub name: String,
    #[graphql(default_with = "DedupeAction::Warn")]
    pub action: DedupeAction,
    pub fields: Vec<DedupeRuleField>,
    /// The match probability from which a pair is a duplicate.
    #[graphql(default = 0.9)]
    pub threshold: f64,
    /// Fellegi-Sunter weights set by hand (see `DedupeRule.weights`); left out, they are
    /// estimated from the data by the next scan.
    pub weights: Option<Json<linkage::Model>>,
    #[graphql(default = true)]
    pub active: bool,
}

/// What to change of a rule; what is left out stays. New fields drop weights set for the old.
#[derive(InputObject, Default)]
pub struct DedupeRuleInput {
    pub name: Option<String>,
    pub action: Option<DedupeAction>,
    pub fields: Option<Vec<DedupeRuleField>>,
    pub threshold: Option<f64>,
    pub weights: Option<Json<linkage::Model>>,
    /// Back to the default weights, to be estimated by the next scan.
    #[graphql(default = false)]
    pub clear_weights: bool,
    pub active: Option<bool>,
}

fn rule_fields(fields: Vec<DedupeRuleField>) -> Vec<RuleField> {
    fields
        .into_iter()
        .map(|f| RuleField {
            field: f.field,
            comparator: f.comparator.into(),
        })
        .collect()
}

#[derive(SimpleObject)]
pub struct DedupeRulePayload {
    pub rule: DedupeRule,
}

#[derive(SimpleObject)]
pub struct DuplicateClusterPayload {
    pub cluster: DuplicateCluster,
}

#[derive(Default)]
pub struct DedupeMutation;

#[Object]
impl DedupeMutation {
    /// Admins only.
    async fn create_dedupe_rule(
        &self,
        ctx: &Context<'_>,
        input: NewDedupeRuleInput,
    ) -> Result<DedupeRulePayload> {
        let changes = RuleChanges {
            name: Some(input.name),
            action: Some(input.action),
            fields: Some(rule_fields(input.fields)),
            threshold: Some(input.threshold),
            weights: input.weights.map(|Json(w)| w),
            clear_weights: false,
            active: Some(input.active),
        };
        let rule = rules::create(ctx.services(), ctx.actor()?, input.record_type, changes).await?;
        Ok(DedupeRulePayload {
            rule: DedupeRule(rule),
        })
    }

    /// Admins only. Switch a rule off with `active: false`; rules are never deleted, so a
    /// cluster always names the rule that found it.
    async fn update_dedupe_rule(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: DedupeRuleInput,
    ) -> Result<DedupeRulePayload> {
        let changes = RuleChanges {
            name: input.name,
            action: input.action,
            fields: input.fields.map(rule_fields),
            threshold: input.threshold,
            weights: input.weights.map(|Json(w)| w),
            clear_weights: input.clear_weights,
            active: input.active,
        };
        let rule = rules::update(ctx.services(), ctx.actor()?, uuid("id", &id)?, changes).await?;
        Ok(DedupeRulePayload {
            rule: DedupeRule(rule),
        })
    }

    /// Admins and managers: compares every live record of a type under its active rules,
    /// estimating weights no admin set, and replaces the type's open clusters.
    async fn scan_duplicates(
        &self,
        ctx: &Context<'_>,
        record_type: CustomFieldRecordType,
    ) -> Result<DuplicateScan> {
        let summary = scan::scan(ctx.services(), ctx.actor()?, record_type).await?;
        Ok(summary.into())
    }

    /// Admins and managers: the cluster is not duplicates; later scans leave its records be.
    async fn dismiss_duplicate_cluster(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<DuplicateClusterPayload> {
        let cluster = scan::dismiss(ctx.services(), ctx.actor()?, uuid("id", &id)?).await?;
        Ok(DuplicateClusterPayload {
            cluster: DuplicateCluster(cluster),
        })
    }
}
