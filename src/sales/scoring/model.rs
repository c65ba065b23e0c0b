//! The scoring model admins edit: fit rules in capped groups, engagement weights per kind of
//! touch with their decay, the grade bands and the lifecycle criteria. It is stored as JSON, one
//! version per change, and checked whole before it is stored.

use entity::enums::LifecycleStage;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, Result};

/// Highest score of each part, and the lowest.
pub const MAX_SCORE: i32 = 100;

const MAX_GROUPS: usize = 50;
const MAX_RULES: usize = 500;
const MAX_VALUES: usize = 200;
const MAX_TEXT: usize = 200;
const MAX_FREE_MAIL_DOMAINS: usize = 2_000;
/// Points one rule or one kind of touch may give or take.
const MAX_POINTS: i32 = 1_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoringModel {
    pub fit: Vec<FitGroup>,
    pub engagement: Vec<TouchWeight>,
    /// Days after which a touch counts half; its points halve again every as many days.
    pub half_life_days: f64,
    pub grades: GradeBands,
    pub lifecycle: LifecycleCriteria,
    /// Domains of free mailboxes: an address there says nothing about an employer.
    pub free_mail_domains: Vec<String>,
}

/// Rules whose points add up, the sum held within `cap` either way.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitGroup {
    pub name: String,
    /// Most points the group may add (and take away); `None` for no cap below the total's.
    pub cap: Option<i32>,
    pub rules: Vec<FitRule>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitRule {
    pub label: String,
    pub field: FitField,
    /// The custom field's key, for [`FitField::Custom`].
    pub custom_key: Option<String>,
    pub operator: Operator,
    /// What `Equals`, `Contains` and `In` compare with, case-insensitively.
    #[serde(default)]
    pub values: Vec<String>,
    /// Bounds of `Range`, inclusive; one may be left out.
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Added when the rule matches; negative to subtract.
    pub points: i32,
}

/// A lead field fit rules read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FitField {
    Title,
    Industry,
    /// Head count of the company.
    Employees,
    Country,
    Region,
    Postcode,
    Company,
    /// The part of the email address after the `@`.
    EmailDomain,
    LeadSource,
    Budget,
    Authority,
    Need,
    Timeline,
    Custom,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// The field equals the one value.
    Equals,
    /// The field contains the one value.
    Contains,
    /// The field equals one of the values.
    In,
    /// The field, a number, lies within `min` and `max`.
    Range,
    /// The field has a value.
    Present,
    /// The field has no value.
    Missing,
    /// The email domain is a free mailbox's.
    FreeMail,
    /// The email domain is an employer's: present and not a free mailbox's.
    CorporateMail,
}

/// What one kind of touch is worth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TouchWeight {
    pub kind: TouchKind,
    /// Points of a touch that happened now. Negative points (a bounce) subtract and do not
    /// decay: an address that bounced stays bounced.
    pub points: i32,
}

/// The kinds of touch engagement tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

/// Fit of at least `fit_a` is band A, of at least `fit_b` band B, else C; engagement of at
/// least `engagement_1` is band 1, of at least `engagement_2` band 2, else 3.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradeBands {
    pub fit_a: i32,
    pub fit_b: i32,
    pub engagement_1: i32,
    pub engagement_2: i32,
}

/// When scoring moves a lead forward through the lifecycle. Moves only go forward: a lead
/// already past a stage stays where it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LifecycleCriteria {
    /// A lead becomes an MQL when its fit and engagement both reach these; `None` turns the
    /// automatic MQL off.
    pub mql: Option<Thresholds>,
    /// A booked meeting makes the lead an SQL.
    pub sql_on_meeting_booked: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub fit: i32,
    pub engagement: i32,
}

