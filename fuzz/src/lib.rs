//! Fuzzing on stable Rust, as ordinary tests: seeded, bounded property tests that feed parsers
//! and decoders inputs mutated from a committed corpus (`fuzz/corpus/<target>/`) as well as
//! pure noise, and fail on any panic. The fuzz targets live beside the code they exercise; this
//! crate owns what they share: how many cases to run, the seed, the corpus and the mutations.
//!
//! `TOUCHBASE_FUZZ_CASES` multiplies every target's cases (say 100 for a long local run);
//! `TOUCHBASE_FUZZ_SEED` picks another seed than the fixed one CI runs with.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

pub use proptest;
use proptest::{
    prelude::*,
    sample::Index,
    strategy::ValueTree,
    test_runner::{Config, RngSeed, TestRunner},
};

/// The seed of every run unless `TOUCHBASE_FUZZ_SEED` names another, so CI is repeatable.
const SEED: u64 = 9;

/// How many cases a target runs: its CI budget times `TOUCHBASE_FUZZ_CASES` (1 by default).
pub fn cases(budget: u32) -> u32 {
    let factor = std::env::var("TOUCHBASE_FUZZ_CASES")
        .ok()
        .and_then(|value| value.trim().parse::<u32>().ok())
        .unwrap_or(1)
        .max(1);
    budget.saturating_mul(factor)
}

/// A proptest configuration for a target with a CI budget of `budget` cases: seeded, and
/// keeping no regression files (a failure worth keeping becomes a corpus seed instead).
pub fn config(budget: u32) -> Config {
    let seed = std::env::var("TOUCHBASE_FUZZ_SEED")
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(SEED);
    Config {
        cases: cases(budget),
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        // Shrinking a mutated input is quick; this bounds it should one take long to run.
        max_shrink_iters: 2_000,
        ..Config::default()
    }
}

/// `count` values of `strategy`, for targets that run their cases themselves (async ones).
pub fn sample<S: Strategy>(strategy: S, count: u32) -> Vec<S::Value> {
    let mut runner = TestRunner::new(config(count));
    (0..count)
        .filter_map(|_| strategy.new_tree(&mut runner).ok())
        .map(|tree| tree.current())
        .collect()
}

/// Where the committed corpus of `target` lives.
pub fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

/// The committed seeds of `target`, in file name order.
pub fn corpus(target: &str) -> Vec<Vec<u8>> {
    files_under(&corpus_dir(target))
}

/// The contents of every file under `dir`, recursively, in path order.
pub fn files_under(dir: &Path) -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("corpus folder {} unreadable: {e}", dir.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
        .iter()
        .map(|path| {
            std::fs::read(path)
                .unwrap_or_else(|e| panic!("seed {} unreadable: {e}", path.display()))
        })
        .collect()
}

/// Byte strings every target gets inserted somewhere: structure (brackets, quotes, separators),
/// bytes no text holds (NUL, invalid UTF-8), numbers past every integer type, and sizes that
/// cross limits (deep nesting, a huge string).
pub fn hostile_tokens() -> Vec<Vec<u8>> {
    let mut tokens: Vec<Vec<u8>> = [
        "{",
        "}",
        "[",
        "]",
        "(",
        ")",
        "\"",
        "'",
        "\\",
        "\0",
        "\\u0000",
        "%00",
        "%",
        "%ff",
        "&",
        "=",
        ";",
        ",",
        ":",
        "\r\n",
        "\r\n\r\n",
        "--",
        "\"\"\"",
        "null",
        "true",
        "-0",
        "1e400",
        "NaN",
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "99999999999999999999999",
        "-1",
        "0",
        "\u{202e}",
        "\u{feff}",
        "\u{10ffff}",
    ]
    .iter()
    .map(|token| token.as_bytes().to_vec())
    .collect();
    tokens.push(vec![0xff, 0xfe]);
    tokens.push(vec![0xc3]);
    tokens.push(vec![0xed, 0xa0, 0x80]);
    tokens.push(b"[".repeat(5_000));
    tokens.push(b"{\"a\":".repeat(2_000));
    tokens.push(b"x".repeat(70_000));
    tokens
}

