//! Converting a lead, over HTTP on both stores: what it makes or links, in one transaction;
//! a conversion that fails leaves nothing behind; converting twice is CONFLICT; the row rules
//! hold; the contact shows the lead's history, and the hub hands later touches to the contact.

use serde_json::{Value, json};

use crate::{
    helpers::{Session, TestApp, error_code, spawn_app},
    hub::{audit_of, connector, first_lead_id, settled_deliveries, submit_form},
};

const CONVERT: &str = "mutation($id: ID!, $input: ConvertLeadInput) {
    convertLead(id: $id, input: $input) {
        lead { id status convertedAt convertedContact { id } convertedAccount { id } convertedOpportunity { id } }
        contact { id email firstName lastName title phone lifecycleStage account { id } owner { id } }
        account { id name domain }
        opportunity { id name amount { amount currency } account { id } contact { id } lead { id } }
    } }";

async fn convert(app: &TestApp, who: &Session, lead: &str, input: Value) -> Value {
    app.gql(
        Some(&who.access),
        CONVERT,
        json!({ "id": lead, "input": input }),
    )
    .await
}

/// How many records of a kind the admin sees, narrowed by `filter`.
async fn count(app: &TestApp, admin: &Session, list: &str, filter: Value) -> u64 {
    let query = format!(
        "query($f: {}Filter) {{ {list}(filter: $f) {{ totalCount }} }}",
        match list {
            "contacts" => "Contact",
            "accounts" => "Account",
            "opportunities" => "Opportunity",
            _ => "Lead",
        }
    );
    let data = app.ok(&admin.access, &query, json!({ "f": filter })).await;
    data[list]["totalCount"].as_u64().unwrap()
}

#[tokio::test]
async fn a_lead_becomes_a_contact_on_the_account_its_website_names_and_a_deal() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    let acme = app
        .ok(
            &admin.access,
            "mutation { createAccount(input: { name: \"Acme Corporation\", domain: \"https://acme.com\" }) { account { id } } }",
            json!({}),
        )
        .await["createAccount"]["account"]["id"]
        .clone();
    let lead = app
        .lead(
            &rep.access,
            json!({ "firstName": "Ada", "lastName": "Lovelace", "email": "ada@acme.com",
                    "phone": "+14155552671", "title": "CTO", "company": "Acme",
                    "website": "https://www.Acme.com/about", "lifecycleStage": "MQL" }),
        )
        .await;

    let body = convert(
        &app,
        &rep,
        &lead,
        json!({ "opportunity": { "name": "Acme platform", "amount": { "amount": "1200.00", "currency": "USD" } } }),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let converted = &body["data"]["convertLead"];
    let (contact, account, deal) = (
        &converted["contact"],
        &converted["account"],
        &converted["opportunity"],
    );
    // The account whose domain is the website's is linked, not made again.
    assert_eq!(account["id"], acme);
    assert_eq!(count(&app, &admin, "accounts", json!({})).await, 1);
    assert_eq!(
        (
            &contact["email"],
            &contact["firstName"],
            &contact["lastName"]
        ),
        (&json!("ada@acme.com"), &json!("Ada"), &json!("Lovelace"))
    );
    assert_eq!(
        (&contact["title"], &contact["phone"]),
        (&json!("CTO"), &json!("+14155552671"))
    );
    assert_eq!(contact["account"]["id"], acme);
    assert_eq!(contact["owner"]["id"], rep.user_id.as_str());
    assert_eq!(contact["lifecycleStage"], "SQL");
    assert_eq!(
        deal["amount"],
        json!({ "amount": "1200.00", "currency": "USD" })
    );
    assert_eq!(
        (
            &deal["account"]["id"],
            &deal["contact"]["id"],
            &deal["lead"]["id"]
        ),
        (&acme, &contact["id"], &json!(lead))
    );
    let converted_lead = &converted["lead"];
    assert_eq!(converted_lead["status"], "CONVERTED");
    assert!(converted_lead["convertedAt"].is_string());
    assert_eq!(converted_lead["convertedContact"]["id"], contact["id"]);
    assert_eq!(converted_lead["convertedAccount"]["id"], acme);
    assert_eq!(converted_lead["convertedOpportunity"]["id"], deal["id"]);
    let actions: Vec<String> = audit_of(&app, &lead)
        .await
        .into_iter()
        .map(|row| row.action)
        .collect();
    assert_eq!(actions, ["lead.create", "lead.convert"]);

    // Twice is a conflict, and writes nothing more.
    let again = convert(&app, &rep, &lead, json!({ "opportunity": { "name": "Again", "amount": { "amount": "1", "currency": "USD" } } })).await;
    assert_eq!(error_code(&again), Some("CONFLICT"), "{again}");
    assert_eq!(count(&app, &admin, "contacts", json!({})).await, 1);
    assert_eq!(count(&app, &admin, "opportunities", json!({})).await, 1);
}

