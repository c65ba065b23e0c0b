//! RFM over the store, on both stores: payments recorded on accounts and won deals scored 1 to
//! 5 against every paying account, the standard segment named, one payment reported twice
//! counted once, other currencies kept out of the monetary value, amounts hidden from roles
//! that may not see them, and scores cleared when an account stops being a paying one; and the
//! same for contacts, scored against every paying contact.

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

/// Who a payment is recorded on.
#[derive(Clone, Copy)]
enum Payer<'a> {
    Account(&'a str),
    Contact(&'a str),
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
    pay(
        app,
        Payer::Account(account),
        event,
        days_ago,
        minor,
        currency,
        ids,
    )
    .await;
}

async fn pay(
    app: &TestApp,
    payer: Payer<'_>,
    event: &str,
    days_ago: i64,
    minor: i64,
    currency: &str,
    ids: Value,
) {
    let id = |payer: &str| Some(payer.parse::<Uuid>().unwrap());
    let (account_id, contact_id) = match payer {
        Payer::Account(account) => (id(account), None),
        Payer::Contact(contact) => (None, id(contact)),
    };
    touchpoint::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account_id),
        contact_id: Set(contact_id),
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

async fn contact(app: &TestApp, admin: &Session, name: &str) -> String {
    let data = app
        .ok(
            &admin.access,
            "mutation($name: String!) { createContact(input: { lastName: $name }) { contact { id } } }",
            json!({ "name": name }),
        )
        .await;
    data["createContact"]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

const CONTACT_RFM: &str = "query($id: ID!) { contact(id: $id) { rfm {
    recencyDays frequency monetary { amount currency } recencyScore frequencyScore monetaryScore segment } } }";

