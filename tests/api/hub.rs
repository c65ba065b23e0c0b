//! The integrations hub end to end: requests signed by the providers' official SDKs (PyPI
//! `stripe`, `twilio`, `standardwebhooks`, pinned in tests/providers) are posted to the real
//! server, stored, processed by its worker and found on the right lead with their source.

use std::{path::Path, process::Stdio, time::Duration};

use sea_orm::EntityTrait;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::helpers::{Session, TestApp, error_code, spawn_app, spawn_app_with};

const STRIPE_SECRET: &str = "whsec_test_4eC39HqLyjWDarjtT1zdp7dc";
pub const TWILIO_TOKEN: &str = "12345678901234567890123456789012";
pub const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const CHECKOUT: &str =
    include_str!("../../connectors/tests/fixtures/stripe/checkout_session_completed.json");
const SUBSCRIPTION: &str =
    include_str!("../../connectors/tests/fixtures/stripe/customer_subscription_created.json");

/// Headers a provider's official SDK signs `request` with (see tests/providers/sign.py).
pub async fn sdk_headers(request: Value) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/providers");
    let python = crate::helpers::python_with(&dir);
    let mut child = tokio::process::Command::new(python)
        .arg(dir.join("sign.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(request.to_string().as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    assert!(output.status.success(), "signing failed for {request}");
    let headers: serde_json::Map<String, Value> = serde_json::from_slice(&output.stdout).unwrap();
    headers
        .into_iter()
        .map(|(name, value)| (name, value.as_str().unwrap().to_owned()))
        .collect()
}

pub async fn stripe_headers(
    payload: &str,
    secret: &str,
    timestamp: Option<i64>,
) -> Vec<(String, String)> {
    sdk_headers(json!({ "provider": "stripe", "secret": secret, "payload": payload, "timestamp": timestamp })).await
}

/// Creates a connector as admin; returns its id and webhook URL.
pub async fn connector(
    app: &TestApp,
    admin: &Session,
    kind: &str,
    secret: Option<&str>,
    settings: Value,
) -> (String, String) {
    let data = app
        .ok(
            &admin.access,
            "mutation($input: NewConnectorInput!) { createConnector(input: $input) { connector { id webhookUrl } } }",
            json!({ "input": { "kind": kind, "name": format!("{kind} connector"), "secret": secret, "settings": settings } }),
        )
        .await;
    let connector = &data["createConnector"]["connector"];
    (
        connector["id"].as_str().unwrap().to_owned(),
        connector["webhookUrl"].as_str().unwrap().to_owned(),
    )
}

/// Posts `body` with `headers` to the connector's hook; returns the status and JSON answer.
pub async fn deliver(
    app: &TestApp,
    connector_id: &str,
    content_type: &str,
    headers: &[(String, String)],
    body: impl Into<reqwest::Body>,
) -> (u16, Value) {
    let mut request = app
        .client
        .post(app.url(&format!("/hooks/{connector_id}")))
        .header("content-type", content_type)
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Posts a web form with `fields` to the connector's hook and expects it taken.
pub async fn submit_form(app: &TestApp, form: &str, fields: &[(&str, &str)]) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let (status, answer) = deliver(app, form, "application/x-www-form-urlencoded", &[], body).await;
    assert_eq!(status, 200, "{answer}");
}

/// The id of the first lead the admin sees, for a test whose store holds one.
pub async fn first_lead_id(app: &TestApp, admin: &Session) -> String {
    let leads = app
        .ok(
            &admin.access,
            "{ leads(first: 1) { edges { node { id } } } }",
            serde_json::json!({}),
        )
        .await;
    leads["leads"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

const DELIVERIES: &str = "query($id: ID!) { connector(id: $id) {
    health { received processed pending retrying dead failureRate signatureFailures lastSuccessAt }
    deliveries(first: 100) { totalCount edges { node { id externalId status attempts lastError touchpointCount latencyMs body } } } } }";

/// Waits until the connector has `count` deliveries and none is still waiting; returns them.
pub async fn settled_deliveries(
    app: &TestApp,
    admin: &Session,
    connector_id: &str,
    count: usize,
) -> Vec<Value> {
    for _ in 0..200 {
        let data = app
            .ok(&admin.access, DELIVERIES, json!({ "id": connector_id }))
            .await;
        let nodes: Vec<Value> = data["connector"]["deliveries"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .collect();
        let settled = nodes
            .iter()
            .all(|n| n["status"] == "PROCESSED" || n["status"] == "DEAD");
        if nodes.len() >= count && settled {
            return nodes;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("deliveries of {connector_id} did not settle");
}

async fn health(app: &TestApp, admin: &Session, connector_id: &str) -> Value {
    app.ok(&admin.access, DELIVERIES, json!({ "id": connector_id }))
        .await["connector"]["health"]
        .clone()
}

const LEAD_BY_EMAIL: &str = "query($email: String!) { leads(first: 5, filter: { email: { eq: $email } }) {
    edges { node { id email firstName lastName phone leadSource
      firstTouch { category source medium } latestTouch { category }
      touchpoints(first: 10) { edges { node { channel direction source medium campaign content gclid sourceCategory
        subject amount { amount currency } occurredAt event externalId delivery { id externalId } } } } } } } }";

async fn leads_with_email(app: &TestApp, admin: &Session, email: &str) -> Vec<Value> {
    let data = app
        .ok(&admin.access, LEAD_BY_EMAIL, json!({ "email": email }))
        .await;
    data["leads"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[tokio::test]
async fn a_stripe_checkout_signed_by_the_sdk_lands_on_a_new_lead_with_its_source() {
    let app =
        spawn_app_with(|config| config.public_url = Some("https://crm.example.test/".into())).await;
    let admin = app.admin().await;
    let (id, url) = connector(&app, &admin, "STRIPE", Some(STRIPE_SECRET), json!({})).await;
    assert_eq!(
        url,
        format!("https://crm.example.test/hooks/{id}"),
        "the URL to give Stripe"
    );

    let headers = stripe_headers(CHECKOUT, STRIPE_SECRET, None).await;
    let (status, answer) = deliver(&app, &id, "application/json", &headers, CHECKOUT).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "accepted");
    assert_eq!(answer["externalId"], "evt_1PqR8sLkdIwHu7ix0aBcDeFg");

    let deliveries = settled_deliveries(&app, &admin, &id, 1).await;
    assert_eq!(deliveries[0]["status"], "PROCESSED", "{deliveries:?}");
    assert_eq!(deliveries[0]["touchpointCount"], 1);
    assert_eq!(
        deliveries[0]["body"], CHECKOUT,
        "the raw body is kept byte for byte"
    );

    let leads = leads_with_email(&app, &admin, "jane.doe@example.com").await;
    assert_eq!(
        leads.len(),
        1,
        "one new lead, found by its normalized email"
    );
    let lead = &leads[0];
    assert_eq!(lead["leadSource"], "stripe");
    assert_eq!(lead["firstName"], "Jane");
    assert_eq!(lead["lastName"], "Doe");
    assert_eq!(lead["phone"], "+14155550123");
    assert_eq!(lead["firstTouch"]["category"], "PAID_SEARCH");
    assert_eq!(lead["firstTouch"]["source"], "google");
    assert_eq!(lead["latestTouch"]["category"], "PAID_SEARCH");
    let touchpoint = &lead["touchpoints"]["edges"][0]["node"];
    assert_eq!(touchpoint["channel"], "BILLING");
    assert_eq!(touchpoint["source"], "google");
    assert_eq!(touchpoint["medium"], "cpc");
    assert_eq!(touchpoint["campaign"], "spring_sale");
    assert_eq!(touchpoint["content"], "hero_cta");
    assert_eq!(touchpoint["gclid"], "EAIaIQobChMI8x");
    assert_eq!(touchpoint["sourceCategory"], "PAID_SEARCH");
    assert_eq!(
        touchpoint["amount"],
        json!({ "amount": "49.00", "currency": "USD" })
    );
    assert_eq!(touchpoint["event"], "checkout.session.completed");
    assert_eq!(touchpoint["occurredAt"], "2024-06-10T16:00:00+00:00");
    assert_eq!(
        touchpoint["delivery"]["id"], deliveries[0]["id"],
        "the link to the delivery it came from"
    );
    // Only admins follow it; a sales rep who sees the (unassigned) lead sees no raw request.
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    let seen_by_rep = leads_with_email(&app, &rep, "jane.doe@example.com").await;
    let rep_touchpoint = &seen_by_rep[0]["touchpoints"]["edges"][0]["node"];
    assert_eq!(rep_touchpoint["channel"], "BILLING");
    assert!(rep_touchpoint["delivery"].is_null(), "{rep_touchpoint}");

    let health = health(&app, &admin, &id).await;
    assert_eq!(health["processed"], 1);
    assert_eq!(health["failureRate"], 0.0);
    assert!(health["lastSuccessAt"].is_string());

    // A later event naming only the Stripe customer lands on the lead the customer is linked to.
    let headers = stripe_headers(SUBSCRIPTION, STRIPE_SECRET, None).await;
    assert_eq!(
        deliver(&app, &id, "application/json", &headers, SUBSCRIPTION)
            .await
            .0,
        200
    );
    settled_deliveries(&app, &admin, &id, 2).await;
    let lead = &leads_with_email(&app, &admin, "jane.doe@example.com").await[0];
    let mut events: Vec<&str> = lead["touchpoints"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["event"].as_str().unwrap())
        .collect();
    events.sort();
    assert_eq!(
        events,
        [
            "checkout.session.completed",
            "customer.subscription.created"
        ]
    );
}

/// The audit rows about one record, oldest first.
pub async fn audit_of(app: &TestApp, id: &str) -> Vec<entity::audit_log::Model> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::EntityId.eq(uuid::Uuid::parse_str(id).unwrap()))
        .order_by_asc(entity::audit_log::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_processed_delivery_leaves_audit_rows_for_the_lead_touchpoint_and_contact_point_it_wrote()
{
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, _) = connector(&app, &admin, "STRIPE", Some(STRIPE_SECRET), json!({})).await;
    let headers = stripe_headers(CHECKOUT, STRIPE_SECRET, None).await;
    assert_eq!(
        deliver(&app, &id, "application/json", &headers, CHECKOUT)
            .await
            .0,
        200
    );
    let deliveries = settled_deliveries(&app, &admin, &id, 1).await;
    assert_eq!(deliveries[0]["status"], "PROCESSED", "{deliveries:?}");
    let data = app
        .ok(
            &admin.access,
            "{ leads(first: 1) { edges { node { id touchpoints(first: 1) { edges { node { id } } } } } } }",
            json!({}),
        )
        .await;
    let lead = &data["leads"]["edges"][0]["node"];
    let lead_id = lead["id"].as_str().unwrap();
    let touchpoint_id = lead["touchpoints"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap();

    let rows = audit_of(&app, lead_id).await;
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["lead.create", "lead.attribute"]);
    assert!(
        rows.iter().all(|r| r.actor_id.is_none()),
        "the worker is no user"
    );
    assert!(rows[0].before.is_none());
    assert_eq!(rows[0].after.as_ref().unwrap()["lead_source"], "stripe");
    assert!(rows[1].before.as_ref().unwrap()["first_source"].is_null());
    assert_eq!(rows[1].after.as_ref().unwrap()["first_source"], "google");

    let rows = audit_of(&app, touchpoint_id).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].action, "touchpoint.create");
    let after = rows[0].after.as_ref().unwrap();
    assert_eq!(after["lead_id"], lead_id);
    assert_eq!(after["event"], "checkout.session.completed");

    // The Stripe customer id is linked to the lead, audited like any record.
    let linked = entity::audit_log::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "contact_point.create")
        .collect::<Vec<_>>();
    assert_eq!(linked.len(), 1, "{linked:?}");
    let point = linked[0].after.as_ref().unwrap();
    assert_eq!(point["value"], "cus_QhR3xYz1AbCdEf");
    assert_eq!(point["lead_id"], lead_id);
}

