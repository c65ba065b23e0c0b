//! Input an attacker would send, tried against every argument of every query and mutation the
//! schema has (read by introspection, so a new argument is covered the day it is added): deep
//! nesting inline and in variables, NUL bytes, and the deepest value the limits admit, which
//! must reach validation and coercion without taking the process down. Then the cases where a
//! store's own limits used to surface as internal errors.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, spawn_app_with};

const MAX_INPUT_DEPTH: usize = 16;

async fn app() -> TestApp {
    spawn_app_with(|c| {
        c.requests_per_second_per_user = 10_000;
        c.request_burst_per_user = 10_000;
    })
    .await
}

const INTROSPECTION: &str = "{ __schema { queryType { name } mutationType { name }
    types { kind name enumValues { name }
      fields { name type { ...Ref } args { name type { ...Ref } } }
      inputFields { name type { ...Ref } } } } }
  fragment Ref on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

struct Schema {
    types: Vec<Value>,
}

/// One argument of one root field, with what it takes to call the field.
struct Target {
    operation: &'static str,
    field: String,
    argument: String,
    /// The argument's type as a variable declares it, e.g. `[ID!]!`.
    declared: String,
    type_ref: Value,
    /// The field's other required arguments, as `name: value` literals.
    others: String,
    /// `{ __typename }` when the field returns an object.
    selection: &'static str,
}

impl Schema {
    async fn read(app: &TestApp, token: &str) -> Self {
        let data = app.ok(token, INTROSPECTION, json!({})).await;
        Schema {
            types: data["__schema"]["types"].as_array().unwrap().clone(),
        }
    }

    fn named(&self, name: &str) -> &Value {
        self.types.iter().find(|t| t["name"] == name).unwrap()
    }