/// One edit of an input. Positions are fractions of the input's current length, so an edit
/// means the same however earlier edits changed it, and shrinks towards the start.
#[derive(Debug, Clone)]
pub enum Mutation {
    FlipBit(Index, u8),
    SetByte(Index, u8),
    Truncate(Index),
    Remove(Index, Index),
    /// Copies a slice of the input and inserts it elsewhere.
    Duplicate(Index, Index, Index),
    /// Inserts a slice of another seed.
    Splice(Index, Index, Index, Index),
    /// Inserts a token of the dictionary.
    Insert(Index, Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let index = any::<Index>;
    prop_oneof![
        1 => (index(), any::<u8>()).prop_map(|(at, bit)| Mutation::FlipBit(at, bit % 8)),
        1 => (index(), any::<u8>()).prop_map(|(at, byte)| Mutation::SetByte(at, byte)),
        1 => index().prop_map(Mutation::Truncate),
        1 => (index(), index()).prop_map(|(at, len)| Mutation::Remove(at, len)),
        1 => (index(), index(), index())
            .prop_map(|(from, len, at)| Mutation::Duplicate(from, len, at)),
        1 => (index(), index(), index(), index())
            .prop_map(|(seed, from, len, at)| Mutation::Splice(seed, from, len, at)),
        3 => (index(), index()).prop_map(|(at, token)| Mutation::Insert(at, token)),
    ]
}

/// A position in `len` bytes, 0 when there are none.
fn at(index: &Index, len: usize) -> usize {
    if len == 0 { 0 } else { index.index(len + 1) }
}

/// A slice of `input` starting at `from` and at most a quarter of it long (a few bytes at least).
fn slice<'a>(input: &'a [u8], from: &Index, len: &Index) -> &'a [u8] {
    let start = at(from, input.len()).min(input.len());
    let most = (input.len() / 4).max(8);
    let end = (start + at(len, most)).min(input.len());
    &input[start..end]
}

impl Mutation {
    fn apply(&self, input: &mut Vec<u8>, seeds: &[Vec<u8>], tokens: &[Vec<u8>]) {
        let len = input.len();
        match self {
            Mutation::FlipBit(i, bit) if len > 0 => input[i.index(len)] ^= 1 << bit,
            Mutation::SetByte(i, byte) if len > 0 => input[i.index(len)] = *byte,
            Mutation::Truncate(i) => input.truncate(at(i, len)),
            Mutation::Remove(i, n) => {
                let start = at(i, len).min(len);
                let end = (start + at(n, (len / 4).max(1))).min(len);
                input.drain(start..end);
            }
            Mutation::Duplicate(from, n, to) => {
                let copy = slice(input, from, n).to_vec();
                let to = at(to, len).min(len);
                input.splice(to..to, copy);
            }
            Mutation::Splice(seed, from, n, to) if !seeds.is_empty() => {
                let other = &seeds[seed.index(seeds.len())];
                let copy = slice(other, from, n).to_vec();
                let to = at(to, len).min(len);
                input.splice(to..to, copy);
            }
            Mutation::Insert(i, token) if !tokens.is_empty() => {
                let token = &tokens[token.index(tokens.len())];
                let to = at(i, len).min(len);
                input.splice(to..to, token.iter().copied());
            }
            _ => {}
        }
    }
}

/// Inputs for a target: mostly a seed with a few mutations (tokens from `tokens` and
/// [`hostile_tokens`]), sometimes a seed as it is, sometimes random bytes.
pub fn mutated(seeds: Vec<Vec<u8>>, tokens: &[&str]) -> BoxedStrategy<Vec<u8>> {
    assert!(!seeds.is_empty(), "a fuzz target needs at least one seed");
    let mut dictionary = hostile_tokens();
    dictionary.extend(tokens.iter().map(|token| token.as_bytes().to_vec()));
    let seeds = Arc::new(seeds);
    let dictionary = Arc::new(dictionary);
    let edited = (any::<Index>(), proptest::collection::vec(mutation(), 0..5)).prop_map(
        move |(seed, mutations)| {
            let mut input = seeds[seed.index(seeds.len())].clone();
            for mutation in &mutations {
                mutation.apply(&mut input, &seeds, &dictionary);
            }
            input
        },
    );
    prop_oneof![
        8 => edited,
        1 => proptest::collection::vec(any::<u8>(), 0..512),
    ]
    .boxed()
}