#[tokio::test]
async fn tampered_stale_and_wrongly_signed_requests_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, _) = connector(&app, &admin, "STRIPE", Some(STRIPE_SECRET), json!({})).await;

    let signed = stripe_headers(CHECKOUT, STRIPE_SECRET, None).await;
    let tampered = CHECKOUT.replace("4900", "1");
    let stale = stripe_headers(
        CHECKOUT,
        STRIPE_SECRET,
        Some(chrono::Utc::now().timestamp() - 301),
    )
    .await;
    let wrong_secret = stripe_headers(CHECKOUT, "whsec_someone_else", None).await;
    for (headers, body) in [
        (signed.clone(), tampered.as_str()),
        (stale, CHECKOUT),
        (wrong_secret, CHECKOUT),
        (Vec::new(), CHECKOUT),
    ] {
        let (status, answer) =
            deliver(&app, &id, "application/json", &headers, body.to_owned()).await;
        assert_eq!(status, 401, "{answer}");
    }
    let count = entity::delivery::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .len();
    assert_eq!(count, 0, "refused requests are not stored");
    let health = health(&app, &admin, &id).await;
    assert_eq!(health["signatureFailures"], 4);
    assert_eq!(health["received"], 0);
}

#[tokio::test]
async fn the_same_delivery_ten_times_at_once_is_one_row_and_one_touchpoint() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, _) = connector(&app, &admin, "STRIPE", Some(STRIPE_SECRET), json!({})).await;
    let headers = stripe_headers(CHECKOUT, STRIPE_SECRET, None).await;

    let posts = (0..10).map(|_| deliver(&app, &id, "application/json", &headers, CHECKOUT));
    let answers = futures_util::future::join_all(posts).await;
    assert!(
        answers.iter().all(|(status, _)| *status == 200),
        "{answers:?}"
    );
    let accepted = answers
        .iter()
        .filter(|(_, a)| a["status"] == "accepted")
        .count();
    assert_eq!(
        accepted, 1,
        "one stored, nine answered as duplicates: {answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|(_, a)| a["id"] == answers[0].1["id"] && a["id"].is_string()),
        "all ten answered with the stored delivery: {answers:?}"
    );

    let deliveries = settled_deliveries(&app, &admin, &id, 1).await;
    assert_eq!(deliveries.len(), 1);
    let leads = leads_with_email(&app, &admin, "jane.doe@example.com").await;
    assert_eq!(
        leads[0]["touchpoints"]["edges"].as_array().unwrap().len(),
        1
    );

    // A later retry by the provider, after processing, changes nothing either.
    let (status, answer) = deliver(&app, &id, "application/json", &headers, CHECKOUT).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("duplicate"))
    );
}

