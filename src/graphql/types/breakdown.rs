//! A lead's score breakdown as the API shows it.

use async_graphql::{Enum, ID, SimpleObject};
use chrono::{DateTime, Utc};
use entity::enums::LeadGrade;

use crate::sales::scoring::{self, Breakdown};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "scoring::TouchKind")]
pub enum TouchKind {
    EmailDelivered,
    EmailOpened,
    EmailClicked,
    EmailReceived,
    EmailBounced,
    Unsubscribed,
    SpamReported,
    FormSubmitted,
    WebVisit,
    MeetingBooked,
    MeetingCanceled,
    InboundCall,
    OutboundCall,
    InboundSms,
    OutboundSms,
    Payment,
    Other,
}

/// How a lead's stored scores came about: every rule and touch that counted, as of the moment
/// they were computed, under the model version that computed them. The parts add up to the
/// lead's scores.
#[derive(SimpleObject)]
pub struct ScoreBreakdown {
    pub model_version: i32,
    pub scored_at: DateTime<Utc>,
    pub fit: i32,
    pub engagement: i32,
    pub score: i32,
    pub grade: LeadGrade,
    pub fit_groups: Vec<FitGroupPoints>,
    /// Touches that counted, newest first.
    pub touches: Vec<TouchPoints>,
    pub half_life_days: f64,
}

#[derive(SimpleObject)]
pub struct FitGroupPoints {
    pub name: String,
    pub cap: Option<i32>,
    /// The matched rules' points before the cap.
    pub raw: i32,
    /// What the group adds after its cap.
    pub points: i32,
    pub rules: Vec<RulePoints>,
}

#[derive(SimpleObject)]
pub struct RulePoints {
    pub label: String,
    pub points: i32,
    /// The lead's value the rule matched.
    pub value: Option<String>,
}

#[derive(SimpleObject)]
pub struct TouchPoints {
    pub touchpoint_id: ID,
    pub kind: TouchKind,
    pub occurred_at: DateTime<Utc>,
    pub age_days: f64,
    /// What it was worth new.
    pub weight: i32,
    /// What it counted for at its age, to the hundredth.
    pub points: f64,
}

impl From<Breakdown> for ScoreBreakdown {
    fn from(b: Breakdown) -> Self {
        ScoreBreakdown {
            model_version: b.version,
            scored_at: b.as_of,
            fit: b.fit.total,
            engagement: b.engagement.total,
            score: b.score,
            grade: b.grade,
            fit_groups: b
                .fit
                .groups
                .into_iter()
                .map(|g| FitGroupPoints {
                    name: g.name,
                    cap: g.cap,
                    raw: g.raw,
                    points: g.points,
                    rules: g
                        .rules
                        .into_iter()
                        .map(|r| RulePoints {
                            label: r.label,
                            points: r.points,
                            value: r.value,
                        })
                        .collect(),
                })
                .collect(),
            touches: b
                .engagement
                .touches
                .into_iter()
                .map(|t| TouchPoints {
                    touchpoint_id: ID(t.touch_id.to_string()),
                    kind: t.kind.into(),
                    occurred_at: t.at,
                    age_days: t.age_days,
                    weight: t.weight,
                    points: t.hundredths as f64 / 100.0,
                })
                .collect(),
            half_life_days: b.engagement.half_life_days,
        }
    }
}
