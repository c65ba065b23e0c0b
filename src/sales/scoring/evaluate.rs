//! Scores one lead under a model, as of a moment, with every part that counted: the same
//! computation serves the worker scoring one lead, the rescoring of all of them and the
//! breakdown a rep reads, so the stored scores are always the breakdown's sums.

use chrono::{DateTime, Utc};
use entity::{
    enums::{Direction, LeadGrade, TouchpointChannel},
    lead,
};
use uuid::Uuid;

use super::model::{FitField, FitRule, GradeBands, MAX_SCORE, Operator, ScoringModel, TouchKind};

/// A touch as scoring sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Touch {
    pub id: Uuid,
    pub kind: TouchKind,
    pub at: DateTime<Utc>,
}

/// A lead's scores and how they came about.
#[derive(Clone, Debug, PartialEq)]
pub struct Breakdown {
    pub version: i32,
    pub as_of: DateTime<Utc>,
    pub fit: Fit,
    pub engagement: Engagement,
    /// Half of fit plus half of engagement, rounded half up.
    pub score: i32,
    pub grade: LeadGrade,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    pub groups: Vec<GroupPoints>,
    /// The groups' points summed, held within 0 and 100.
    pub total: i32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GroupPoints {
    pub name: String,
    pub cap: Option<i32>,
    /// The matched rules' points summed, before the cap.
    pub raw: i32,
    /// What the group adds after its cap.
    pub points: i32,
    pub rules: Vec<RulePoints>,
}

/// A rule that matched.
#[derive(Clone, Debug, PartialEq)]
pub struct RulePoints {
    pub label: String,
    pub points: i32,
    /// The lead's value the rule matched on, if it has one.
    pub value: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Engagement {
    pub half_life_days: f64,
    /// The touches that counted, newest first.
    pub touches: Vec<TouchPoints>,
    /// Their points summed, in hundredths of a point.
    pub raw_hundredths: i64,
    /// `raw_hundredths` in points, rounded half up and held within 0 and 100.
    pub total: i32,
}

/// A touch that counted.
#[derive(Clone, Debug, PartialEq)]
pub struct TouchPoints {
    pub touch_id: Uuid,
    pub kind: TouchKind,
    pub at: DateTime<Utc>,
    pub age_days: f64,
    /// What the touch was worth new.
    pub weight: i32,
    /// What it is worth at its age, in hundredths of a point.
    pub hundredths: i64,
}

/// Scores `lead` with its `touches` as of `as_of`; touches after `as_of` do not count.
pub fn evaluate(
    model: &ScoringModel,
    version: i32,
    lead: &lead::Model,
    touches: &[Touch],
    as_of: DateTime<Utc>,
) -> Breakdown {
    let fit = fit(model, lead);
    let engagement = engagement(model, touches, as_of);
    let score = (fit.total + engagement.total + 1) / 2;
    let grade = grade(&model.grades, fit.total, engagement.total);
    Breakdown {
        version,
        as_of,
        fit,
        engagement,
        score,
        grade,
    }
}

fn fit(model: &ScoringModel, lead: &lead::Model) -> Fit {
    let groups: Vec<GroupPoints> = model
        .fit
        .iter()
        .map(|group| {
            let rules: Vec<RulePoints> = group
                .rules
                .iter()
                .filter_map(|rule| {
                    let value = value_of(rule, lead);
                    matches(rule, value.as_ref(), model).then(|| RulePoints {
                        label: rule.label.clone(),
                        points: rule.points,
                        value: value.map(Value::shown),
                    })
                })
                .collect();
            let raw = rules.iter().map(|r| r.points).sum::<i32>();
            let points = group.cap.map_or(raw, |cap| raw.clamp(-cap, cap));
            GroupPoints {
                name: group.name.clone(),
                cap: group.cap,
                raw,
                points,
                rules,
            }
        })
        .collect();
    let total = groups
        .iter()
        .map(|g| g.points)
        .sum::<i32>()
        .clamp(0, MAX_SCORE);
    Fit { groups, total }
}

fn engagement(model: &ScoringModel, touches: &[Touch], as_of: DateTime<Utc>) -> Engagement {
    let half_life = model.half_life_days;
    let mut counted: Vec<TouchPoints> = touches
        .iter()
        .filter(|touch| touch.at <= as_of)
        .filter_map(|touch| {
            let weight = model.weight(touch.kind);
            let age_days = (as_of - touch.at).num_milliseconds() as f64 / 86_400_000.0;
            let hundredths = if weight < 0 {
                i64::from(weight) * 100
            } else {
                (f64::from(weight) * 100.0 * 0.5_f64.powf(age_days / half_life)).round() as i64
            };
            (hundredths != 0).then_some(TouchPoints {
                touch_id: touch.id,
                kind: touch.kind,
                at: touch.at,
                age_days,
                weight,
                hundredths,
            })
        })
        .collect();
    counted.sort_by(|a, b| b.at.cmp(&a.at).then(b.touch_id.cmp(&a.touch_id)));
    let raw_hundredths: i64 = counted.iter().map(|t| t.hundredths).sum();
    // Half up, in whole points: 2.50 is 3, -2.50 is -2.
    let points = (raw_hundredths + 50).div_euclid(100);
    let total = points.clamp(0, i64::from(MAX_SCORE)) as i32;
    Engagement {
        half_life_days: half_life,
        touches: counted,
        raw_hundredths,
        total,
    }
}

/// The grade of a fit and an engagement score.
pub fn grade(bands: &GradeBands, fit: i32, engagement: i32) -> LeadGrade {
    use LeadGrade as G;
    let fit_band = if fit >= bands.fit_a {
        0
    } else if fit >= bands.fit_b {
        1
    } else {
        2
    };
    let engagement_band = if engagement >= bands.engagement_1 {
        0
    } else if engagement >= bands.engagement_2 {
        1
    } else {
        2
    };
    [
        [G::A1, G::A2, G::A3],
        [G::B1, G::B2, G::B3],
        [G::C1, G::C2, G::C3],
    ][fit_band][engagement_band]
}

impl TouchKind {
    /// What kind of touch a recorded touchpoint is, from its channel, direction, the
    /// provider's event name and the contact flag it raised.
    pub fn of(
        channel: TouchpointChannel,
        direction: Option<Direction>,
        event: Option<&str>,
        flag: Option<&str>,
    ) -> TouchKind {
        use TouchKind as K;
        match flag {
            Some("bounced") => return K::EmailBounced,
            Some("unsubscribed") => return K::Unsubscribed,
            Some("spam_reported") => return K::SpamReported,
            _ => {}
        }
        let event = event.unwrap_or_default().to_ascii_lowercase();
        let inbound = direction != Some(Direction::Outbound);
        match channel {
            TouchpointChannel::Email => match event.as_str() {
                "open" | "opened" => K::EmailOpened,
                "click" | "clicked" => K::EmailClicked,
                "delivered" | "dropped" | "processed" | "sent" => K::EmailDelivered,
                _ if inbound => K::EmailReceived,
                _ => K::EmailDelivered,
            },
            TouchpointChannel::WebForm => K::FormSubmitted,
            TouchpointChannel::Web => K::WebVisit,
            TouchpointChannel::Meeting if event.contains("cancel") => K::MeetingCanceled,
            TouchpointChannel::Meeting => K::MeetingBooked,
            TouchpointChannel::Call if inbound => K::InboundCall,
            TouchpointChannel::Call => K::OutboundCall,
            TouchpointChannel::Sms if inbound => K::InboundSms,
            TouchpointChannel::Sms => K::OutboundSms,
            TouchpointChannel::Billing => K::Payment,
            TouchpointChannel::Other => K::Other,
        }
    }
}

/// A lead's value of a field, as rules compare it.
enum Value {
    Text(String),
    Number(f64),
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::Text(text) => text.clone(),
            Value::Number(n) => n.to_string(),
        }
    }