#[tokio::test]
async fn of_conversions_racing_for_one_lead_one_wins() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for n in 0..5 {
        let email = format!("racer{n}@example.com");
        let lead = app
            .lead(
                &admin.access,
                json!({ "email": email, "company": format!("Racer {n}") }),
            )
            .await;
        let attempts = (0..4).map(|_| convert(&app, &admin, &lead, json!({})));
        let answers = futures_util::future::join_all(attempts).await;
        let won = answers.iter().filter(|a| a.get("errors").is_none()).count();
        let lost: Vec<_> = answers.iter().filter_map(error_code).collect();
        assert_eq!((won, lost), (1, vec!["CONFLICT"; 3]), "{answers:?}");
        assert_eq!(
            count(
                &app,
                &admin,
                "contacts",
                json!({ "email": { "eq": email } })
            )
            .await,
            1
        );
    }
    assert_eq!(count(&app, &admin, "accounts", json!({})).await, 5);
}

#[tokio::test]
async fn without_a_match_the_company_becomes_an_account_and_a_known_email_links_its_contact() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let globex = app
        .lead(
            &admin.access,
            json!({ "lastName": "Scorpio", "company": "Globex", "website": "globex.io" }),
        )
        .await;
    let converted = app
        .ok(&admin.access, CONVERT, json!({ "id": globex }))
        .await;
    let converted = &converted["convertLead"];
    assert_eq!(converted["account"]["name"], "Globex");
    assert_eq!(converted["account"]["domain"], "globex.io");
    assert_eq!(
        converted["contact"]["account"]["id"],
        converted["account"]["id"]
    );
    assert!(converted["opportunity"].is_null());

    // A person with no company becomes a contact on no account.
    let solo = app
        .lead(&admin.access, json!({ "email": "solo@example.com" }))
        .await;
    let converted = app.ok(&admin.access, CONVERT, json!({ "id": solo })).await;
    assert!(converted["convertLead"]["account"].is_null());
    assert!(converted["convertLead"]["contact"]["account"].is_null());

    // A contact who already has the lead's email is the one linked.
    let known = app
        .ok(&admin.access, "mutation { createContact(input: { email: \"hank@example.com\", lastName: \"Scorpio\" }) { contact { id } } }", json!({}))
        .await["createContact"]["contact"]["id"]
        .clone();
    let hank = app
        .lead(&admin.access, json!({ "email": "Hank@Example.com" }))
        .await;
    let converted = app.ok(&admin.access, CONVERT, json!({ "id": hank })).await;
    assert_eq!(converted["convertLead"]["contact"]["id"], known);
    assert_eq!(
        count(
            &app,
            &admin,
            "contacts",
            json!({ "email": { "eq": "hank@example.com" } })
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_conversion_that_fails_anywhere_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lead = app
        .lead(
            &admin.access,
            json!({ "email": "ada@initech.com", "company": "Initech", "website": "initech.com" }),
        )
        .await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let deal = |extra: Value| {
        let mut deal =
            json!({ "name": "Deal", "amount": { "amount": "10.00", "currency": "USD" } });
        deal.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({ "opportunity": deal })
    };
    let cases = [
        // The deal fails after the account and contact were written in the same transaction.
        (deal(json!({ "stageId": unknown })), "BAD_USER_INPUT"),
        (
            deal(json!({ "amount": { "amount": "1.001", "currency": "USD" } })),
            "BAD_USER_INPUT",
        ),
        (
            deal(json!({ "amount": { "amount": "1", "currency": "XYZ" } })),
            "BAD_USER_INPUT",
        ),
        (deal(json!({ "name": "nul\u{0}byte" })), "BAD_USER_INPUT"),
        (
            deal(json!({ "name": "x".repeat(100_000) })),
            "BAD_USER_INPUT",
        ),
        (deal(json!({ "stageId": "not-an-id" })), "BAD_USER_INPUT"),
        (json!({ "contactId": unknown }), "BAD_USER_INPUT"),
        (json!({ "accountId": unknown }), "BAD_USER_INPUT"),
        (json!({ "accountId": "not-an-id" }), "BAD_USER_INPUT"),
        (json!({ "colour": "red" }), "BAD_USER_INPUT"),
    ];
    for (input, code) in cases {
        let body = convert(&app, &admin, &lead, input.clone()).await;
        assert_eq!(error_code(&body), Some(code), "{input}: {body}");
    }
    let missing = convert(&app, &admin, &unknown, json!({})).await;
    assert_eq!(error_code(&missing), Some("NOT_FOUND"), "{missing}");
    assert_eq!(count(&app, &admin, "contacts", json!({})).await, 0);
    assert_eq!(count(&app, &admin, "accounts", json!({})).await, 0);
    assert_eq!(count(&app, &admin, "opportunities", json!({})).await, 0);
    let status = app
        .ok(
            &admin.access,
            "query($id: ID!) { lead(id: $id) { status convertedAt } }",
            json!({ "id": lead }),
        )
        .await;
    assert_eq!(
        status["lead"],
        json!({ "status": "NOT_CONTACTED", "convertedAt": null })
    );
    // Once the input is right, it goes through.
    let body = convert(&app, &admin, &lead, deal(json!({}))).await;
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn only_who_may_write_the_lead_and_what_it_becomes_may_convert_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let owner = app.user(&admin, "owner@example.com", "SALES", None).await;
    let other = app.user(&admin, "other@example.com", "SALES", None).await;
    let marketing = app.user(&admin, "mkt@example.com", "MARKETING", None).await;
    let support = app.user(&admin, "help@example.com", "SUPPORT", None).await;
    let lead = app
        .lead(
            &owner.access,
            json!({ "email": "ada@acme.com", "company": "Acme" }),
        )
        .await;
    let refusals = [
        // Another rep's lead is not in their rows.
        (&other, "NOT_FOUND"),
        // Marketing may edit leads but not create the account a company becomes.
        (&marketing, "FORBIDDEN"),
        (&support, "FORBIDDEN"),
    ];
    for (who, code) in refusals {
        let body = convert(&app, who, &lead, json!({})).await;
        assert_eq!(error_code(&body), Some(code), "{body}");
    }
    let anonymous = app.gql(None, CONVERT, json!({ "id": lead })).await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
    assert_eq!(count(&app, &admin, "contacts", json!({})).await, 0);
    assert_eq!(count(&app, &admin, "accounts", json!({})).await, 0);
    let body = convert(&app, &owner, &lead, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
}

const HISTORY: &str = "query($id: ID!) { contact(id: $id) {
    convertedFrom { id firstTouch { source } }
    touchpoints(first: 10) { totalCount edges { node { channel subject } } }
    activities(first: 10) { totalCount edges { node { subject } } } } }";

