//! Lead scoring's API: the model admins edit (one shape for reading and writing it), the
//! rescoring runs a change starts, and moving a lead's stage by hand with a reason. Each
//! lead's breakdown is a field of the lead (`types::breakdown`).

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{
    enums::{LifecycleStage, RunState},
    scoring_run,
};

use crate::{
    error::Result,
    graphql::{
        ContextExt,
        changes::uuid,
        types::{Lead, TouchKind},
    },
    sales::{
        leads,
        scoring::{self, ScoringModel},
    },
};

/// The lead scoring model: fit rules in capped groups, engagement weights, grade bands and
/// lifecycle criteria. Read it as it is, change a part and send it whole to
/// `updateScoringModel`.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "ScoringModelInput")]
pub struct ScoringModelShape {
    /// Groups of fit rules; each group's points are held within its cap, the total within 0
    /// and 100.
    pub fit: Vec<FitGroupShape>,
    /// What each kind of touch is worth when new; kinds left out are worth nothing.
    pub engagement: Vec<TouchWeightShape>,
    /// Days after which a touch counts half (default 30). Negative points do not decay.
    pub half_life_days: f64,
    pub grades: GradeBandsShape,
    pub lifecycle: LifecycleShape,
    /// Domains of free mailboxes (FREE_MAIL and CORPORATE_MAIL read them).
    pub free_mail_domains: Vec<String>,
}

#[derive(SimpleObject, InputObject)]
#[graphql(name = "FitGroup", input_name = "FitGroupInput")]
pub struct FitGroupShape {
    pub name: String,
    /// Most points the group adds or takes away; null for no cap of its own.
    pub cap: Option<i32>,
    pub rules: Vec<FitRuleShape>,
}

#[derive(SimpleObject, InputObject)]
#[graphql(name = "FitRule", input_name = "FitRuleInput")]
pub struct FitRuleShape {
    pub label: String,
    pub field: FitField,
    /// The custom field's key, for CUSTOM.
    pub custom_key: Option<String>,
    pub operator: FitOperator,
    /// For EQUALS and CONTAINS one value, for IN one or more; compared case-insensitively.
    #[graphql(default)]
    pub values: Vec<String>,
    /// Inclusive bounds of RANGE.
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Added when the rule matches; negative subtracts.
    pub points: i32,
}

#[derive(SimpleObject, InputObject)]
#[graphql(name = "TouchWeight", input_name = "TouchWeightInput")]
pub struct TouchWeightShape {
    pub kind: TouchKind,
    pub points: i32,
}

/// Fit of at least `fitA` is band A, of at least `fitB` band B, else C; engagement of at least
/// `engagement1` is band 1, of at least `engagement2` band 2, else 3.
#[derive(SimpleObject, InputObject)]
#[graphql(name = "GradeBands", input_name = "GradeBandsInput")]
pub struct GradeBandsShape {
    pub fit_a: i32,
    pub fit_b: i32,
    pub engagement1: i32,
    pub engagement2: i32,
}

/// When scoring moves a lead forward (never back): to MQL when fit and engagement both reach
/// the thresholds (null turns it off), to SQL when a meeting is booked.
#[derive(SimpleObject, InputObject)]
#[graphql(name = "LifecycleCriteria", input_name = "LifecycleCriteriaInput")]
pub struct LifecycleShape {
    pub mql_fit: Option<i32>,
    pub mql_engagement: Option<i32>,
    pub sql_on_meeting_booked: bool,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "scoring::FitField")]
pub enum FitField {
    Title,
    Industry,
    Employees,
    Country,
    Region,
    Postcode,
    Company,
    EmailDomain,
    LeadSource,
    Budget,
    Authority,
    Need,
    Timeline,
    Custom,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "scoring::Operator")]
pub enum FitOperator {
    Equals,
    Contains,
    In,
    Range,
    Present,
    Missing,
    FreeMail,
    CorporateMail,
}

impl From<&ScoringModel> for ScoringModelShape {
    fn from(model: &ScoringModel) -> Self {
        ScoringModelShape {
            fit: model
                .fit
                .iter()
                .map(|group| FitGroupShape {
                    name: group.name.clone(),
                    cap: group.cap,
                    rules: group
                        .rules
                        .iter()
                        .map(|rule| FitRuleShape {
                            label: rule.label.clone(),
                            field: rule.field.into(),
                            custom_key: rule.custom_key.clone(),
                            operator: rule.operator.into(),
                            values: rule.values.clone(),
                            min: rule.min,
                            max: rule.max,
                            points: rule.points,
                        })
                        .collect(),
                })
                .collect(),
            engagement: model
                .engagement
                .iter()
                .map(|w| TouchWeightShape {
                    kind: w.kind.into(),
                    points: w.points,
                })
                .collect(),
            half_life_days: model.half_life_days,
            grades: GradeBandsShape {
                fit_a: model.grades.fit_a,
                fit_b: model.grades.fit_b,
                engagement1: model.grades.engagement_1,
                engagement2: model.grades.engagement_2,
            },
            lifecycle: LifecycleShape {
                mql_fit: model.lifecycle.mql.as_ref().map(|t| t.fit),
                mql_engagement: model.lifecycle.mql.as_ref().map(|t| t.engagement),
                sql_on_meeting_booked: model.lifecycle.sql_on_meeting_booked,
            },
            free_mail_domains: model.free_mail_domains.clone(),
        }
    }
}

