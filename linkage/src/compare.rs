//! Field comparisons: how alike two values are, as a similarity in `[0, 1]`, and the level of
//! agreement that similarity falls in. Fellegi-Sunter weighs levels, not raw similarities, so
//! that "one typo in a surname" and "a different surname" each carry their own evidence.

use serde::{Deserialize, Serialize};

/// How two values of one field are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparator {
    /// Equal or not: for canonical keys (email, E.164 phone, domain, an id).
    Exact,
    /// Jaro-Winkler: kind to typos near the end and to short names.
    JaroWinkler,
    /// Edit distance over the longer length.
    Levenshtein,
    /// Edit distance counting a swap of neighbours as one edit: dates and numbers typed with
    /// two digits swapped.
    Damerau,
    /// Words compared as sets, so order and extra words matter less: `Acme Holdings` ~
    /// `Holdings Acme`, `Mary Ann Smith` ~ `Smith Mary`.
    TokenSet,
}

impl Comparator {
    /// Similarity of two folded values, 1 for equal.
    pub fn similarity(self, a: &str, b: &str) -> f64 {
        if a == b {
            return 1.0;
        }
        match self {
            Comparator::Exact => 0.0,
            Comparator::JaroWinkler => strsim::jaro_winkler(a, b),
            Comparator::Levenshtein => strsim::normalized_levenshtein(a, b),
            Comparator::Damerau => strsim::normalized_damerau_levenshtein(a, b),
            Comparator::TokenSet => token_set(a, b),
        }
    }
}

/// Token-set similarity: the words both share, then each side's remainder; the best
/// Jaro-Winkler among (shared, shared + rest of a), (shared, shared + rest of b) and the two
/// full sorted forms. A name that is a subset of the other scores 1.
fn token_set<'a>(a: &'a str, b: &'a str) -> f64 {
    let mut left: Vec<&str> = a.split_whitespace().collect();
    let mut right: Vec<&str> = b.split_whitespace().collect();
    left.sort_unstable();
    left.dedup();
    right.sort_unstable();
    right.dedup();
    let shared: Vec<&str> = left.iter().filter(|w| right.contains(w)).copied().collect();
    let only = |side: &[&'a str]| -> Vec<&'a str> {
        side.iter()
            .filter(|w| !shared.contains(w))
            .copied()
            .collect()
    };
    let join = |parts: [&[&str]; 2]| parts.concat().join(" ");
    let base = shared.join(" ");
    let with_left = join([&shared, &only(&left)]);
    let with_right = join([&shared, &only(&right)]);
    let mut best = strsim::jaro_winkler(&with_left, &with_right);
    if !base.is_empty() {
        best = best
            .max(strsim::jaro_winkler(&base, &with_left))
            .max(strsim::jaro_winkler(&base, &with_right));
    }
    best
}

/// Similarity floors of the agreement levels, highest first; level `i` is "similarity at
/// least `floors[i]`", and one more level past the last means disagreement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Levels(pub Vec<f64>);

impl Levels {
    /// Number of levels, disagreement included.
    pub fn count(&self) -> usize {
        self.0.len() + 1
    }

    fn of(&self, similarity: f64) -> u8 {
        self.0
            .iter()
            .position(|floor| similarity >= *floor)
            .unwrap_or(self.0.len()) as u8
    }
}

/// One field of a rule: how it is compared and where its levels lie.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldSpec {
    pub comparator: Comparator,
    pub levels: Levels,
}

impl FieldSpec {
    /// The usual levels for a comparator: exact keys agree or not; fuzzy ones have an exact
    /// level, a close one (a typo) and a loose one (a variant) before disagreeing.
    pub fn new(comparator: Comparator) -> Self {
        let floors = match comparator {
            Comparator::Exact => vec![1.0],
            Comparator::JaroWinkler | Comparator::TokenSet => vec![1.0, 0.92, 0.8],
            Comparator::Levenshtein | Comparator::Damerau => vec![1.0, 0.75],
        };
        FieldSpec {
            comparator,
            levels: Levels(floors),
        }
    }

    /// The level two values agree at, `None` when either is missing (no evidence either way).
    pub fn level(&self, a: Option<&str>, b: Option<&str>) -> Option<u8> {
        let (a, b) = (a?, b?);
        if a.is_empty() || b.is_empty() {
            return None;
        }
        Some(self.levels.of(self.comparator.similarity(a, b)))
    }
}

/// The comparison vector of two rows: one level per field.
pub fn vector(specs: &[FieldSpec], a: &[Option<String>], b: &[Option<String>]) -> Vec<Option<u8>> {
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| spec.level(a[i].as_deref(), b[i].as_deref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_fall_by_similarity() {
        let spec = FieldSpec::new(Comparator::JaroWinkler);
        assert_eq!(spec.level(Some("smith"), Some("smith")), Some(0));
        assert_eq!(spec.level(Some("smith"), Some("smiht")), Some(1));
        assert_eq!(spec.level(Some("smith"), Some("smyth")), Some(2));
        assert_eq!(spec.level(Some("smith"), Some("jones")), Some(3));
        assert_eq!(spec.level(None, Some("jones")), None);
        assert_eq!(spec.level(Some(""), Some("jones")), None);
    }

    #[test]
    fn token_sets_ignore_order_and_extra_words() {
        assert_eq!(
            Comparator::TokenSet.similarity("acme holdings", "holdings acme"),
            1.0
        );
        assert_eq!(
            Comparator::TokenSet.similarity("mary ann smith", "smith mary"),
            1.0
        );
        assert!(Comparator::TokenSet.similarity("acme", "globex") < 0.8);
    }

    #[test]
    fn damerau_counts_a_swap_once() {
        let swapped = Comparator::Damerau.similarity("19560409", "19564009");
        let plain = Comparator::Levenshtein.similarity("19560409", "19564009");
        assert!(swapped > plain);
        assert_eq!(
            FieldSpec::new(Comparator::Damerau).level(Some("19560409"), Some("19564009")),
            Some(1)
        );
    }
}
