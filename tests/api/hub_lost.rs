//! Nothing lost on the way in: a touch whose sender cannot be normalised (an invalid or
//! unassigned number, an alphanumeric sender id, a malformed address) still lands on a person,
//! through a contact point that keeps the sender as it came. Every connector kind is posted
//! such a delivery, signed or credentialed the way its provider does it.

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use connectors::signature::hmac_sha256;
use entity::{contact_point, delivery, enums::ContactPointKind, lead, touchpoint};
use p256::{
    ecdsa::{Signature, SigningKey, signature::Signer},
    pkcs8::EncodePublicKey,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::{
    helpers::{TestApp, spawn_app},
    hub::{
        STANDARD_SECRET, TWILIO_TOKEN, connector, deliver, mailgun_event, sdk_headers,
        settled_deliveries, t_v1_signature, twilio_post,
    },
};

const TYPEFORM: &str = include_str!("../../connectors/tests/fixtures/typeform/form_response.json");
const CALENDLY: &str =
    include_str!("../../connectors/tests/fixtures/calendly/invitee_created.json");
const POSTMARK: &str = include_str!("../../connectors/tests/fixtures/postmark/inbound.json");
const SENDGRID_INBOUND: &[u8] =
    include_bytes!("../../connectors/tests/fixtures/sendgrid/inbound_parsed.multipart");

/// One delivery whose sender is unusable, as its provider would post it.
struct Case {
    kind: &'static str,
    secret: String,
    content_type: &'static str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The sender as the contact point must keep it.
    raw: (ContactPointKind, &'static str),
}

fn header(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_owned(), value.into())
}

fn replaced(fixture: &[u8], from: &str, to: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = fixture;
    while let Some(at) = rest
        .windows(from.len())
        .position(|window| window == from.as_bytes())
    {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to.as_bytes());
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    assert_ne!(out, fixture, "{from} is in the fixture");
    out
}

async fn cases() -> Vec<Case> {
    let stripe_secret = "whsec_lost_0123456789".to_owned();
    let stripe = json!({ "id": "evt_lost", "type": "invoice.paid", "created": 1_764_000_000,
        "data": { "object": { "id": "in_lost", "object": "invoice", "customer": null,
            "customer_email": "billing.example.com", "amount_paid": 1200, "currency": "eur" } } })
    .to_string();

    let signing = SigningKey::from_slice(&[9u8; 32]).unwrap();
    let verification_key = BASE64.encode(
        signing
            .verifying_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes(),
    );
    let events = json!([{ "email": "bob.example.org", "event": "open", "timestamp": 1_764_000_000,
        "sg_event_id": "sg-lost-1", "sg_message_id": "msg-lost-1" }])
    .to_string();
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let signature: Signature = signing.sign(format!("{timestamp}{events}").as_bytes());

    let mailgun_key = "key-lost-0123456789".to_owned();
    let mailgun = mailgun_event(
        &mailgun_key,
        "token-lost-0001",
        json!({ "id": "mg-lost-1", "timestamp": 1_764_000_000.5, "event": "opened",
            "recipient": "carol.example.net" }),
    );

    let typeform_secret = "typeform-lost-0123".to_owned();
    let typeform = replaced(
        TYPEFORM.as_bytes(),
        "katherine@langley.example",
        "katherine.langley.example",
    );
    let typeform_signature = BASE64.encode(hmac_sha256(typeform_secret.as_bytes(), &[&typeform]));

    let calendly_key = "calendly-lost-0123".to_owned();
    let calendly = String::from_utf8(replaced(
        CALENDLY.as_bytes(),
        "grace.hopper@navy.example",
        "grace.hopper.navy.example",
    ))
    .unwrap();

    let postmark_credentials = "postmark:lost-pass-0123".to_owned();
    let sendgrid_key = "parse-lost-0123456789".to_owned();
    let form_secret = "form-lost-secret-0123456789".to_owned();

    let standard =
        json!({ "type": "contact.created", "data": { "phone": "+15550001111" } }).to_string();
    let standard_headers = sdk_headers(json!({ "provider": "standardwebhooks",
        "secret": STANDARD_SECRET, "msg_id": "msg_lost", "payload": standard, "timestamp": null }))
    .await;

    vec![
        Case {
            kind: "STRIPE",
            headers: vec![header(
                "stripe-signature",
                t_v1_signature(&stripe_secret, &stripe),
            )],
            secret: stripe_secret,
            content_type: "application/json",
            body: stripe.into_bytes(),
            raw: (ContactPointKind::Email, "billing.example.com"),
        },
        Case {
            kind: "SENDGRID_EVENTS",
            secret: verification_key,
            content_type: "application/json",
            headers: vec![
                header(
                    "x-twilio-email-event-webhook-signature",
                    BASE64.encode(signature.to_der().as_bytes()),
                ),
                header("x-twilio-email-event-webhook-timestamp", timestamp),
            ],
            body: events.into_bytes(),
            raw: (ContactPointKind::Email, "bob.example.org"),
        },
        Case {
            kind: "SENDGRID_INBOUND",
            headers: vec![header(
                "authorization",
                format!(
                    "Basic {}",
                    BASE64.encode(format!("sendgrid:{sendgrid_key}"))
                ),
            )],
            secret: sendgrid_key,
            content_type: "multipart/form-data; boundary=xYzZY",
            body: replaced(SENDGRID_INBOUND, "ann@example.com", "ann.example.com"),
            raw: (ContactPointKind::Email, "ann.example.com"),
        },
        Case {
            kind: "MAILGUN",
            secret: mailgun_key,
            content_type: "application/json",
            headers: Vec::new(),
            body: mailgun.into_bytes(),
            raw: (ContactPointKind::Email, "carol.example.net"),
        },
        Case {
            kind: "POSTMARK",
            headers: vec![header(
                "authorization",
                format!("Basic {}", BASE64.encode(&postmark_credentials)),
            )],
            secret: postmark_credentials,
            content_type: "application/json",
            body: replaced(POSTMARK.as_bytes(), "ann@example.com", "ann.example.com"),
            raw: (ContactPointKind::Email, "ann.example.com"),
        },
        Case {
            kind: "WEB_FORM",
            headers: vec![header("x-touchbase-form-secret", form_secret.clone())],
            secret: form_secret,
            content_type: "application/json",
            body: json!({ "submission_id": "lost-1", "email": "dave@", "message": "hi" })
                .to_string()
                .into_bytes(),
            raw: (ContactPointKind::Email, "dave@"),
        },
        Case {
            kind: "TYPEFORM",
            headers: vec![header(
                "typeform-signature",
                format!("sha256={typeform_signature}"),
            )],
            secret: typeform_secret,
            content_type: "application/json",
            body: typeform,
            raw: (ContactPointKind::Email, "katherine.langley.example"),
        },
        Case {
            kind: "CALENDLY",
            headers: vec![header(
                "calendly-webhook-signature",
                t_v1_signature(&calendly_key, &calendly),
            )],
            secret: calendly_key,
            content_type: "application/json",
            body: calendly.into_bytes(),
            raw: (ContactPointKind::Email, "grace.hopper.navy.example"),
        },
        Case {
            kind: "STANDARD_WEBHOOKS",
            secret: STANDARD_SECRET.to_owned(),
            content_type: "application/json",
            headers: standard_headers,
            body: standard.into_bytes(),
            raw: (ContactPointKind::Phone, "+15550001111"),
        },
    ]
}

/// The contact point keeping `raw` as it came, and the touchpoints on the lead it names.
async fn recorded_on(
    app: &TestApp,
    (kind, raw): (ContactPointKind, &str),
) -> (contact_point::Model, u64) {
    let point = contact_point::Entity::find()
        .filter(contact_point::Column::Kind.eq(kind))
        .filter(contact_point::Column::Value.eq(raw))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no contact point keeps {raw}"));
    let lead_id = point
        .lead_id
        .unwrap_or_else(|| panic!("{raw} names no lead"));
    let touches = touchpoint::Entity::find()
        .filter(touchpoint::Column::LeadId.eq(lead_id))
        .count(&app.db)
        .await
        .unwrap();
    (point, touches)
}

#[tokio::test]
async fn every_connector_kind_records_a_touch_from_an_unusable_sender_on_a_person() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for case in cases().await {
        let kind = case.kind;
        let (id, _) = connector(&app, &admin, kind, Some(&case.secret), json!({})).await;
        let (status, answer) =
            deliver(&app, &id, case.content_type, &case.headers, case.body).await;
        assert_eq!(status, 200, "{kind}: {answer}");
        let deliveries = settled_deliveries(&app, &admin, &id, 1).await;
        assert_eq!(
            (
                deliveries[0]["status"].as_str(),
                deliveries[0]["lastError"].as_str()
            ),
            (Some("PROCESSED"), None),
            "{kind}"
        );
        assert!(
            deliveries[0]["touchpointCount"].as_i64() >= Some(1),
            "{kind}"
        );
        let (point, touches) = recorded_on(&app, case.raw).await;
        assert!(!point.normalized, "{kind}: {point:?}");
        assert!(touches >= 1, "{kind}: the touch is on the sender's lead");
    }
    // Twilio is the tenth kind; its own test below posts SMS from every unusable sender.
}

