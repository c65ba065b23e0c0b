//! The hub against hostile or broken input: unsigned web forms naming existing people, workers
//! racing on one new person, events naming nobody or dated in year 5138, text PostgreSQL
//! refuses, and what a dead-lettered delivery says about why.

use std::time::Duration;

use entity::{contact_point, delivery, enums::DeliveryStatus, lead, touchpoint};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    helpers::{Session, TestApp, spawn_app, spawn_app_with},
    hub::{connector, deliver, t_v1_signature},
};

const FORM_SECRET: &str = "form-relay-secret-0123456789";
const STRIPE_SECRET: &str = "whsec_resilience_0123456789";

/// Posts a form to a web-form connector, with the relay's secret header when given one.
async fn post_form(app: &TestApp, connector_id: &str, secret: Option<&str>, body: Value) -> u16 {
    let headers: Vec<(String, String)> = secret
        .map(|secret| ("x-touchbase-form-secret".to_owned(), secret.to_owned()))
        .into_iter()
        .collect();
    let (status, answer) = deliver(
        app,
        connector_id,
        "application/json",
        &headers,
        body.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    status
}

/// Posts a Stripe event signed with [`STRIPE_SECRET`].
async fn post_stripe(app: &TestApp, connector_id: &str, event: Value) {
    let body = event.to_string();
    let headers = [(
        "stripe-signature".to_owned(),
        t_v1_signature(STRIPE_SECRET, &body),
    )];
    let (status, answer) = deliver(app, connector_id, "application/json", &headers, body).await;
    assert_eq!(status, 200, "{answer}");
}

/// Waits until every stored delivery has settled (processed or dead); returns them all.
async fn settled(app: &TestApp, count: usize) -> Vec<delivery::Model> {
    for _ in 0..1_200 {
        let all = delivery::Entity::find().all(&app.db).await.unwrap();
        let done = all
            .iter()
            .all(|d| matches!(d.status, DeliveryStatus::Processed | DeliveryStatus::Dead));
        if all.len() >= count && done {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the deliveries did not settle");
}

async fn lead_row(app: &TestApp, id: &str) -> lead::Model {
    lead::Entity::find_by_id(id.parse::<uuid::Uuid>().unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .expect("the lead exists")
}

const TIMELINE: &str = "query($id: ID!) { lead(id: $id) {
    phone title website firstTouch { category source medium at } latestTouch { category source medium at }
    touchpoints(first: 10) { edges { node { verified summary sourceCategory gclid delivery { verified } } } } } }";

async fn timeline(app: &TestApp, admin: &Session, id: &str) -> Value {
    app.ok(&admin.access, TIMELINE, json!({ "id": id })).await["lead"].clone()
}

#[tokio::test]
async fn an_unsigned_form_naming_a_reps_lead_changes_nothing_on_it_and_its_touch_is_marked() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    let by_email = app
        .lead(
            &rep.access,
            json!({ "email": "grace@example.com", "firstName": "Grace", "lastName": "Hopper" }),
        )
        .await;
    let by_phone = app
        .lead(
            &rep.access,
            json!({ "lastName": "Lovelace", "phone": "+14155550123" }),
        )
        .await;
    // Each lead's first touch came from the company's own signed form relay.
    let (signed, _) = connector(&app, &admin, "WEB_FORM", Some(FORM_SECRET), json!({})).await;
    post_form(
        &app,
        &signed,
        Some(FORM_SECRET),
        json!({ "email": "grace@example.com", "utm_source": "newsletter", "utm_medium": "email" }),
    )
    .await;
    post_form(
        &app,
        &signed,
        Some(FORM_SECRET),
        json!({ "phone": "+1 415 555 0123", "utm_source": "newsletter", "utm_medium": "email" }),
    )
    .await;
    settled(&app, 2).await;
    let before = [
        lead_row(&app, &by_email).await,
        lead_row(&app, &by_phone).await,
    ];
    assert_eq!(before[0].latest_medium.as_deref(), Some("email"));
    assert_eq!(before[1].latest_medium.as_deref(), Some("email"));

    let (open, _) = connector(&app, &admin, "WEB_FORM", None, json!({})).await;
    let spoof = json!({ "phone": "+1 415 555 0199", "title": "Chief Victim", "website": "https://evil.test",
        "company": "Evil Corp", "message": "Wire the money to IBAN XX00", "utm_source": "google",
        "utm_medium": "cpc", "utm_campaign": "brand", "gclid": "spoofed" });
    let mut by_email_spoof = spoof.clone();
    by_email_spoof["email"] = json!("Grace@Example.com");
    post_form(&app, &open, None, by_email_spoof).await;
    let mut by_phone_spoof = spoof.clone();
    by_phone_spoof["phone"] = json!("(415) 555-0123");
    post_form(&app, &open, None, by_phone_spoof).await;
    let deliveries = settled(&app, 4).await;

    let unsigned: Vec<_> = deliveries
        .iter()
        .filter(|d| d.connector_id.to_string() == open)
        .collect();
    assert_eq!(unsigned.len(), 2);
    for delivery in &unsigned {
        assert_eq!(delivery.status, DeliveryStatus::Processed, "{delivery:?}");
        assert!(!delivery.verified);
        assert_eq!(delivery.touchpoint_count, 1);
    }
    let after = [
        lead_row(&app, &by_email).await,
        lead_row(&app, &by_phone).await,
    ];
    assert_eq!(
        before, after,
        "no field, source or timestamp of either lead moved"
    );
    assert_eq!(lead::Entity::find().count(&app.db).await.unwrap(), 2);

    for id in [&by_email, &by_phone] {
        let lead = timeline(&app, &admin, id).await;
        assert_eq!(lead["latestTouch"]["category"], "EMAIL");
        assert_eq!(lead["firstTouch"]["category"], "EMAIL");
        let touches: Vec<&Value> = lead["touchpoints"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["node"])
            .collect();
        assert_eq!(touches.len(), 2, "{lead}");
        assert_eq!(touches[0]["verified"], true);
        assert_eq!(touches[0]["delivery"]["verified"], true);
        // The spoofed form is on the timeline for the rep to judge, marked as unverified.
        assert_eq!(touches[1]["verified"], false);
        assert_eq!(touches[1]["delivery"]["verified"], false);
        assert_eq!(touches[1]["summary"], "Wire the money to IBAN XX00");
        assert_eq!(touches[1]["sourceCategory"], "PAID_SEARCH");
    }
}

#[tokio::test]
async fn a_signed_form_still_fills_an_existing_leads_blanks_and_moves_its_latest_touch() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = app
        .lead(
            &admin.access,
            json!({ "email": "grace@example.com", "lastName": "Hopper" }),
        )
        .await;
    let (signed, _) = connector(&app, &admin, "WEB_FORM", Some(FORM_SECRET), json!({})).await;
    post_form(
        &app,
        &signed,
        Some(FORM_SECRET),
        json!({ "email": "grace@example.com", "phone": "+1 415 555 0100", "title": "Rear Admiral",
            "website": "https://navy.test", "utm_source": "google", "utm_medium": "cpc" }),
    )
    .await;
    let deliveries = settled(&app, 1).await;
    assert!(deliveries[0].verified);

    let lead = timeline(&app, &admin, &id).await;
    assert_eq!(lead["phone"], "+14155550100");
    assert_eq!(lead["title"], "Rear Admiral");
    assert_eq!(lead["website"], "https://navy.test");
    assert_eq!(lead["latestTouch"]["category"], "PAID_SEARCH");
    assert_eq!(lead["firstTouch"]["category"], "PAID_SEARCH");
    assert_eq!(lead["touchpoints"]["edges"][0]["node"]["verified"], true);
}