    fn targets(&self) -> Vec<Target> {
        let mut targets = Vec::new();
        for (operation, root) in [("query", "Query"), ("mutation", "Mutation")] {
            for field in self.named(root)["fields"].as_array().unwrap() {
                let args = field["args"].as_array().unwrap();
                let returns = named_type(&field["type"]);
                let kind = self.named(returns)["kind"].as_str().unwrap();
                let selection = if ["OBJECT", "INTERFACE", "UNION"].contains(&kind) {
                    "{ __typename }"
                } else {
                    ""
                };
                for arg in args {
                    let others = args
                        .iter()
                        .filter(|other| other["name"] != arg["name"])
                        .filter(|other| other["type"]["kind"] == "NON_NULL")
                        .map(|other| {
                            format!(
                                "{}: {}",
                                other["name"].as_str().unwrap(),
                                self.minimal(&other["type"])
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    targets.push(Target {
                        operation,
                        field: field["name"].as_str().unwrap().to_owned(),
                        argument: arg["name"].as_str().unwrap().to_owned(),
                        declared: declared(&arg["type"]),
                        type_ref: arg["type"].clone(),
                        others,
                        selection,
                    });
                }
            }
        }
        targets
    }

    /// A small literal of the type, good enough to get past validation.
    fn minimal(&self, type_ref: &Value) -> String {
        match type_ref["kind"].as_str().unwrap() {
            "NON_NULL" => self.minimal(&type_ref["ofType"]),
            "LIST" => "[]".into(),
            _ => {
                let ty = self.named(type_ref["name"].as_str().unwrap());
                match (ty["kind"].as_str().unwrap(), ty["name"].as_str().unwrap()) {
                    ("ENUM", _) => ty["enumValues"][0]["name"].as_str().unwrap().to_owned(),
                    ("INPUT_OBJECT", _) => "{}".into(),
                    (_, "Int" | "Float") => "1".into(),
                    (_, "Boolean") => "true".into(),
                    _ => "\"00000000-0000-0000-0000-000000000000\"".into(),
                }
            }
        }
    }

    /// The deepest value of the type within `levels` levels of lists and objects: it follows
    /// nested input objects (a filter's `not`, an input's JSON field) as far as they go.
    fn deepest(&self, type_ref: &Value, levels: usize) -> Value {
        match type_ref["kind"].as_str().unwrap() {
            "NON_NULL" => self.deepest(&type_ref["ofType"], levels),
            "LIST" if levels > 1 => json!([self.deepest(&type_ref["ofType"], levels - 1)]),
            "LIST" => json!([]),
            _ => {
                let ty = self.named(type_ref["name"].as_str().unwrap());
                match (ty["kind"].as_str().unwrap(), ty["name"].as_str().unwrap()) {
                    ("INPUT_OBJECT", _) if levels > 1 => {
                        let fields = ty["inputFields"].as_array().unwrap();
                        let nested = fields
                            .iter()
                            .find(|f| self.nests(&f["type"]))
                            .or_else(|| fields.first());
                        match nested {
                            Some(f) => {
                                json!({ f["name"].as_str().unwrap(): self.deepest(&f["type"], levels - 1) })
                            }
                            None => json!({}),
                        }
                    }
                    ("INPUT_OBJECT", _) => json!({}),
                    ("SCALAR", "JSON") => nested_json(levels),
                    (_, "Int" | "Float") => json!(1),
                    (_, "Boolean") => json!(true),
                    ("ENUM", _) => ty["enumValues"][0]["name"].clone(),
                    _ => json!("x"),
                }
            }
        }
    }

    fn nests(&self, type_ref: &Value) -> bool {
        match type_ref["kind"].as_str().unwrap() {
            "NON_NULL" => self.nests(&type_ref["ofType"]),
            "LIST" => true,
            _ => {
                let ty = self.named(type_ref["name"].as_str().unwrap());
                ty["kind"] == "INPUT_OBJECT" || ty["name"] == "JSON"
            }
        }
    }
}

fn named_type(type_ref: &Value) -> &str {
    match type_ref["name"].as_str() {
        Some(name) => name,
        None => named_type(&type_ref["ofType"]),
    }
}

fn declared(type_ref: &Value) -> String {
    match type_ref["kind"].as_str().unwrap() {
        "NON_NULL" => format!("{}!", declared(&type_ref["ofType"])),
        "LIST" => format!("[{}]", declared(&type_ref["ofType"])),
        _ => type_ref["name"].as_str().unwrap().to_owned(),
    }
}

fn nested_json(levels: usize) -> Value {
    (1..levels).fold(json!({}), |inner, _| json!({ "k": inner }))
}

fn nested_literal(levels: usize) -> String {
    "{a: ".repeat(levels) + "1" + &"}".repeat(levels)
}

impl Target {
    fn with_variable(&self) -> String {
        let others = if self.others.is_empty() {
            String::new()
        } else {
            format!(", {}", self.others)
        };
        format!(
            "{}($v: {}) {{ {}({}: $v{others}) {} }}",
            self.operation, self.declared, self.field, self.argument, self.selection
        )
    }

    fn inline(&self, literal: &str) -> String {
        format!(
            "{} {{ {}({}: {literal}) {} }}",
            self.operation, self.field, self.argument, self.selection
        )
    }

    fn name(&self) -> String {
        format!("{}.{}({})", self.operation, self.field, self.argument)
    }
}

async fn still_serving(app: &TestApp, token: &str) {
    let body = app.gql(Some(token), "{ me { id } }", json!({})).await;
    assert!(body["data"]["me"]["id"].is_string(), "{body}");
}

#[tokio::test]
async fn no_argument_takes_input_nested_past_the_limit_or_holding_nul() {
    let app = app().await;
    let admin = app.admin().await;
    let schema = Schema::read(&app, &admin.access).await;
    let targets = schema.targets();
    assert!(targets.len() > 50, "only {} arguments found", targets.len());
    for target in &targets {
        let name = target.name();
        // A thousand levels inline: refused before the parser recurses into them.
        let body = app
            .gql(None, &target.inline(&nested_literal(1_000)), json!({}))
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{name}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "query", "{name}");

        // One level past the limit, as a variable: refused, naming the variable.
        let deep = nested_json(MAX_INPUT_DEPTH + 1);
        let body = app
            .gql(
                Some(&admin.access),
                &target.with_variable(),
                json!({ "v": deep }),
            )
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{name}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "$v", "{name}");

        // NUL anywhere in the value: refused, naming the variable.
        let body = app
            .gql(
                Some(&admin.access),
                &target.with_variable(),
                json!({ "v": { "k": ["ok", "a\u{0}b"] } }),
            )
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{name}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "$v", "{name}");
    }
    still_serving(&app, &admin.access).await;
}

#[tokio::test]
async fn the_deepest_admitted_value_of_every_argument_is_answered_without_internal_errors() {
    let app = app().await;
    let admin = app.admin().await;
    let schema = Schema::read(&app, &admin.access).await;
    for target in schema.targets() {
        let value = schema.deepest(&target.type_ref, MAX_INPUT_DEPTH);
        let body = app
            .gql(
                Some(&admin.access),
                &target.with_variable(),
                json!({ "v": value }),
            )
            .await;
        for error in body["errors"].as_array().into_iter().flatten() {
            assert_ne!(
                error["extensions"]["code"],
                "INTERNAL",
                "{}: {body}",
                target.name()
            );
            // Admitted means it reached validation and coercion, not the depth refusal.
            let message = error["message"].as_str().unwrap_or_default();
            assert!(
                !message.contains("nests deeper"),
                "{}: {body}",
                target.name()
            );
        }
    }
    still_serving(&app, &admin.access).await;
}

#[tokio::test]
async fn the_reported_filter_bomb_is_refused_over_post_and_get() {
    let app = app().await;
    let filter = "{not:".repeat(190) + "{}" + &"}".repeat(190);
    let query = format!("{{leads(filter:{filter}){{totalCount}}}}");
    let body = app.gql(None, &query, json!({})).await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", query.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    let admin = app.admin().await;
    still_serving(&app, &admin.access).await;
}