impl Default for ScoringModel {
    /// A starting point teams tune: senior titles, target industries and company sizes,
    /// corporate email and BANT answers for fit; inbound calls and meetings above forms above
    /// clicks above opens for engagement.
    fn default() -> Self {
        let rule = |label: &str, field, operator, values: &[&str], points| FitRule {
            label: label.to_owned(),
            field,
            custom_key: None,
            operator,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            min: None,
            max: None,
            points,
        };
        let size = |label: &str, min: f64, max: Option<f64>, points| FitRule {
            min: Some(min),
            max,
            ..rule(label, FitField::Employees, Operator::Range, &[], points)
        };
        use FitField as F;
        use Operator as O;
        let weight = |kind, points| TouchWeight { kind, points };
        use TouchKind as K;
        ScoringModel {
            fit: vec![
                FitGroup {
                    name: "Role".into(),
                    cap: Some(30),
                    rules: vec![
                        rule("Decision maker", F::Title, O::Contains, &["chief"], 30),
                        rule("Head of", F::Title, O::Contains, &["head of"], 25),
                        rule("Director", F::Title, O::Contains, &["director"], 20),
                        rule("Vice president", F::Title, O::Contains, &["vp"], 20),
                        rule("Manager", F::Title, O::Contains, &["manager"], 10),
                        rule("Student", F::Title, O::Contains, &["student"], -20),
                    ],
                },
                FitGroup {
                    name: "Company".into(),
                    cap: Some(30),
                    rules: vec![
                        size("51 to 1,000 people", 51.0, Some(1_000.0), 20),
                        size("Over 1,000 people", 1_001.0, None, 15),
                        size("11 to 50 people", 11.0, Some(50.0), 10),
                        rule(
                            "Target industry",
                            F::Industry,
                            O::In,
                            &["software", "saas", "financial services", "retail"],
                            10,
                        ),
                    ],
                },
                FitGroup {
                    name: "Email".into(),
                    cap: Some(15),
                    rules: vec![
                        rule("Corporate email", F::EmailDomain, O::CorporateMail, &[], 15),
                        rule("Free mailbox", F::EmailDomain, O::FreeMail, &[], -5),
                    ],
                },
                FitGroup {
                    name: "BANT".into(),
                    cap: Some(25),
                    rules: vec![
                        rule("Budget known", F::Budget, O::Present, &[], 10),
                        rule("Authority known", F::Authority, O::Present, &[], 5),
                        rule("Need known", F::Need, O::Present, &[], 5),
                        rule("Timeline known", F::Timeline, O::Present, &[], 5),
                    ],
                },
            ],
            engagement: vec![
                weight(K::EmailOpened, 1),
                weight(K::WebVisit, 2),
                weight(K::EmailClicked, 3),
                weight(K::EmailReceived, 8),
                weight(K::InboundSms, 8),
                weight(K::FormSubmitted, 10),
                weight(K::MeetingBooked, 20),
                weight(K::InboundCall, 25),
                weight(K::Payment, 25),
                weight(K::MeetingCanceled, -5),
                weight(K::EmailBounced, -10),
                weight(K::Unsubscribed, -20),
                weight(K::SpamReported, -30),
            ],
            half_life_days: 30.0,
            grades: GradeBands {
                fit_a: 70,
                fit_b: 40,
                engagement_1: 60,
                engagement_2: 30,
            },
            lifecycle: LifecycleCriteria {
                mql: Some(Thresholds {
                    fit: 50,
                    engagement: 40,
                }),
                sql_on_meeting_booked: true,
            },
            free_mail_domains: [
                "gmail.com",
                "googlemail.com",
                "yahoo.com",
                "yahoo.co.uk",
                "ymail.com",
                "hotmail.com",
                "hotmail.co.uk",
                "outlook.com",
                "live.com",
                "msn.com",
                "aol.com",
                "icloud.com",
                "me.com",
                "mac.com",
                "proton.me",
                "protonmail.com",
                "gmx.com",
                "gmx.net",
                "gmx.de",
                "web.de",
                "mail.com",
                "yandex.com",
                "yandex.ru",
                "mail.ru",
                "zoho.com",
                "fastmail.com",
                "qq.com",
                "163.com",
                "eircom.net",
                "btinternet.com",
            ]
            .map(str::to_owned)
            .to_vec(),
        }
    }
}

