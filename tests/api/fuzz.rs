//! Fuzzes GraphQL argument coercion end to end: documents and variables mutated from the
//! committed corpus (`fuzz/corpus/graphql/`) go to the real server as an admin, a sales rep or
//! nobody. Whatever arrives, the answer is JSON, every error carries `extensions.code`, and none
//! is INTERNAL: bad input is the caller's error, never a failure of the server.

use fuzz::proptest::prelude::*;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};

/// Requests per CI run on each store.
const CASES: u32 = 300;

/// Names the documents use: input fields, filter operators and variables, so edits of the
/// variables land on something the schema reads.
const KEYS: &[&str] = &[
    "f",
    "o",
    "first",
    "last",
    "after",
    "before",
    "input",
    "id",
    "n",
    "q",
    "a",
    "c",
    "skip",
    "e",
    "p",
    "r",
    "and",
    "or",
    "not",
    "eq",
    "ne",
    "in",
    "contains",
    "startsWith",
    "isNull",
    "gt",
    "gte",
    "lt",
    "lte",
    "email",
    "firstName",
    "lastName",
    "company",
    "phone",
    "status",
    "lifecycleStage",
    "ownerId",
    "score",
    "createdAt",
    "updatedAt",
    "customFields",
    "key",
    "field",
    "direction",
    "budget",
    "amount",
    "currency",
    "competitors",
    "kind",
    "name",
    "settings",
    "secret",
    "leadId",
    "dueAt",
    "closeDate",
    "amountMinor",
    "done",
    "subject",
];

/// Tokens that edits of a document insert: syntax, and labels the schema may or may not know.
const TOKENS: &[&str] = &[
    "$f",
    "$input",
    "$id",
    "...",
    "... on Lead",
    "fragment X on Query",
    "@skip(if: true)",
    "@include(if: $skip)",
    "(first: 2147483647)",
    "(first: -2147483648)",
    "(after: \"\")",
    "filter: {",
    "orderBy: [{field: EMAIL}]",
    "__typename",
    "__schema { types { name } }",
    "leads",
    "lead(id: \"LEAD_ID\")",
    "createLead(input: {})",
    "\"\"\"",
    "#",
    "query",
    "mutation",
    "subscription",
    "null",
    "LeadFilter",
    "[LeadOrder!]",
    "Int!",
    "$f: LeadFilter",
];

struct Callers {
    admin: String,
    sales: String,
    lead: String,
}

#[derive(Debug, Clone)]
struct Case {
    query: String,
    variables: Value,
    operation: Option<String>,
    /// 0 the admin, 1 a sales rep, 2 nobody.
    caller: usize,
}

/// Requests made from one seed each: its document as it is or edited, with its variables
/// edited, so most documents still parse and the edits reach coercion.
fn cases(seeds: &[Value]) -> impl Strategy<Value = Case> {
    let per_seed = seeds.iter().map(|seed| {
        let query = seed["query"].as_str().unwrap_or_default().to_owned();
        let variables = seed.get("variables").cloned().unwrap_or(json!({}));
        let operation = seed["operationName"].as_str().map(str::to_owned);
        (
            prop_oneof![
                Just(query.clone()),
                fuzz::mutated_text(vec![query.into_bytes()], TOKENS),
            ],
            fuzz::mutated_json(vec![variables], KEYS),
            prop_oneof![8 => Just(operation), 1 => Just(None), 1 => Just(Some("Nope".into()))],
            0..3usize,
        )
            .prop_map(|(query, variables, operation, caller)| Case {
                query,
                variables,
                operation,
                caller,
            })
    });
    prop::strategy::Union::new(per_seed)
}

impl Case {
    /// The request body, with the corpus' `LEAD_ID` standing for a lead that exists. Edited
    /// variables that are no longer an object become the two names most documents use, which
    /// reaches coercion where the request as it is would stop at the envelope.
    fn body(&self, lead: &str) -> Value {
        let variables = self.variables.to_string().replace("LEAD_ID", lead);
        let mut variables = serde_json::from_str::<Value>(&variables).unwrap_or(Value::Null);
        if !variables.is_object() {
            variables = json!({ "f": variables, "input": variables });
        }
        json!({
            "query": self.query.replace("LEAD_ID", lead),
            "variables": variables,
            "operationName": self.operation,
        })
    }
}

async fn send(app: &TestApp, callers: &Callers, case: &Case) {
    let body = case.body(&callers.lead);
    let token = [Some(&callers.admin), Some(&callers.sales), None][case.caller % 3];
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let shown = || {
        let mut text = body.to_string();
        text.truncate(text.floor_char_boundary(4_000));
        text
    };
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("no answer ({e}) to {}", shown()));
    let status = response.status();
    assert!(
        status == 200 || status == 400,
        "HTTP {status} for {}",
        shown()
    );
    let answer: Value = response
        .json()
        .await
        .unwrap_or_else(|e| panic!("not JSON ({e}) for {}", shown()));
    for error in answer["errors"].as_array().into_iter().flatten() {
        let code = error["extensions"]["code"].as_str();
        assert!(
            code.is_some(),
            "an error without a code: {error} for {}",
            shown()
        );
        assert_ne!(code, Some("INTERNAL"), "{error} for {}", shown());
    }
}

#[tokio::test]
async fn fuzz_graphql_arguments_are_coerced_or_refused_with_a_code() {
    let app = spawn_app_with(|config| {
        config.requests_per_second_per_user = 100_000;
        config.request_burst_per_user = 100_000;
    })
    .await;
    let admin = app.admin().await;
    let sales = app.user(&admin, "rep@example.com", "SALES", None).await;
    let lead = app
        .lead(
            &admin.access,
            json!({ "email": "seed@example.com", "customFields": { "tier": "gold" } }),
        )
        .await;
    let callers = Callers {
        admin: admin.access,
        sales: sales.access,
        lead,
    };
    let seeds = fuzz::json_corpus("graphql");
    let as_they_are = seeds.iter().map(|seed| Case {
        query: seed["query"].as_str().unwrap_or_default().to_owned(),
        variables: seed.get("variables").cloned().unwrap_or(Value::Null),
        operation: seed["operationName"].as_str().map(str::to_owned),
        caller: 0,
    });
    let mutated = fuzz::sample(cases(&seeds), fuzz::cases(CASES));
    for case in as_they_are.chain(mutated) {
        send(&app, &callers, &case).await;
    }
}