#[tokio::test]
async fn an_unsigned_form_from_someone_new_makes_their_lead_but_links_no_customer_id() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let settings = json!({ "fields": { "account": "customer_id" } });
    let (open, _) = connector(&app, &admin, "WEB_FORM", None, settings).await;
    post_form(&app, &open, None,
        json!({ "email": "new@example.com", "last_name": "Newcomer", "title": "CTO", "utm_medium": "cpc",
            "utm_source": "google", "account": "cust-4711" })).await;
    settled(&app, 1).await;
    // A customer id is trusted by every later event: only a verified delivery may link one.
    assert_eq!(
        contact_point::Entity::find().count(&app.db).await.unwrap(),
        0
    );
    let leads = lead::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0].title.as_deref(), Some("CTO"));
    assert_eq!(leads[0].first_medium.as_deref(), Some("cpc"));
    let touch = touchpoint::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(!touch.verified, "the touch says where it came from");
}

#[tokio::test]
async fn workers_racing_on_the_same_new_people_make_one_lead_each_on_the_first_attempt() {
    // One gateway takes the deliveries in; a second works them with four workers at once.
    let app = spawn_app_with(|config| config.hub_workers = 0).await;
    let admin = app.admin().await;
    let (signed, _) = connector(&app, &admin, "WEB_FORM", Some(FORM_SECRET), json!({})).await;
    let people = 50;
    // Four submissions per person, one after another, so the workers claim the same person
    // together; half the people give only a phone number, which no unique index guards.
    for person in 0..people {
        for n in 0..4 {
            let mut form = json!({ "submission_id": format!("{person}-{n}"), "last_name": format!("Person {person}") });
            if person % 2 == 0 {
                form["email"] = json!(format!("person{person}@example.com"));
            } else {
                form["phone"] = json!(format!("+1 415 555 {:04}", 100 + person));
            }
            post_form(&app, &signed, Some(FORM_SECRET), form).await;
        }
    }
    let workers = app
        .replica_with(|config| {
            config.hub_workers = 4;
            config.hub_poll_interval_ms = 20;
            config.hub_retry_base_ms = 50;
        })
        .await;
    let deliveries = settled(&app, people * 4).await;
    drop(workers);

    let retried: Vec<_> = deliveries
        .iter()
        .filter(|d| d.status != DeliveryStatus::Processed || d.attempts != 1)
        .map(|d| (&d.external_id, d.attempts, &d.last_error))
        .collect();
    assert!(
        retried.is_empty(),
        "not done at the first attempt: {retried:?}"
    );
    let leads = lead::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(leads.len(), people, "one lead per person");
    for lead in &leads {
        let touches = touchpoint::Entity::find()
            .filter(touchpoint::Column::LeadId.eq(lead.id))
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(touches, 4, "{lead:?}");
    }
}