/// [`mutated`] as text: invalid UTF-8 replaced, as any text-only boundary would.
pub fn mutated_text(seeds: Vec<Vec<u8>>, tokens: &[&str]) -> BoxedStrategy<String> {
    mutated(seeds, tokens)
        .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .boxed()
}

/// Any JSON value up to a few levels deep, with object keys drawn from `keys` (so the value
/// has a chance of meaning something to the code under test) and hostile scalars among the
/// ordinary ones.
pub fn json(keys: &'static [&'static str]) -> BoxedStrategy<serde_json::Value> {
    use serde_json::Value;
    let key = prop_oneof![
        30 => proptest::sample::select(keys),
        1 => Just("\0"),
        1 => Just(""),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        proptest::sample::select(vec![
            i64::MAX,
            i64::MIN,
            i32::MAX as i64 + 1,
            i32::MIN as i64 - 1,
            0,
            -1,
            1,
            100,
            1_000_001,
        ])
        .prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        ".{0,24}".prop_map(Value::String),
        proptest::sample::select(vec![
            "",
            "\0",
            "a\0b",
            "2024-01-01T00:00:00Z",
            "5138-11-16T09:46:40Z",
            "00000000-0000-0000-0000-000000000000",
            "not-a-uuid",
            "%",
            "_",
            "\\",
            "NaN",
            "user@example.com",
            "+14155550100",
            "EMAIL",
            "CREATED_AT",
            "DESC",
        ])
        .prop_map(Value::from),
        (1usize..4).prop_map(|n| Value::String("y".repeat(n * 1_000))),
    ];
    leaf.prop_recursive(6, 64, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..8).prop_map(|fields| {
                Value::Object(
                    fields
                        .into_iter()
                        .map(|(key, value)| (key.to_owned(), value))
                        .collect(),
                )
            }),
        ]
    })
    .boxed()
}

/// One edit of a JSON value, at a node picked among all of its nodes.
#[derive(Debug, Clone)]
pub enum JsonMutation {
    /// Replaces the node with another value.
    Replace(Index, serde_json::Value),
    /// Wraps the node in a list, one level deeper.
    Wrap(Index),
    /// Adds a value to a list or object node (under a key from the dictionary).
    Add(Index, String, serde_json::Value),
    /// Copies the node into itself (a list or object gains itself as a member): growth in
    /// size and depth at once.
    Nest(Index),
}

/// The node of `value` that `index` picks among all its nodes (in depth-first order).
fn node_mut<'a>(value: &'a mut serde_json::Value, index: &Index) -> &'a mut serde_json::Value {
    use serde_json::Value;
    fn children(value: &Value) -> Vec<&Value> {
        match value {
            Value::Array(items) => items.iter().collect(),
            Value::Object(fields) => fields.values().collect(),
            _ => Vec::new(),
        }
    }
    fn count(value: &Value) -> usize {
        1 + children(value).into_iter().map(count).sum::<usize>()
    }
    // The way down to the node, as child positions, found without borrowing mutably.
    let mut target = index.index(count(value));
    let mut path = Vec::new();
    let mut node: &Value = value;
    while target > 0 {
        target -= 1;
        let mut next = None;
        for (position, child) in children(node).into_iter().enumerate() {
            let size = count(child);
            if target < size {
                next = Some((position, child));
                break;
            }
            target -= size;
        }
        let Some((position, child)) = next else { break };
        path.push(position);
        node = child;
    }
    let mut node = value;
    for position in path {
        node = match node {
            Value::Array(items) => &mut items[position],
            Value::Object(fields) => fields
                .values_mut()
                .nth(position)
                .expect("the path was read from this value"),
            leaf => leaf,
        };
    }
    node
}

