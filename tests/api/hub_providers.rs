//! Every provider kind through the whole hub: its real payload (the connectors' fixtures),
//! signed or credentialed the way the provider does it, posted to the server, processed, and
//! found on a lead. Providers without an official signing SDK are signed here with their
//! published scheme.

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use connectors::signature::hmac_sha256;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, spawn_app},
    hub::{connector, deliver, settled_deliveries, t_v1_signature},
};

const TYPEFORM: &str = include_str!("../../connectors/tests/fixtures/typeform/form_response.json");
const CALENDLY: &str =
    include_str!("../../connectors/tests/fixtures/calendly/invitee_created.json");
const POSTMARK: &str = include_str!("../../connectors/tests/fixtures/postmark/inbound.json");
const SENDGRID_EVENTS: &str = include_str!("../../connectors/tests/fixtures/sendgrid/events.json");
const SENDGRID_INBOUND: &[u8] =
    include_bytes!("../../connectors/tests/fixtures/sendgrid/inbound_parsed.multipart");

fn header(name: &str, value: String) -> (String, String) {
    (name.to_owned(), value)
}

/// Processes one delivery and answers the lead found by `email`, with its touchpoints.
async fn lead_after(
    app: &TestApp,
    kind: &str,
    secret: Option<&str>,
    content_type: &str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    email: &str,
) -> Value {
    let admin = app.admin().await;
    let (id, _) = connector(app, &admin, kind, secret, json!({})).await;
    let (status, answer) = deliver(app, &id, content_type, &headers, body).await;
    assert_eq!(status, 200, "{kind}: {answer}");
    let deliveries = settled_deliveries(app, &admin, &id, 1).await;
    assert_eq!(
        deliveries[0]["status"], "PROCESSED",
        "{kind}: {deliveries:?}"
    );
    let data = app
        .ok(
            &admin.access,
            "query($email: String!) { leads(first: 1, filter: { email: { eq: $email } }) { edges { node {
                leadSource contactPoints { value bouncedAt }
                touchpoints(first: 20) { edges { node { channel direction event source } } } } } } }",
            json!({ "email": email }),
        )
        .await;
    let lead = data["leads"]["edges"][0]["node"].clone();
    assert!(lead.is_object(), "{kind}: no lead for {email}");
    lead
}

fn touchpoints(lead: &Value) -> Vec<Value> {
    lead["touchpoints"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[tokio::test]
async fn a_typeform_response_signed_with_its_secret_becomes_a_web_form_touch() {
    let app = spawn_app().await;
    let secret = "typeform-secret-0123";
    let signature = BASE64.encode(hmac_sha256(secret.as_bytes(), &[TYPEFORM.as_bytes()]));
    let headers = vec![header("typeform-signature", format!("sha256={signature}"))];
    let lead = lead_after(
        &app,
        "TYPEFORM",
        Some(secret),
        "application/json",
        headers,
        TYPEFORM.into(),
        "katherine@langley.example",
    )
    .await;
    assert_eq!(lead["leadSource"], "typeform");
    let touchpoints = touchpoints(&lead);
    assert_eq!(touchpoints.len(), 1);
    assert_eq!(touchpoints[0]["channel"], "WEB_FORM");
    assert_eq!(touchpoints[0]["event"], "form_response");
}

#[tokio::test]
async fn a_calendly_booking_signed_with_its_key_becomes_a_meeting_touch() {
    let app = spawn_app().await;
    let key = "calendly-signing-key-0123";
    let headers = vec![header(
        "calendly-webhook-signature",
        t_v1_signature(key, CALENDLY),
    )];
    let lead = lead_after(
        &app,
        "CALENDLY",
        Some(key),
        "application/json",
        headers,
        CALENDLY.into(),
        "grace.hopper@navy.example",
    )
    .await;
    let touchpoints = touchpoints(&lead);
    assert_eq!(touchpoints.len(), 1);
    assert_eq!(touchpoints[0]["channel"], "MEETING");
    assert_eq!(touchpoints[0]["event"], "invitee.created");
}

#[tokio::test]
async fn a_postmark_inbound_mail_with_its_credentials_threads_onto_the_sender() {
    let app = spawn_app().await;
    let credentials = "postmark:inbound-pass-0123";
    let headers = vec![header(
        "authorization",
        format!("Basic {}", BASE64.encode(credentials)),
    )];
    let lead = lead_after(
        &app,
        "POSTMARK",
        Some(credentials),
        "application/json",
        headers,
        POSTMARK.into(),
        "ann@example.com",
    )
    .await;
    let touchpoints = touchpoints(&lead);
    assert_eq!(touchpoints.len(), 1);
    assert_eq!(
        (
            touchpoints[0]["channel"].as_str(),
            touchpoints[0]["direction"].as_str()
        ),
        (Some("EMAIL"), Some("INBOUND"))
    );
}

#[tokio::test]
async fn a_sendgrid_parsed_email_with_its_key_threads_onto_the_sender() {
    let app = spawn_app().await;
    let key = "parse-key-0123456789";
    let headers = vec![header(
        "authorization",
        format!("Basic {}", BASE64.encode(format!("sendgrid:{key}"))),
    )];
    let lead = lead_after(
        &app,
        "SENDGRID_INBOUND",
        Some(key),
        "multipart/form-data; boundary=xYzZY",
        headers,
        SENDGRID_INBOUND.to_vec(),
        "ann@example.com",
    )
    .await;
    let touchpoints = touchpoints(&lead);
    assert_eq!(touchpoints.len(), 1);
    assert_eq!(touchpoints[0]["channel"], "EMAIL");
}

#[tokio::test]
async fn a_sendgrid_event_batch_signed_with_ecdsa_records_each_tracked_event_and_flags_the_bounce()
{
    use p256::{
        ecdsa::{Signature, SigningKey, signature::Signer},
        pkcs8::EncodePublicKey,
    };
    let app = spawn_app().await;
    let signing = SigningKey::from_slice(&[7u8; 32]).unwrap();
    let public = signing.verifying_key().to_public_key_der().unwrap();
    let verification_key = BASE64.encode(public.as_bytes());
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let signature: Signature = signing.sign(format!("{timestamp}{SENDGRID_EVENTS}").as_bytes());
    let headers = vec![
        header(
            "x-twilio-email-event-webhook-signature",
            BASE64.encode(signature.to_der().as_bytes()),
        ),
        header("x-twilio-email-event-webhook-timestamp", timestamp),
    ];
    let lead = lead_after(
        &app,
        "SENDGRID_EVENTS",
        Some(&verification_key),
        "application/json",
        headers,
        SENDGRID_EVENTS.into(),
        "ann@example.com",
    )
    .await;
    let events: Vec<String> = touchpoints(&lead)
        .iter()
        .map(|t| t["event"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        events.contains(&"delivered".to_owned()) && events.contains(&"open".to_owned()),
        "{events:?}"
    );
    assert!(
        !events.contains(&"processed".to_owned()),
        "untracked events record nothing"
    );

    let admin = app.admin().await;
    let data = app
        .ok(
            &admin.access,
            "{ leads(first: 5, filter: { email: { eq: \"bob@example.org\" } }) { edges { node { contactPoints { value bouncedAt } } } } }",
            json!({}),
        )
        .await;
    let points = &data["leads"]["edges"][0]["node"]["contactPoints"];
    assert!(
        points[0]["bouncedAt"].is_string(),
        "bob's bounce flags his address: {points}"
    );
}
