//! The conditions of an assignment rule: typed data (a lead field, an operator, values), checked
//! when a rule is written and matched against a lead's facts when it is assigned. Pure: no
//! store, so every operator is tested on its own.

use entity::enums::{AssignmentField, ConditionOperator, SourceCategory};
use sea_orm::Iterable;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, Result};

/// Most conditions one rule holds.
pub const MAX_CONDITIONS: usize = 20;
/// Most values one condition lists.
pub const MAX_VALUES: usize = 100;
/// Longest value, and longest custom field key, in characters.
pub const MAX_VALUE_CHARS: usize = 200;

/// The grades scoring gives a lead: fit band (A best) by engagement band (1 best).
pub const GRADES: [&str; 9] = ["A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2", "C3"];

/// One test a lead must pass for its rule to match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub field: AssignmentField,
    /// The custom field's key, for [`AssignmentField::CustomField`] only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub operator: ConditionOperator,
    pub values: Vec<String>,
}

/// What assignment knows about a lead, as plain values.
#[derive(Debug, Clone, Default)]
pub struct LeadFacts {
    pub country: Option<String>,
    pub region: Option<String>,
    pub postcode: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<i64>,
    pub lead_source: Option<String>,
    /// The first touch's source category, as stored (`paid_search`).
    pub source_category: Option<String>,
    pub grade: Option<String>,
    pub custom_fields: serde_json::Value,
}

/// A condition that held, with the lead's value that made it hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matched {
    #[serde(flatten)]
    pub condition: Condition,
    pub lead_value: Option<String>,
}

/// Checks and normalises a rule's conditions, naming the offending path
/// (`conditions[2].values[0]`) in the refusal.
pub fn validate(conditions: Vec<Condition>) -> Result<Vec<Condition>> {
    if conditions.len() > MAX_CONDITIONS {
        return Err(AppError::bad_input(
            "conditions",
            format!("at most {MAX_CONDITIONS} conditions"),
        ));
    }
    conditions
        .into_iter()
        .enumerate()
        .map(|(i, c)| validate_one(&format!("conditions[{i}]"), c))
        .collect()
}

fn validate_one(path: &str, mut c: Condition) -> Result<Condition> {
    let key_path = format!("{path}.key");
    c.key = match (c.field, c.key.take()) {
        (AssignmentField::CustomField, Some(key)) => Some(crate::validate::required_text(
            &key_path,
            &key,
            MAX_VALUE_CHARS,
        )?),
        (AssignmentField::CustomField, None) => {
            return Err(AppError::bad_input(
                key_path,
                "a custom field condition needs a key",
            ));
        }
        (_, Some(_)) => {
            return Err(AppError::bad_input(
                key_path,
                "only a custom field condition has a key",
            ));
        }
        (_, None) => None,
    };
    let values_path = format!("{path}.values");
    let (least, most) = arity(c.operator);
    if c.values.len() < least || c.values.len() > most {
        let wanted = match (least, most) {
            (0, 0) => "no values".to_owned(),
            (l, m) if l == m => format!("exactly {l} value{}", if l == 1 { "" } else { "s" }),
            (l, m) => format!("{l} to {m} values"),
        };
        return Err(AppError::bad_input(
            values_path,
            format!("{} takes {wanted}", c.operator.as_str()),
        ));
    }
    let numeric = c.field == AssignmentField::Employees;
    if !numeric
        && matches!(
            c.operator,
            ConditionOperator::AtLeast | ConditionOperator::AtMost
        )
        && c.field != AssignmentField::CustomField
        && c.field != AssignmentField::Postcode
    {
        return Err(AppError::bad_input(
            format!("{path}.operator"),
            format!(
                "{} compares numbers, postcodes and custom fields only",
                c.operator.as_str()
            ),
        ));
    }
    c.values = c
        .values
        .into_iter()
        .enumerate()
        .map(|(i, v)| value(&format!("{values_path}[{i}]"), c.field, &v))
        .collect::<Result<_>>()?;
    if c.operator == ConditionOperator::Between && compare(&c.values[0], &c.values[1]).is_gt() {
        return Err(AppError::bad_input(
            values_path,
            "a range's low end comes first",
        ));
    }
    Ok(c)
}