#[tokio::test]
async fn unknown_disabled_deleted_and_oversized_deliveries_get_their_status() {
    let app = spawn_app_with(|config| config.max_webhook_body_bytes = Some(64 * 1024)).await;
    let admin = app.admin().await;
    let (id, _) = connector(&app, &admin, "STRIPE", Some(STRIPE_SECRET), json!({})).await;
    let headers = stripe_headers(CHECKOUT, STRIPE_SECRET, None).await;

    let unknown = uuid::Uuid::now_v7().to_string();
    assert_eq!(
        deliver(&app, &unknown, "application/json", &headers, CHECKOUT)
            .await
            .0,
        404
    );
    assert_eq!(
        deliver(&app, "not-an-id", "application/json", &headers, CHECKOUT)
            .await
            .0,
        404
    );
    let big = format!(
        "{{\"id\":\"evt_big\",\"pad\":\"{}\"}}",
        "x".repeat(70 * 1024)
    );
    assert_eq!(
        deliver(&app, &id, "application/json", &headers, big)
            .await
            .0,
        413
    );

    let toggle = "mutation($id: ID!) { disableConnector(id: $id) { connector { enabled } } }";
    let data = app.ok(&admin.access, toggle, json!({ "id": id })).await;
    assert_eq!(data["disableConnector"]["connector"]["enabled"], false);
    assert_eq!(
        deliver(&app, &id, "application/json", &headers, CHECKOUT)
            .await
            .0,
        410
    );
    let enable = "mutation($id: ID!) { enableConnector(id: $id) { connector { enabled } } }";
    app.ok(&admin.access, enable, json!({ "id": id })).await;
    assert_eq!(
        deliver(&app, &id, "application/json", &headers, CHECKOUT)
            .await
            .0,
        200
    );

    let delete = "mutation($id: ID!) { deleteConnector(id: $id) { connector { id } } }";
    app.ok(&admin.access, delete, json!({ "id": id })).await;
    assert_eq!(
        deliver(&app, &id, "application/json", &headers, CHECKOUT)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn secrets_are_sealed_at_rest_shown_as_a_hint_and_only_to_admins() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, _) = connector(&app, &admin, "STRIPE", Some(STRIPE_SECRET), json!({})).await;
    let stored = entity::connector::Entity::find_by_id(id.parse::<uuid::Uuid>().unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let sealed = stored.secret_sealed.unwrap();
    assert!(!sealed.contains("4eC39HqLyjWDarjtT1zdp7dc"));
    let data = app
        .ok(
            &admin.access,
            "query($id: ID!) { connector(id: $id) { secretHint } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["connector"]["secretHint"], "whsec_…p7dc");
    let audit = entity::audit_log::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .all(|row| !format!("{:?}", row.after).contains("4eC39HqLyjWDarjtT1zdp7dc")),
        "the audit trail keeps no secret"
    );

    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    let body = app
        .gql(
            Some(&rep.access),
            "{ connectors(first: 5) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"));
    let body = app
        .gql(
            Some(&rep.access),
            "mutation { createConnector(input: { kind: WEB_FORM, name: \"x\" }) { connector { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"));
}