    fn shown(self) -> String {
        self.text()
    }
}

fn value_of(rule: &FitRule, lead: &lead::Model) -> Option<Value> {
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| Value::Text(t.to_lowercase()))
    };
    match rule.field {
        FitField::Title => text(&lead.title),
        FitField::Industry => text(&lead.industry),
        FitField::Employees => lead.employees.map(|n| Value::Number(f64::from(n))),
        FitField::Country => text(&lead.country),
        FitField::Region => text(&lead.region),
        FitField::Postcode => text(&lead.postcode),
        FitField::Company => text(&lead.company),
        FitField::EmailDomain => text(
            &lead
                .email
                .as_deref()
                .and_then(|email| email.rsplit_once('@'))
                .map(|(_, domain)| domain.to_owned()),
        ),
        FitField::LeadSource => text(&lead.lead_source),
        // Whether a budget is known, never how much: fit rules are seen by roles that may not
        // see amounts.
        FitField::Budget => lead.budget_minor.map(|_| Value::Text("known".into())),
        FitField::Authority => text(&lead.authority),
        FitField::Need => text(&lead.need),
        FitField::Timeline => text(&lead.timeline),
        FitField::Custom => {
            let key = rule.custom_key.as_deref()?;
            match lead.custom_fields.get(key)? {
                serde_json::Value::String(s) => text(&Some(s.clone())),
                serde_json::Value::Number(n) => n.as_f64().map(Value::Number),
                serde_json::Value::Bool(b) => Some(Value::Text(b.to_string())),
                _ => None,
            }
        }
    }
}

