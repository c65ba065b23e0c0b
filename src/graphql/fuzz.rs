//! Fuzzes what runs before any GraphQL execution, the same `admit` the HTTP and WebSocket
//! transports call: the bracket count, the parse, the document and variable checks and the
//! alias and root field limits, on documents and variables edited from the committed corpus
//! (`fuzz/corpus/graphql/`). Each request is admitted or refused; none may panic or overflow the
//! stack, which is what the bracket count bounds the parser's recursion for.

use async_graphql::{Request, Variables};
use fuzz::proptest::prelude::*;

use crate::{config::Config, graphql::admit};

/// Requests per CI run.
const CASES: u32 = 1_500;

/// Tokens documents are edited with: everything that opens or hides a bracket.
const TOKENS: &[&str] = &[
    "\"",
    "\"\"\"",
    "\\\"",
    "\\\"\"\"",
    "#",
    "\n",
    "\r",
    "{",
    "[",
    "(",
    "}",
    "]",
    ")",
    "...",
    "@skip(if: true)",
    "$f",
    "query",
    "fragment F on Query { me { id } }",
    "a: leads",
];

const KEYS: &[&str] = &[
    "f", "o", "input", "id", "first", "and", "or", "not", "email", "eq",
];

fn seeds() -> Vec<serde_json::Value> {
    fuzz::json_corpus("graphql")
}

proptest! {
    #![proptest_config(fuzz::config(CASES))]

    #[test]
    fn fuzz_admission_admits_or_refuses_every_request(
        query in fuzz::mutated_text(
            seeds()
                .iter()
                .map(|seed| seed["query"].as_str().unwrap_or_default().as_bytes().to_vec())
                .collect(),
            TOKENS,
        ),
        variables in fuzz::mutated_json(
            seeds().iter().map(|seed| seed["variables"].clone()).collect(),
            KEYS,
        ),
    ) {
        let mut request = Request::new(query).variables(Variables::from_json(variables));
        let _ = admit(&Config::default(), &mut request);
    }
}