#[tokio::test]
async fn bad_connector_input_is_refused_with_the_field() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let create = "mutation($input: NewConnectorInput!) { createConnector(input: $input) { connector { id } } }";
    let cases = [
        (json!({ "kind": "STRIPE", "name": "Billing" }), "secret"),
        (
            json!({ "kind": "STRIPE", "name": "Billing", "secret": "whsec_x", "settings": { "tolerance_secs": "soon" } }),
            "settings",
        ),
        (
            json!({ "kind": "SENDGRID_EVENTS", "name": "Mail", "secret": "not a public key" }),
            "secret",
        ),
        (json!({ "kind": "WEB_FORM", "name": "  " }), "name"),
    ];
    for (input, field) in cases {
        let body = app
            .gql(Some(&admin.access), create, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{input}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "{input}: {body}"
        );
    }
    let count = entity::connector::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .len();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn a_rotated_secret_keeps_the_old_one_valid_for_the_grace_period_only() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, _) = connector(&app, &admin, "STRIPE", Some(STRIPE_SECRET), json!({})).await;
    let rotate = "mutation($id: ID!, $secret: String!, $grace: Int) {
        rotateConnectorSecret(id: $id, secret: $secret, graceSeconds: $grace) { connector { secretHint previousSecretExpiresAt } } }";
    let data = app
        .ok(
            &admin.access,
            rotate,
            json!({ "id": id, "secret": "whsec_new_secret_0001", "grace": 3600 }),
        )
        .await;
    assert_eq!(
        data["rotateConnectorSecret"]["connector"]["secretHint"],
        "whsec_…0001"
    );
    assert!(data["rotateConnectorSecret"]["connector"]["previousSecretExpiresAt"].is_string());

    let event =
        |n: u32| CHECKOUT.replace("evt_1PqR8sLkdIwHu7ix0aBcDeFg", &format!("evt_rotation_{n}"));
    let old = stripe_headers(&event(1), STRIPE_SECRET, None).await;
    let new = stripe_headers(&event(2), "whsec_new_secret_0001", None).await;
    assert_eq!(
        deliver(&app, &id, "application/json", &old, event(1))
            .await
            .0,
        200
    );
    assert_eq!(
        deliver(&app, &id, "application/json", &new, event(2))
            .await
            .0,
        200
    );

    app.ok(
        &admin.access,
        rotate,
        json!({ "id": id, "secret": "whsec_newer_secret_02", "grace": 0 }),
    )
    .await;
    let previous = stripe_headers(&event(3), "whsec_new_secret_0001", None).await;
    assert_eq!(
        deliver(&app, &id, "application/json", &previous, event(3))
            .await
            .0,
        401
    );
    let newest = stripe_headers(&event(4), "whsec_newer_secret_02", None).await;
    assert_eq!(
        deliver(&app, &id, "application/json", &newest, event(4))
            .await
            .0,
        200
    );
}

/// Twilio's status callbacks for one call, signed by the SDK over the URL it was given.
pub async fn twilio_post(app: &TestApp, id: &str, url: &str, params: &[(&str, &str)]) -> u16 {
    let params_json: serde_json::Map<String, Value> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    let headers = sdk_headers(
        json!({ "provider": "twilio", "secret": TWILIO_TOKEN, "url": url, "params": params_json }),
    )
    .await;
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    deliver(app, id, "application/x-www-form-urlencoded", &headers, body)
        .await
        .0
}

