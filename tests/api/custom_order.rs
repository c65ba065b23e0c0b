//! Lists ordered by a custom field and filtered with its typed operators, on both stores: every
//! type orders by its own kind of value in both directions with records without a value last,
//! pages continue across cursors, `hasAny`/`hasAll` test multi selects and `money` tests amounts
//! in a currency; unknown, removed and hidden keys, mismatched operators, unknown options and
//! hostile inputs are BAD_USER_INPUT with the path, never a server error.

use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, error_code, spawn_app};

const DEFINE: &str = "mutation($input: NewCustomFieldInput!) {
    createCustomField(input: $input) { field { id } } }";

const CREATE_CONTACT: &str = "mutation($input: ContactInput!) {
    createContact(input: $input) { contact { id } } }";

const CONTACTS: &str =
    "query($first: Int, $after: String, $order: [ContactOrder!], $filter: ContactFilter) {
    contacts(first: $first, after: $after, orderBy: $order, filter: $filter) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id lastName } } } }";

async fn define(app: &TestApp, admin: &Session, input: Value) -> String {
    let data = app
        .ok(&admin.access, DEFINE, json!({ "input": input }))
        .await;
    data["createCustomField"]["field"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// One contact field of each kind of order, and five contacts: four with values (Eve's
/// nickname starts with a letter no store folds, Dee has none at all).
async fn contacts_with_values(app: &TestApp, admin: &Session) -> Vec<(String, String)> {
    let tiers = json!([{ "value": "gold", "label": "Gold" }, { "value": "silver", "label": "Silver" },
                       { "value": "bronze", "label": "Bronze" }]);
    let fields = [
        json!({ "key": "nickname", "label": "Nickname", "type": "TEXT" }),
        json!({ "key": "seats", "label": "Seats", "type": "NUMBER" }),
        json!({ "key": "budget", "label": "Budget", "type": "MONEY" }),
        json!({ "key": "renewal", "label": "Renewal", "type": "DATE" }),
        json!({ "key": "vip", "label": "VIP", "type": "BOOLEAN" }),
        json!({ "key": "tier", "label": "Tier", "type": "SINGLE_SELECT", "options": tiers }),
        json!({ "key": "tags", "label": "Tags", "type": "MULTI_SELECT", "options": tiers }),
    ];
    for mut field in fields {
        field["recordType"] = json!("CONTACT");
        define(app, admin, field).await;
    }
    let money = |amount: &str, currency: &str| json!({ "amount": amount, "currency": currency });
    let rows = [
        (
            "Ada",
            json!({ "nickname": "bravo", "seats": 5, "budget": money("100.00", "EUR"),
                    "renewal": "2027-03-01", "vip": true, "tier": "silver", "tags": ["silver"] }),
        ),
        (
            "Bob",
            json!({ "nickname": "Alpha", "seats": 12.5, "budget": money("20", "EUR"),
                    "renewal": "2026-12-31", "vip": false, "tier": "gold", "tags": ["gold", "silver"] }),
        ),
        (
            "Cy",
            json!({ "nickname": "CHARLIE", "seats": -3, "budget": money("5000", "JPY"),
                    "renewal": "2027-01-15", "tier": "bronze", "tags": ["bronze", "gold"] }),
        ),
        ("Dee", json!({})),
        (
            "Eve",
            json!({ "nickname": "Échelle", "seats": 100, "budget": money("25.00", "USD"),
                    "renewal": "2028-01-01", "tags": [] }),
        ),
    ];
    let mut made = Vec::new();
    for (name, values) in rows {
        let values: Vec<Value> = values
            .as_object()
            .unwrap()
            .iter()
            .map(|(key, value)| json!({ "key": key, "value": value }))
            .collect();
        let input = json!({ "lastName": name, "customFieldValues": values });
        let data = app
            .ok(&admin.access, CREATE_CONTACT, json!({ "input": input }))
            .await;
        let id = data["createContact"]["contact"]["id"].as_str().unwrap();
        made.push((id.to_owned(), name.to_owned()));
    }
    made
}

/// Every contact in `order`, read two at a time across cursors.
async fn all_pages(app: &TestApp, who: &Session, order: Value) -> Vec<String> {
    let mut names = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app
            .ok(
                &who.access,
                CONTACTS,
                json!({ "first": 2, "after": after, "order": order }),
            )
            .await;
        let page = &data["contacts"];
        for edge in page["edges"].as_array().unwrap() {
            names.push(edge["node"]["lastName"].as_str().unwrap().to_owned());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            return names;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

/// `valued` in its order, then the contacts without a value by id, in the order's direction.
fn expected(made: &[(String, String)], valued: &[&str], descending: bool) -> Vec<String> {
    let mut missing: Vec<&(String, String)> = made
        .iter()
        .filter(|(_, name)| !valued.contains(&name.as_str()))
        .collect();
    missing.sort();
    if descending {
        missing.reverse();
    }
    valued
        .iter()
        .map(|name| (*name).to_owned())
        .chain(missing.into_iter().map(|(_, name)| name.clone()))
        .collect()
}

fn field_of(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn each_custom_type_orders_both_ways_with_records_without_a_value_last_across_pages() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let made = contacts_with_values(&app, &admin).await;
    let ascending: [(&str, &[&str]); 7] = [
        // ASCII letters fold; `É` is not folded by either store and sorts after them.
        ("nickname", &["Bob", "Ada", "Cy", "Eve"]),
        ("seats", &["Cy", "Ada", "Bob", "Eve"]),
        // By minor units, whatever the currency.
        ("budget", &["Bob", "Eve", "Cy", "Ada"]),
        ("renewal", &["Bob", "Cy", "Ada", "Eve"]),
        ("vip", &["Bob", "Ada"]),
        ("tier", &["Cy", "Bob", "Ada"]),
        // By the first value chosen; an empty list is no value.
        ("tags", &["Cy", "Bob", "Ada"]),
    ];
    for (key, valued) in ascending {
        let asc = json!([{ "customField": key, "direction": "ASC" }]);
        assert_eq!(
            all_pages(&app, &admin, asc).await,
            expected(&made, valued, false),
            "{key} ascending"
        );
        let reversed: Vec<&str> = valued.iter().rev().copied().collect();
        let desc = json!([{ "customField": key, "direction": "DESC" }]);
        assert_eq!(
            all_pages(&app, &admin, desc).await,
            expected(&made, &reversed, true),
            "{key} descending"
        );
    }
}

#[tokio::test]
async fn a_custom_order_follows_a_record_field_and_ties_fall_back_to_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    contacts_with_values(&app, &admin).await;
    let order = json!([{ "customField": "vip", "direction": "DESC" }, { "field": "LAST_NAME", "direction": "DESC" }]);
    assert_eq!(
        all_pages(&app, &admin, order).await,
        ["Ada", "Bob", "Eve", "Dee", "Cy"]
    );
    let order = json!([{ "field": "LAST_NAME" }, { "customField": "seats" }]);
    assert_eq!(
        all_pages(&app, &admin, order).await,
        ["Ada", "Bob", "Cy", "Dee", "Eve"]
    );
}

#[tokio::test]
async fn a_cursor_of_one_custom_order_does_not_continue_another() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    contacts_with_values(&app, &admin).await;
    let data = app
        .ok(
            &admin.access,
            CONTACTS,
            json!({ "first": 2, "order": [{ "customField": "seats" }] }),
        )
        .await;
    let cursor = data["contacts"]["pageInfo"]["endCursor"].clone();
    let body = app
        .gql(
            Some(&admin.access),
            CONTACTS,
            json!({ "first": 2, "after": cursor, "order": [{ "customField": "budget" }] }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(field_of(&body), "after");
}

#[tokio::test]
async fn a_value_of_another_type_under_a_custom_key_sorts_as_no_value() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    define(
        &app,
        &admin,
        json!({ "recordType": "LEAD", "key": "seats", "label": "Seats", "type": "NUMBER" }),
    )
    .await;
    for (company, values) in [("Big", json!(700)), ("Small", json!(3))] {
        app.lead(
            &admin.access,
            json!({ "company": company, "customFieldValues": [{ "key": "seats", "value": values }] }),
        )
        .await;
    }
    // Web forms write untyped values; this one is no number.
    app.lead(
        &admin.access,
        json!({ "company": "Form", "customFields": { "seats": "lots" } }),
    )
    .await;
    let data = app
        .ok(
            &admin.access,
            "{ leads(orderBy: [{ customField: \"seats\", direction: DESC }]) { edges { node { company } } } }",
            json!({}),
        )
        .await;
    let companies: Vec<&str> = data["leads"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["company"].as_str().unwrap())
        .collect();
    assert_eq!(companies, ["Big", "Small", "Form"]);
}

#[tokio::test]
async fn unknown_removed_and_hidden_custom_keys_are_refused_in_an_order() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let old = define(
        &app,
        &admin,
        json!({ "recordType": "LEAD", "key": "old", "label": "Old", "type": "TEXT" }),
    )
    .await;
    define(
        &app,
        &admin,
        json!({ "recordType": "LEAD", "key": "deal_size", "label": "Deal size", "type": "MONEY" }),
    )
    .await;
    define(
        &app,
        &admin,
        json!({ "recordType": "CONTACT", "key": "contact_only", "label": "C", "type": "TEXT" }),
    )
    .await;
    app.ok(
        &admin.access,
        "mutation($id: ID!) { removeCustomField(id: $id) { field { id } } }",
        json!({ "id": old }),
    )
    .await;
    const LEADS: &str = "query($order: [LeadOrder!]) { leads(orderBy: $order) { totalCount } }";
    let refused = async |who: &Session, order: Value, field: &str| {
        let body = app
            .gql(Some(&who.access), LEADS, json!({ "order": order }))
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{order}: {body}");
        assert_eq!(field_of(&body), field, "{order}");
    };
    let at = "orderBy.0.customField";
    for key in [
        "nope",
        "old",
        "contact_only",
        "a') OR 1=1 --",
        "deal_size\"; DROP TABLE leads; --",
        &"x".repeat(10_000),
    ] {
        refused(&admin, json!([{ "customField": key }]), at).await;
    }
    // The gate refuses NUL in any variable before a resolver reads it.
    refused(
        &admin,
        json!([{ "customField": "deal_size\u{0}" }]),
        "$order",
    )
    .await;
    refused(
        &admin,
        json!([{ "field": "EMAIL", "customField": "deal_size" }]),
        "orderBy.0",
    )
    .await;
    refused(&admin, json!([{ "direction": "DESC" }]), "orderBy.0").await;
    // Marketing may not see amounts, so it may not rank leads by one either.
    let marketer = app
        .user(&admin, "marketer@example.com", "MARKETING", None)
        .await;
    refused(&marketer, json!([{ "customField": "deal_size" }]), at).await;
    let body = app
        .gql(
            Some(&admin.access),
            LEADS,
            json!({ "order": [{ "customField": "deal_size" }] }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
}

/// The last names of the contacts `filter` matches, sorted.
async fn matching(app: &TestApp, admin: &Session, filter: Value) -> Vec<String> {
    let data = app
        .ok(&admin.access, CONTACTS, json!({ "filter": filter }))
        .await;
    let mut names: Vec<String> = data["contacts"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["lastName"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn has_any_and_has_all_test_the_options_of_a_custom_multi_select() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    contacts_with_values(&app, &admin).await;
    let tags = |test: Value| {
        let mut test = test;
        test["key"] = json!("tags");
        json!({ "customFields": [test] })
    };
    let cases = [
        (json!({ "hasAny": ["gold"] }), vec!["Bob", "Cy"]),
        (
            json!({ "hasAny": ["silver", "bronze"] }),
            vec!["Ada", "Bob", "Cy"],
        ),
        (json!({ "hasAll": ["gold", "silver"] }), vec!["Bob"]),
        (
            json!({ "hasAll": ["silver", "silver"] }),
            vec!["Ada", "Bob"],
        ),
        (
            json!({ "hasAny": ["gold"], "hasAll": ["bronze"] }),
            vec!["Cy"],
        ),
    ];
    for (test, names) in cases {
        assert_eq!(
            matching(&app, &admin, tags(test.clone())).await,
            names,
            "{test}"
        );
    }
    let filter = json!({ "or": [tags(json!({ "hasAll": ["gold", "bronze"] })),
                                 { "not": tags(json!({ "hasAny": ["gold", "silver", "bronze"] })) }] });
    assert_eq!(matching(&app, &admin, filter).await, ["Cy", "Dee", "Eve"]);
}

#[tokio::test]
async fn money_bounds_are_amounts_in_the_currency_they_name() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    contacts_with_values(&app, &admin).await;
    let budget = |money: Value| json!({ "customFields": [{ "key": "budget", "money": money }] });
    let cases = [
        (json!({ "currency": "EUR", "gte": "50" }), vec!["Ada"]),
        (
            json!({ "currency": "eur", "lte": "100.00" }),
            vec!["Ada", "Bob"],
        ),
        (
            json!({ "currency": "EUR", "gte": "20", "lte": "20.00" }),
            vec!["Bob"],
        ),
        (json!({ "currency": "EUR" }), vec!["Ada", "Bob"]),
        (json!({ "currency": "JPY", "gte": "5000" }), vec!["Cy"]),
        (json!({ "currency": "USD", "gte": "25.01" }), vec![]),
    ];
    for (money, names) in cases {
        assert_eq!(
            matching(&app, &admin, budget(money.clone())).await,
            names,
            "{money}"
        );
    }
}

#[tokio::test]
async fn typed_custom_filters_refuse_the_wrong_type_unknown_options_and_hidden_keys() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    contacts_with_values(&app, &admin).await;
    let cases = [
        (
            json!({ "key": "seats", "hasAny": ["gold"] }),
            "customFields",
        ),
        (json!({ "key": "tier", "hasAll": ["gold"] }), "customFields"),
        (
            json!({ "key": "nope", "hasAny": ["gold"] }),
            "customFields.nope",
        ),
        (
            json!({ "key": "tags", "hasAny": ["platinum"] }),
            "customFields.tags.hasAny",
        ),
        (
            json!({ "key": "tags", "hasAll": ["Gold"] }),
            "customFields.tags.hasAll",
        ),
        // The gate refuses NUL in any variable before a resolver reads it.
        (json!({ "key": "tags", "hasAny": ["gold\u{0}"] }), "$filter"),
        (json!({ "key": "tags", "hasAny": [] }), "customFields"),
        (
            json!({ "key": "tier", "eq": "Gold" }),
            "customFields.tier.eq",
        ),
        (
            json!({ "key": "tier", "in": ["gold", "platinum"] }),
            "customFields.tier.in",
        ),
        (
            json!({ "key": "seats", "money": { "currency": "EUR" } }),
            "customFields",
        ),
        (
            json!({ "key": "budget", "money": { "gte": "10" } }),
            "customFields.money.currency",
        ),
        (
            json!({ "key": "budget", "money": { "currency": "EUR", "gte": "1.234" } }),
            "customFields.money.gte",
        ),
        (
            json!({ "key": "budget", "money": { "currency": "EUR", "lte": "ten" } }),
            "customFields.money.lte",
        ),
        (
            json!({ "key": "budget", "money": { "currency": "XXY" } }),
            "customFields.money.currency",
        ),
        (
            json!({ "key": "budget", "money": { "currency": "E".repeat(10_000) } }),
            "customFields.money.currency",
        ),
    ];
    for (test, field) in cases {
        let body = app
            .gql(
                Some(&admin.access),
                CONTACTS,
                json!({ "filter": { "customFields": [test] } }),
            )
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{test}: {body}");
        assert_eq!(field_of(&body), field, "{test}");
    }
}

#[tokio::test]
async fn hostile_custom_filters_and_orders_are_bad_input_and_never_a_server_error() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    contacts_with_values(&app, &admin).await;
    let long = "x".repeat(10_000);
    let mut filters = vec![];
    for key in [
        "a') OR 1=1 --",
        "tags'",
        "tags\u{0}",
        "ta\"gs",
        long.as_str(),
        "",
    ] {
        filters.push(json!({ "customFields": [{ "key": key, "eq": "gold" }] }));
        filters.push(json!({ "customFields": [{ "key": key, "hasAny": ["gold"] }] }));
        filters.push(json!({ "customFields": [{ "key": key, "money": { "currency": "EUR" } }] }));
    }
    let nested = (0..40).fold(
        json!({ "customFields": [{ "key": "tags", "hasAny": ["gold"] }] }),
        |inner, i| {
            if i % 2 == 0 {
                json!({ "and": [inner] })
            } else {
                json!({ "or": [inner, { "customFields": [{ "key": "seats", "gte": 1 }] }] })
            }
        },
    );
    filters.push(nested);
    let wide: Vec<Value> = (0..200)
        .map(|_| json!({ "customFields": [{ "key": "tags", "hasAll": ["gold", "silver"] }] }))
        .collect();
    filters.push(json!({ "or": wide }));
    for filter in filters {
        let body = app
            .gql(
                Some(&admin.access),
                CONTACTS,
                json!({ "filter": filter, "order": [{ "customField": "tags" }] }),
            )
            .await;
        assert_eq!(
            error_code(&body),
            Some("BAD_USER_INPUT"),
            "{:.200}: {body:.300}",
            filter.to_string()
        );
        assert!(field_of(&body).len() < 200, "the path echoes a bounded key");
    }
}