#[tokio::test]
async fn twilio_messages_from_unusable_senders_land_on_one_lead_each_and_whatsapp_normalises() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, url) = connector(&app, &admin, "TWILIO", Some(TWILIO_TOKEN), json!({})).await;
    let senders = [
        ("SM1", "+15550001111"),
        ("SM2", "ACME"),
        ("SM3", "+15550001111"),
        ("SM4", "whatsapp:+14155552671"),
        ("SM5", "ACME"),
    ];
    for (sid, from) in senders {
        let params = [
            ("MessageSid", sid),
            ("SmsStatus", "received"),
            ("From", from),
            ("To", "+14155550100"),
            ("Body", "hello"),
        ];
        assert_eq!(twilio_post(&app, &id, &url, &params).await, 200, "{from}");
    }
    let deliveries = settled_deliveries(&app, &admin, &id, senders.len()).await;
    assert!(
        deliveries
            .iter()
            .all(|d| d["status"] == "PROCESSED" && d["touchpointCount"] == 1),
        "{deliveries:?}"
    );
    for raw in ["+15550001111", "ACME"] {
        let (point, touches) = recorded_on(&app, (ContactPointKind::Phone, raw)).await;
        assert!(!point.normalized, "{raw}");
        assert_eq!(touches, 2, "both messages from {raw} are on one lead");
    }
    let leads = lead::Entity::find().all(&app.db).await.unwrap();
    let whatsapp = leads
        .iter()
        .find(|lead| lead.phone.as_deref() == Some("+14155552671"))
        .unwrap_or_else(|| panic!("a lead keyed by the E.164 number: {leads:?}"));
    let touch = touchpoint::Entity::find()
        .filter(touchpoint::Column::LeadId.eq(whatsapp.id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        touch.details.unwrap()["provider_ids"]["messaging_channel"],
        "whatsapp"
    );
    assert_eq!(lead::Entity::find().count(&app.db).await.unwrap(), 3);
}