#[tokio::test]
async fn a_twilio_call_signed_by_the_sdk_becomes_a_call_activity_in_sequence_order() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lead = app
        .lead(
            &admin.access,
            json!({ "lastName": "Caller", "phone": "+1 415 555 0199" }),
        )
        .await;
    let (id, url) = connector(&app, &admin, "TWILIO", Some(TWILIO_TOKEN), json!({})).await;
    let call = |status: &'static str, sequence: &'static str| {
        vec![
            ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
            ("CallSid", "CA11111111111111111111111111111111"),
            ("CallStatus", status),
            ("Direction", "inbound"),
            ("From", "+14155550199"),
            ("To", "+18005550100"),
            ("SequenceNumber", sequence),
            ("Timestamp", "Wed, 25 Nov 2026 10:00:00 +0000"),
        ]
    };
    let mut completed = call("completed", "2");
    completed.push(("CallDuration", "42"));
    completed.push(("RecordingUrl", "https://api.twilio.com/recordings/RE1"));
    assert_eq!(twilio_post(&app, &id, &url, &completed).await, 200);
    settled_deliveries(&app, &admin, &id, 1).await;
    // The ringing callback arrives late: it must not move the call back.
    assert_eq!(
        twilio_post(&app, &id, &url, &call("ringing", "0")).await,
        200
    );
    settled_deliveries(&app, &admin, &id, 2).await;
    // Tampering with any parameter breaks Twilio's signature.
    let headers = sdk_headers(
        json!({ "provider": "twilio", "secret": TWILIO_TOKEN, "url": url,
        "params": { "CallSid": "CA1", "CallStatus": "completed" } }),
    )
    .await;
    let (status, _) = deliver(
        &app,
        &id,
        "application/x-www-form-urlencoded",
        &headers,
        "CallSid=CA1&CallStatus=busy",
    )
    .await;
    assert_eq!(status, 401);

    let data = app
        .ok(
            &admin.access,
            "query($id: ID!) { lead(id: $id) {
                touchpoints(first: 5) { edges { node { channel direction event sourceCategory } } }
                activities(first: 5) { edges { node { kind subject done call { status durationSeconds recordingUrl } } } } } }",
            json!({ "id": lead }),
        )
        .await;
    let touchpoints = data["lead"]["touchpoints"]["edges"].as_array().unwrap();
    assert_eq!(
        touchpoints.len(),
        1,
        "one touchpoint per call: {touchpoints:?}"
    );
    let touchpoint = &touchpoints[0]["node"];
    assert_eq!(touchpoint["channel"], "CALL");
    assert_eq!(touchpoint["direction"], "INBOUND");
    assert_eq!(
        touchpoint["event"], "completed",
        "the late ringing update was ignored"
    );
    assert_eq!(touchpoint["sourceCategory"], "OFFLINE");
    let activities = data["lead"]["activities"]["edges"].as_array().unwrap();
    assert_eq!(activities.len(), 1);
    let activity = &activities[0]["node"];
    assert_eq!(activity["kind"], "CALL");
    assert_eq!(activity["done"], true);
    assert_eq!(activity["call"]["durationSeconds"], 42);
    assert_eq!(
        activity["call"]["recordingUrl"],
        "https://api.twilio.com/recordings/RE1"
    );
}

#[tokio::test]
async fn a_call_to_a_lead_whose_owner_has_left_is_still_logged_for_that_owner() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "gone@example.com", "SALES", None).await;
    let lead = app
        .lead(
            &admin.access,
            json!({ "lastName": "Caller", "phone": "+1 415 555 0177", "ownerId": rep.user_id }),
        )
        .await;
    app.ok(
        &admin.access,
        crate::helpers::UPDATE_USER,
        json!({ "id": rep.user_id, "input": { "active": false } }),
    )
    .await;
    let (id, url) = connector(&app, &admin, "TWILIO", Some(TWILIO_TOKEN), json!({})).await;
    let call = [
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("CallSid", "CA22222222222222222222222222222222"),
        ("CallStatus", "completed"),
        ("CallDuration", "7"),
        ("Direction", "inbound"),
        ("From", "+14155550177"),
        ("To", "+18005550100"),
        ("SequenceNumber", "1"),
        ("Timestamp", "Wed, 25 Nov 2026 10:00:00 +0000"),
    ];
    assert_eq!(twilio_post(&app, &id, &url, &call).await, 200);
    let deliveries = settled_deliveries(&app, &admin, &id, 1).await;
    assert_eq!(deliveries[0]["status"], "PROCESSED", "{deliveries:?}");

    let data = app
        .ok(
            &admin.access,
            "query($id: ID!) { lead(id: $id) { activities(first: 5) { edges { node { id kind assignee { id } } } } } }",
            json!({ "id": lead }),
        )
        .await;
    let activities = data["lead"]["activities"]["edges"].as_array().unwrap();
    assert_eq!(activities.len(), 1, "{activities:?}");
    let activity = &activities[0]["node"];
    assert_eq!(activity["kind"], "CALL");
    assert_eq!(activity["assignee"]["id"], rep.user_id);
    let rows = audit_of(&app, activity["id"].as_str().unwrap()).await;
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["activity.create"]);
}

