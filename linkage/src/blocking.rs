//! Blocking: the pairs worth comparing. Comparing every record with every other is quadratic,
//! so each pass groups records by a key (a surname, a birth date, a postcode with a first
//! initial) and only records sharing a key in some pass become candidates. Several passes with
//! different keys catch pairs that a typo hides from any one of them.

use serde::{Deserialize, Serialize};

use crate::Row;

/// What of a field's value goes into a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "length")]
pub enum Transform {
    /// The whole value.
    Whole,
    /// The first characters.
    Prefix(usize),
    /// The words sorted, so word order does not split a block.
    SortedWords,
}

/// One field's part of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPart {
    pub field: usize,
    pub transform: Transform,
}

/// One blocking pass: records whose parts are all present and equal share a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pass(pub Vec<KeyPart>);

impl Pass {
    /// The pass over whole values of `fields`.
    pub fn on(fields: &[usize]) -> Pass {
        Pass(
            fields
                .iter()
                .map(|&field| KeyPart {
                    field,
                    transform: Transform::Whole,
                })
                .collect(),
        )
    }

    /// The fields this pass's key reads.
    pub fn fields(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().map(|part| part.field)
    }

    /// The row's key in this pass; `None` when a part is missing, so blanks never block together.
    pub fn key(&self, row: &Row) -> Option<String> {
        let mut key = String::new();
        for part in &self.0 {
            let value = row.get(part.field)?.as_deref().filter(|v| !v.is_empty())?;
            match part.transform {
                Transform::Whole => key.push_str(value),
                Transform::Prefix(n) => key.extend(value.chars().take(n)),
                Transform::SortedWords => {
                    let mut words: Vec<&str> = value.split_whitespace().collect();
                    words.sort_unstable();
                    key.push_str(&words.join(" "));
                }
            }
            key.push('\u{1f}');
        }
        Some(key)
    }
}

/// What blocking found: the candidate pairs (lower index first, each once) and how many rows
/// sat in blocks too large to compare.
#[derive(Debug, Default)]
pub struct Candidates {
    pub pairs: Vec<(u32, u32)>,
    pub rows_in_skipped_blocks: usize,
}

/// Candidate pairs of `rows` over all `passes`. A block larger than `max_block` is a key too
/// common to tell anyone apart (a blank-ish value, `smith` in a million rows); it is skipped
/// and counted, so other passes must find its pairs.
pub fn candidates(rows: &[Row], passes: &[Pass], max_block: usize) -> Candidates {
    let mut packed: Vec<u64> = Vec::new();
    let mut skipped = 0;
    for pass in passes {
        let mut keyed: Vec<(String, u32)> = rows
            .iter()
            .enumerate()
            .filter_map(|(i, row)| pass.key(row).map(|key| (key, i as u32)))
            .collect();
        keyed.sort_unstable();
        for block in keyed.chunk_by(|a, b| a.0 == b.0) {
            if block.len() > max_block {
                skipped += block.len();
                continue;
            }
            for (i, (_, a)) in block.iter().enumerate() {
                for (_, b) in &block[i + 1..] {
                    packed.push(((*a as u64) << 32) | *b as u64);
                }
            }
        }
    }
    packed.sort_unstable();
    packed.dedup();
    Candidates {
        pairs: packed
            .into_iter()
            .map(|p| ((p >> 32) as u32, p as u32))
            .collect(),
        rows_in_skipped_blocks: skipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: &[&str]) -> Row {
        values
            .iter()
            .map(|v| (!v.is_empty()).then(|| v.to_string()))
            .collect()
    }

    #[test]
    fn pairs_come_from_any_pass_once() {
        let rows = vec![
            row(&["smith", "2000"]),
            row(&["smith", "3000"]),
            row(&["smyth", "2000"]),
            row(&["", "4000"]),
        ];
        let found = candidates(&rows, &[Pass::on(&[0]), Pass::on(&[1])], 100);
        assert_eq!(found.pairs, vec![(0, 1), (0, 2)]);
    }

    #[test]
    fn prefixes_and_word_order() {
        let prefix = Pass(vec![KeyPart {
            field: 0,
            transform: Transform::Prefix(3),
        }]);
        assert_eq!(
            prefix.key(&row(&["smithson"])),
            prefix.key(&row(&["smith"]))
        );
        let sorted = Pass(vec![KeyPart {
            field: 0,
            transform: Transform::SortedWords,
        }]);
        assert_eq!(
            sorted.key(&row(&["acme holdings"])),
            sorted.key(&row(&["holdings acme"]))
        );
    }

    #[test]
    fn oversized_blocks_are_skipped_and_counted() {
        let rows = vec![row(&["x"]); 5];
        let found = candidates(&rows, &[Pass::on(&[0])], 3);
        assert!(found.pairs.is_empty());
        assert_eq!(found.rows_in_skipped_blocks, 5);
    }
}
