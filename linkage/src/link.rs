//! The whole pipeline over a set of rows: candidates, comparison, weights, matches.

use crate::{FieldSpec, Model, Pass, Row, blocking, compare::vector};

/// Rounds of expectation-maximisation: enough to settle, as the weights move little after ten.
const EM_ROUNDS: usize = 25;

/// Two rows judged the same, with the evidence.
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    pub a: u32,
    pub b: u32,
    /// Match weight in bits (the sum of the fields' evidence).
    pub score: f64,
    pub probability: f64,
}

/// A rule: the fields compared, the blocking passes, and the weights.
#[derive(Clone, Debug)]
pub struct Linker {
    pub specs: Vec<FieldSpec>,
    pub passes: Vec<Pass>,
    pub model: Model,
    /// Blocks larger than this are skipped (see [`blocking::candidates`]).
    pub max_block: usize,
}

impl Linker {
    /// A linker with weights estimated from `rows`: `u` from random pairs, then `m` by EM over
    /// each pass's candidates in turn, leaving out the fields that pass blocks on (they agree
    /// on every pair it finds, so they would teach EM that agreeing on them is what a match
    /// looks like), averaged over the passes; last, the prior over all candidates.
    pub fn estimated(
        specs: Vec<FieldSpec>,
        passes: Vec<Pass>,
        rows: &[Row],
        max_block: usize,
    ) -> Linker {
        let start = Model::starting(&specs).with_u_from_random_pairs(&specs, rows, 20_000);
        let mut learned: Vec<Vec<Vec<f64>>> = vec![Vec::new(); specs.len()];
        for pass in &passes {
            let blocked: Vec<usize> = pass.fields().collect();
            let vectors: Vec<Vec<Option<u8>>> =
                blocking::candidates(rows, std::slice::from_ref(pass), max_block)
                    .pairs
                    .iter()
                    .map(|&(a, b)| {
                        let mut v = vector(&specs, &rows[a as usize], &rows[b as usize]);
                        for field in &blocked {
                            v[*field] = None;
                        }
                        v
                    })
                    .collect();
            let session = start.clone().with_m_estimated(&vectors, EM_ROUNDS);
            for (field, m) in learned.iter_mut().enumerate() {
                let seen = vectors.iter().any(|v| v[field].is_some());
                if seen && !blocked.contains(&field) {
                    m.push(session.fields[field].m.clone());
                }
            }
        }
        let mut model = start;
        for (weights, estimates) in model.fields.iter_mut().zip(&learned) {
            if let Some(first) = estimates.first() {
                weights.m = (0..first.len())
                    .map(|level| {
                        estimates.iter().map(|m| m[level]).sum::<f64>() / estimates.len() as f64
                    })
                    .collect();
            }
        }
        let linker = Linker {
            specs,
            passes,
            model,
            max_block,
        };
        let vectors = linker.vectors(rows);
        Linker {
            model: linker
                .model
                .clone()
                .with_prior_estimated(&vectors, EM_ROUNDS),
            ..linker
        }
    }

    fn vectors(&self, rows: &[Row]) -> Vec<Vec<Option<u8>>> {
        blocking::candidates(rows, &self.passes, self.max_block)
            .pairs
            .iter()
            .map(|&(a, b)| vector(&self.specs, &rows[a as usize], &rows[b as usize]))
            .collect()
    }

    /// Every candidate pair of `rows` whose match probability reaches `threshold`.
    pub fn matches(&self, rows: &[Row], threshold: f64) -> Vec<Match> {
        blocking::candidates(rows, &self.passes, self.max_block)
            .pairs
            .into_iter()
            .filter_map(|(a, b)| {
                let score =
                    self.model
                        .score(&vector(&self.specs, &rows[a as usize], &rows[b as usize]));
                let probability = self.model.probability(score);
                (probability >= threshold).then_some(Match {
                    a,
                    b,
                    score,
                    probability,
                })
            })
            .collect()
    }
}
