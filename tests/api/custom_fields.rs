//! Typed custom fields, on both stores: admins define them per record type (audited), records
//! of all four types take values checked against the definitions (one key at a time, required
//! and defaults on create), reads show them typed, a relabel keeps the data, a removal hides it
//! until a restore, the row rules hold, and hostile values are refused with the field path and
//! nothing written.

use serde_json::{Value, json};

use crate::{
    helpers::{Session, TestApp, error_code, spawn_app},
    hub::audit_of,
};

const DEFINE: &str = "mutation($input: NewCustomFieldInput!) { createCustomField(input: $input) {
    field { id recordType key label type required options { value label } default archivedAt } } }";

const UPDATE: &str =
    "mutation($id: ID!, $input: CustomFieldInput!) { updateCustomField(id: $id, input: $input) {
    field { id key label required default } } }";

const REMOVE: &str =
    "mutation($id: ID!) { removeCustomField(id: $id) { field { id archivedAt } } }";

const RESTORE: &str =
    "mutation($id: ID!) { restoreCustomField(id: $id) { field { id archivedAt } } }";

const DEFINITIONS: &str = "query($t: CustomFieldRecordType!, $all: Boolean! = false) {
    customFieldDefinitions(recordType: $t, includeRemoved: $all) { key label type archivedAt } }";

const CREATE_CONTACT: &str = "mutation($input: ContactInput!) { createContact(input: $input) {
    contact { id customFieldValues { key label type value } } } }";

const UPDATE_CONTACT: &str =
    "mutation($id: ID!, $input: ContactInput!) { updateContact(id: $id, input: $input) {
    contact { id customFieldValues { key label type value } } } }";

const CONTACT: &str =
    "query($id: ID!) { contact(id: $id) { customFieldValues { key label type value } } }";

async fn define(app: &TestApp, admin: &Session, input: Value) -> Value {
    let data = app
        .ok(&admin.access, DEFINE, json!({ "input": input }))
        .await;
    data["createCustomField"]["field"].clone()
}

/// The contact fields most tests use: one of each type.
async fn contact_fields(app: &TestApp, admin: &Session) -> Vec<Value> {
    let tier =
        json!([{ "value": "gold", "label": "Gold" }, { "value": "silver", "label": "Silver" }]);
    let inputs = [
        json!({ "key": "nickname", "label": "Nickname", "type": "TEXT" }),
        json!({ "key": "seats", "label": "Seats", "type": "NUMBER" }),
        json!({ "key": "budget", "label": "Budget", "type": "MONEY" }),
        json!({ "key": "renewal", "label": "Renewal", "type": "DATE" }),
        json!({ "key": "vip", "label": "VIP", "type": "BOOLEAN" }),
        json!({ "key": "tier", "label": "Tier", "type": "SINGLE_SELECT", "options": tier }),
        json!({ "key": "tags", "label": "Tags", "type": "MULTI_SELECT", "options": tier }),
        json!({ "key": "site", "label": "Site", "type": "URL" }),
        json!({ "key": "billing_email", "label": "Billing email", "type": "EMAIL" }),
        json!({ "key": "mobile", "label": "Mobile", "type": "PHONE" }),
    ];
    let mut fields = Vec::new();
    for mut input in inputs {
        input["recordType"] = json!("CONTACT");
        fields.push(define(app, admin, input).await);
    }
    fields
}

async fn new_contact(app: &TestApp, who: &Session, values: Value) -> Value {
    let input = json!({ "lastName": "Lovelace", "customFieldValues": values });
    app.gql(Some(&who.access), CREATE_CONTACT, json!({ "input": input }))
        .await
}

fn values_by_key(values: &Value) -> serde_json::Map<String, Value> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["key"].as_str().unwrap().to_owned(), v["value"].clone()))
        .collect()
}