#[tokio::test]
async fn an_event_naming_nobody_is_refused_with_its_reason_and_records_nothing() {
    let app = spawn_app_with(|config| {
        config.hub_max_attempts = 1;
        config.hub_poll_interval_ms = 20;
    })
    .await;
    let admin = app.admin().await;
    let (stripe, _) = connector(&app, &admin, "STRIPE", Some(STRIPE_SECRET), json!({})).await;
    post_stripe(
        &app,
        &stripe,
        json!({ "id": "evt_null", "type": "customer.created",
        "created": 1_764_000_000, "data": { "object": null } }),
    )
    .await;
    post_stripe(
        &app,
        &stripe,
        json!({ "id": "evt_string", "type": "invoice.paid",
        "created": 1_764_000_000, "data": { "object": "in_1QhR3x" } }),
    )
    .await;
    let (form, _) = connector(&app, &admin, "WEB_FORM", Some(FORM_SECRET), json!({})).await;
    post_form(
        &app,
        &form,
        Some(FORM_SECRET),
        json!({ "submission_id": "anonymous-1", "message": "hello?" }),
    )
    .await;

    let deliveries = settled(&app, 3).await;
    let mut errors: Vec<(DeliveryStatus, Option<String>)> = deliveries
        .into_iter()
        .map(|d| (d.status, d.last_error))
        .collect();
    errors.sort_by(|a, b| a.1.cmp(&b.1));
    let refused = |what: &str| {
        (
            DeliveryStatus::Dead,
            Some(format!(
                "person: {what} names nobody: no email, phone, customer id or name"
            )),
        )
    };
    assert_eq!(
        errors,
        [
            refused("customer.created evt_null"),
            refused("form_submitted anonymous-1"),
            refused("invoice.paid evt_string"),
        ]
    );
    assert_eq!(touchpoint::Entity::find().count(&app.db).await.unwrap(), 0);
    assert_eq!(lead::Entity::find().count(&app.db).await.unwrap(), 0);
}

