//! Full-text search across leads, contacts and accounts, on each store's own engine, within
//! the caller's rows.

use serde_json::{Value, json};

use crate::helpers::{error_code, spawn_app};

const SEARCH: &str = "query($q: String!) { search(query: $q) {
  __typename ... on Lead { company } ... on Contact { lastName } ... on Account { name } } }";

fn labels(data: &Value) -> Vec<String> {
    let mut labels: Vec<String> = data["search"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| {
            let name = hit["company"]
                .as_str()
                .or(hit["lastName"].as_str())
                .or(hit["name"].as_str())
                .unwrap_or("?");
            format!("{}:{name}", hit["__typename"].as_str().unwrap())
        })
        .collect();
    labels.sort();
    labels
}

#[tokio::test]
async fn search_matches_word_prefixes_across_kinds() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.lead(
        &admin.access,
        json!({ "company": "Initech", "email": "peter.gibbons@initech.com", "firstName": "Peter" }),
    )
    .await;
    app.lead(
        &admin.access,
        json!({ "company": "Initrode", "lastName": "Bolton" }),
    )
    .await;
    app.ok(&admin.access, r#"mutation { createContact(input: { lastName: "Lumbergh", email: "bill@initech.com" }) { contact { id } } }"#, json!({})).await;
    app.ok(&admin.access, r#"mutation { createAccount(input: { name: "Initech Holdings", domain: "initech.com" }) { account { id } } }"#, json!({})).await;

    let cases = [
        (
            "initech",
            vec![
                "Account:Initech Holdings",
                "Contact:Lumbergh",
                "Lead:Initech",
            ],
        ),
        (
            "INIT",
            vec![
                "Account:Initech Holdings",
                "Contact:Lumbergh",
                "Lead:Initech",
                "Lead:Initrode",
            ],
        ),
        ("peter initech", vec!["Lead:Initech"]),
        ("gibbons@initech.com", vec!["Lead:Initech"]),
        ("bolt", vec!["Lead:Initrode"]),
        ("nothing-like-this", vec![]),
    ];
    for (query, expected) in cases {
        let data = app.ok(&admin.access, SEARCH, json!({ "q": query })).await;
        assert_eq!(labels(&data), expected, "query {query:?}");
    }
}

#[tokio::test]
async fn search_keeps_the_row_rules_and_skips_archived_records() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    let other = app.user(&admin, "other@example.com", "SALES", None).await;
    app.lead(
        &admin.access,
        json!({ "company": "Vandelay Imports", "ownerId": rep.user_id }),
    )
    .await;
    app.lead(
        &admin.access,
        json!({ "company": "Vandelay Exports", "ownerId": other.user_id }),
    )
    .await;
    let archived = app
        .lead(&admin.access, json!({ "company": "Vandelay Archive" }))
        .await;
    app.ok(
        &admin.access,
        "mutation($id: ID!) { archiveLead(id: $id) { lead { id } } }",
        json!({ "id": archived }),
    )
    .await;

    let data = app
        .ok(&rep.access, SEARCH, json!({ "q": "vandelay" }))
        .await;
    assert_eq!(labels(&data), ["Lead:Vandelay Imports"]);

    let support = app
        .user(&admin, "support@example.com", "SUPPORT", None)
        .await;
    let data = app
        .ok(&support.access, SEARCH, json!({ "q": "vandelay" }))
        .await;
    assert_eq!(labels(&data), Vec::<String>::new(), "support sees no leads");
}

#[tokio::test]
async fn search_follows_updates() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lead = app
        .lead(&admin.access, json!({ "company": "Oldname" }))
        .await;
    app.ok(
        &admin.access,
        "mutation($id: ID!) { updateLead(id: $id, input: { company: \"Newname\" }) { lead { id } } }",
        json!({ "id": lead }),
    )
    .await;
    assert_eq!(
        labels(
            &app.ok(&admin.access, SEARCH, json!({ "q": "oldname" }))
                .await
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        labels(
            &app.ok(&admin.access, SEARCH, json!({ "q": "newname" }))
                .await
        ),
        ["Lead:Newname"]
    );
}

#[tokio::test]
async fn an_empty_search_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = app
        .gql(Some(&admin.access), SEARCH, json!({ "q": " %% " }))
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
}

/// Creates a contact and an account through the API, as the names tests need them.
async fn contact(app: &crate::helpers::TestApp, token: &str, input: Value) {
    app.ok(
        token,
        "mutation($input: ContactInput!) { createContact(input: $input) { contact { id } } }",
        json!({ "input": input }),
    )
    .await;
}