async fn stored_contact(app: &TestApp, id: &str) -> entity::contact::Model {
    use sea_orm::EntityTrait;
    entity::contact::Entity::find_by_id(uuid::Uuid::parse_str(id).unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

async fn contact_count(app: &TestApp) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    entity::contact::Entity::find()
        .count(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_type_stores_a_good_value_and_reads_it_back_typed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    contact_fields(&app, &admin).await;
    let body = new_contact(
        &app,
        &admin,
        json!([
            { "key": "nickname", "value": "  Ada  " },
            { "key": "seats", "value": 12.5 },
            { "key": "budget", "value": { "amount": "1234.50", "currency": "eur" } },
            { "key": "renewal", "value": "2027-03-01" },
            { "key": "vip", "value": true },
            { "key": "tier", "value": "gold" },
            { "key": "tags", "value": ["silver", "gold", "silver"] },
            { "key": "site", "value": "https://acme.example/about" },
            { "key": "billing_email", "value": " Billing@Acme.COM " },
            { "key": "mobile", "value": "+353 85 123 4567" },
        ]),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let contact = &body["data"]["createContact"]["contact"];
    let values = values_by_key(&contact["customFieldValues"]);
    assert_eq!(values["nickname"], "Ada");
    assert_eq!(values["seats"], 12.5);
    assert_eq!(
        values["budget"],
        json!({ "minor": 123450, "currency": "EUR" })
    );
    assert_eq!(values["renewal"], "2027-03-01");
    assert_eq!(values["vip"], true);
    assert_eq!(values["tier"], "gold");
    assert_eq!(values["tags"], json!(["silver", "gold"]));
    assert_eq!(values["site"], "https://acme.example/about");
    assert_eq!(values["billing_email"], "billing@acme.com");
    assert_eq!(values["mobile"], "+353851234567");
    let first = &contact["customFieldValues"][0];
    assert_eq!(first["label"], "Nickname");
    assert_eq!(first["type"], "TEXT");
    let id = contact["id"].as_str().unwrap();
    assert_eq!(
        stored_contact(&app, id).await.custom_fields["budget"]["minor"],
        123450
    );
}

#[tokio::test]
async fn a_bad_value_of_every_type_is_refused_with_its_field_path_and_nothing_written() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    contact_fields(&app, &admin).await;
    let cases = [
        ("nickname", json!(42)),
        ("nickname", json!("   ")),
        ("seats", json!("12")),
        ("budget", json!({ "amount": "12.345", "currency": "EUR" })),
        ("budget", json!({ "amount": "12", "currency": "XXY" })),
        ("budget", json!(12)),
        ("renewal", json!("01/03/2027")),
        ("renewal", json!("2027-02-30")),
        ("vip", json!("yes")),
        ("tier", json!("platinum")),
        ("tier", json!("Gold")),
        ("tags", json!(["gold", "bronze"])),
        ("tags", json!("gold")),
        ("site", json!("javascript:alert(1)")),
        ("site", json!("not a url")),
        ("billing_email", json!("nobody")),
        ("mobile", json!("12")),
    ];
    for (key, value) in cases {
        let body = new_contact(&app, &admin, json!([{ "key": key, "value": value }])).await;
        assert_eq!(
            error_code(&body),
            Some("BAD_USER_INPUT"),
            "{key} = {value}: {body}"
        );
        let field = body["errors"][0]["extensions"]["field"].as_str().unwrap();
        assert!(
            field.starts_with(&format!("customFields.{key}")),
            "{key} = {value}: {field}"
        );
    }
    assert_eq!(contact_count(&app).await, 0);
}

#[tokio::test]
async fn unknown_keys_and_keys_of_another_record_type_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    define(
        &app,
        &admin,
        json!({ "recordType": "LEAD", "key": "tier", "label": "Tier", "type": "TEXT" }),
    )
    .await;
    let body = new_contact(&app, &admin, json!([{ "key": "tier", "value": "gold" }])).await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
    assert_eq!(
        body["errors"][0]["extensions"]["field"],
        "customFields.tier"
    );
    assert_eq!(contact_count(&app).await, 0);
}

#[tokio::test]
async fn one_key_is_set_or_cleared_without_touching_the_others() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    contact_fields(&app, &admin).await;
    let body = new_contact(
        &app,
        &admin,
        json!([{ "key": "seats", "value": 3 }, { "key": "tier", "value": "gold" }, { "key": "vip", "value": false }]),
    )
    .await;
    let id = body["data"]["createContact"]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let data = app
        .ok(
            &admin.access,
            UPDATE_CONTACT,
            json!({ "id": id, "input": { "customFieldValues": [{ "key": "seats", "value": 4 }, { "key": "tier", "value": null }] } }),
        )
        .await;
    let values = values_by_key(&data["updateContact"]["contact"]["customFieldValues"]);
    assert_eq!(values.get("seats"), Some(&json!(4)));
    assert_eq!(values.get("vip"), Some(&json!(false)));
    assert_eq!(values.get("tier"), None);
    // An update that names no custom field keeps them all.
    let data = app
        .ok(
            &admin.access,
            UPDATE_CONTACT,
            json!({ "id": id, "input": { "title": "CTO" } }),
        )
        .await;
    assert_eq!(
        values_by_key(&data["updateContact"]["contact"]["customFieldValues"]).len(),
        2
    );
    assert_eq!(
        stored_contact(&app, &id).await.custom_fields,
        json!({ "seats": 4, "vip": false })
    );
}

