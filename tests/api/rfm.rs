//! RFM over the store, on both stores: payments recorded on accounts and won deals scored 1 to
//! 5 against every paying account, the standard segment named, one payment reported twice
//! counted once, other currencies kept out of the monetary value, amounts hidden from roles
//! that may not see them, and scores cleared when an account stops being a paying one.

use chrono::{Duration, Utc};
use entity::{
    enums::{Direction, TouchpointChannel},
    touchpoint,
};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Session, TestApp, error_code, spawn_app};

async fn account(app: &TestApp, admin: &Session, name: &str) -> String {
    let data = app
        .ok(
            &admin.access,
            "mutation($name: String!) { createAccount(input: { name: $name }) { account { id } } }",
            json!({ "name": name }),
        )
        .await;
    data["createAccount"]["account"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A Stripe payment recorded on `account`, as the hub records it.
async fn payment(
    app: &TestApp,
    account: &str,
    event: &str,
    days_ago: i64,
    minor: i64,
    currency: &str,
    ids: Value,
) {
    touchpoint::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(Some(account.parse().unwrap())),
        channel: Set(TouchpointChannel::Billing),
        direction: Set(Some(Direction::Inbound)),
        event: Set(Some(event.to_owned())),
        amount_minor: Set(Some(minor)),
        currency: Set(Some(currency.to_owned())),
        details: Set(Some(json!({ "provider_ids": ids }))),
        occurred_at: Set(Utc::now() - Duration::days(days_ago) - Duration::minutes(1)),
        created_at: Set(Utc::now()),
        verified: Set(true),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
}

const RFM: &str = "query($id: ID!) { account(id: $id) { rfm {
    recencyDays frequency monetary { amount currency } recencyScore frequencyScore monetaryScore segment } } }";

async fn rfm(app: &TestApp, who: &Session, account: &str) -> Value {
    app.ok(&who.access, RFM, json!({ "id": account })).await["account"]["rfm"].clone()
}