impl JsonMutation {
    fn apply(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match self {
            JsonMutation::Replace(at, replacement) => *node_mut(value, at) = replacement.clone(),
            JsonMutation::Wrap(at) => {
                let node = node_mut(value, at);
                *node = Value::Array(vec![node.take()]);
            }
            JsonMutation::Add(at, key, added) => match node_mut(value, at) {
                Value::Array(items) => items.push(added.clone()),
                Value::Object(fields) => {
                    fields.insert(key.clone(), added.clone());
                }
                _ => {}
            },
            JsonMutation::Nest(at) => {
                let node = node_mut(value, at);
                let copy = node.clone();
                match node {
                    Value::Array(items) => items.push(copy),
                    Value::Object(fields) => {
                        if let Some(key) = fields.keys().next().cloned() {
                            fields.insert(key, copy);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// JSON inputs for a target: a seed with a few edits made of [`json`] values and keys from
/// `keys`, sometimes a seed as it is, sometimes a value made from nothing.
pub fn mutated_json(
    seeds: Vec<serde_json::Value>,
    keys: &'static [&'static str],
) -> BoxedStrategy<serde_json::Value> {
    assert!(!seeds.is_empty(), "a fuzz target needs at least one seed");
    let seeds = Arc::new(seeds);
    let edit = prop_oneof![
        4 => (any::<Index>(), json(keys)).prop_map(|(at, value)| JsonMutation::Replace(at, value)),
        1 => any::<Index>().prop_map(JsonMutation::Wrap),
        2 => (any::<Index>(), proptest::sample::select(keys), json(keys))
            .prop_map(|(at, key, value)| JsonMutation::Add(at, key.to_owned(), value)),
        1 => any::<Index>().prop_map(JsonMutation::Nest),
    ];
    let edited =
        (any::<Index>(), proptest::collection::vec(edit, 0..5)).prop_map(move |(seed, edits)| {
            let mut value = seeds[seed.index(seeds.len())].clone();
            for edit in &edits {
                edit.apply(&mut value);
            }
            value
        });
    prop_oneof![8 => edited, 1 => json(keys)].boxed()
}

/// The committed seeds of `target` read as JSON.
pub fn json_corpus(target: &str) -> Vec<serde_json::Value> {
    corpus(target)
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            serde_json::from_slice(bytes)
                .unwrap_or_else(|e| panic!("seed {i} of {target} is not JSON: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_seed_repeats_the_same_inputs() {
        let strategy = || mutated(vec![b"{\"a\": [1, 2]}".to_vec()], &["x"]);
        assert_eq!(sample(strategy(), 50), sample(strategy(), 50));
    }

    #[test]
    fn mutations_reach_past_the_seed() {
        let inputs = sample(mutated(vec![b"{\"a\": [1, 2]}".to_vec()], &[]), 200);
        assert!(inputs.iter().any(|input| input.contains(&0)));
        assert!(inputs.iter().any(|input| input.len() > 1_000));
        assert!(
            inputs
                .iter()
                .any(|input| std::str::from_utf8(input).is_err())
        );
        assert!(
            inputs
                .iter()
                .any(|input| input.as_slice() == b"{\"a\": [1, 2]}")
        );
    }

    #[test]
    fn json_edits_reach_every_node() {
        let seed = serde_json::json!({ "a": [1, { "b": 2 }], "c": "d" });
        let inputs = sample(mutated_json(vec![seed.clone()], &["a", "b"]), 300);
        let changed = |pick: fn(&serde_json::Value) -> &serde_json::Value| {
            inputs.iter().any(|input| pick(input) != pick(&seed))
        };
        assert!(changed(|v| &v["a"][1]["b"]));
        assert!(changed(|v| &v["c"]));
        assert!(inputs.contains(&seed));
    }
}