impl ScoringModelShape {
    fn into_model(self) -> Result<ScoringModel> {
        let mql = match (self.lifecycle.mql_fit, self.lifecycle.mql_engagement) {
            (Some(fit), Some(engagement)) => Some(scoring::Thresholds { fit, engagement }),
            (None, None) => None,
            _ => {
                return Err(crate::error::AppError::bad_input(
                    "lifecycle",
                    "give both mqlFit and mqlEngagement, or neither",
                ));
            }
        };
        Ok(ScoringModel {
            fit: self
                .fit
                .into_iter()
                .map(|group| scoring::FitGroup {
                    name: group.name,
                    cap: group.cap,
                    rules: group
                        .rules
                        .into_iter()
                        .map(|rule| scoring::FitRule {
                            label: rule.label,
                            field: rule.field.into(),
                            custom_key: rule.custom_key,
                            operator: rule.operator.into(),
                            values: rule.values,
                            min: rule.min,
                            max: rule.max,
                            points: rule.points,
                        })
                        .collect(),
                })
                .collect(),
            engagement: self
                .engagement
                .into_iter()
                .map(|w| scoring::TouchWeight {
                    kind: w.kind.into(),
                    points: w.points,
                })
                .collect(),
            half_life_days: self.half_life_days,
            grades: scoring::GradeBands {
                fit_a: self.grades.fit_a,
                fit_b: self.grades.fit_b,
                engagement_1: self.grades.engagement1,
                engagement_2: self.grades.engagement2,
            },
            lifecycle: scoring::LifecycleCriteria {
                mql,
                sql_on_meeting_booked: self.lifecycle.sql_on_meeting_booked,
            },
            free_mail_domains: self.free_mail_domains,
        })
    }
}

/// A version of the scoring model.
#[derive(SimpleObject)]
pub struct ScoringModelVersion {
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub model: ScoringModelShape,
}

impl From<scoring::Version> for ScoringModelVersion {
    fn from(version: scoring::Version) -> Self {
        ScoringModelVersion {
            version: version.number,
            created_at: version.created_at,
            model: (&*version.model).into(),
        }
    }
}

/// A rescoring of every lead under one model version.
#[derive(SimpleObject)]
pub struct ScoringRun {
    pub id: ID,
    pub version: i32,
    pub state: RunState,
    /// Leads to score, counted when the run started.
    pub total: i32,
    pub done: i32,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

impl From<scoring_run::Model> for ScoringRun {
    fn from(run: scoring_run::Model) -> Self {
        ScoringRun {
            id: ID(run.id.to_string()),
            version: run.version,
            state: run.state,
            total: run.total,
            done: run.done,
            started_at: run.started_at,
            finished_at: run.finished_at,
            error: run.error,
        }
    }
}

#[derive(SimpleObject)]
pub struct ScoringModelChange {
    pub model: ScoringModelVersion,
    /// The rescoring of every lead it started; follow it with `scoringRuns`.
    pub run: ScoringRun,
}

#[derive(Default)]
pub struct ScoringQuery;

#[Object]
impl ScoringQuery {
    /// The lead scoring model in force; anyone signed in may read it.
    async fn scoring_model(&self, ctx: &Context<'_>) -> Result<ScoringModelVersion> {
        ctx.actor()?;
        Ok(scoring::model(&ctx.services().db).await?.into())
    }

    /// The latest rescoring runs, newest first (admins only).
    async fn scoring_runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: u32,
    ) -> Result<Vec<ScoringRun>> {
        let runs = scoring::runs(&ctx.services().db, ctx.actor()?, u64::from(first)).await?;
        Ok(runs.into_iter().map(ScoringRun::from).collect())
    }
}

#[derive(Default)]
pub struct ScoringMutation;

#[Object]
impl ScoringMutation {
    /// Replaces the scoring model (admins only) with a new version and rescores every lead
    /// under it in the background; the API keeps answering meanwhile.
    async fn update_scoring_model(
        &self,
        ctx: &Context<'_>,
        input: ScoringModelShape,
    ) -> Result<ScoringModelChange> {
        let model = input.into_model()?;
        let (version, run) = scoring::change_model(ctx.services(), ctx.actor()?, model).await?;
        Ok(ScoringModelChange {
            model: version.into(),
            run: run.into(),
        })
    }

    /// Moves a lead to a lifecycle stage by hand, forward or back, keeping who and why.
    async fn move_lead_stage(
        &self,
        ctx: &Context<'_>,
        id: ID,
        stage: LifecycleStage,
        reason: Option<String>,
    ) -> Result<Lead> {
        let id = uuid("id", &id)?;
        let lead = leads::move_stage(ctx.services(), ctx.actor()?, id, stage, reason).await?;
        Ok(Lead(lead))
    }
}
