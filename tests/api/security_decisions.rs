//! The low-severity findings and the decision taken on each (README, "Security decisions"):
//! what a duplicate email tells a rep, marketing and lead budgets, the size of custom fields,
//! and login throttling that an attacker elsewhere cannot turn into a lockout.

use std::net::{IpAddr, Ipv4Addr};

use entity::{contact, lead};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    ADMIN_EMAIL, ADMIN_PASSWORD, LOGIN, TestApp, error_code, spawn_app, spawn_app_with,
};

const CREATE_LEAD: &str =
    "mutation($input: LeadInput!) { createLead(input: $input) { lead { id } } }";
const UPDATE_LEAD: &str = "mutation($id: ID!, $input: LeadInput!) { updateLead(id: $id, input: $input) { lead { id budget { amount currency } } } }";
const CREATE_CONTACT: &str =
    "mutation($input: ContactInput!) { createContact(input: $input) { contact { id } } }";
const LEAD_BUDGET: &str = "query($id: ID!) { lead(id: $id) { budget { amount currency } } }";

/// The error as a client sees it, without where in the document it happened.
fn error_shown(body: &Value) -> Value {
    json!({
        "message": body["errors"][0]["message"],
        "extensions": body["errors"][0]["extensions"],
    })
}

async fn stored_lead(app: &TestApp, id: &str) -> lead::Model {
    lead::Entity::find_by_id(Uuid::parse_str(id).unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .expect("the lead is stored")
}

#[tokio::test]
async fn a_taken_email_answers_alike_whether_or_not_the_rep_can_see_its_record() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let team = app.team(&admin, "Field Sales").await;
    let a = app
        .user(&admin, "rep.a@example.com", "SALES", Some(&team))
        .await;
    let b = app
        .user(&admin, "rep.b@example.com", "SALES", Some(&team))
        .await;
    let hidden = app
        .lead(&a.access, json!({ "email": "taken@acme.test" }))
        .await;
    let own = app
        .lead(&b.access, json!({ "email": "mine@bolt.test" }))
        .await;
    let leads_before = lead::Entity::find().count(&app.db).await.unwrap();

    let over_hidden = app
        .gql(
            Some(&b.access),
            CREATE_LEAD,
            json!({ "input": { "email": "taken@acme.test" } }),
        )
        .await;
    let over_own = app
        .gql(
            Some(&b.access),
            CREATE_LEAD,
            json!({ "input": { "email": "mine@bolt.test" } }),
        )
        .await;
    assert_eq!(error_code(&over_hidden), Some("CONFLICT"), "{over_hidden}");
    assert_eq!(over_hidden["errors"][0]["extensions"]["field"], "email");
    assert_eq!(
        error_shown(&over_hidden),
        error_shown(&over_own),
        "a hidden record and one's own are indistinguishable"
    );
    let text = over_hidden.to_string();
    for secret in [&hidden, &a.user_id, &"rep.a@example.com".to_owned()] {
        assert!(!text.contains(secret.as_str()), "{secret} leaked: {text}");
    }
    assert_eq!(
        lead::Entity::find().count(&app.db).await.unwrap(),
        leads_before
    );

    // Renaming one's own lead onto the taken email answers the same, and changes nothing.
    let before = stored_lead(&app, &own).await;
    let renamed = app
        .gql(
            Some(&b.access),
            UPDATE_LEAD,
            json!({ "id": own, "input": { "email": "taken@acme.test" } }),
        )
        .await;
    assert_eq!(error_shown(&renamed), error_shown(&over_hidden));
    assert_eq!(stored_lead(&app, &own).await, before);

    // Contacts, the other record with unique emails, answer the same way.
    app.ok(
        &a.access,
        CREATE_CONTACT,
        json!({ "input": { "email": "client@acme.test" } }),
    )
    .await;
    let contacts_before = contact::Entity::find().count(&app.db).await.unwrap();
    let contact = app
        .gql(
            Some(&b.access),
            CREATE_CONTACT,
            json!({ "input": { "email": "client@acme.test" } }),
        )
        .await;
    assert_eq!(error_shown(&contact), error_shown(&over_hidden));
    assert_eq!(
        contact::Entity::find().count(&app.db).await.unwrap(),
        contacts_before
    );
}