fn matches(rule: &FitRule, value: Option<&Value>, model: &ScoringModel) -> bool {
    let first = || rule.values.first().map(String::as_str).unwrap_or_default();
    match (rule.operator, value) {
        (Operator::Present, value) => value.is_some(),
        (Operator::Missing, value) => value.is_none(),
        (_, None) => false,
        (Operator::Equals, Some(v)) => v.text() == first(),
        (Operator::Contains, Some(v)) => v.text().contains(first()),
        (Operator::In, Some(v)) => rule.values.contains(&v.text()),
        (Operator::Range, Some(Value::Number(n))) => {
            rule.min.is_none_or(|min| *n >= min) && rule.max.is_none_or(|max| *n <= max)
        }
        (Operator::Range, Some(Value::Text(t))) => t.parse::<f64>().is_ok_and(|n| {
            rule.min.is_none_or(|min| n >= min) && rule.max.is_none_or(|max| n <= max)
        }),
        (Operator::FreeMail, Some(v)) => model.free_mail_domains.contains(&v.text()),
        (Operator::CorporateMail, Some(v)) => !model.free_mail_domains.contains(&v.text()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use entity::enums::{LeadStatus, LifecycleStage};

    use super::*;

    fn lead() -> lead::Model {
        let now = Utc::now();
        lead::Model {
            id: Uuid::now_v7(),
            first_name: None,
            last_name: Some("Ní Bhriain".into()),
            email: Some("aoife@acme.ie".into()),
            phone: None,
            company: Some("Acme".into()),
            title: Some("Head of Operations".into()),
            website: None,
            industry: Some("Software".into()),
            employees: Some(200),
            country: Some("IE".into()),
            region: None,
            postcode: None,
            status: LeadStatus::NotContacted,
            lifecycle_stage: LifecycleStage::Lead,
            lead_source: None,
            owner_id: None,
            budget_minor: Some(10_000),
            budget_currency: Some("EUR".into()),
            authority: None,
            need: Some("CRM".into()),
            timeline: None,
            competitors: serde_json::json!([]),
            objections: serde_json::json!([]),
            fit_score: 0,
            engagement_score: 0,
            score: 0,
            grade: None,
            scored_at: None,
            score_version: None,
            first_source: None,
            first_medium: None,
            first_campaign: None,
            first_source_category: None,
            first_touch_at: None,
            latest_source: None,
            latest_medium: None,
            latest_campaign: None,
            latest_source_category: None,
            latest_touch_at: None,
            custom_fields: serde_json::json!({"seats": 40, "plan": "Team"}),
            converted_at: None,
            converted_contact_id: None,
            converted_account_id: None,
            converted_opportunity_id: None,
            search_text: None,
            archived_at: None,
            merged_into_id: None,
            created_at: now,
            updated_at: now,
        }
    }

    fn touch(kind: TouchKind, days_ago: i64, now: DateTime<Utc>) -> Touch {
        Touch {
            id: Uuid::now_v7(),
            kind,
            at: now - Duration::days(days_ago),
        }
    }

    #[test]
    fn default_fit_adds_each_matched_rule_within_its_group_cap() {
        let breakdown = evaluate(&ScoringModel::default(), 1, &lead(), &[], Utc::now());
        let points: Vec<(&str, i32, i32)> = breakdown
            .fit
            .groups
            .iter()
            .map(|g| (g.name.as_str(), g.raw, g.points))
            .collect();
        // Head of 25; 51–1,000 people 20 + software 10 = 30 (cap 30); corporate email 15;
        // budget 10 + need 5.
        assert_eq!(
            points,
            [
                ("Role", 25, 25),
                ("Company", 30, 30),
                ("Email", 15, 15),
                ("BANT", 15, 15)
            ]
        );
        assert_eq!(breakdown.fit.total, 85);
        let company = &breakdown.fit.groups[1].rules;
        assert_eq!(company[0].value.as_deref(), Some("200"));
        assert_eq!(company[1].value.as_deref(), Some("software"));
    }

    #[test]
    fn a_group_cap_holds_its_points_and_the_total_stays_within_0_and_100() {
        let mut model = ScoringModel::default();
        model.fit[0].cap = Some(5);
        let mut lead = lead();
        lead.title = Some("Chief Revenue Officer".into());
        let breakdown = evaluate(&model, 1, &lead, &[], Utc::now());
        assert_eq!(
            (breakdown.fit.groups[0].raw, breakdown.fit.groups[0].points),
            (30, 5)
        );

        lead.title = Some("Student".into());
        lead.email = Some("x@gmail.com".into());
        lead.employees = None;
        lead.industry = None;
        lead.budget_minor = None;
        lead.need = None;
        let breakdown = evaluate(&model, 1, &lead, &[], Utc::now());
        assert_eq!(breakdown.fit.groups[0].points, -5);
        assert_eq!(breakdown.fit.groups[2].points, -5);
        assert_eq!(breakdown.fit.total, 0);
    }

    #[test]
    fn custom_fields_compare_as_numbers_and_text() {
        let mut model = ScoringModel::default();
        let rule = |operator, values: &[&str], min, max, points| FitRule {
            label: "seats".into(),
            field: FitField::Custom,
            custom_key: Some("seats".into()),
            operator,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            min,
            max,
            points,
        };
        let plan = FitRule {
            custom_key: Some("plan".into()),
            ..rule(Operator::Equals, &["team"], None, None, 7)
        };
        model.fit = vec![super::super::model::FitGroup {
            name: "Custom".into(),
            cap: None,
            rules: vec![
                rule(Operator::Range, &[], Some(10.0), Some(50.0), 11),
                rule(Operator::Range, &[], Some(41.0), None, 100),
                plan,
            ],
        }];
        let breakdown = evaluate(&model, 1, &lead(), &[], Utc::now());
        assert_eq!(breakdown.fit.total, 18);
    }

    #[test]
    fn a_touch_counts_half_at_one_half_life_and_a_quarter_at_two() {
        let now = Utc::now();
        let model = ScoringModel::default();
        let touches = [
            touch(TouchKind::InboundCall, 0, now),
            touch(TouchKind::InboundCall, 30, now),
            touch(TouchKind::FormSubmitted, 60, now),
        ];
        let breakdown = evaluate(&model, 1, &lead(), &touches, now);
        let hundredths: Vec<i64> = breakdown
            .engagement
            .touches
            .iter()
            .map(|t| t.hundredths)
            .collect();
        assert_eq!(hundredths, [2500, 1250, 250]);
        assert_eq!(breakdown.engagement.raw_hundredths, 4000);
        assert_eq!(breakdown.engagement.total, 40);
        assert_eq!(breakdown.score, (85 + 40 + 1) / 2);
    }

    #[test]
    fn bounces_and_unsubscribes_subtract_without_decay_and_engagement_stays_non_negative() {
        let now = Utc::now();
        let model = ScoringModel::default();
        let touches = [
            touch(TouchKind::MeetingBooked, 0, now),
            touch(TouchKind::EmailBounced, 300, now),
        ];
        let breakdown = evaluate(&model, 1, &lead(), &touches, now);
        assert_eq!(breakdown.engagement.raw_hundredths, 2000 - 1000);
        assert_eq!(breakdown.engagement.total, 10);
        let touches = [touch(TouchKind::Unsubscribed, 1, now)];
        assert_eq!(
            evaluate(&model, 1, &lead(), &touches, now).engagement.total,
            0
        );
    }

    #[test]
    fn touches_after_the_moment_scored_do_not_count_and_unweighed_ones_are_left_out() {
        let now = Utc::now();
        let touches = [
            touch(TouchKind::InboundCall, -1, now),
            touch(TouchKind::EmailDelivered, 0, now),
        ];
        let breakdown = evaluate(&ScoringModel::default(), 1, &lead(), &touches, now);
        assert!(breakdown.engagement.touches.is_empty());
        assert_eq!(breakdown.engagement.total, 0);
    }

    #[test]
    fn grades_change_exactly_at_their_thresholds() {
        let bands = ScoringModel::default().grades;
        assert_eq!(grade(&bands, 70, 60), LeadGrade::A1);
        assert_eq!(grade(&bands, 69, 60), LeadGrade::B1);
        assert_eq!(grade(&bands, 40, 59), LeadGrade::B2);
        assert_eq!(grade(&bands, 39, 30), LeadGrade::C2);
        assert_eq!(grade(&bands, 100, 29), LeadGrade::A3);
        assert_eq!(grade(&bands, 0, 0), LeadGrade::C3);
    }

    #[test]
    fn touch_kinds_follow_channel_direction_event_and_flag() {
        use TouchpointChannel as C;
        let inbound = Some(Direction::Inbound);
        let outbound = Some(Direction::Outbound);
        assert_eq!(
            TouchKind::of(C::Email, inbound, Some("open"), None),
            TouchKind::EmailOpened
        );
        assert_eq!(
            TouchKind::of(C::Email, inbound, Some("Click"), None),
            TouchKind::EmailClicked
        );
        assert_eq!(
            TouchKind::of(C::Email, outbound, Some("bounce"), Some("bounced")),
            TouchKind::EmailBounced
        );
        assert_eq!(
            TouchKind::of(C::Email, inbound, Some("inbound"), None),
            TouchKind::EmailReceived
        );
        assert_eq!(
            TouchKind::of(C::Meeting, inbound, Some("invitee.canceled"), None),
            TouchKind::MeetingCanceled
        );
        assert_eq!(
            TouchKind::of(C::Meeting, inbound, Some("invitee.created"), None),
            TouchKind::MeetingBooked
        );
        assert_eq!(
            TouchKind::of(C::Call, outbound, None, None),
            TouchKind::OutboundCall
        );
    }

    #[test]
    fn lifecycle_moves_only_forward() {
        let model = ScoringModel::default();
        use LifecycleStage as S;
        let meeting = Some(Uuid::now_v7());
        assert_eq!(
            model.stage_for(S::Lead, 50, 40, None).map(|m| m.0),
            Some(S::Mql)
        );
        assert_eq!(model.stage_for(S::Lead, 49, 40, None), None);
        assert_eq!(
            model.stage_for(S::Mql, 0, 0, meeting).map(|m| m.0),
            Some(S::Sql)
        );
        assert_eq!(model.stage_for(S::Customer, 100, 100, meeting), None);
        assert_eq!(model.stage_for(S::Sql, 100, 100, None), None);
        assert_eq!(model.stage_for(S::Other, 100, 100, meeting), None);
    }
}