#[tokio::test]
async fn required_fields_are_enforced_on_create_and_defaults_fill_what_is_left_out() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    define(
        &app,
        &admin,
        json!({ "recordType": "ACCOUNT", "key": "segment", "label": "Segment", "type": "SINGLE_SELECT",
                "required": true, "options": [{ "value": "smb", "label": "SMB" }, { "value": "ent", "label": "Enterprise" }] }),
    )
    .await;
    define(
        &app,
        &admin,
        json!({ "recordType": "ACCOUNT", "key": "region_code", "label": "Region", "type": "TEXT",
                "required": true, "default": "EMEA" }),
    )
    .await;
    const ACCOUNT: &str = "mutation($input: AccountInput!) { createAccount(input: $input) {
        account { id customFieldValues { key value } } } }";
    let body = app
        .gql(
            Some(&admin.access),
            ACCOUNT,
            json!({ "input": { "name": "Acme" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
    assert_eq!(
        body["errors"][0]["extensions"]["field"],
        "customFields.segment"
    );
    let data = app
        .ok(
            &admin.access,
            ACCOUNT,
            json!({ "input": { "name": "Acme", "customFieldValues": [{ "key": "segment", "value": "ent" }] } }),
        )
        .await;
    let account = &data["createAccount"]["account"];
    let values = values_by_key(&account["customFieldValues"]);
    assert_eq!(values["segment"], "ent");
    assert_eq!(values["region_code"], "EMEA");
    // A required value cannot be cleared later.
    let body = app
        .gql(
            Some(&admin.access),
            "mutation($id: ID!, $input: AccountInput!) { updateAccount(id: $id, input: $input) { account { id } } }",
            json!({ "id": account["id"], "input": { "customFieldValues": [{ "key": "segment", "value": null }] } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
    assert_eq!(
        body["errors"][0]["extensions"]["field"],
        "customFields.segment"
    );
}

#[tokio::test]
async fn leads_and_opportunities_take_typed_values_and_the_sales_rules_still_read_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    define(
        &app,
        &admin,
        json!({ "recordType": "LEAD", "key": "seats", "label": "Seats", "type": "NUMBER" }),
    )
    .await;
    define(
        &app,
        &admin,
        json!({ "recordType": "OPPORTUNITY", "key": "signed_on", "label": "Signed on", "type": "DATE" }),
    )
    .await;
    let data = app
        .ok(
            &admin.access,
            "mutation($input: LeadInput!) { createLead(input: $input) { lead { id customFields customFieldValues { key value } } } }",
            json!({ "input": { "company": "Acme", "customFieldValues": [{ "key": "seats", "value": 40 }] } }),
        )
        .await;
    let lead = &data["createLead"]["lead"];
    assert_eq!(lead["customFields"], json!({ "seats": 40 }));
    assert_eq!(
        lead["customFieldValues"],
        json!([{ "key": "seats", "value": 40 }])
    );
    let body = app
        .gql(
            Some(&admin.access),
            "mutation($input: OpportunityInput!) { createOpportunity(input: $input) { opportunity { id customFieldValues { key value } } } }",
            json!({ "input": { "name": "Deal", "amount": { "amount": "10", "currency": "EUR" },
                               "customFieldValues": [{ "key": "signed_on", "value": "2027-13-01" }] } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"],
        "customFields.signed_on"
    );
    let data = app
        .ok(
            &admin.access,
            "mutation($input: OpportunityInput!) { createOpportunity(input: $input) { opportunity { id customFieldValues { key value } } } }",
            json!({ "input": { "name": "Deal", "amount": { "amount": "10", "currency": "EUR" },
                               "customFieldValues": [{ "key": "signed_on", "value": "2027-01-31" }] } }),
        )
        .await;
    assert_eq!(
        data["createOpportunity"]["opportunity"]["customFieldValues"],
        json!([{ "key": "signed_on", "value": "2027-01-31" }])
    );
}

#[tokio::test]
async fn a_relabel_keeps_the_data_and_a_removal_hides_it_until_a_restore() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let fields = contact_fields(&app, &admin).await;
    let seats = fields[1]["id"].as_str().unwrap().to_owned();
    let body = new_contact(&app, &admin, json!([{ "key": "seats", "value": 7 }])).await;
    let id = body["data"]["createContact"]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let data = app
        .ok(
            &admin.access,
            UPDATE,
            json!({ "id": seats, "input": { "label": "Licences" } }),
        )
        .await;
    assert_eq!(data["updateCustomField"]["field"]["key"], "seats");
    let read = app.ok(&admin.access, CONTACT, json!({ "id": id })).await;
    assert_eq!(
        read["contact"]["customFieldValues"],
        json!([{ "key": "seats", "label": "Licences", "type": "NUMBER", "value": 7 }])
    );

    app.ok(&admin.access, REMOVE, json!({ "id": seats })).await;
    let read = app.ok(&admin.access, CONTACT, json!({ "id": id })).await;
    assert_eq!(read["contact"]["customFieldValues"], json!([]));
    assert_eq!(stored_contact(&app, &id).await.custom_fields["seats"], 7);
    let live = app
        .ok(&admin.access, DEFINITIONS, json!({ "t": "CONTACT" }))
        .await;
    assert!(
        !live["customFieldDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["key"] == "seats")
    );
    let all = app
        .ok(
            &admin.access,
            DEFINITIONS,
            json!({ "t": "CONTACT", "all": true }),
        )
        .await;
    assert!(
        all["customFieldDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["key"] == "seats")
    );
    // A removed field takes no writes, and its key cannot be defined again.
    let body = app
        .gql(
            Some(&admin.access),
            UPDATE_CONTACT,
            json!({ "id": id, "input": { "customFieldValues": [{ "key": "seats", "value": 8 }] } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
    let body = app
        .gql(
            Some(&admin.access),
            DEFINE,
            json!({ "input": { "recordType": "CONTACT", "key": "seats", "label": "Seats", "type": "TEXT" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("CONFLICT"));

    app.ok(&admin.access, RESTORE, json!({ "id": seats })).await;
    let read = app.ok(&admin.access, CONTACT, json!({ "id": id })).await;
    assert_eq!(
        values_by_key(&read["contact"]["customFieldValues"])["seats"],
        7
    );
    let verbs: Vec<String> = audit_of(&app, &seats)
        .await
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(
        verbs,
        [
            "custom_field.create",
            "custom_field.update",
            "custom_field.archive",
            "custom_field.restore"
        ]
    );
}

#[tokio::test]
async fn definitions_are_checked_when_made() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let cases = [
        json!({ "recordType": "LEAD", "key": "Tier", "label": "Tier", "type": "TEXT" }),
        json!({ "recordType": "LEAD", "key": "a".repeat(65), "label": "Tier", "type": "TEXT" }),
        json!({ "recordType": "LEAD", "key": "tier\u{0}", "label": "Tier", "type": "TEXT" }),
        json!({ "recordType": "LEAD", "key": "tier", "label": "", "type": "TEXT" }),
        json!({ "recordType": "LEAD", "key": "tier", "label": "Tier", "type": "SINGLE_SELECT" }),
        json!({ "recordType": "LEAD", "key": "tier", "label": "Tier", "type": "TEXT",
                "options": [{ "value": "a", "label": "A" }] }),
        json!({ "recordType": "LEAD", "key": "tier", "label": "Tier", "type": "SINGLE_SELECT",
                "options": [{ "value": "a", "label": "A" }, { "value": "a", "label": "B" }] }),
        json!({ "recordType": "LEAD", "key": "tier", "label": "Tier", "type": "SINGLE_SELECT",
                "options": [{ "value": "a", "label": "A" }], "default": "b" }),
        json!({ "recordType": "LEAD", "key": "seats", "label": "Seats", "type": "NUMBER", "default": "many" }),
    ];
    for input in cases {
        let body = app
            .gql(Some(&admin.access), DEFINE, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{input}: {body}");
    }
    let none = app
        .ok(
            &admin.access,
            DEFINITIONS,
            json!({ "t": "LEAD", "all": true }),
        )
        .await;
    assert_eq!(none["customFieldDefinitions"], json!([]));
}

#[tokio::test]
async fn a_rep_cannot_define_fields_and_writes_values_only_on_records_they_may_edit() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let fields = contact_fields(&app, &admin).await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    let other = app.user(&admin, "other@example.com", "SALES", None).await;
    let body = app
        .gql(
            Some(&rep.access),
            DEFINE,
            json!({ "input": { "recordType": "CONTACT", "key": "mine", "label": "Mine", "type": "TEXT" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"));
    for mutation in [UPDATE, REMOVE] {
        let body = app
            .gql(
                Some(&rep.access),
                mutation,
                json!({ "id": fields[0]["id"], "input": { "label": "X" } }),
            )
            .await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    }
    // Reps read the definitions.
    let read = app
        .ok(&rep.access, DEFINITIONS, json!({ "t": "CONTACT" }))
        .await;
    assert_eq!(
        read["customFieldDefinitions"].as_array().unwrap().len(),
        fields.len()
    );

    let body = new_contact(&app, &other, json!([{ "key": "seats", "value": 1 }])).await;
    let theirs = body["data"]["createContact"]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = app
        .gql(
            Some(&rep.access),
            UPDATE_CONTACT,
            json!({ "id": theirs, "input": { "customFieldValues": [{ "key": "seats", "value": 99 }] } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");
    assert_eq!(
        stored_contact(&app, &theirs).await.custom_fields["seats"],
        1
    );

    let body = new_contact(&app, &rep, json!([{ "key": "seats", "value": 2 }])).await;
    let mine = body["data"]["createContact"]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(
        &rep.access,
        UPDATE_CONTACT,
        json!({ "id": mine, "input": { "customFieldValues": [{ "key": "seats", "value": 3 }] } }),
    )
    .await;
    assert_eq!(stored_contact(&app, &mine).await.custom_fields["seats"], 3);
}

#[tokio::test]
async fn hostile_values_are_refused_and_write_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    contact_fields(&app, &admin).await;
    let deep = (0..100).fold(json!(1), |inner, _| json!({ "amount": inner }));
    let many: Vec<Value> = (0..10_000)
        .map(|i| json!({ "key": format!("k{i}"), "value": i }))
        .collect();
    let cases = [
        json!([{ "key": "nickname", "value": "Ada\u{0}Lovelace" }]),
        json!([{ "key": "nickname", "value": "x".repeat(100_000) }]),
        json!([{ "key": "tier", "value": "gold\u{0}" }]),
        json!([{ "key": "tags", "value": ["gold", { "nested": ["deep"] }] }]),
        json!([{ "key": "budget", "value": deep }]),
        json!([{ "key": "seats\u{0}", "value": 1 }]),
        json!([{ "key": "x".repeat(100_000), "value": 1 }]),
        json!([{ "key": "seats", "value": 1 }, { "key": "seats", "value": 2 }]),
        Value::Array(many),
    ];
    for values in cases {
        let body = new_contact(&app, &admin, values).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body:.300}");
        let field = body["errors"][0]["extensions"]["field"]
            .as_str()
            .unwrap_or_default();
        // Nesting deeper than GraphQL's own input limits is refused before the service sees it.
        assert!(
            field.starts_with("customFields") || field == "$input",
            "{field}"
        );
        assert!(field.len() < 200, "the field path echoes a bounded key");
    }
    assert_eq!(contact_count(&app).await, 0);
}

#[tokio::test]
async fn lists_filter_by_custom_field_with_typed_operators() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    contact_fields(&app, &admin).await;
    let rows = [
        (
            "Ada",
            json!([{ "key": "seats", "value": 5 }, { "key": "tier", "value": "gold" }, { "key": "vip", "value": true }, { "key": "renewal", "value": "2027-01-15" }]),
        ),
        (
            "Bob",
            json!([{ "key": "seats", "value": 50 }, { "key": "tier", "value": "silver" }, { "key": "vip", "value": false }, { "key": "renewal", "value": "2027-06-01" }]),
        ),
        ("Cy", json!([])),
    ];
    for (name, values) in rows {
        let input = json!({ "lastName": name, "customFieldValues": values });
        app.ok(&admin.access, CREATE_CONTACT, json!({ "input": input }))
            .await;
    }
    const LIST: &str = "query($f: ContactFilter) { contacts(first: 10, filter: $f) { edges { node { lastName } } } }";
    let names = async |filter: Value| -> Vec<String> {
        let data = app
            .ok(
                &admin.access,
                LIST,
                json!({ "f": { "customFields": [filter] } }),
            )
            .await;
        let mut names: Vec<String> = data["contacts"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["lastName"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(json!({ "key": "tier", "eq": "gold" })).await, ["Ada"]);
    assert_eq!(
        names(json!({ "key": "tier", "in": ["gold", "silver"] })).await,
        ["Ada", "Bob"]
    );
    assert_eq!(names(json!({ "key": "vip", "eq": "true" })).await, ["Ada"]);
    assert_eq!(names(json!({ "key": "seats", "gte": 10 })).await, ["Bob"]);
    assert_eq!(
        names(json!({ "key": "seats", "gte": 1, "lte": 50 })).await,
        ["Ada", "Bob"]
    );
    assert_eq!(
        names(json!({ "key": "tier", "gte": 1 })).await,
        Vec::<String>::new()
    );
    assert_eq!(
        names(json!({ "key": "renewal", "from": "2027-02-01" })).await,
        ["Bob"]
    );
    assert_eq!(
        names(json!({ "key": "renewal", "to": "2027-02-01" })).await,
        ["Ada"]
    );
    assert_eq!(
        names(json!({ "key": "seats", "isNull": true })).await,
        ["Cy"]
    );
    assert_eq!(
        names(json!({ "key": "seats", "isNull": false })).await,
        ["Ada", "Bob"]
    );
    let body = app
        .gql(
            Some(&admin.access),
            LIST,
            json!({ "f": { "customFields": [{ "key": "a') OR 1=1 --", "eq": "x" }] } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
}
