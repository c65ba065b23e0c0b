//! Fellegi-Sunter: each field's agreement level is evidence, `log2(m / u)`, where `m` is how
//! often true matches agree at that level and `u` how often non-matches do. The weights sum to
//! a match weight, and with the prior share of matches among candidate pairs, to a probability.
//! `m` and `u` are set by an admin or estimated from the data: `u` from random pairs (nearly all
//! non-matches), `m` by expectation-maximisation over the candidate pairs.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{Row, compare::FieldSpec};

/// Smallest probability a level keeps, so no single field can veto or prove a match alone.
const FLOOR: f64 = 1e-4;

/// `m` and `u` of each agreement level of one field, disagreement last.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldWeights {
    pub m: Vec<f64>,
    pub u: Vec<f64>,
}

impl FieldWeights {
    /// The evidence of agreeing at `level`, in bits.
    pub fn weight(&self, level: u8) -> f64 {
        let level = level as usize;
        (self.m[level].max(FLOOR) / self.u[level].max(FLOOR)).log2()
    }
}

/// The weights of every field of a rule, and the prior share of matches among candidates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub fields: Vec<FieldWeights>,
    pub prior: f64,
}

impl Model {
    /// Starting weights before any estimate: agreeing exactly is strong evidence, a near miss
    /// some, and disagreeing evidence against.
    pub fn starting(specs: &[FieldSpec]) -> Model {
        let fields = specs
            .iter()
            .map(|spec| {
                let n = spec.levels.count();
                let mut m = vec![0.0; n];
                let mut u = vec![0.0; n];
                m[0] = 0.9;
                u[0] = 0.01;
                for level in 1..n - 1 {
                    m[level] = 0.05 / (n - 2) as f64;
                    u[level] = 0.04 / (n - 2) as f64;
                }
                m[n - 1] = 1.0 - m.iter().sum::<f64>();
                u[n - 1] = 1.0 - u.iter().sum::<f64>();
                FieldWeights { m, u }
            })
            .collect();
        Model { fields, prior: 0.1 }
    }

    /// Each field's evidence for a comparison vector, in bits; 0 where a value is missing.
    pub fn weights(&self, levels: &[Option<u8>]) -> Vec<f64> {
        levels
            .iter()
            .zip(&self.fields)
            .map(|(level, field)| level.map_or(0.0, |level| field.weight(level)))
            .collect()
    }

    /// The match weight of a comparison vector: the sum of its fields' evidence.
    pub fn score(&self, levels: &[Option<u8>]) -> f64 {
        self.weights(levels).iter().sum()
    }

    /// The probability that a pair with this match weight is a match.
    pub fn probability(&self, score: f64) -> f64 {
        let prior = self.prior.clamp(FLOOR, 1.0 - FLOOR);
        let odds = prior / (1.0 - prior) * score.exp2();
        if odds.is_infinite() {
            1.0
        } else {
            odds / (1.0 + odds)
        }
    }

    /// `u` measured on the data, where nearly every pair is a non-match: exact agreement from
    /// how often values repeat (the chance two records share a value, counted, not sampled, so
    /// a rare identifier's tiny `u` is exact), the other levels from `samples` random pairs of
    /// unequal values. The pairs come from a fixed-seed generator, so the estimate repeats.
    pub fn with_u_from_random_pairs(
        mut self,
        specs: &[FieldSpec],
        rows: &[Row],
        samples: usize,
    ) -> Model {
        if rows.len() < 2 {
            return self;
        }
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |bound: usize| {
            // xorshift64*: enough to spread pairs over the rows, and repeatable.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound as u64) as usize
        };
        for (field, (spec, weights)) in specs.iter().zip(&mut self.fields).enumerate() {
            let values: Vec<&str> = rows
                .iter()
                .filter_map(|row| row[field].as_deref().filter(|v| !v.is_empty()))
                .collect();
            if values.len() < 2 {
                continue;
            }
            let equal = chance_of_equal(&values);
            // Smoothed counts of the levels below exact among unequal pairs.
            let mut below = vec![1.0; spec.levels.count() - 1];
            let mut drawn = 0;
            for _ in 0..samples.saturating_mul(4) {
                if drawn == samples {
                    break;
                }
                let (a, b) = (values[next(values.len())], values[next(values.len())]);
                if a == b {
                    continue;
                }
                drawn += 1;
                let level = spec.level(Some(a), Some(b)).unwrap_or(0).max(1);
                below[level as usize - 1] += 1.0;
            }
            let total: f64 = below.iter().sum();
            weights.u = std::iter::once(equal)
                .chain(below.iter().map(|c| (1.0 - equal) * c / total))
                .collect();
        }
        self
    }

