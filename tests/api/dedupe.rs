//! Duplicate detection, on both stores: a write warned about a likely duplicate answers it
//! with the evidence field by field; a new lead that is already a contact is found; a blocking
//! rule refuses a create and an edit and writes nothing; `duplicates(of:)` shows only what the
//! caller may see; a scan clusters a generated set of people and their near-duplicates, and a
//! dismissed cluster stays dismissed; rules refuse hostile definitions.

use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, error_code, spawn_app};

const CREATE_LEAD: &str = "mutation($input: LeadInput!) { createLead(input: $input) {
    lead { id } duplicates { recordType id ruleName action probability score evidence { field level weight } } } }";

const UPDATE_LEAD: &str =
    "mutation($id: ID!, $input: LeadInput!) { updateLead(id: $id, input: $input) {
    lead { id } duplicates { id } } }";

const CREATE_CONTACT: &str = "mutation($input: ContactInput!) { createContact(input: $input) {
    contact { id } duplicates { id } } }";

const DUPLICATES: &str = "query($of: ID!, $t: CustomFieldRecordType!) {
    duplicates(of: $of, recordType: $t) { recordType id probability } }";

const RULES: &str = "query($t: CustomFieldRecordType) {
    dedupeRules(recordType: $t) { id name action threshold weightsSource active fields { field comparator } } }";

const UPDATE_RULE: &str = "mutation($id: ID!, $input: DedupeRuleInput!) {
    updateDedupeRule(id: $id, input: $input) { rule { id action weightsSource weights } } }";

const CREATE_RULE: &str = "mutation($input: NewDedupeRuleInput!) {
    createDedupeRule(input: $input) { rule { id name action fields { field comparator } } } }";

const SCAN: &str = "mutation($t: CustomFieldRecordType!) {
    scanDuplicates(recordType: $t) { records rules clusters duplicates } }";

const CLUSTERS: &str = "query($t: CustomFieldRecordType!, $s: ClusterStatus! = OPEN) {
    duplicateClusters(recordType: $t, status: $s) { id size topProbability status members { id probability } } }";

const LEAD_COUNT: &str = "{ leads(first: 1) { totalCount } }";

async fn create_lead(app: &TestApp, token: &str, input: Value) -> Value {
    let data = app.ok(token, CREATE_LEAD, json!({ "input": input })).await;
    data["createLead"].clone()
}

async fn lead_rule(app: &TestApp, admin: &Session) -> Value {
    let data = app.ok(&admin.access, RULES, json!({ "t": "LEAD" })).await;
    data["dedupeRules"][0].clone()
}

async fn lead_count(app: &TestApp, token: &str) -> i64 {
    app.ok(token, LEAD_COUNT, json!({})).await["leads"]["totalCount"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_likely_duplicate_is_warned_with_its_evidence() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let first = create_lead(
        &app,
        &admin.access,
        json!({ "firstName": "Siobhán", "lastName": "Ní Bhriain", "email": "siobhan@acme.ie", "company": "Acme, Inc." }),
    )
    .await;
    assert_eq!(first["duplicates"], json!([]));
    let first_id = first["lead"]["id"].as_str().unwrap();

    // Accents, case and the legal form differ; the email is another one.
    let second = create_lead(
        &app,
        &admin.access,
        json!({ "firstName": "SIOBHAN", "lastName": "Ni Bhriain", "email": "s.nibhriain@gmail.com", "company": "ACME Inc" }),
    )
    .await;
    let found = second["duplicates"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{second}");
    let candidate = &found[0];
    assert_eq!(candidate["id"], first_id);
    assert_eq!(candidate["recordType"], "LEAD");
    assert_eq!(candidate["action"], "WARN");
    assert_eq!(candidate["ruleName"], "Same person");
    assert!(
        candidate["probability"].as_f64().unwrap() >= 0.9,
        "{candidate}"
    );
    let evidence: Vec<(String, Value, f64)> = candidate["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["level"].clone(),
                e["weight"].as_f64().unwrap(),
            )
        })
        .collect();
    let of = |field: &str| evidence.iter().find(|e| e.0 == field).unwrap().clone();
    assert_eq!(of("first_name").1, json!(0), "folded names agree exactly");
    assert_eq!(of("company").1, json!(0), "the legal form does not count");
    assert!(of("email").2 < 0.0, "a different email is evidence against");
    assert_eq!(of("phone").1, Value::Null, "a missing phone is no evidence");
    let sum: f64 = evidence.iter().map(|e| e.2).sum();
    assert!((sum - candidate["score"].as_f64().unwrap()).abs() < 1e-9);

    // Asked for, the pair is found from either side; someone else is not.
    let second_id = second["lead"]["id"].as_str().unwrap();
    let data = app
        .ok(
            &admin.access,
            DUPLICATES,
            json!({ "of": first_id, "t": "LEAD" }),
        )
        .await;
    assert_eq!(data["duplicates"][0]["id"], second_id);
    let other = create_lead(
        &app,
        &admin.access,
        json!({ "firstName": "Seán", "lastName": "Murphy", "email": "sean@globex.ie", "company": "Globex" }),
    )
    .await;
    assert_eq!(other["duplicates"], json!([]));
}