#[tokio::test]
async fn a_known_contact_gets_the_touchpoint_on_the_contact_and_its_account() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let account = app
        .ok(
            &admin.access,
            "mutation { createAccount(input: { name: \"Doe Industries\" }) { account { id } } }",
            json!({}),
        )
        .await["createAccount"]["account"]["id"]
        .clone();
    let contact = app
        .ok(
            &admin.access,
            "mutation($account: ID!) { createContact(input: { email: \"JANE.DOE@example.com\", lastName: \"Doe\", accountId: $account }) { contact { id } } }",
            json!({ "account": account }),
        )
        .await["createContact"]["contact"]["id"]
        .clone();
    let (id, _) = connector(&app, &admin, "STRIPE", Some(STRIPE_SECRET), json!({})).await;
    let headers = stripe_headers(CHECKOUT, STRIPE_SECRET, None).await;
    assert_eq!(
        deliver(&app, &id, "application/json", &headers, CHECKOUT)
            .await
            .0,
        200
    );
    settled_deliveries(&app, &admin, &id, 1).await;

    assert!(
        leads_with_email(&app, &admin, "jane.doe@example.com")
            .await
            .is_empty(),
        "no lead for a known contact"
    );
    let touchpoints = entity::touchpoint::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(touchpoints.len(), 1);
    assert_eq!(
        touchpoints[0].contact_id.map(|id| id.to_string()),
        contact.as_str().map(str::to_owned)
    );
    assert_eq!(
        touchpoints[0].account_id.map(|id| id.to_string()),
        account.as_str().map(str::to_owned)
    );
    let links = entity::contact_point::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        links
            .iter()
            .any(|p| p.value == "cus_QhR3xYz1AbCdEf" && p.contact_id.is_some()),
        "the Stripe customer is linked to the contact: {links:?}"
    );
}