#[tokio::test]
async fn a_provider_time_after_receipt_or_before_2000_is_placed_at_the_receipt() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (stripe, _) = connector(&app, &admin, "STRIPE", Some(STRIPE_SECRET), json!({})).await;
    let cases = [
        ("evt_5138", 99_999_999_999_i64, "future@example.com"),
        ("evt_1969", -1, "past@example.com"),
        ("evt_fine", 1_764_000_000, "fine@example.com"),
    ];
    for (id, created, email) in cases {
        post_stripe(
            &app,
            &stripe,
            json!({ "id": id, "type": "customer.created", "created": created,
            "data": { "object": { "id": format!("cus_{id}"), "email": email } } }),
        )
        .await;
    }
    let deliveries = settled(&app, 3).await;
    for (id, created, email) in cases {
        let delivery = deliveries.iter().find(|d| d.external_id == id).unwrap();
        assert_eq!(delivery.status, DeliveryStatus::Processed, "{delivery:?}");
        let touch = touchpoint::Entity::find()
            .filter(touchpoint::Column::ExternalId.eq(id))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        let claimed = chrono::DateTime::from_timestamp(created, 0).unwrap();
        let lead = lead::Entity::find()
            .filter(lead::Column::Email.eq(email))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        if id == "evt_fine" {
            assert_eq!(touch.occurred_at, claimed);
            assert!(touch.details.unwrap().get("claimed_occurred_at").is_none());
        } else {
            assert_eq!(touch.occurred_at, delivery.received_at, "{id}");
            assert_eq!(
                touch.details.unwrap()["claimed_occurred_at"],
                json!(claimed),
                "{id}: the provider's claim is kept"
            );
        }
        assert_eq!(lead.first_touch_at, Some(touch.occurred_at));
    }
}

/// Every text field of a form with a NUL in it, and what is stored for each.
fn nul_form() -> Value {
    json!({ "email": "nul\u{0}@example.com", "first_name": "Ad\u{0}a", "last_name": "Love\u{0}lace",
        "company": "Analytical\u{0} Engines", "title": "Count\u{0}ess", "website": "https://ada\u{0}.test",
        "phone": "+1 415 555\u{0} 0100", "subject": "Pro\u{0} plan", "message": "Call\u{0} me",
        "utm_source": "link\u{0}edin", "utm_medium": "paid\u{0}_social", "utm_campaign": "spring\u{0}",
        "landing_page": "https://acme.test/\u{0}pricing", "team\u{0}size": "11\u{0}-50" })
}

