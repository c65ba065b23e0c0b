//! The whole pipeline over a set of rows: candidates, comparison, weights, matches.

use crate::{FieldSpec, Model, Pass, Row, blocking, compare::vector};

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
    /// A linker with weights estimated from `rows`: `u` from random pairs, then `m` and the
    /// prior by EM over the candidate pairs.
    pub fn estimated(
        specs: Vec<FieldSpec>,
        passes: Vec<Pass>,
        rows: &[Row],
        max_block: usize,
    ) -> Linker {
        let candidates = blocking::candidates(rows, &passes, max_block);
        let vectors: Vec<Vec<Option<u8>>> = candidates
            .pairs
            .iter()
            .map(|&(a, b)| vector(&specs, &rows[a as usize], &rows[b as usize]))
            .collect();
        let model = Model::starting(&specs).with_u_from_random_pairs(&specs, rows, 20_000);
        let model = model.with_m_estimated(&vectors, 25);
        Linker {
            specs,
            passes,
            model,
            max_block,
        }
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