#[tokio::test]
async fn the_contact_shows_the_lead_history_and_the_hub_hands_later_touches_to_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (form, _) = connector(&app, &admin, "WEB_FORM", None, json!({})).await;
    let post = async |message: &str| {
        let fields = [
            ("email", "ada@acme.com"),
            ("last_name", "Lovelace"),
            ("message", message),
        ];
        submit_form(&app, &form, &fields).await;
    };
    post("Tell me about pricing").await;
    settled_deliveries(&app, &admin, &form, 1).await;
    let lead = first_lead_id(&app, &admin).await;
    app.ok(
        &admin.access,
        "mutation($lead: ID!) { createActivity(input: { kind: CALL, subject: \"Intro call\", leadId: $lead }) { activity { id } } }",
        json!({ "lead": lead }),
    )
    .await;
    let converted = app.ok(&admin.access, CONVERT, json!({ "id": lead })).await;
    let contact = converted["convertLead"]["contact"]["id"].clone();

    let history = app
        .ok(&admin.access, HISTORY, json!({ "id": contact }))
        .await;
    assert_eq!(history["contact"]["touchpoints"]["totalCount"], 1);
    assert_eq!(history["contact"]["activities"]["totalCount"], 1);
    assert_eq!(
        history["contact"]["activities"]["edges"][0]["node"]["subject"],
        "Intro call"
    );

    post("Ready to buy").await;
    settled_deliveries(&app, &admin, &form, 2).await;
    let history = app
        .ok(&admin.access, HISTORY, json!({ "id": contact }))
        .await;
    assert_eq!(
        history["contact"]["touchpoints"]["totalCount"], 2,
        "{history}"
    );
    assert_eq!(count(&app, &admin, "leads", json!({})).await, 1);
}