async fn recompute(app: &TestApp, admin: &Session) -> i64 {
    app.ok(&admin.access, "mutation { recomputeRfm }", json!({}))
        .await["recomputeRfm"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn paying_accounts_are_scored_against_each_other_and_segmented() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let loyal = account(&app, &admin, "Loyal").await;
    let sleepy = account(&app, &admin, "Sleepy").await;
    let foreign = account(&app, &admin, "Foreign").await;
    let big_deal = account(&app, &admin, "Big deal").await;
    let never = account(&app, &admin, "Never paid").await;

    // Three payments in the last month, one of them reported twice (its invoice and its charge).
    payment(
        &app,
        &loyal,
        "invoice.paid",
        5,
        10_000,
        "USD",
        json!({ "invoice": "in_1", "payment_intent": "pi_1" }),
    )
    .await;
    payment(
        &app,
        &loyal,
        "charge.succeeded",
        5,
        10_000,
        "USD",
        json!({ "charge": "ch_1", "invoice": "in_1", "payment_intent": "pi_1" }),
    )
    .await;
    payment(
        &app,
        &loyal,
        "invoice.paid",
        12,
        10_000,
        "usd",
        json!({ "invoice": "in_2", "payment_intent": "pi_2" }),
    )
    .await;
    payment(
        &app,
        &loyal,
        "checkout.session.completed",
        20,
        10_000,
        "USD",
        json!({ "checkout_session": "cs_3" }),
    )
    .await;
    payment(
        &app,
        &sleepy,
        "invoice.paid",
        200,
        5_000,
        "USD",
        json!({ "invoice": "in_4" }),
    )
    .await;
    // A payment from over a year ago counts toward recency only; one in euros not toward money.
    payment(
        &app,
        &foreign,
        "invoice.paid",
        400,
        9_999,
        "USD",
        json!({ "invoice": "in_5" }),
    )
    .await;
    payment(
        &app,
        &foreign,
        "invoice.paid",
        100,
        7_000,
        "EUR",
        json!({ "invoice": "in_6" }),
    )
    .await;
    // Not a payment.
    payment(
        &app,
        &never,
        "customer.subscription.created",
        1,
        50_000,
        "USD",
        json!({ "subscription": "sub_1" }),
    )
    .await;
    // A won deal is a purchase.
    let won = app
        .ok(&admin.access, "{ pipelineStages { id isWon } }", json!({}))
        .await["pipelineStages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|stage| stage["isWon"] == true)
        .unwrap()["id"]
        .clone();
    let deal = app
        .ok(
            &admin.access,
            "mutation($account: ID!, $stage: ID!) { createOpportunity(input: { name: \"Platform\", amount: { amount: \"1000.00\", currency: \"USD\" }, accountId: $account, stageId: $stage }) { opportunity { id } } }",
            json!({ "account": big_deal, "stage": won }),
        )
        .await["createOpportunity"]["opportunity"]["id"]
        .clone();

    assert_eq!(recompute(&app, &admin).await, 4);
    let expect = [
        // Recency ranks big deal (0 days) > loyal (5) > foreign (100) > sleepy (200).
        (
            &loyal,
            json!({ "recencyDays": 5, "frequency": 3, "monetary": { "amount": "300.00", "currency": "USD" },
                         "recencyScore": 3, "frequencyScore": 4, "monetaryScore": 3, "segment": "LOYAL_CUSTOMERS" }),
        ),
        (
            &sleepy,
            json!({ "recencyDays": 200, "frequency": 1, "monetary": { "amount": "50.00", "currency": "USD" },
                          "recencyScore": 1, "frequencyScore": 1, "monetaryScore": 2, "segment": "HIBERNATING" }),
        ),
        (
            &foreign,
            json!({ "recencyDays": 100, "frequency": 1, "monetary": { "amount": "0.00", "currency": "USD" },
                           "recencyScore": 2, "frequencyScore": 1, "monetaryScore": 1, "segment": "ABOUT_TO_SLEEP" }),
        ),
        // Recent, rare and big: no standard segment covers it.
        (
            &big_deal,
            json!({ "recencyDays": 0, "frequency": 1, "monetary": { "amount": "1000.00", "currency": "USD" },
                            "recencyScore": 4, "frequencyScore": 1, "monetaryScore": 4, "segment": null }),
        ),
    ];
    for (account, want) in &expect {
        assert_eq!(rfm(&app, &admin, account).await, *want, "{account}");
    }
    assert!(rfm(&app, &admin, &never).await.is_null());

    // Buying within the quiet period (180 days) makes an active customer, not since an inactive
    // one; an account that never paid stays a prospect. Each move is kept with no person.
    let status = async |account: &str| {
        let data = app
            .ok(
                &admin.access,
                "query($id: ID!) { account(id: $id) { status } }",
                json!({ "id": account }),
            )
            .await;
        data["account"]["status"].as_str().unwrap().to_owned()
    };
    assert_eq!(status(&loyal).await, "ACTIVE_CUSTOMER");
    assert_eq!(status(&foreign).await, "ACTIVE_CUSTOMER");
    assert_eq!(status(&sleepy).await, "INACTIVE_CUSTOMER");
    assert_eq!(status(&never).await, "PROSPECT");
    let moves = crate::hub::audit_of(&app, &sleepy).await;
    assert_eq!(moves.last().unwrap().action, "account.rfm_status");
    assert_eq!(moves.last().unwrap().actor_id, None);

    // Lists filter and order by segment and scores.
    let list = async |who: &Session, filter: Value, order: Value| {
        app.gql(
            Some(&who.access),
            "query($f: AccountFilter, $o: [AccountOrder!]) { accounts(filter: $f, orderBy: $o) { edges { node { name } } } }",
            json!({ "f": filter, "o": order }),
        )
        .await
    };
    let names = |body: &Value| -> Vec<String> {
        body["data"]["accounts"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let body = list(
        &admin,
        json!({ "rfmSegment": { "in": ["LOYAL_CUSTOMERS", "HIBERNATING"] } }),
        json!([]),
    )
    .await;
    assert_eq!(names(&body), ["Loyal", "Sleepy"]);
    let body = list(
        &admin,
        json!({ "rfmRecencyScore": { "gte": 2 } }),
        json!([{ "field": "RFM_RECENCY_SCORE", "direction": "DESC" }]),
    )
    .await;
    assert_eq!(names(&body), ["Big deal", "Loyal", "Foreign"]);
    let body = list(
        &admin,
        json!({}),
        json!([{ "field": "RFM_MONETARY_SCORE", "direction": "DESC" }]),
    )
    .await;
    assert_eq!(
        names(&body),
        ["Big deal", "Loyal", "Sleepy", "Foreign", "Never paid"]
    );

    // Marketing sees the scores but not what was paid.
    let marketing = app.user(&admin, "mkt@example.com", "MARKETING", None).await;
    let seen = rfm(&app, &marketing, &loyal).await;
    assert!(
        seen["monetary"].is_null() && seen["monetaryScore"].is_null(),
        "{seen}"
    );
    assert_eq!(seen["recencyScore"], 3);
    let refused = app
        .gql(
            Some(&marketing.access),
            "mutation { recomputeRfm }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"));

    // The deal archived, its account no longer pays and the others are scored among three:
    // loyal is now more recent than two of three, 1 + ⌊5 × 2 / 3⌋ = 4.
    app.ok(
        &admin.access,
        "mutation($id: ID!) { archiveOpportunity(id: $id) { opportunity { id } } }",
        json!({ "id": deal }),
    )
    .await;
    assert_eq!(recompute(&app, &admin).await, 3);
    assert!(rfm(&app, &admin, &big_deal).await.is_null());
    assert_eq!(rfm(&app, &admin, &loyal).await["recencyScore"], 4);
}

#[tokio::test]
async fn recomputes_running_at_once_move_each_account_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut accounts = Vec::new();
    for n in 0..20 {
        let id = account(&app, &admin, &format!("Account {n}")).await;
        payment(
            &app,
            &id,
            "invoice.paid",
            n * 20,
            1_000,
            "USD",
            json!({ "invoice": format!("in_{n}") }),
        )
        .await;
        accounts.push(id);
    }
    let runs = (0..4).map(|_| recompute(&app, &admin));
    let scored = futures_util::future::join_all(runs).await;
    assert_eq!(scored, [20; 4]);
    for id in &accounts {
        let moves: Vec<String> = crate::hub::audit_of(&app, id)
            .await
            .into_iter()
            .map(|row| row.action)
            .filter(|action| action == "account.rfm_status")
            .collect();
        assert_eq!(moves.len(), 1, "{id}");
    }
}