async fn account(app: &crate::helpers::TestApp, token: &str, name: &str) {
    app.ok(
        token,
        "mutation($name: String!) { createAccount(input: { name: $name }) { account { id } } }",
        json!({ "name": name }),
    )
    .await;
}

#[tokio::test]
async fn search_folds_names_of_every_language_alike_on_both_stores() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let token = admin.access.as_str();
    // Irish and Welsh.
    app.lead(token, json!({ "firstName": "Pádraig", "lastName": "Ó Súilleabháin", "company": "Éireannach Teoranta" })).await;
    contact(
        &app,
        token,
        json!({ "firstName": "Siân", "lastName": "Llŷr" }),
    )
    .await;
    // Norwegian.
    app.lead(
        token,
        json!({ "firstName": "Bjørn", "lastName": "Æsland", "company": "Ødegård Bygg" }),
    )
    .await;
    account(&app, token, "Øvre Ålesund Fiskeri").await;
    // Persian: one typed on a Persian keyboard, one on an Arabic one, one with a zero-width
    // non-joiner.
    contact(
        &app,
        token,
        json!({ "firstName": "Reza", "lastName": "کریمی" }),
    )
    .await;
    contact(
        &app,
        token,
        json!({ "firstName": "Ali", "lastName": "كاظمي" }),
    )
    .await;
    account(&app, token, "می\u{200C}خواهم").await;
    // Tamil, with Tamil digits and ASCII ones.
    app.lead(
        token,
        json!({ "firstName": "கார்த்திக்", "lastName": "முருகன்", "company": "அங்காடி ௧௨௩" }),
    )
    .await;
    account(&app, token, "Chennai Stores 456").await;

    let cases: [(&str, &[&str]); 17] = [
        ("eireannach", &["Lead:Éireannach Teoranta"]),
        ("o suilleabhain", &["Lead:Éireannach Teoranta"]),
        ("SÚILLEABHÁIN padraig", &["Lead:Éireannach Teoranta"]),
        ("sian", &["Contact:Llŷr"]),
        ("llyr", &["Contact:Llŷr"]),
        ("odegard", &["Lead:Ødegård Bygg"]),
        ("bjorn aesland", &["Lead:Ødegård Bygg"]),
        ("ÆSLAND", &["Lead:Ødegård Bygg"]),
        ("ovre alesund", &["Account:Øvre Ålesund Fiskeri"]),
        ("كريمي", &["Contact:کریمی"]),
        ("کاظمی", &["Contact:كاظمي"]),
        ("میخواهم", &["Account:می\u{200C}خواهم"]),
        ("می\u{200C}خوا", &["Account:می\u{200C}خواهم"]),
        ("முருகன்", &["Lead:அங்காடி ௧௨௩"]),
        ("123", &["Lead:அங்காடி ௧௨௩"]),
        ("௪௫௬", &["Account:Chennai Stores 456"]),
        ("۴۵۶", &["Account:Chennai Stores 456"]),
    ];
    for (query, expected) in cases {
        let data = app.ok(token, SEARCH, json!({ "q": query })).await;
        assert_eq!(labels(&data), expected, "query {query:?}");
    }
    // Tamil vowel signs are part of the word: முருகன் starts with மு, not with மா.
    let data = app.ok(token, SEARCH, json!({ "q": "மு" })).await;
    assert_eq!(labels(&data), ["Lead:அங்காடி ௧௨௩"]);
    let data = app.ok(token, SEARCH, json!({ "q": "மா" })).await;
    assert_eq!(labels(&data), Vec::<String>::new());
}

#[tokio::test]
async fn hostile_search_queries_fold_to_words_or_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let token = admin.access.as_str();
    contact(
        &app,
        token,
        json!({ "firstName": "Siân", "lastName": "Llŷr" }),
    )
    .await;

    // Text with NUL bytes is refused before it reaches search, as everywhere in the API.
    let body = app
        .gql(Some(token), SEARCH, json!({ "q": "sian\0llyr" }))
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert!(body["data"].is_null(), "{body}");

    let huge = "Sian ".repeat(20_000);
    assert_eq!(huge.len(), 100_000);
    let data = app.ok(token, SEARCH, json!({ "q": huge })).await;
    assert_eq!(labels(&data), ["Contact:Llŷr"]);
    let one_word = "x".repeat(100_000);
    let data = app.ok(token, SEARCH, json!({ "q": one_word })).await;
    assert_eq!(labels(&data), Vec::<String>::new());

    for only_marks in [
        "\u{0301}\u{0302}\u{0308}",
        "\u{064E}\u{0650}\u{0651}",
        "\u{200C}\u{0640}",
    ] {
        let body = app
            .gql(Some(token), SEARCH, json!({ "q": only_marks }))
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "query", "{body}");
    }
}