impl ScoringModel {
    /// Checks the model whole; every error names the path of what is wrong, as the API takes
    /// it (`fit[0].rules[2].values`).
    pub fn check(mut self) -> Result<Self> {
        if self.fit.len() > MAX_GROUPS {
            return Err(AppError::bad_input(
                "fit",
                format!("at most {MAX_GROUPS} groups"),
            ));
        }
        let rules: usize = self.fit.iter().map(|g| g.rules.len()).sum();
        if rules > MAX_RULES {
            return Err(AppError::bad_input(
                "fit",
                format!("at most {MAX_RULES} rules in all"),
            ));
        }
        for (g, group) in self.fit.iter_mut().enumerate() {
            let path = format!("fit[{g}]");
            group.name = label(&format!("{path}.name"), &group.name)?;
            if let Some(cap) = group.cap
                && !(0..=MAX_SCORE).contains(&cap)
            {
                return Err(AppError::bad_input(
                    format!("{path}.cap"),
                    "must be between 0 and 100",
                ));
            }
            for (r, rule) in group.rules.iter_mut().enumerate() {
                rule.check(&format!("{path}.rules[{r}]"))?;
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (w, weight) in self.engagement.iter().enumerate() {
            let path = format!("engagement[{w}]");
            if !seen.insert(weight.kind) {
                return Err(AppError::bad_input(
                    &path,
                    "each kind of touch is weighed once",
                ));
            }
            points(&format!("{path}.points"), weight.points)?;
        }
        if !(self.half_life_days.is_finite() && (0.1..=3650.0).contains(&self.half_life_days)) {
            return Err(AppError::bad_input(
                "halfLifeDays",
                "must be between 0.1 and 3650 days",
            ));
        }
        let g = &self.grades;
        for (field, value) in [
            ("grades.fitA", g.fit_a),
            ("grades.fitB", g.fit_b),
            ("grades.engagement1", g.engagement_1),
            ("grades.engagement2", g.engagement_2),
        ] {
            if !(0..=MAX_SCORE).contains(&value) {
                return Err(AppError::bad_input(field, "must be between 0 and 100"));
            }
        }
        if g.fit_b > g.fit_a || g.engagement_2 > g.engagement_1 {
            return Err(AppError::bad_input(
                "grades",
                "a better band needs a higher threshold",
            ));
        }
        if let Some(mql) = &self.lifecycle.mql
            && !((0..=MAX_SCORE).contains(&mql.fit) && (0..=MAX_SCORE).contains(&mql.engagement))
        {
            return Err(AppError::bad_input(
                "lifecycle.mql",
                "thresholds must be between 0 and 100",
            ));
        }
        if self.free_mail_domains.len() > MAX_FREE_MAIL_DOMAINS {
            return Err(AppError::bad_input(
                "freeMailDomains",
                format!("at most {MAX_FREE_MAIL_DOMAINS}"),
            ));
        }
        for (d, domain) in self.free_mail_domains.iter_mut().enumerate() {
            let path = format!("freeMailDomains[{d}]");
            *domain = label(&path, domain)?.to_lowercase();
            if domain.contains(['@', ' ', '/']) {
                return Err(AppError::bad_input(&path, "a domain such as gmail.com"));
            }
        }
        Ok(self)
    }

    /// The points a kind of touch is worth now; 0 when it is not weighed.
    pub fn weight(&self, kind: TouchKind) -> i32 {
        self.engagement
            .iter()
            .find(|w| w.kind == kind)
            .map_or(0, |w| w.points)
    }

    /// The stage the lifecycle criteria move a lead to and why, given its scores and the
    /// meeting it booked, if any: `None` when they leave it where it is.
    pub fn stage_for(
        &self,
        current: LifecycleStage,
        fit: i32,
        engagement: i32,
        meeting: Option<uuid::Uuid>,
    ) -> Option<(LifecycleStage, String)> {
        let criteria = &self.lifecycle;
        let target = match meeting.filter(|_| criteria.sql_on_meeting_booked) {
            Some(touch) => Some((
                LifecycleStage::Sql,
                format!("scoring: a meeting was booked (touchpoint {touch})"),
            )),
            None => criteria
                .mql
                .as_ref()
                .filter(|mql| fit >= mql.fit && engagement >= mql.engagement)
                .map(|mql| {
                    let why = format!(
                        "scoring: fit {fit} ≥ {} and engagement {engagement} ≥ {}",
                        mql.fit, mql.engagement
                    );
                    (LifecycleStage::Mql, why)
                }),
        }?;
        (rank(target.0) > rank(current)).then_some(target)
    }
}

/// How far along the funnel a stage is; automatic moves only go up. `Other` is off the funnel
/// and never moved automatically.
fn rank(stage: LifecycleStage) -> u8 {
    match stage {
        LifecycleStage::Subscriber => 1,
        LifecycleStage::Lead => 2,
        LifecycleStage::Mql => 3,
        LifecycleStage::Sql => 4,
        LifecycleStage::Opportunity => 5,
        LifecycleStage::Customer => 6,
        LifecycleStage::Evangelist => 7,
        LifecycleStage::Other => u8::MAX,
    }
}

impl FitRule {
    fn check(&mut self, path: &str) -> Result<()> {
        self.label = label(&format!("{path}.label"), &self.label)?;
        points(&format!("{path}.points"), self.points)?;
        match (self.field, &self.custom_key) {
            (FitField::Custom, None) => {
                return Err(AppError::bad_input(
                    format!("{path}.customKey"),
                    "a custom field needs its key",
                ));
            }
            (FitField::Custom, Some(key)) => {
                self.custom_key = Some(label(&format!("{path}.customKey"), key)?);
            }
            (_, Some(_)) => {
                return Err(AppError::bad_input(
                    format!("{path}.customKey"),
                    "only for the CUSTOM field",
                ));
            }
            (_, None) => {}
        }
        if self.values.len() > MAX_VALUES {
            return Err(AppError::bad_input(
                format!("{path}.values"),
                format!("at most {MAX_VALUES}"),
            ));
        }
        for (v, value) in self.values.iter_mut().enumerate() {
            *value = label(&format!("{path}.values[{v}]"), value)?.to_lowercase();
        }
        let numeric = matches!(self.field, FitField::Employees | FitField::Custom);
        let email = self.field == FitField::EmailDomain;
        let wanted = match self.operator {
            Operator::Equals | Operator::Contains => self.values.len() == 1,
            Operator::In => !self.values.is_empty(),
            Operator::Range => {
                numeric
                    && self.values.is_empty()
                    && (self.min.is_some() || self.max.is_some())
                    && self.min.is_none_or(f64::is_finite)
                    && self.max.is_none_or(f64::is_finite)
                    && self.min.zip(self.max).is_none_or(|(lo, hi)| lo <= hi)
            }
            Operator::Present | Operator::Missing => self.values.is_empty(),
            Operator::FreeMail | Operator::CorporateMail => email && self.values.is_empty(),
        };
        if !wanted {
            return Err(AppError::bad_input(path, self.operator.needs()));
        }
        if self.operator != Operator::Range && (self.min.is_some() || self.max.is_some()) {
            return Err(AppError::bad_input(path, "min and max are only for RANGE"));
        }
        Ok(())
    }
}

impl Operator {
    fn needs(self) -> &'static str {
        match self {
            Operator::Equals | Operator::Contains => "takes exactly one value",
            Operator::In => "takes one value or more",
            Operator::Range => {
                "takes min and/or max (min ≤ max) and no values, on EMPLOYEES or a CUSTOM field"
            }
            Operator::Present | Operator::Missing => "takes no values",
            Operator::FreeMail | Operator::CorporateMail => {
                "is only for EMAIL_DOMAIN, with no values"
            }
        }
    }
}

fn label(field: &str, text: &str) -> Result<String> {
    let text = crate::validate::optional_text(field, text, MAX_TEXT)?;
    if text.is_empty() {
        return Err(AppError::bad_input(field, "must not be blank"));
    }
    Ok(text)
}

fn points(field: &str, points: i32) -> Result<()> {
    if (-MAX_POINTS..=MAX_POINTS).contains(&points) {
        Ok(())
    } else {
        Err(AppError::bad_input(field, "must be between -1000 and 1000"))
    }
}