#[tokio::test]
async fn marketing_neither_reads_nor_overwrites_a_leads_budget() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let marketing = app
        .user(&admin, "marketing@example.com", "MARKETING", None)
        .await;
    let budget = json!({ "amount": "25000.00", "currency": "EUR" });
    let lead = app
        .lead(
            &admin.access,
            json!({ "company": "Acme", "budget": budget }),
        )
        .await;

    let admin_view = app
        .ok(&admin.access, LEAD_BUDGET, json!({ "id": lead }))
        .await;
    assert_eq!(admin_view["lead"]["budget"], budget);
    let marketing_view = app
        .ok(&marketing.access, LEAD_BUDGET, json!({ "id": lead }))
        .await;
    assert_eq!(marketing_view["lead"]["budget"], Value::Null);
    let listed = app
        .ok(
            &marketing.access,
            "{ leads(first: 10) { nodes { id budget { amount } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["leads"]["nodes"],
        json!([{ "id": lead, "budget": null }])
    );

    // Nor may marketing overwrite, or clear, a figure it cannot see.
    let before = stored_lead(&app, &lead).await;
    for new_budget in [json!({ "amount": "1.00", "currency": "EUR" }), Value::Null] {
        let body = app
            .gql(
                Some(&marketing.access),
                UPDATE_LEAD,
                json!({ "id": lead, "input": { "budget": new_budget } }),
            )
            .await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
        assert_eq!(stored_lead(&app, &lead).await, before);
    }
    // Its other fields stay marketing's to work on, and the answer hides the budget.
    let edited = app
        .ok(
            &marketing.access,
            UPDATE_LEAD,
            json!({ "id": lead, "input": { "leadSource": "Webinar" } }),
        )
        .await;
    assert_eq!(edited["updateLead"]["lead"]["budget"], Value::Null);
    assert_eq!(stored_lead(&app, &lead).await.budget_minor, Some(2_500_000));
}

/// `{"k": {"k": … 1}}` with `depth` objects.
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!({ "k": inner }))
}

#[tokio::test]
async fn custom_fields_are_capped_in_depth_keys_and_size() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lead = app
        .lead(
            &admin.access,
            json!({ "company": "Acme", "customFields": { "tier": "gold" } }),
        )
        .await;
    let before = stored_lead(&app, &lead).await;
    let leads_before = lead::Entity::find().count(&app.db).await.unwrap();

    let many_keys: serde_json::Map<String, Value> =
        (0..101).map(|i| (format!("k{i}"), json!(i))).collect();
    for (too_much, why) in [
        (nested(4), "nested"),
        (json!({ "list": [[[1]]] }), "nested"),
        (Value::Object(many_keys), "keys"),
        (json!({ "notes": "x".repeat(17 * 1024) }), "KB"),
        (json!({ "notes": "x".repeat(900 * 1024) }), "KB"),
    ] {
        for (query, variables) in [
            (
                CREATE_LEAD,
                json!({ "input": { "company": "Big Co", "customFields": too_much } }),
            ),
            (
                UPDATE_LEAD,
                json!({ "id": lead, "input": { "customFields": too_much } }),
            ),
        ] {
            let body = app.gql(Some(&admin.access), query, variables).await;
            assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
            assert_eq!(body["errors"][0]["extensions"]["field"], "customFields");
            let message = body["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(message.contains(why), "{message}");
        }
    }
    assert_eq!(
        lead::Entity::find().count(&app.db).await.unwrap(),
        leads_before
    );
    assert_eq!(stored_lead(&app, &lead).await, before);

    // At the limits, custom fields are stored as sent.
    let at_limit = json!({ "deep": nested(2), "notes": "x".repeat(15 * 1024) });
    app.ok(
        &admin.access,
        UPDATE_LEAD,
        json!({ "id": lead, "input": { "customFields": at_limit } }),
    )
    .await;
    assert_eq!(stored_lead(&app, &lead).await.custom_fields, at_limit);
}

/// Posts a login from `from`, a loopback address of its own.
async fn login_from(app: &TestApp, from: Ipv4Addr, password: &str) -> Value {
    let client = reqwest::Client::builder()
        .local_address(IpAddr::V4(from))
        .build()
        .unwrap();
    client
        .post(app.url("/graphql"))
        .json(
            &json!({ "query": LOGIN, "variables": { "email": ADMIN_EMAIL, "password": password } }),
        )
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("JSON body")
}

#[tokio::test]
async fn wrong_passwords_from_another_address_do_not_lock_the_owner_out() {
    let app = spawn_app_with(|c| c.login_attempts_per_account_per_minute = 3).await;
    let attacker = Ipv4Addr::new(127, 0, 0, 2);
    let owner = Ipv4Addr::new(127, 0, 0, 1);
    for _ in 0..3 {
        let body = login_from(&app, attacker, "wrong-password").await;
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    }
    // The attacker's address has spent its budget on this account, right password or not …
    let limited = login_from(&app, attacker, ADMIN_PASSWORD).await;
    assert_eq!(error_code(&limited), Some("RATE_LIMITED"), "{limited}");
    // … while the owner, elsewhere, signs in.
    let signed_in = login_from(&app, owner, ADMIN_PASSWORD).await;
    assert!(signed_in.get("errors").is_none(), "{signed_in}");
    assert!(signed_in["data"]["login"]["accessToken"].is_string());
}