#[tokio::test]
async fn hostile_senders_are_kept_bounded_without_nuls_and_lookalikes_stay_apart() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let real = app
        .lead(
            &admin.access,
            json!({ "email": "ada@example.com", "lastName": "Lovelace" }),
        )
        .await;
    let secret = "form-hostile-secret-0123456789";
    let (form, _) = connector(&app, &admin, "WEB_FORM", Some(secret), json!({})).await;
    let huge = "x".repeat(10_000);
    let senders = [
        ("nul", json!({ "email": "eve\u{0}.example.com" })),
        ("huge", json!({ "email": huge })),
        (
            "huge-phone",
            json!({ "phone": format!("+1{}", "5".repeat(10_000)) }),
        ),
        // Cyrillic а: a different mailbox, which must not reach Ada's lead.
        ("lookalike", json!({ "email": "\u{0430}da@example.com" })),
        ("fullwidth", json!({ "email": "ada\u{FF20}example.com" })),
    ];
    for (id, fields) in &senders {
        let mut body = fields.clone();
        body["submission_id"] = json!(id);
        let headers = [header("x-touchbase-form-secret", secret)];
        let (status, answer) =
            deliver(&app, &form, "application/json", &headers, body.to_string()).await;
        assert_eq!(status, 200, "{id}: {answer}");
    }
    let deliveries = settled_deliveries(&app, &admin, &form, senders.len()).await;
    assert!(
        deliveries.iter().all(|d| d["status"] == "PROCESSED"),
        "{deliveries:?}"
    );
    let stored = delivery::Entity::find().count(&app.db).await.unwrap();
    assert_eq!(stored, senders.len() as u64);

    let (nul, _) = recorded_on(&app, (ContactPointKind::Email, "eve.example.com")).await;
    assert!(!nul.normalized);
    let raw_points = contact_point::Entity::find()
        .filter(contact_point::Column::Normalized.eq(false))
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        raw_points
            .iter()
            .all(|p| p.value.len() <= 255 && !p.value.contains('\0')),
        "{raw_points:?}"
    );
    let digests = raw_points
        .iter()
        .filter(|p| p.value.starts_with("sha256:"))
        .count();
    assert_eq!(digests, 2, "the 10 kB email and phone are kept as digests");

    let ada = touchpoint::Entity::find()
        .filter(touchpoint::Column::LeadId.eq(real.parse::<uuid::Uuid>().unwrap()))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(ada, 0, "no lookalike reached Ada's lead");
    let lookalike = lead::Entity::find()
        .filter(lead::Column::Email.eq("\u{0430}da@example.com"))
        .one(&app.db)
        .await
        .unwrap();
    assert!(lookalike.is_some(), "the Cyrillic address is its own lead");
}

#[tokio::test]
async fn emails_fold_to_lowercase_ascii_domains_and_phones_keep_their_extension() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let data = app
        .ok(
            &admin.access,
            "mutation($input: LeadInput!) { createLead(input: $input) { lead { email phone } } }",
            json!({ "input": { "lastName": "Müller", "email": "  Jürgen@Bücher.DE ",
                "phone": "+44 20 7946 0958 ext. 123" } }),
        )
        .await;
    assert_eq!(
        data["createLead"]["lead"],
        json!({ "email": "jürgen@xn--bcher-kva.de", "phone": "+442079460958;ext=123" })
    );
    let again = app
        .gql(
            Some(&admin.access),
            "mutation($input: LeadInput!) { createLead(input: $input) { lead { id } } }",
            json!({ "input": { "lastName": "Again", "email": "JÜRGEN@xn--bcher-kva.de" } }),
        )
        .await;
    assert_eq!(
        crate::helpers::error_code(&again),
        Some("CONFLICT"),
        "the canonical address is what uniqueness uses: {again}"
    );
}