#[tokio::test]
async fn a_failing_delivery_is_retried_dead_lettered_and_replayed_once_fixed() {
    let app = spawn_app_with(|config| {
        config.hub_max_attempts = 3;
        config.hub_retry_base_ms = 10;
        config.hub_poll_interval_ms = 20;
    })
    .await;
    let admin = app.admin().await;
    // The mapping reads the time from a field that holds no time: every attempt fails.
    let broken = json!({ "occurred_at": "/data/email" });
    let (id, _) = connector(
        &app,
        &admin,
        "STANDARD_WEBHOOKS",
        Some(STANDARD_SECRET),
        broken,
    )
    .await;
    let payload = json!({ "type": "contact.created", "timestamp": "2026-11-20T08:00:00Z",
        "data": { "email": "sam@example.org", "first_name": "Sam" } })
    .to_string();
    let headers = sdk_headers(
        json!({ "provider": "standardwebhooks", "secret": STANDARD_SECRET,
        "msg_id": "msg_2f9a", "payload": payload }),
    )
    .await;
    let (status, answer) = deliver(&app, &id, "application/json", &headers, payload.clone()).await;
    assert_eq!(
        (status, answer["externalId"].as_str()),
        (200, Some("msg_2f9a"))
    );

    let deliveries = settled_deliveries(&app, &admin, &id, 1).await;
    assert_eq!(deliveries[0]["status"], "DEAD");
    assert_eq!(deliveries[0]["attempts"], 3);
    assert!(
        deliveries[0]["lastError"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
    assert_eq!(health(&app, &admin, &id).await["dead"], 1);
    assert!(
        leads_with_email(&app, &admin, "sam@example.org")
            .await
            .is_empty()
    );

    let fix = "mutation($id: ID!) { updateConnector(id: $id, input: { settings: { occurred_at: \"/timestamp\" } }) { connector { id } } }";
    app.ok(&admin.access, fix, json!({ "id": id })).await;
    let replay = "mutation($id: ID!) { replayDeadDeliveries(connectorId: $id) }";
    let data = app.ok(&admin.access, replay, json!({ "id": id })).await;
    assert_eq!(data["replayDeadDeliveries"], 1);
    let mut processed = false;
    for _ in 0..200 {
        let deliveries = settled_deliveries(&app, &admin, &id, 1).await;
        if deliveries[0]["status"] == "PROCESSED" {
            processed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(processed, "the replayed delivery was processed");
    let leads = leads_with_email(&app, &admin, "sam@example.org").await;
    assert_eq!(leads.len(), 1);
    assert_eq!(
        leads[0]["touchpoints"]["edges"][0]["node"]["occurredAt"],
        "2026-11-20T08:00:00+00:00"
    );

    // Replaying a processed delivery records nothing twice.
    let one = "mutation($id: ID!) { replayDelivery(id: $id) { delivery { status } } }";
    app.ok(
        &admin.access,
        one,
        json!({ "id": settled_deliveries(&app, &admin, &id, 1).await[0]["id"] }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    settled_deliveries(&app, &admin, &id, 1).await;
    let leads = leads_with_email(&app, &admin, "sam@example.org").await;
    assert_eq!(
        leads[0]["touchpoints"]["edges"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_web_form_lands_with_its_utm_tags_and_campaign_and_a_honeypot_catch_records_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let campaign = app
        .ok(&admin.access, "mutation { createCampaign(input: { name: \"Spring launch\", utmCampaign: \"Spring_Launch\" }) { campaign { id } } }", json!({}))
        .await["createCampaign"]["campaign"]["id"]
        .clone();
    let settings = json!({ "fields": { "org": "company", "team_size": "custom.team_size" } });
    let (id, _) = connector(&app, &admin, "WEB_FORM", None, settings).await;
    let form = [
        ("email", "Ada@Example.com"),
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("org", "Analytical Engines"),
        ("team_size", "11-50"),
        ("message", "Please call me about the pro plan"),
        ("utm_source", "linkedin"),
        ("utm_medium", "paid_social"),
        ("utm_campaign", "spring_launch"),
        ("landing_page", "https://www.acme.test/pricing?plan=pro"),
        ("_gotcha", ""),
    ];
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let referer = vec![(
        "referer".to_owned(),
        "https://www.acme.test/pricing".to_owned(),
    )];
    let (status, answer) = deliver(
        &app,
        &id,
        "application/x-www-form-urlencoded",
        &referer,
        body,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let spam = "email=bot%40spam.test&_gotcha=http%3A%2F%2Fspam.test";
    assert_eq!(
        deliver(&app, &id, "application/x-www-form-urlencoded", &[], spam)
            .await
            .0,
        200
    );
    let deliveries = settled_deliveries(&app, &admin, &id, 2).await;
    assert!(
        deliveries.iter().all(|d| d["status"] == "PROCESSED"),
        "{deliveries:?}"
    );
    assert_eq!(
        deliveries
            .iter()
            .map(|d| d["touchpointCount"].as_i64().unwrap())
            .sum::<i64>(),
        1,
        "the honeypot catch is stored and processed, and records nothing"
    );
    assert!(
        leads_with_email(&app, &admin, "bot@spam.test")
            .await
            .is_empty()
    );

    let data = app
        .ok(
            &admin.access,
            "query($email: String!) { leads(first: 1, filter: { email: { eq: $email } }) { edges { node {
                company customFields firstTouch { category campaign }
                touchpoints(first: 1) { edges { node { channel summary landingPage sourceCategory matchedCampaign { id name } } } } } } } }",
            json!({ "email": "ada@example.com" }),
        )
        .await;
    let lead = &data["leads"]["edges"][0]["node"];
    assert_eq!(lead["company"], "Analytical Engines");
    assert_eq!(lead["customFields"]["team_size"], "11-50");
    assert_eq!(lead["firstTouch"]["category"], "PAID_SOCIAL");
    let touchpoint = &lead["touchpoints"]["edges"][0]["node"];
    assert_eq!(touchpoint["channel"], "WEB_FORM");
    assert_eq!(touchpoint["summary"], "Please call me about the pro plan");
    assert_eq!(
        touchpoint["landingPage"],
        "https://www.acme.test/pricing?plan=pro"
    );
    assert_eq!(touchpoint["matchedCampaign"]["id"], campaign);
}

/// Lowercase hex, as the HMAC schemes without an SDK signer spell their digests.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A `t=<unix>,v1=<hex>` signature of `body` made now (the scheme Stripe and Calendly share), for
/// tests that sign many requests and would wait too long on the SDK.
pub fn t_v1_signature(secret: &str, body: &str) -> String {
    let t = chrono::Utc::now().timestamp().to_string();
    let mac = connectors::signature::hmac_sha256(
        secret.as_bytes(),
        &[t.as_bytes(), b".", body.as_bytes()],
    );
    format!("t={t},v1={}", hex(&mac))
}

/// A Mailgun event webhook body signed with the webhook signing key, as Mailgun signs it.
pub fn mailgun_event(key: &str, token: &str, event: Value) -> String {
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let mac = connectors::signature::hmac_sha256(
        key.as_bytes(),
        &[timestamp.as_bytes(), token.as_bytes()],
    );
    let signature = hex(&mac);
    json!({ "signature": { "timestamp": timestamp, "token": token, "signature": signature }, "event-data": event }).to_string()
}

#[tokio::test]
async fn a_mailgun_bounce_flags_the_address_and_a_reused_token_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lead = app
        .lead(
            &admin.access,
            json!({ "email": "bob@example.org", "lastName": "Bob" }),
        )
        .await;
    let key = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0";
    let (id, _) = connector(&app, &admin, "MAILGUN", Some(key), json!({})).await;
    let bounce = json!({ "id": "G9Bn5sl1TC6nu79C8C0bwg", "timestamp": 1_764_000_000.5, "event": "failed",
        "severity": "permanent", "reason": "bounce", "recipient": "Bob@Example.org",
        "delivery-status": { "code": 550, "message": "550 5.1.1 mailbox does not exist" },
        "message": { "headers": { "subject": "Your quote", "message-id": "quote-1@mg.example.com" } } });
    let signed = mailgun_event(key, "token-0001-aaaa", bounce);
    assert_eq!(
        deliver(&app, &id, "application/json", &[], signed.clone())
            .await
            .0,
        200
    );
    // Mailgun retrying the same delivery is a duplicate, not a replay.
    let (status, answer) = deliver(&app, &id, "application/json", &[], signed).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("duplicate"))
    );
    // Another event carrying a token already used is a replay.
    let opened = json!({ "id": "Ase7i2zsRYeDXztHGENqRA", "timestamp": 1_764_000_100.0, "event": "opened",
        "recipient": "bob@example.org" });
    let replayed = mailgun_event(key, "token-0001-aaaa", opened.clone());
    assert_eq!(
        deliver(&app, &id, "application/json", &[], replayed)
            .await
            .0,
        401
    );
    let fresh = mailgun_event(key, "token-0002-bbbb", opened);
    assert_eq!(
        deliver(&app, &id, "application/json", &[], fresh).await.0,
        200
    );
    settled_deliveries(&app, &admin, &id, 2).await;

    let data = app
        .ok(
            &admin.access,
            "query($id: ID!) { lead(id: $id) { contactPoints { kind value bouncedAt }
                touchpoints(first: 5) { edges { node { event direction summary } } } } }",
            json!({ "id": lead }),
        )
        .await;
    let points = data["lead"]["contactPoints"].as_array().unwrap();
    assert_eq!(points.len(), 1, "{points:?}");
    assert_eq!(points[0]["kind"], "EMAIL");
    assert_eq!(points[0]["value"], "bob@example.org");
    assert!(points[0]["bouncedAt"].is_string());
    let events: Vec<&str> = data["lead"]["touchpoints"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["failed", "opened"]);
    assert_eq!(health(&app, &admin, &id).await["signatureFailures"], 1);
}