#[tokio::test]
async fn a_new_lead_that_is_already_a_contact_is_found() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let data = app
        .ok(
            &admin.access,
            CREATE_CONTACT,
            json!({ "input": { "firstName": "Ødegård", "lastName": "Hansen", "email": "oh@fjord.no" } }),
        )
        .await;
    let contact = data["createContact"]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let lead = create_lead(
        &app,
        &admin.access,
        json!({ "firstName": "Odegard", "lastName": "Hansen", "email": "OH@fjord.no" }),
    )
    .await;
    let found = lead["duplicates"].as_array().unwrap();
    assert!(
        found
            .iter()
            .any(|c| c["id"] == contact.as_str() && c["recordType"] == "CONTACT"),
        "{lead}"
    );
}

#[tokio::test]
async fn a_blocking_rule_refuses_creates_and_edits_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rule = lead_rule(&app, &admin).await;
    app.ok(
        &admin.access,
        UPDATE_RULE,
        json!({ "id": rule["id"], "input": { "action": "BLOCK" } }),
    )
    .await;
    let kept = create_lead(
        &app,
        &admin.access,
        json!({ "firstName": "Rhian", "lastName": "Pritchard", "phone": "+44 29 2018 0000", "company": "Cwmni Cyf" }),
    )
    .await;
    let kept_id = kept["lead"]["id"].as_str().unwrap();
    let before = lead_count(&app, &admin.access).await;

    let body = app
        .gql(
            Some(&admin.access),
            CREATE_LEAD,
            json!({ "input": { "firstName": "Rhian", "lastName": "Pritchard", "phone": "+442920180000" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("CONFLICT"), "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains(kept_id),
        "the refusal names the record: {message}"
    );
    assert_eq!(
        lead_count(&app, &admin.access).await,
        before,
        "nothing written"
    );

    // An edit that would make a duplicate is refused too, and the lead stays as it was.
    let other = create_lead(
        &app,
        &admin.access,
        json!({ "firstName": "Gareth", "lastName": "Jones", "email": "gareth@example.cymru" }),
    )
    .await;
    let other_id = other["lead"]["id"].as_str().unwrap();
    let body = app
        .gql(
            Some(&admin.access),
            UPDATE_LEAD,
            json!({ "id": other_id, "input": { "firstName": "Rhian", "lastName": "Pritchard", "phone": "+442920180000", "email": null } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("CONFLICT"), "{body}");
    let data = app
        .ok(
            &admin.access,
            "query($id: ID!) { lead(id: $id) { firstName email phone } }",
            json!({ "id": other_id }),
        )
        .await;
    assert_eq!(
        data["lead"],
        json!({ "firstName": "Gareth", "email": "gareth@example.cymru", "phone": null })
    );

    // Switched back to warning, the same create goes through with the warning.
    app.ok(
        &admin.access,
        UPDATE_RULE,
        json!({ "id": rule["id"], "input": { "action": "WARN" } }),
    )
    .await;
    let warned = create_lead(
        &app,
        &admin.access,
        json!({ "firstName": "Rhian", "lastName": "Pritchard", "phone": "+442920180000" }),
    )
    .await;
    assert_eq!(warned["duplicates"][0]["id"], kept_id);
}

#[tokio::test]
async fn candidates_are_only_those_the_caller_may_see() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@example.com", "SALES", None).await;
    let ben = app.user(&admin, "ben@example.com", "SALES", None).await;
    let bens = create_lead(
        &app,
        &ben.access,
        json!({ "firstName": "Kavya", "lastName": "Subramanian", "email": "kavya@chennai.example" }),
    )
    .await;
    let anas = create_lead(
        &app,
        &ana.access,
        json!({ "firstName": "Kavya", "lastName": "Subramanian", "email": "kavya@chennai.example.com" }),
    )
    .await;
    assert_eq!(
        anas["duplicates"],
        json!([]),
        "Ben's lead is not Ana's to see"
    );
    let anas_id = anas["lead"]["id"].as_str().unwrap();
    let data = app
        .ok(
            &ana.access,
            DUPLICATES,
            json!({ "of": anas_id, "t": "LEAD" }),
        )
        .await;
    assert_eq!(data["duplicates"], json!([]));
    let data = app
        .ok(
            &admin.access,
            DUPLICATES,
            json!({ "of": anas_id, "t": "LEAD" }),
        )
        .await;
    assert_eq!(data["duplicates"][0]["id"], bens["lead"]["id"]);
    // And Ana may not ask about Ben's lead at all.
    let body = app
        .gql(
            Some(&ana.access),
            DUPLICATES,
            json!({ "of": bens["lead"]["id"], "t": "LEAD" }),
        )
        .await;
    assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");
    // Nor scan, nor edit rules.
    let body = app
        .gql(Some(&ana.access), SCAN, json!({ "t": "LEAD" }))
        .await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    let rule = lead_rule(&app, &admin).await;
    let body = app
        .gql(
            Some(&ana.access),
            UPDATE_RULE,
            json!({ "id": rule["id"], "input": { "action": "ALLOW" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
}

/// Generated people: `distinct` of them, and for every fifth a near-duplicate with one slip (a
/// letter dropped or swapped, another email, the phone in another notation). The groups of
/// ids that are one person come back too.
pub async fn people(app: &TestApp, token: &str, distinct: usize) -> Vec<Vec<String>> {
    const FIRST: [&str; 12] = [
        "Aoife", "Rhys", "Ingrid", "Darius", "Meena", "Tomasz", "Leila", "Owain", "Saoirse",
        "Arjun", "Nora", "Kamran",
    ];
    const LAST: [&str; 12] = [
        "Fitzgerald",
        "Llewellyn",
        "Solberg",
        "Karimi",
        "Raghavan",
        "Kowalski",
        "Hosseini",
        "Prys",
        "Donnelly",
        "Iyer",
        "Haugen",
        "Tehrani",
    ];
    const COMPANY: [&str; 6] = [
        "Acme Ltd",
        "Globex GmbH",
        "Initech Inc",
        "Umbrella AS",
        "Hooli LLC",
        "Vandelay plc",
    ];
    let mut groups = Vec::new();
    for i in 0..distinct {
        let first = FIRST[i % 12];
        let last = LAST[(i / 12 + i * 5) % 12];
        let company = COMPANY[(i * 7) % 6];
        let phone = format!("+4420{:08}", 7_000_000 + i * 7919);
        let email = format!(
            "{}.{}{}@{}.example",
            first.to_lowercase(),
            last.to_lowercase(),
            i,
            company.split(' ').next().unwrap().to_lowercase()
        );
        let id = create_lead(
            app,
            token,
            json!({ "firstName": first, "lastName": last, "email": email, "phone": phone, "company": company }),
        )
        .await["lead"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut group = vec![id];
        if i % 5 == 0 {
            let mut slipped: Vec<char> = last.chars().collect();
            slipped.swap(2, 3);
            let slipped: String = slipped.into_iter().collect();
            let phone = format!("020 {} {}", &phone[5..9], &phone[9..]);
            let twin = create_lead(
                app,
                token,
                json!({ "firstName": first, "lastName": slipped, "email": format!("{}{}@mail.example", first.to_lowercase(), i), "phone": phone, "company": company.to_uppercase() }),
            )
            .await;
            group.push(twin["lead"]["id"].as_str().unwrap().to_owned());
        }
        groups.push(group);
    }
    groups
}

#[tokio::test]
async fn a_scan_clusters_near_duplicates_and_a_dismissed_cluster_stays_dismissed() {
    let app = spawn_app_with_region().await;
    let admin = app.admin().await;
    let groups = people(&app, &admin.access, 60).await;
    let expected: Vec<Vec<String>> = groups
        .iter()
        .filter(|g| g.len() > 1)
        .map(|g| {
            let mut g = g.clone();
            g.sort();
            g
        })
        .collect();

    let data = app.ok(&admin.access, SCAN, json!({ "t": "LEAD" })).await;
    let scan = &data["scanDuplicates"];
    assert_eq!(scan["records"], 72);
    assert_eq!(scan["rules"], 1);
    let data = app
        .ok(&admin.access, CLUSTERS, json!({ "t": "LEAD" }))
        .await;
    let clusters = data["duplicateClusters"].as_array().unwrap();
    let mut found: Vec<Vec<String>> = clusters
        .iter()
        .map(|c| {
            let mut ids: Vec<String> = c["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        })
        .collect();
    found.sort();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(
        found, expected_sorted,
        "every near-duplicate found, nobody else"
    );
    assert_eq!(scan["clusters"], 12);
    assert_eq!(scan["duplicates"], 12);
    assert!(
        clusters
            .iter()
            .all(|c| c["topProbability"].as_f64().unwrap() >= 0.9)
    );

    // The weights were estimated from the data and kept on the rule.
    let rule = lead_rule(&app, &admin).await;
    assert_eq!(rule["weightsSource"], "ESTIMATED");

    // A dismissed cluster is not raised again by the next scan; the others are.
    let dismissed = clusters[0]["id"].as_str().unwrap();
    app.ok(
        &admin.access,
        "mutation($id: ID!) { dismissDuplicateCluster(id: $id) { cluster { status } } }",
        json!({ "id": dismissed }),
    )
    .await;
    let again = app.ok(&admin.access, SCAN, json!({ "t": "LEAD" })).await;
    assert_eq!(again["scanDuplicates"]["clusters"], 11);
    let data = app
        .ok(
            &admin.access,
            CLUSTERS,
            json!({ "t": "LEAD", "s": "DISMISSED" }),
        )
        .await;
    assert_eq!(data["duplicateClusters"].as_array().unwrap().len(), 1);
    let body = app
        .gql(
            Some(&admin.access),
            "mutation($id: ID!) { dismissDuplicateCluster(id: $id) { cluster { status } } }",
            json!({ "id": dismissed }),
        )
        .await;
    assert_eq!(error_code(&body), Some("CONFLICT"), "{body}");
}

pub async fn spawn_app_with_region() -> TestApp {
    crate::helpers::spawn_app_with(|config| config.default_phone_region = "GB".into()).await
}

#[tokio::test]
async fn rules_refuse_hostile_definitions_and_write_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let field = |name: &str| json!({ "field": name, "comparator": "JARO_WINKLER" });
    let many: Vec<Value> = (0..1_000).map(|i| field(&format!("custom.f{i}"))).collect();
    let cases = [
        (
            json!({ "recordType": "LEAD", "name": "x", "fields": [field("password_hash")] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "recordType": "LEAD", "name": "x", "fields": [field("last_name\u{0}")] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "recordType": "LEAD", "name": "x", "fields": [field(&"custom.".repeat(10_000))] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "recordType": "LEAD", "name": "x", "fields": [] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "recordType": "LEAD", "name": "x", "fields": many }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "recordType": "LEAD", "name": "x", "fields": [field("email"), field("email")] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "recordType": "LEAD", "name": "x", "fields": [field("email")], "threshold": 0 }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "recordType": "LEAD", "name": "x", "fields": [field("email")], "threshold": 1.5 }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "recordType": "LEAD", "name": "\u{0}", "fields": [field("email")] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "recordType": "LEAD", "name": "x".repeat(100_000), "fields": [field("email")] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "recordType": "LEAD", "name": "x", "fields": [field("email")], "weights": { "fields": [], "prior": 0.1 } }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "recordType": "LEAD", "name": "x", "fields": [field("email")], "weights": { "fields": [{ "m": [0.5, 0.5, 0, 0], "u": [0.1, 0.9, 0, 0] }], "prior": 0.1 } }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "recordType": "LEAD", "name": "x", "fields": [field("email")], "weights": { "fields": [{ "m": [0.5, 0.6, 0.1, 0.1], "u": [0.1, 0.3, 0.3, 0.3] }], "prior": 0.1 } }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "recordType": "LEAD", "name": "x", "fields": [field("email")], "weights": { "nested": [[[[[[]]]]]] } }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "recordType": "PLANET", "name": "x", "fields": [field("email")] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "recordType": "LEAD", "name": "x", "fields": [{ "field": "email", "comparator": "SOUNDEX" }] }),
            "BAD_USER_INPUT",
        ),
    ];
    for (input, code) in cases {
        let body = app
            .gql(Some(&admin.access), CREATE_RULE, json!({ "input": input }))
            .await;
        assert_eq!(
            error_code(&body),
            Some(code),
            "{}",
            &body.to_string()[..body.to_string().len().min(400)]
        );
    }
    let data = app.ok(&admin.access, RULES, json!({})).await;
    assert_eq!(
        data["dedupeRules"].as_array().unwrap().len(),
        4,
        "only the four default rules"
    );

    // A sound rule with hand-set weights keeps them, and says so.
    let data = app
        .ok(
            &admin.access,
            CREATE_RULE,
            json!({ "input": { "recordType": "ACCOUNT", "name": "Same VAT number", "action": "BLOCK",
                "fields": [{ "field": "custom.vat", "comparator": "EXACT" }],
                "weights": { "fields": [{ "m": [0.99, 0.01], "u": [0.001, 0.999] }], "prior": 0.01 } } }),
        )
        .await;
    let rule = &data["createDedupeRule"]["rule"];
    assert_eq!(
        rule["fields"],
        json!([{ "field": "custom.vat", "comparator": "EXACT" }])
    );
    let data = app
        .ok(&admin.access, RULES, json!({ "t": "ACCOUNT" }))
        .await;
    assert_eq!(data["dedupeRules"][1]["weightsSource"], "ADMIN");
}