#[tokio::test]
async fn filters_cap_their_logic_depth_and_parts() {
    let app = app().await;
    let admin = app.admin().await;
    let query = "query($f: LeadFilter) { leads(filter: $f) { totalCount } }";
    let not = |levels: usize| (0..levels).fold(json!({}), |inner, _| json!({ "not": inner }));
    let data = app.ok(&admin.access, query, json!({ "f": not(5) })).await;
    assert_eq!(data["leads"]["totalCount"], 0);
    let body = app
        .gql(Some(&admin.access), query, json!({ "f": not(6) }))
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "filter");

    let terms: Vec<Value> = (0..1_000)
        .map(|n| json!({ "email": { "eq": format!("{n}@example.com") } }))
        .collect();
    let body = app
        .gql(Some(&admin.access), query, json!({ "f": { "or": terms } }))
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "filter");
}

/// Each of these reached the store and failed there (SQLite's LIKE pattern, expression and
/// variable limits; PostgreSQL's date range) and was answered INTERNAL.
#[tokio::test]
async fn what_the_stores_would_refuse_is_a_bad_input_naming_the_field() {
    let app = app().await;
    let admin = app.admin().await;
    let leads = "query($f: LeadFilter) { leads(filter: $f) { totalCount } }";
    let many_ids: Vec<String> = (0..500).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let cases = [
        (
            json!({ "email": { "contains": "x".repeat(50_000) } }),
            "email",
        ),
        (
            json!({ "or": (0..12).map(|_| json!({ "ownerId": { "in": many_ids } })).collect::<Vec<_>>() }),
            "filter",
        ),
        (
            json!({ "createdAt": { "gt": "+200000-01-01T00:00:00Z" } }),
            "createdAt",
        ),
    ];
    for (filter, field) in cases {
        let body = app
            .gql(Some(&admin.access), leads, json!({ "f": filter }))
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{field}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    let a_long_filter_that_fits = json!({ "email": { "contains": "x".repeat(1_000) } });
    let data = app
        .ok(
            &admin.access,
            leads,
            json!({ "f": a_long_filter_that_fits }),
        )
        .await;
    assert_eq!(data["leads"]["totalCount"], 0);
}

#[tokio::test]
async fn an_anonymous_login_with_nul_is_refused_not_an_internal_error() {
    let app = app().await;
    let body = app
        .gql(
            None,
            crate::helpers::LOGIN,
            json!({ "email": "a\u{0}@example.com", "password": "x\u{0}" }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "$email");
}

/// A cursor is opaque, not tamper-proof: one edited by hand to carry a value of another kind
/// than its order sorts by, a time no store keeps, or NUL, is refused as the cursor it is.
#[tokio::test]
async fn a_cursor_edited_by_hand_is_a_bad_input_not_a_query_the_store_refuses() {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let app = app().await;
    let admin = app.admin().await;
    for n in 0..2 {
        app.lead(&admin.access, json!({ "company": format!("Lead {n}") }))
            .await;
    }
    let page = |order: &str, after: Option<&str>| {
        let query = format!(
            "query($after: String) {{ leads(first: 1, after: $after, orderBy: [{{ field: {order} }}]) {{ edges {{ cursor }} }} }}"
        );
        let after = after.map(str::to_owned);
        let app = &app;
        let token = admin.access.clone();
        async move {
            app.gql(Some(&token), &query, json!({ "after": after }))
                .await
        }
    };
    for (order, forged) in [
        ("SCORE", json!({ "text": "x" })),
        ("COMPANY", json!({ "int": 5 })),
        ("CREATED_AT", json!({ "text": "2026-01-01T00:00:00Z" })),
        ("CREATED_AT", json!({ "time": "+200000-01-01T00:00:00Z" })),
        ("COMPANY", json!({ "text": "a\u{0}b" })),
    ] {
        let first = page(order, None).await;
        let cursor = first["data"]["leads"]["edges"][0]["cursor"]
            .as_str()
            .unwrap();
        let mut decoded: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(cursor).unwrap()).unwrap();
        // The genuine cursor continues its order.
        assert!(page(order, Some(cursor)).await.get("errors").is_none());
        decoded["keys"][0] = forged;
        let forged = URL_SAFE_NO_PAD.encode(decoded.to_string());
        let body = page(order, Some(&forged)).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{order}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "after", "{body}");
    }
}

#[tokio::test]
async fn dates_no_store_keeps_are_refused_in_every_write() {
    let app = app().await;
    let admin = app.admin().await;
    let cases = [
        (
            "mutation($v: ActivityInput!) { createActivity(input: $v) { activity { id } } }",
            json!({ "subject": "Call", "kind": "CALL", "dueAt": "+200000-01-01T00:00:00Z" }),
            "dueAt",
        ),
        (
            "mutation($v: CampaignInput!) { createCampaign(input: $v) { campaign { id } } }",
            json!({ "name": "Far", "startsOn": "0000-12-31" }),
            "startsOn",
        ),
    ];
    for (mutation, input, field) in cases {
        let body = app
            .gql(Some(&admin.access), mutation, json!({ "v": input }))
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{field}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
}