    /// `m` (and the prior) re-estimated by expectation-maximisation over the comparison vectors
    /// of the candidate pairs, `u` kept: each round weighs every pair by how likely it now looks
    /// a match, then measures how often such pairs agree at each level.
    pub fn with_m_estimated(mut self, vectors: &[Vec<Option<u8>>], rounds: usize) -> Model {
        if vectors.is_empty() {
            return self;
        }
        // Many pairs share a vector; weigh each distinct vector once by its count.
        let mut distinct: HashMap<&[Option<u8>], f64> = HashMap::new();
        for v in vectors {
            *distinct.entry(v.as_slice()).or_default() += 1.0;
        }
        let total = vectors.len() as f64;
        for _ in 0..rounds {
            let mut agree: Vec<Vec<f64>> =
                self.fields.iter().map(|f| vec![0.0; f.m.len()]).collect();
            let mut matched = 0.0;
            for (v, count) in &distinct {
                let p = self.probability(self.score(v)) * count;
                matched += p;
                for (field, level) in v.iter().enumerate() {
                    if let Some(level) = level {
                        agree[field][*level as usize] += p;
                    }
                }
            }
            for (field, agree) in self.fields.iter_mut().zip(agree) {
                let seen: f64 = agree.iter().sum();
                if seen > 0.0 {
                    field.m = agree.iter().map(|a| (a / seen).max(FLOOR)).collect();
                }
            }
            self.prior = (matched / total).clamp(FLOOR, 1.0 - FLOOR);
        }
        self
    }

    /// The prior re-estimated by expectation-maximisation with `m` and `u` kept: the expected
    /// share of matches among the candidate pairs.
    pub fn with_prior_estimated(mut self, vectors: &[Vec<Option<u8>>], rounds: usize) -> Model {
        if vectors.is_empty() {
            return self;
        }
        let scores: Vec<f64> = vectors.iter().map(|v| self.score(v)).collect();
        for _ in 0..rounds {
            let matched: f64 = scores.iter().map(|s| self.probability(*s)).sum();
            self.prior = (matched / vectors.len() as f64).clamp(FLOOR, 1.0 - FLOOR);
        }
        self
    }
}

/// The chance that two different records drawn at random hold the same value.
fn chance_of_equal(values: &[&str]) -> f64 {
    let mut counts: HashMap<&str, f64> = HashMap::new();
    for value in values {
        *counts.entry(value).or_default() += 1.0;
    }
    let n = values.len() as f64;
    let same: f64 = counts.values().map(|c| c * (c - 1.0)).sum();
    (same / (n * (n - 1.0))).max(FLOOR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::Comparator;

    #[test]
    fn agreement_is_evidence_for_and_disagreement_against() {
        let specs = [
            FieldSpec::new(Comparator::Exact),
            FieldSpec::new(Comparator::JaroWinkler),
        ];
        let model = Model::starting(&specs);
        assert!(model.score(&[Some(0), Some(0)]) > 0.0);
        assert!(model.score(&[Some(1), Some(3)]) < 0.0);
        assert_eq!(model.score(&[None, None]), 0.0);
        let strong = model.probability(model.score(&[Some(0), Some(0)]));
        let weak = model.probability(model.score(&[Some(1), Some(0)]));
        assert!(strong > weak && strong <= 1.0 && weak >= 0.0);
    }

    #[test]
    fn em_finds_the_share_of_matches_and_how_they_agree() {
        let specs = [
            FieldSpec::new(Comparator::Exact),
            FieldSpec::new(Comparator::Exact),
        ];
        // 100 matches agree on both fields; 900 non-matches never on the first, half the time on
        // the second.
        let mut vectors = vec![vec![Some(0), Some(0)]; 100];
        vectors.extend(vec![vec![Some(1), Some(0)]; 450]);
        vectors.extend(vec![vec![Some(1), Some(1)]; 450]);
        // `u` as random pairs would measure it: the first field almost never agrees by chance,
        // the second half the time.
        let mut model = Model::starting(&specs);
        model.fields[0].u = vec![0.001, 0.999];
        model.fields[1].u = vec![0.5, 0.5];
        let model = model.with_m_estimated(&vectors, 30);
        assert!((model.prior - 0.1).abs() < 0.02, "prior {}", model.prior);
        assert!(model.fields[0].m[0] > 0.9, "m {:?}", model.fields[0].m);
        let matched = model.probability(model.score(&[Some(0), Some(0)]));
        let unmatched = model.probability(model.score(&[Some(1), Some(0)]));
        assert!(matched > 0.9 && unmatched < 0.1, "{matched} {unmatched}");
    }
}