#[tokio::test]
async fn nul_bytes_in_every_form_field_and_a_json_payload_are_dropped_and_processed() {
    let app = spawn_app_with(|config| config.hub_max_attempts = 1).await;
    let admin = app.admin().await;
    let (form, _) = connector(
        &app,
        &admin,
        "WEB_FORM",
        Some(FORM_SECRET),
        json!({ "keep_unmapped": true }),
    )
    .await;
    post_form(&app, &form, Some(FORM_SECRET), nul_form()).await;
    // The same by urlencoded form, as a browser posts it.
    let mut fields: Vec<(String, String)> = nul_form()
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_owned()))
        .collect();
    for (name, value) in &mut fields {
        match name.as_str() {
            "email" => *value = "url\u{0}@example.com".into(),
            "phone" => *value = "+1 415 555\u{0} 0101".into(),
            _ => {}
        }
    }
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&fields)
        .finish();
    let headers = [("x-touchbase-form-secret".to_owned(), FORM_SECRET.to_owned())];
    let (status, _) = deliver(
        &app,
        &form,
        "application/x-www-form-urlencoded",
        &headers,
        body,
    )
    .await;
    assert_eq!(status, 200);
    let (stripe, _) = connector(&app, &admin, "STRIPE", Some(STRIPE_SECRET), json!({})).await;
    post_stripe(
        &app,
        &stripe,
        json!({ "id": "evt_nul", "type": "checkout.session.completed",
        "created": 1_764_000_000, "data": { "object": { "id": "cs_\u{0}1", "customer": "cus_\u{0}9",
            "customer_details": { "email": "buyer\u{0}@example.com", "name": "Bu\u{0}yer One" },
            "amount_total": 4900, "currency": "usd", "description": "Pro\u{0} plan",
            "metadata": { "utm_source": "news\u{0}letter", "note\u{0}": "x" } } } }),
    )
    .await;

    let deliveries = settled(&app, 3).await;
    for delivery in &deliveries {
        assert_eq!(delivery.status, DeliveryStatus::Processed, "{delivery:?}");
        assert_eq!(delivery.touchpoint_count, 1);
    }
    for (email, phone) in [
        ("nul@example.com", "+14155550100"),
        ("url@example.com", "+14155550101"),
    ] {
        let lead = lead::Entity::find()
            .filter(lead::Column::Email.eq(email))
            .one(&app.db)
            .await
            .unwrap()
            .expect("the form's lead");
        assert_eq!(lead.first_name.as_deref(), Some("Ada"));
        assert_eq!(lead.last_name.as_deref(), Some("Lovelace"));
        assert_eq!(lead.company.as_deref(), Some("Analytical Engines"));
        assert_eq!(lead.title.as_deref(), Some("Countess"));
        assert_eq!(lead.website.as_deref(), Some("https://ada.test"));
        assert_eq!(lead.phone.as_deref(), Some(phone));
        assert_eq!(lead.first_source.as_deref(), Some("linkedin"));
        assert_eq!(lead.first_campaign.as_deref(), Some("spring"));
        assert_eq!(lead.custom_fields, json!({ "teamsize": "11-50" }));
        let touch = touchpoint::Entity::find()
            .filter(touchpoint::Column::LeadId.eq(lead.id))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(touch.subject.as_deref(), Some("Pro plan"));
        assert_eq!(touch.summary.as_deref(), Some("Call me"));
        assert_eq!(touch.medium.as_deref(), Some("paid_social"));
        assert_eq!(
            touch.landing_page.as_deref(),
            Some("https://acme.test/pricing")
        );
        assert!(!touch.details.unwrap().to_string().contains("\\u0000"));
    }
    let buyer = lead::Entity::find()
        .filter(lead::Column::Email.eq("buyer@example.com"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the buyer's lead");
    assert_eq!(buyer.last_name.as_deref(), Some("One"));
    assert_eq!(buyer.first_source.as_deref(), Some("newsletter"));
    let touch = touchpoint::Entity::find()
        .filter(touchpoint::Column::ExternalId.eq("evt_nul"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(touch.summary.as_deref(), Some("Pro plan"));
    let details = touch.details.unwrap();
    assert_eq!(details["provider_ids"]["checkout_session"], "cs_1");
    assert_eq!(details["person"]["customer_id"], "cus_9");
}

#[tokio::test]
async fn a_dead_letter_says_which_field_failed_and_why_without_code_locations() {
    let app = spawn_app_with(|config| {
        config.hub_max_attempts = 1;
        config.hub_poll_interval_ms = 20;
    })
    .await;
    let admin = app.admin().await;
    let (stripe, _) = connector(&app, &admin, "STRIPE", Some(STRIPE_SECRET), json!({})).await;
    post_stripe(
        &app,
        &stripe,
        json!({ "id": "evt_undated", "type": "customer.created",
        "data": { "object": { "id": "cus_1", "email": "a@example.com" } } }),
    )
    .await;
    let deliveries = settled(&app, 1).await;
    assert_eq!(deliveries[0].status, DeliveryStatus::Dead);
    assert_eq!(
        deliveries[0].last_error.as_deref(),
        Some("body: malformed payload: event has no valid `created`")
    );
    let (form, _) = connector(&app, &admin, "WEB_FORM", Some(FORM_SECRET), json!({})).await;

    // A store that fails under the worker: the table it writes touchpoints to is gone.
    app.db
        .execute_unprepared("ALTER TABLE touchpoints RENAME TO touchpoints_gone")
        .await
        .unwrap();
    post_form(
        &app,
        &form,
        Some(FORM_SECRET),
        json!({ "email": "b@example.com" }),
    )
    .await;
    let deliveries = settled(&app, 2).await;
    let failed = deliveries
        .iter()
        .find(|d| {
            d.status == DeliveryStatus::Dead
                && d.last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("touchpoints"))
        })
        .unwrap_or_else(|| panic!("a dead delivery names the missing table: {deliveries:?}"));
    let error = failed.last_error.as_deref().unwrap_or_default();
    assert!(!error.contains(".rs:"), "no code location: {error}");
    assert!(!error.contains("Execution Error"), "{error}");
    assert_eq!(
        error.matches("error returned from database").count(),
        1,
        "the database's words once: {error}"
    );
    assert!(error.len() < 200, "{error}");
}