#[tokio::test]
async fn paying_contacts_are_scored_against_each_other_at_the_segment_boundaries() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // Five paying contacts, so each score is one plus how many did worse: every score 1 to 5
    // is taken once per measure, and the segments sit at their boundaries.
    let names = ["Ada", "Bea", "Cy", "Dot", "Eve"];
    let mut ids = Vec::new();
    for name in names {
        ids.push(contact(&app, &admin, name).await);
    }
    let never = contact(&app, &admin, "Fay").await;
    let [ada, bea, cy, dot, eve] = [0, 1, 2, 3, 4].map(|i| ids[i].as_str());
    let invoice = |n: &str| json!({ "invoice": format!("in_{n}") });
    // Ada: a deal won today and three payments of 10.00 in the last week.
    for (n, days) in [(1, 5), (2, 6), (3, 7)] {
        let key = format!("ada_{n}");
        pay(
            &app,
            Payer::Contact(ada),
            "invoice.paid",
            days,
            1_000,
            "USD",
            invoice(&key),
        )
        .await;
    }
    let won = app
        .ok(&admin.access, "{ pipelineStages { id isWon } }", json!({}))
        .await["pipelineStages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|stage| stage["isWon"] == true)
        .unwrap()["id"]
        .clone();
    app.ok(
        &admin.access,
        "mutation($contact: ID!, $stage: ID!) { createOpportunity(input: { name: \"Seat\", amount: { amount: \"10.00\", currency: \"USD\" }, contactId: $contact, stageId: $stage }) { opportunity { id } } }",
        json!({ "contact": ada, "stage": won }),
    )
    .await;
    // Bea: five payments of 10.00, the last one reported both as its invoice and its charge.
    for (n, days) in [(1, 10), (2, 20), (3, 30), (4, 40), (5, 50)] {
        let ids =
            json!({ "invoice": format!("in_bea_{n}"), "payment_intent": format!("pi_bea_{n}") });
        pay(
            &app,
            Payer::Contact(bea),
            "invoice.paid",
            days,
            1_000,
            "USD",
            ids,
        )
        .await;
    }
    let charge = json!({ "charge": "ch_bea", "payment_intent": "pi_bea_1" });
    pay(
        &app,
        Payer::Contact(bea),
        "charge.succeeded",
        10,
        1_000,
        "USD",
        charge,
    )
    .await;
    pay(
        &app,
        Payer::Contact(cy),
        "invoice.paid",
        30,
        3_000,
        "USD",
        invoice("cy"),
    )
    .await;
    for (n, days, minor) in [(1, 100, 1_000), (2, 110, 500), (3, 120, 500)] {
        let key = format!("dot_{n}");
        pay(
            &app,
            Payer::Contact(dot),
            "invoice.paid",
            days,
            minor,
            "USD",
            invoice(&key),
        )
        .await;
    }
    for (n, days) in [(1, 300), (2, 310)] {
        let key = format!("eve_{n}");
        pay(
            &app,
            Payer::Contact(eve),
            "invoice.paid",
            days,
            500,
            "USD",
            invoice(&key),
        )
        .await;
    }

    assert_eq!(recompute(&app, &admin).await, 5);
    let rfm = async |who: &Session, id: &str| {
        app.ok(&who.access, CONTACT_RFM, json!({ "id": id })).await["contact"]["rfm"].clone()
    };
    let scored =
        |days: i64, frequency: i64, amount: &str, r: i64, f: i64, m: i64, segment: &str| {
            json!({ "recencyDays": days, "frequency": frequency,
                "monetary": { "amount": amount, "currency": "USD" },
                "recencyScore": r, "frequencyScore": f, "monetaryScore": m, "segment": segment })
        };
    let expect = [
        // 5, 4, 4: Champions with frequency and monetary value at their lowest.
        (ada, scored(0, 4, "40.00", 5, 4, 4, "CHAMPIONS")),
        (bea, scored(10, 5, "50.00", 4, 5, 5, "CHAMPIONS")),
        // 3, 1, 3: Potential Loyalist at its lowest recency and frequency.
        (cy, scored(30, 1, "30.00", 3, 1, 3, "POTENTIAL_LOYALIST")),
        // 2, 3, 2: one short of Loyal Customers on money, so Need Attention.
        (dot, scored(100, 3, "20.00", 2, 3, 2, "NEED_ATTENTION")),
        (eve, scored(300, 2, "10.00", 1, 2, 1, "HIBERNATING")),
    ];
    for (id, want) in &expect {
        assert_eq!(rfm(&admin, id).await, *want, "{id}");
    }
    assert!(rfm(&admin, &never).await.is_null());
    // Contacts have no customer status to move: a recompute writes no record change on them.
    let actions: Vec<String> = crate::hub::audit_of(&app, dot)
        .await
        .into_iter()
        .map(|row| row.action)
        .collect();
    assert_eq!(actions, ["contact.create"]);

    let list = async |who: &Session, filter: Value, order: Value| {
        app.gql(
            Some(&who.access),
            "query($f: ContactFilter, $o: [ContactOrder!]) { contacts(filter: $f, orderBy: $o) { edges { node { lastName } } } }",
            json!({ "f": filter, "o": order }),
        )
        .await
    };
    let names = |body: &Value| -> Vec<String> {
        body["data"]["contacts"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|e| e["node"]["lastName"].as_str().unwrap().to_owned())
            .collect()
    };
    let body = list(
        &admin,
        json!({ "rfmSegment": { "eq": "CHAMPIONS" } }),
        json!([]),
    )
    .await;
    assert_eq!(names(&body), ["Ada", "Bea"]);
    let body = list(
        &admin,
        json!({ "rfmRecencyScore": { "lte": 2 } }),
        json!([{ "field": "RFM_RECENCY_SCORE", "direction": "ASC" }]),
    )
    .await;
    assert_eq!(names(&body), ["Eve", "Dot"]);
    let body = list(
        &admin,
        json!({}),
        json!([{ "field": "RFM_FREQUENCY_SCORE", "direction": "DESC" }]),
    )
    .await;
    assert_eq!(names(&body), ["Bea", "Ada", "Dot", "Eve", "Cy", "Fay"]);
    let body = list(
        &admin,
        json!({ "rfmMonetaryScore": { "gte": 4 } }),
        json!([{ "field": "RFM_MONETARY_SCORE", "direction": "DESC" }]),
    )
    .await;
    assert_eq!(names(&body), ["Bea", "Ada"]);

    // Marketing sees the scores but not what was paid, and may not rank contacts by it.
    let marketing = app.user(&admin, "mkt@example.com", "MARKETING", None).await;
    let seen = rfm(&marketing, bea).await;
    assert!(
        seen["monetary"].is_null() && seen["monetaryScore"].is_null(),
        "{seen}"
    );
    assert_eq!(
        (&seen["frequencyScore"], &seen["segment"]),
        (&json!(5), &json!("CHAMPIONS"))
    );
    let body = list(
        &marketing,
        json!({ "rfmMonetaryScore": { "gte": 1 } }),
        json!([]),
    )
    .await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    let body = list(
        &marketing,
        json!({ "not": { "rfmMonetaryScore": { "eq": 5 } } }),
        json!([]),
    )
    .await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    let body = list(
        &marketing,
        json!({}),
        json!([{ "field": "RFM_MONETARY_SCORE", "direction": "DESC" }]),
    )
    .await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    let body = list(
        &marketing,
        json!({ "rfmSegment": { "eq": "HIBERNATING" } }),
        json!([]),
    )
    .await;
    assert_eq!(names(&body), ["Eve"]);
}