/// How many values an operator takes, least and most.
fn arity(operator: ConditionOperator) -> (usize, usize) {
    match operator {
        ConditionOperator::In
        | ConditionOperator::NotIn
        | ConditionOperator::Contains
        | ConditionOperator::StartsWith => (1, MAX_VALUES),
        ConditionOperator::Between => (2, 2),
        ConditionOperator::AtLeast | ConditionOperator::AtMost => (1, 1),
        ConditionOperator::IsSet | ConditionOperator::IsNotSet => (0, 0),
    }
}

/// One value, checked against what the field can hold and put in its stored form.
fn value(path: &str, field: AssignmentField, raw: &str) -> Result<String> {
    let text = crate::validate::required_text(path, raw, MAX_VALUE_CHARS)?;
    match field {
        AssignmentField::Employees => text.parse::<u32>().map(|n| n.to_string()).map_err(|_| {
            AppError::bad_input(path, "a company size is a whole number of employees")
        }),
        AssignmentField::Country => {
            let code = text.to_ascii_uppercase();
            if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
                Ok(code)
            } else {
                Err(AppError::bad_input(
                    path,
                    "a country is an ISO 3166-1 alpha-2 code such as DE",
                ))
            }
        }
        AssignmentField::SourceCategory => {
            let wanted = text.to_ascii_lowercase();
            SourceCategory::iter()
                .find(|c| c.as_str() == wanted)
                .map(|c| c.as_str().to_owned())
                .ok_or_else(|| {
                    let known: Vec<&str> = SourceCategory::iter().map(|c| c.as_str()).collect();
                    AppError::bad_input(
                        path,
                        format!("a source category is one of {}", known.join(", ")),
                    )
                })
        }
        AssignmentField::Grade => {
            let grade = text.to_ascii_uppercase();
            if GRADES.contains(&grade.as_str()) {
                Ok(grade)
            } else {
                Err(AppError::bad_input(path, "a grade is one of A1 … C3"))
            }
        }
        _ => Ok(text),
    }
}

/// The conditions that held when every one of them did; `None` when any failed. A rule without
/// conditions matches every lead.
pub fn matches(conditions: &[Condition], lead: &LeadFacts) -> Option<Vec<Matched>> {
    conditions
        .iter()
        .map(|condition| {
            let lead_value = lead.value(condition);
            holds(condition, lead_value.as_deref()).then(|| Matched {
                condition: condition.clone(),
                lead_value,
            })
        })
        .collect()
}

impl LeadFacts {
    /// The lead's value of the condition's field, as text.
    fn value(&self, condition: &Condition) -> Option<String> {
        let text = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        match condition.field {
            AssignmentField::Country => text(&self.country),
            AssignmentField::Region => text(&self.region),
            AssignmentField::Postcode => text(&self.postcode),
            AssignmentField::Industry => text(&self.industry),
            AssignmentField::Employees => self.employees.map(|n| n.to_string()),
            AssignmentField::LeadSource => text(&self.lead_source),
            AssignmentField::SourceCategory => text(&self.source_category),
            AssignmentField::Grade => text(&self.grade),
            AssignmentField::CustomField => {
                let key = condition.key.as_deref()?;
                match self.custom_fields.get(key)? {
                    serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    serde_json::Value::Bool(b) => Some(b.to_string()),
                    _ => None,
                }
            }
        }
    }
}