#[tokio::test]
async fn a_second_report_about_an_address_flags_its_contact_point_and_is_audited() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lead = app
        .lead(
            &admin.access,
            json!({ "email": "carol@example.org", "lastName": "Carol" }),
        )
        .await;
    let key = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0";
    let (id, _) = connector(&app, &admin, "MAILGUN", Some(key), json!({})).await;
    let bounce = json!({ "id": "bounce-1", "timestamp": 1_764_000_000.0, "event": "failed",
        "severity": "permanent", "reason": "bounce", "recipient": "carol@example.org" });
    let unsubscribe = json!({ "id": "unsubscribe-1", "timestamp": 1_764_000_100.0,
        "event": "unsubscribed", "recipient": "carol@example.org" });
    for (token, event) in [("token-1", bounce), ("token-2", unsubscribe)] {
        let signed = mailgun_event(key, token, event);
        assert_eq!(
            deliver(&app, &id, "application/json", &[], signed).await.0,
            200
        );
        let count = if token == "token-1" { 1 } else { 2 };
        let deliveries = settled_deliveries(&app, &admin, &id, count).await;
        assert!(
            deliveries.iter().all(|d| d["status"] == "PROCESSED"),
            "{deliveries:?}"
        );
    }

    let data = app
        .ok(
            &admin.access,
            "query($id: ID!) { lead(id: $id) { contactPoints { value bouncedAt unsubscribedAt } } }",
            json!({ "id": lead }),
        )
        .await;
    let points = data["lead"]["contactPoints"].as_array().unwrap();
    assert_eq!(points.len(), 1, "one point for the address: {points:?}");
    assert!(points[0]["bouncedAt"].is_string());
    assert!(points[0]["unsubscribedAt"].is_string());

    let point = entity::contact_point::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let rows = audit_of(&app, &point.id.to_string()).await;
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["contact_point.create", "contact_point.flag"]);
    assert!(rows[1].before.as_ref().unwrap()["unsubscribed_at"].is_null());
    assert!(rows[1].after.as_ref().unwrap()["unsubscribed_at"].is_string());
    assert!(rows[1].after.as_ref().unwrap()["bounced_at"].is_string());
}

#[tokio::test]
async fn standard_webhooks_signed_by_the_sdk_are_accepted_and_tampered_stale_or_foreign_ones_refused()
 {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mapping = json!({ "fields": { "email": "/data/email", "first_name": "/data/first_name",
        "utm_source": "/data/utm/source" } });
    let (id, _) = connector(
        &app,
        &admin,
        "STANDARD_WEBHOOKS",
        Some(STANDARD_SECRET),
        mapping,
    )
    .await;
    let payload = json!({ "type": "lead.created", "timestamp": "2026-11-21T09:30:00Z",
        "data": { "email": "kim@example.net", "first_name": "Kim", "utm": { "source": "newsletter" } } })
    .to_string();
    let sign = |msg_id: &str, secret: &str, timestamp: Option<i64>| {
        sdk_headers(
            json!({ "provider": "standardwebhooks", "secret": secret, "msg_id": msg_id,
            "payload": payload, "timestamp": timestamp }),
        )
    };
    let stale = chrono::Utc::now().timestamp() - 301;
    let foreign = "whsec_dGhpcyBpcyBzb21lb25lIGVsc2VzIHNlY3JldA==";
    for (headers, body) in [
        (
            sign("msg_1", STANDARD_SECRET, None).await,
            payload.replace("Kim", "Eve"),
        ),
        (
            sign("msg_2", STANDARD_SECRET, Some(stale)).await,
            payload.clone(),
        ),
        (sign("msg_3", foreign, None).await, payload.clone()),
    ] {
        assert_eq!(
            deliver(&app, &id, "application/json", &headers, body)
                .await
                .0,
            401
        );
    }
    assert_eq!(
        entity::delivery::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .len(),
        0
    );

    let headers = sign("msg_4", STANDARD_SECRET, None).await;
    assert_eq!(
        deliver(&app, &id, "application/json", &headers, payload.clone())
            .await
            .0,
        200
    );
    let deliveries = settled_deliveries(&app, &admin, &id, 1).await;
    assert_eq!(deliveries[0]["status"], "PROCESSED", "{deliveries:?}");
    let leads = leads_with_email(&app, &admin, "kim@example.net").await;
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0]["firstName"], "Kim");
    assert_eq!(leads[0]["leadSource"], "standard_webhooks");
    assert_eq!(
        leads[0]["touchpoints"]["edges"][0]["node"]["event"],
        "lead.created"
    );
    assert_eq!(
        leads[0]["touchpoints"]["edges"][0]["node"]["source"],
        "newsletter"
    );
}

/// Test processes start together and each may be the first to need the providers' SDKs: one
/// installs them while the others wait, and none sees a half-built environment.
#[test]
fn a_python_environment_needed_by_many_tests_at_once_is_built_once_and_whole() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("requirements.txt"),
        "typing_extensions==4.16.0\n",
    )
    .unwrap();
    let pythons: Vec<_> = (0..4)
        .map(|_| {
            let dir = dir.path().to_owned();
            std::thread::spawn(move || crate::helpers::python_with(&dir))
        })
        .collect();
    for python in pythons {
        let python = python.join().expect("no waiter saw a broken environment");
        let imported = std::process::Command::new(python)
            .args(["-c", "import typing_extensions"])
            .status()
            .unwrap();
        assert!(imported.success());
    }
}