fn holds(condition: &Condition, lead_value: Option<&str>) -> bool {
    use ConditionOperator as Op;
    let Some(value) = lead_value else {
        return condition.operator == Op::IsNotSet;
    };
    let folded = value.trim().to_lowercase();
    let values = || condition.values.iter().map(|v| v.to_lowercase());
    match condition.operator {
        Op::In => values().any(|v| compare(&folded, &v).is_eq()),
        Op::NotIn => values().all(|v| !compare(&folded, &v).is_eq()),
        Op::Contains => values().any(|v| folded.contains(&v)),
        Op::StartsWith => values().any(|v| folded.starts_with(&v)),
        Op::Between => {
            let (low, high) = (&condition.values[0], &condition.values[1]);
            compare(&folded, &low.to_lowercase()).is_ge()
                && compare(&folded, &high.to_lowercase()).is_le()
        }
        Op::AtLeast => compare(&folded, &condition.values[0].to_lowercase()).is_ge(),
        Op::AtMost => compare(&folded, &condition.values[0].to_lowercase()).is_le(),
        Op::IsSet => true,
        Op::IsNotSet => false,
    }
}

/// Numbers compare as numbers when both sides are numbers (a company size, a numeric postcode
/// of another length), everything else as text.
fn compare(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AssignmentField as F;
    use ConditionOperator as Op;

    fn cond(field: F, operator: Op, values: &[&str]) -> Condition {
        Condition {
            field,
            key: None,
            operator,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn lead() -> LeadFacts {
        LeadFacts {
            country: Some("DE".into()),
            region: Some("Bavaria".into()),
            postcode: Some("80331".into()),
            industry: Some("Software Publishing".into()),
            employees: Some(250),
            lead_source: Some("stripe".into()),
            source_category: Some("paid_search".into()),
            grade: Some("A2".into()),
            custom_fields: serde_json::json!({ "tier": "Gold", "seats": 12, "trial": true }),
        }
    }

    fn holds_on_lead(c: Condition) -> bool {
        matches(&[c], &lead()).is_some()
    }

    #[test]
    fn each_operator_holds_and_fails_as_documented() {
        let cases = [
            (cond(F::Country, Op::In, &["FR", "DE"]), true),
            (cond(F::Country, Op::In, &["FR"]), false),
            (cond(F::Region, Op::In, &["bavaria"]), true),
            (cond(F::Country, Op::NotIn, &["FR", "IT"]), true),
            (cond(F::Country, Op::NotIn, &["DE"]), false),
            (cond(F::Industry, Op::Contains, &["software"]), true),
            (cond(F::Industry, Op::Contains, &["retail"]), false),
            (cond(F::Postcode, Op::StartsWith, &["80", "90"]), true),
            (cond(F::Postcode, Op::StartsWith, &["1"]), false),
            (cond(F::Postcode, Op::Between, &["80000", "80999"]), true),
            (cond(F::Postcode, Op::Between, &["10000", "19999"]), false),
            (cond(F::Employees, Op::Between, &["50", "500"]), true),
            (cond(F::Employees, Op::Between, &["1000", "5000"]), false),
            (cond(F::Employees, Op::AtLeast, &["250"]), true),
            (cond(F::Employees, Op::AtLeast, &["1000"]), false),
            (cond(F::Employees, Op::AtMost, &["99"]), false),
            (cond(F::Employees, Op::AtMost, &["250"]), true),
            (cond(F::LeadSource, Op::In, &["Stripe"]), true),
            (cond(F::SourceCategory, Op::In, &["paid_search"]), true),
            (cond(F::Grade, Op::In, &["A1", "A2"]), true),
            (cond(F::Grade, Op::In, &["C3"]), false),
            (cond(F::Grade, Op::IsSet, &[]), true),
            (cond(F::Grade, Op::IsNotSet, &[]), false),
        ];
        for (condition, expected) in cases {
            assert_eq!(holds_on_lead(condition.clone()), expected, "{condition:?}");
        }
    }

    #[test]
    fn a_missing_value_only_passes_is_not_set() {
        let blank = LeadFacts::default();
        for operator in [Op::In, Op::NotIn, Op::Contains, Op::StartsWith, Op::IsSet] {
            let c = cond(F::Country, operator, &["DE"]);
            assert!(matches(&[c], &blank).is_none(), "{operator:?}");
        }
        assert!(matches(&[cond(F::Country, Op::IsNotSet, &[])], &blank).is_some());
    }

    #[test]
    fn custom_fields_compare_strings_numbers_and_booleans() {
        let custom = |key: &str, operator, values: &[&str]| Condition {
            key: Some(key.into()),
            ..cond(F::CustomField, operator, values)
        };
        assert!(holds_on_lead(custom("tier", Op::In, &["gold"])));
        assert!(holds_on_lead(custom("seats", Op::AtLeast, &["10"])));
        assert!(!holds_on_lead(custom("seats", Op::AtLeast, &["13"])));
        assert!(holds_on_lead(custom("trial", Op::In, &["true"])));
        assert!(holds_on_lead(custom("missing", Op::IsNotSet, &[])));
    }

    #[test]
    fn every_condition_must_hold_and_the_matches_carry_the_lead_values() {
        let both = [
            cond(F::Country, Op::In, &["DE"]),
            cond(F::Employees, Op::AtLeast, &["100"]),
        ];
        let matched = matches(&both, &lead()).expect("both hold");
        assert_eq!(matched[1].lead_value.as_deref(), Some("250"));
        let one_fails = [both[0].clone(), cond(F::Employees, Op::AtLeast, &["1000"])];
        assert!(matches(&one_fails, &lead()).is_none());
        assert_eq!(matches(&[], &lead()), Some(Vec::new()));
    }

    fn refusal(conditions: Vec<Condition>) -> String {
        match validate(conditions) {
            Err(AppError::BadInput { field, .. }) => field,
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn bad_conditions_are_refused_naming_the_path() {
        let ok = cond(F::Country, Op::In, &["de"]);
        assert_eq!(validate(vec![ok.clone()]).unwrap()[0].values, ["DE"]);
        assert_eq!(
            refusal(vec![ok.clone(), cond(F::Country, Op::In, &["Germany"])]),
            "conditions[1].values[0]"
        );
        assert_eq!(
            refusal(vec![cond(F::Employees, Op::AtLeast, &["many"])]),
            "conditions[0].values[0]"
        );
        assert_eq!(
            refusal(vec![cond(F::Employees, Op::Between, &["9"])]),
            "conditions[0].values"
        );
        assert_eq!(
            refusal(vec![cond(F::Employees, Op::Between, &["90", "9"])]),
            "conditions[0].values"
        );
        assert_eq!(
            refusal(vec![cond(F::Grade, Op::In, &["D4"])]),
            "conditions[0].values[0]"
        );
        assert_eq!(
            refusal(vec![cond(F::SourceCategory, Op::In, &["tv"])]),
            "conditions[0].values[0]"
        );
        assert_eq!(
            refusal(vec![cond(F::CustomField, Op::IsSet, &[])]),
            "conditions[0].key"
        );
        assert_eq!(
            refusal(vec![cond(F::Grade, Op::IsSet, &["A1"])]),
            "conditions[0].values"
        );
        assert_eq!(
            refusal(vec![cond(F::Industry, Op::AtLeast, &["a"])]),
            "conditions[0].operator"
        );
        assert_eq!(
            refusal(vec![cond(F::Industry, Op::In, &[" "])]),
            "conditions[0].values[0]"
        );
        let long = "x".repeat(MAX_VALUE_CHARS + 1);
        assert_eq!(
            refusal(vec![cond(F::Industry, Op::In, &[&long])]),
            "conditions[0].values[0]"
        );
        let many: Vec<String> = (0..=MAX_VALUES).map(|n| n.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            refusal(vec![cond(F::Industry, Op::In, &many)]),
            "conditions[0].values"
        );
        assert_eq!(refusal(vec![ok; MAX_CONDITIONS + 1]), "conditions");
    }
}
