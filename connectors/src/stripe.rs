//! Stripe (billing): the events that tell the CRM someone became, paid as, or stopped being a
//! customer.
//!
//! **What Stripe sends.** A JSON event envelope `{id: "evt_…", type, created, data: {object}}`
//! whose `data.object` is the customer, Checkout Session, invoice, charge or subscription the
//! event is about. Stripe delivers at least once and in no particular order, so the envelope's
//! `id` is both the delivery's and the touchpoint's external id.
//!
//! **Verification.** `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`: HMAC-SHA256 over
//! `"{t}.{raw body}"`, keyed with the `whsec_…` string's UTF-8 bytes as they are (not decoded).
//! Any `v1` matching any configured secret passes (Stripe sends one per live secret while a
//! secret rolls); `v0` and other schemes are ignored. A `t` more than `tolerance_secs` in the past
//! is refused, as Stripe's SDKs do; Stripe's clock running ahead is tolerated. Calendly copied
//! the scheme, so both use [`signature::verify_t_v1_header`].
//!
//! **Touchpoints** (channel `billing`, direction `inbound`, occurred at the event's `created`):
//! `customer.created`, `checkout.session.completed`, `invoice.paid`, `charge.succeeded`,
//! `customer.subscription.created` and `customer.subscription.deleted`; every other event type
//! yields none.
//! - person: `customer_id` from `customer` (from `id` for `customer.created`); email, name,
//!   phone from the customer, `customer_details` (falling back to `customer_email`), the
//!   invoice's `customer_email`/`customer_name`/`customer_phone`, or the charge's
//!   `billing_details` (falling back to `receipt_email`); company from `business_name`.
//! - amount: `amount_total` (Checkout), `amount_paid` (invoice), `amount` (charge), or the sum of
//!   `items.data[].price.unit_amount × quantity` (subscriptions), with `currency` uppercased.
//! - attribution: `metadata` keys (`utm_*`, `gclid`, `fbclid`, `msclkid`, `referrer`,
//!   `landing_page`), an invoice's subscription metadata, and `client_reference_id` when it
//!   holds query pairs (`utm_source=…&utm_medium=…`); explicit metadata wins.
//! - provider_ids: `checkout_session`, `invoice`, `charge`, `subscription`, `payment_intent`
//!   and `client_reference_id`, as present.
//!
//! **Settings** (all optional):
//! - `tolerance_secs` (integer ≥ 1, default 300): how old a signature's `t` may be.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::settings::TimestampSettings;
use crate::{
    Attribution, Channel, Connector, ConnectorError, Direction, InboundRequest, Money,
    NormalizedTouchpoint, Person, signature,
};

const SIGNATURE_HEADER: &str = "stripe-signature";
pub struct Stripe;

/// The envelope fields every event has; `data` is read only for tracked types, so an event
/// shape Stripe adds later cannot make an untracked delivery fail.
#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: Option<i64>,
    #[serde(default)]
    data: Value,
}

impl Connector for Stripe {
    fn check_settings(&self, settings: &Value) -> Result<(), ConnectorError> {
        TimestampSettings::tolerance(settings).map(drop)
    }

    fn verify(
        &self,
        request: &InboundRequest<'_>,
        secrets: &[&str],
        now: DateTime<Utc>,
        settings: &Value,
    ) -> Result<(), ConnectorError> {
        signature::verify_t_v1_header(
            request.header(SIGNATURE_HEADER),
            request.body,
            secrets,
            now,
            TimestampSettings::tolerance(settings)?,
        )
    }

    fn external_id(&self, request: &InboundRequest<'_>) -> Result<String, ConnectorError> {
        read_event(request.body).map(|event| event.id)
    }

    fn parse(
        &self,
        request: &InboundRequest<'_>,
        _settings: &Value,
    ) -> Result<Vec<NormalizedTouchpoint>, ConnectorError> {
        let event = read_event(request.body)?;
        let Some(subject) = subject_for(&event.kind) else {
            return Ok(Vec::new());
        };
        let occurred_at = event
            .created
            .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
            .ok_or_else(|| ConnectorError::Malformed("event has no valid `created`".into()))?;
        let object = &event.data["object"];
        let mut touchpoint = NormalizedTouchpoint::new(
            &event.id,
            &event.kind,
            Channel::Billing,
            Direction::Inbound,
            occurred_at,
        );
        touchpoint.subject = Some(subject.to_owned());
        touchpoint.summary = text(object, "description");
        touchpoint.person = person(&event.kind, object);
        touchpoint.amount = amount(&event.kind, object);
        touchpoint.attribution = attribution(object);
        touchpoint.provider_ids = provider_ids(&event.kind, object);
        Ok(vec![touchpoint])
    }
}

fn read_event(body: &[u8]) -> Result<Event, ConnectorError> {
    let event: Event = serde_json::from_slice(body)
        .map_err(|error| ConnectorError::Malformed(format!("not a Stripe event: {error}")))?;
    if event.id.trim().is_empty() {
        return Err(ConnectorError::Malformed("event has an empty `id`".into()));
    }
    Ok(event)
}

/// The tracked event types and the line a timeline shows for each.
fn subject_for(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "customer.created" => "New customer",
        "checkout.session.completed" => "Checkout completed",
        "invoice.paid" => "Invoice paid",
        "charge.succeeded" => "Payment received",
        "customer.subscription.created" => "Subscription started",
        "customer.subscription.deleted" => "Subscription canceled",
        _ => return None,
    })
}

fn person(kind: &str, object: &Value) -> Person {
    let (mut person, second_email) = match kind {
        "customer.created" => (contact(object), None),
        "checkout.session.completed" => (
            contact(&object["customer_details"]),
            text(object, "customer_email"),
        ),
        "charge.succeeded" => (
            contact(&object["billing_details"]),
            text(object, "receipt_email"),
        ),
        "invoice.paid" => (
            Person {
                email: text(object, "customer_email"),
                name: text(object, "customer_name"),
                phone: text(object, "customer_phone"),
                ..Person::default()
            },
            None,
        ),
        _ => (Person::default(), None),
    };
    person.customer_id = match kind {
        "customer.created" => text(object, "id"),
        _ => id_of(&object["customer"]),
    };
    // An endpoint may expand `customer`; its email is then as good as any.
    person.email = person
        .email
        .or(second_email)
        .or_else(|| text(&object["customer"], "email"));
    person
}

/// The contact block Stripe repeats on a customer, Checkout's `customer_details` and a
/// charge's `billing_details`.
fn contact(block: &Value) -> Person {
    Person {
        email: text(block, "email"),
        name: text(block, "name"),
        phone: text(block, "phone"),
        company: text(block, "business_name"),
        ..Person::default()
    }
}

fn amount(kind: &str, object: &Value) -> Option<Money> {
    let minor = match kind {
        "checkout.session.completed" => object["amount_total"].as_i64(),
        "invoice.paid" => object["amount_paid"].as_i64(),
        "charge.succeeded" => object["amount"].as_i64(),
        "customer.subscription.created" | "customer.subscription.deleted" => {
            subscription_total(object)
        }
        _ => None,
    }?;
    let currency = text(object, "currency")
        .or_else(|| text(&object["items"]["data"][0]["price"], "currency"))?;
    Some(Money {
        minor,
        currency: currency.to_ascii_uppercase(),
    })
}

/// What one period of the subscription costs: per-unit prices times quantities. Tiered or
/// metered prices carry no `unit_amount` and are left out; an overflow gives no amount.
fn subscription_total(subscription: &Value) -> Option<i64> {
    let mut total: Option<i64> = None;
    for item in subscription["items"]["data"].as_array()? {
        let Some(unit) = item["price"]["unit_amount"].as_i64() else {
            continue;
        };
        let quantity = item["quantity"].as_i64().unwrap_or(1);
        total = Some(
            total
                .unwrap_or(0)
                .checked_add(unit.checked_mul(quantity)?)?,
        );
    }
    total
}

fn attribution(object: &Value) -> Attribution {
    let reference_pairs: Vec<(String, String)> = text(object, "client_reference_id")
        .filter(|reference| reference.contains('='))
        .map(|reference| {
            form_urlencoded::parse(reference.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let metadata = [
        &object["parent"]["subscription_details"]["metadata"],
        &object["metadata"],
    ];
    let metadata_pairs = metadata
        .into_iter()
        .filter_map(Value::as_object)
        .flatten()
        .filter_map(|(key, value)| Some((key.as_str(), value.as_str()?)));
    Attribution::from_pairs(
        reference_pairs
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .chain(metadata_pairs),
    )
}

fn provider_ids(kind: &str, object: &Value) -> BTreeMap<String, String> {
    let own_name = match kind {
        "checkout.session.completed" => Some("checkout_session"),
        "invoice.paid" => Some("invoice"),
        "charge.succeeded" => Some("charge"),
        "customer.subscription.created" | "customer.subscription.deleted" => Some("subscription"),
        _ => None,
    };
    let linked = [
        ("subscription", id_of(&object["subscription"])),
        (
            "subscription",
            id_of(&object["parent"]["subscription_details"]["subscription"]),
        ),
        ("invoice", id_of(&object["invoice"])),
        ("invoice", id_of(&object["latest_invoice"])),
        ("payment_intent", id_of(&object["payment_intent"])),
        ("client_reference_id", text(object, "client_reference_id")),
    ];
    let own = own_name.map(|name| (name, text(object, "id")));
    let mut ids = BTreeMap::new();
    for (name, id) in own.into_iter().chain(linked) {
        if let Some(id) = id {
            ids.entry(name.to_owned()).or_insert(id);
        }
    }
    ids
}

/// A trimmed, non-empty string field.
fn text(object: &Value, key: &str) -> Option<String> {
    let value = object.get(key)?.as_str()?.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// A reference Stripe sends as an id, or as the object itself when the endpoint expands it.
fn id_of(reference: &Value) -> Option<String> {
    match reference {
        Value::Object(_) => text(reference, "id"),
        Value::String(id) if !id.trim().is_empty() => Some(id.trim().to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::hmac_sha256;

    /// When the hub received the tests' requests.
    fn received_at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    const SECRET: &str = "whsec_test";
    const OLD_SECRET: &str = "whsec_previous";
    const NOW: i64 = 1_700_000_000;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    fn signed_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
        let t = timestamp.to_string();
        let digest = hmac_sha256(secret.as_bytes(), &[t.as_bytes(), b".", body]);
        format!("t={t},v1={}", hex::encode(digest))
    }

    fn headers(signature: Option<String>) -> BTreeMap<String, String> {
        signature
            .map(|value| (SIGNATURE_HEADER.to_owned(), value))
            .into_iter()
            .collect()
    }

    fn request<'a>(headers: &'a BTreeMap<String, String>, body: &'a [u8]) -> InboundRequest<'a> {
        InboundRequest {
            headers,
            body,
            url: "https://crm.example.com/hooks/stripe",
            received_at: received_at(),
        }
    }

    fn verify(headers: &BTreeMap<String, String>, body: &[u8]) -> Result<(), ConnectorError> {
        let request = request(headers, body);
        Stripe.verify(&request, &[SECRET, OLD_SECRET], at(NOW), &Value::Null)
    }

    fn parse_fixture(body: &str) -> NormalizedTouchpoint {
        let headers = BTreeMap::new();
        let mut touchpoints = Stripe
            .parse(&request(&headers, body.as_bytes()), &Value::Null)
            .unwrap();
        assert_eq!(touchpoints.len(), 1);
        touchpoints.remove(0)
    }

    const CHECKOUT: &str = include_str!("../tests/fixtures/stripe/checkout_session_completed.json");
    const INVOICE: &str = include_str!("../tests/fixtures/stripe/invoice_paid.json");
    const CHARGE: &str = include_str!("../tests/fixtures/stripe/charge_succeeded.json");
    const CUSTOMER: &str = include_str!("../tests/fixtures/stripe/customer_created.json");
    const SUBSCRIPTION: &str =
        include_str!("../tests/fixtures/stripe/customer_subscription_created.json");
    const SUBSCRIPTION_DELETED: &str =
        include_str!("../tests/fixtures/stripe/customer_subscription_deleted.json");

    #[test]
    fn the_fixed_vector_verifies() {
        let body = br#"{"id":"evt_1","type":"lead.created"}"#;
        let header =
            "t=1700000000,v1=b05d3640f2b57a63571590bc68c9de40faec2638da1b635f60bd8d02848b23fa";
        assert_eq!(signed_header(SECRET, NOW, body), header);
        let headers = headers(Some(header.to_owned()));
        assert_eq!(verify(&headers, body), Ok(()));
        assert_eq!(
            Stripe.external_id(&request(&headers, body)).unwrap(),
            "evt_1"
        );
        assert_eq!(
            Stripe.parse(&request(&headers, body), &Value::Null),
            Ok(vec![])
        );
    }

    #[test]
    fn a_real_event_signed_with_the_current_secret_is_accepted() {
        let headers = headers(Some(signed_header(SECRET, NOW - 30, CHECKOUT.as_bytes())));
        assert_eq!(verify(&headers, CHECKOUT.as_bytes()), Ok(()));
    }

    #[test]
    fn the_previous_secret_is_accepted_during_rotation() {
        let headers = headers(Some(signed_header(OLD_SECRET, NOW, CHECKOUT.as_bytes())));
        assert_eq!(verify(&headers, CHECKOUT.as_bytes()), Ok(()));
    }

    #[test]
    fn any_v1_in_the_header_may_match() {
        let good = signed_header(SECRET, NOW, CHECKOUT.as_bytes());
        let with_others = good.replacen(",v1=", ",v1=zz,v0=abc,v1=00ff,v1=", 1);
        assert_eq!(
            verify(&headers(Some(with_others)), CHECKOUT.as_bytes()),
            Ok(())
        );
    }

    #[test]
    fn a_tampered_body_is_refused() {
        let headers = headers(Some(signed_header(SECRET, NOW, CHECKOUT.as_bytes())));
        let tampered = CHECKOUT.replace("4900", "1");
        assert!(matches!(
            verify(&headers, tampered.as_bytes()),
            Err(ConnectorError::BadSignature(_))
        ));
    }

    #[test]
    fn a_wrong_secret_is_refused() {
        let headers = headers(Some(signed_header("whsec_other", NOW, CHECKOUT.as_bytes())));
        assert!(matches!(
            verify(&headers, CHECKOUT.as_bytes()),
            Err(ConnectorError::BadSignature(_))
        ));
    }

    #[test]
    fn a_stale_timestamp_is_refused_and_the_setting_widens_the_window() {
        let body = CHECKOUT.as_bytes();
        let stale = headers(Some(signed_header(SECRET, NOW - 301, body)));
        assert!(matches!(
            verify(&stale, body),
            Err(ConnectorError::BadSignature(_))
        ));
        let wide = serde_json::json!({"tolerance_secs": 600});
        let stale = request(&stale, body);
        assert_eq!(Stripe.verify(&stale, &[SECRET], at(NOW), &wide), Ok(()));
        let unusable = serde_json::json!({"tolerance_secs": 0});
        assert!(matches!(
            Stripe.verify(&stale, &[SECRET], at(NOW), &unusable),
            Err(ConnectorError::InvalidSettings(_))
        ));
    }

    #[test]
    fn a_narrower_tolerance_refuses_what_the_default_accepts() {
        let body = CHECKOUT.as_bytes();
        let recent = headers(Some(signed_header(SECRET, NOW - 120, body)));
        assert_eq!(verify(&recent, body), Ok(()));
        let narrow = serde_json::json!({"tolerance_secs": 60});
        assert!(matches!(
            Stripe.verify(&request(&recent, body), &[SECRET], at(NOW), &narrow),
            Err(ConnectorError::BadSignature(_))
        ));
    }

    #[test]
    fn missing_or_garbled_headers_and_missing_secrets_are_refused() {
        let body = CHECKOUT.as_bytes();
        for header in [
            None,
            Some("v1=abcd".to_owned()),
            Some("t=1700000000".into()),
        ] {
            assert!(matches!(
                verify(&headers(header), body),
                Err(ConnectorError::BadSignature(_))
            ));
        }
        let headers = headers(Some(signed_header(SECRET, NOW, body)));
        assert!(matches!(
            Stripe.verify(&request(&headers, body), &[], at(NOW), &Value::Null),
            Err(ConnectorError::BadSignature(_))
        ));
    }

    #[test]
    fn settings_are_checked() {
        assert_eq!(Stripe.check_settings(&Value::Null), Ok(()));
        assert_eq!(
            Stripe.check_settings(&serde_json::json!({"tolerance_secs": 120})),
            Ok(())
        );
        for bad in [
            serde_json::json!({"tolerance_secs": 0}),
            serde_json::json!({"tolerance_secs": -5}),
            serde_json::json!({"tolerence_secs": 60}),
        ] {
            assert!(matches!(
                Stripe.check_settings(&bad),
                Err(ConnectorError::InvalidSettings(_))
            ));
        }
    }

    #[test]
    fn the_external_id_is_the_event_id_and_junk_is_malformed() {
        let headers = BTreeMap::new();
        assert_eq!(
            Stripe.external_id(&request(&headers, CHECKOUT.as_bytes())),
            Ok("evt_1PqR8sLkdIwHu7ix0aBcDeFg".to_owned())
        );
        for junk in [&b"not json"[..], br#"{"type":"invoice.paid"}"#, br#"[1]"#] {
            assert!(matches!(
                Stripe.external_id(&request(&headers, junk)),
                Err(ConnectorError::Malformed(_))
            ));
        }
    }

    #[test]
    fn checkout_session_completed() {
        let touchpoint = parse_fixture(CHECKOUT);
        assert_eq!(touchpoint.external_id, "evt_1PqR8sLkdIwHu7ix0aBcDeFg");
        assert_eq!(touchpoint.event, "checkout.session.completed");
        assert_eq!(touchpoint.channel, Channel::Billing);
        assert_eq!(touchpoint.direction, Direction::Inbound);
        assert_eq!(touchpoint.occurred_at, at(1_718_035_200));
        assert_eq!(touchpoint.subject.as_deref(), Some("Checkout completed"));
        assert_eq!(
            touchpoint.person,
            Person {
                email: Some("Jane.Doe@Example.com".into()),
                phone: Some("+14155550123".into()),
                customer_id: Some("cus_QhR3xYz1AbCdEf".into()),
                name: Some("Jane Doe".into()),
                ..Person::default()
            }
        );
        assert_eq!(
            touchpoint.amount,
            Some(Money {
                minor: 4900,
                currency: "USD".into()
            })
        );
        assert_eq!(
            touchpoint.attribution,
            Attribution {
                source: Some("google".into()),
                medium: Some("cpc".into()),
                campaign: Some("spring_sale".into()),
                content: Some("hero_cta".into()),
                gclid: Some("EAIaIQobChMI8x".into()),
                ..Attribution::default()
            }
        );
        let ids: Vec<(&str, &str)> = touchpoint
            .provider_ids
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                ("checkout_session", "cs_test_a1B2c3D4e5F6g7H8"),
                (
                    "client_reference_id",
                    "utm_source=google&utm_medium=cpc&utm_campaign=spring_sale&gclid=EAIaIQobChMI8x"
                ),
                ("invoice", "in_1PqR8qLkdIwHu7ixInv0001"),
                ("subscription", "sub_1PqR8qLkdIwHu7ixSub0001"),
            ]
        );
        assert!(touchpoint.fields.is_empty());
        assert_eq!(touchpoint.flag, None);
        assert_eq!(touchpoint.call, None);
        assert_eq!(touchpoint.sequence, None);
    }

    #[test]
    fn a_plain_client_reference_is_kept_but_not_read_as_attribution() {
        let body = CHECKOUT.replace(
            "utm_source=google&utm_medium=cpc&utm_campaign=spring_sale&gclid=EAIaIQobChMI8x",
            "cart_8812",
        );
        let touchpoint = parse_fixture(&body);
        assert_eq!(touchpoint.provider_ids["client_reference_id"], "cart_8812");
        assert_eq!(
            touchpoint.attribution,
            Attribution {
                content: Some("hero_cta".into()),
                ..Attribution::default()
            }
        );
    }

    #[test]
    fn invoice_paid() {
        let touchpoint = parse_fixture(INVOICE);
        assert_eq!(touchpoint.external_id, "evt_1PqR9aLkdIwHu7ixInvPaid1");
        assert_eq!(touchpoint.event, "invoice.paid");
        assert_eq!(touchpoint.occurred_at, at(1_718_035_260));
        assert_eq!(touchpoint.subject.as_deref(), Some("Invoice paid"));
        assert_eq!(
            touchpoint.person,
            Person {
                email: Some("jane.doe@example.com".into()),
                phone: Some("+14155550123".into()),
                customer_id: Some("cus_QhR3xYz1AbCdEf".into()),
                name: Some("Jane Doe".into()),
                ..Person::default()
            }
        );
        assert_eq!(
            touchpoint.amount,
            Some(Money {
                minor: 4900,
                currency: "EUR".into()
            })
        );
        assert_eq!(
            touchpoint.attribution.campaign.as_deref(),
            Some("spring_sale")
        );
        assert_eq!(
            touchpoint.provider_ids["invoice"],
            "in_1PqR8qLkdIwHu7ixInv0001"
        );
        assert_eq!(
            touchpoint.provider_ids["subscription"],
            "sub_1PqR8qLkdIwHu7ixSub0001"
        );
        assert_eq!(touchpoint.provider_ids.len(), 2);
    }

    #[test]
    fn charge_succeeded() {
        let touchpoint = parse_fixture(CHARGE);
        assert_eq!(touchpoint.external_id, "evt_3PqRAbLkdIwHu7ix1Chg0001");
        assert_eq!(touchpoint.subject.as_deref(), Some("Payment received"));
        assert_eq!(touchpoint.summary.as_deref(), Some("Onboarding workshop"));
        assert_eq!(
            touchpoint.person,
            Person {
                email: Some("billing@acme.example".into()),
                name: Some("Acme Billing".into()),
                ..Person::default()
            }
        );
        assert_eq!(
            touchpoint.amount,
            Some(Money {
                minor: 150000,
                currency: "JPY".into()
            })
        );
        assert_eq!(touchpoint.attribution.fbclid.as_deref(), Some("IwAR0abc"));
        assert_eq!(
            touchpoint.provider_ids["charge"],
            "ch_3PqRAbLkdIwHu7ix1Chg0001"
        );
        assert_eq!(
            touchpoint.provider_ids["payment_intent"],
            "pi_3PqRAbLkdIwHu7ix1Pay0001"
        );
    }

    #[test]
    fn customer_created() {
        let touchpoint = parse_fixture(CUSTOMER);
        assert_eq!(touchpoint.subject.as_deref(), Some("New customer"));
        assert_eq!(
            touchpoint.person,
            Person {
                email: Some("ops@globex.example".into()),
                phone: Some("+44 20 7946 0018".into()),
                customer_id: Some("cus_QhS9mNoPqRsTuV".into()),
                name: Some("Hank Scorpio".into()),
                company: Some("Globex Corporation".into()),
                ..Person::default()
            }
        );
        assert_eq!(touchpoint.amount, None);
        assert_eq!(touchpoint.attribution.source.as_deref(), Some("linkedin"));
        assert!(touchpoint.provider_ids.is_empty());
    }

    #[test]
    fn subscriptions_sum_their_items() {
        let started = parse_fixture(SUBSCRIPTION);
        assert_eq!(started.subject.as_deref(), Some("Subscription started"));
        assert_eq!(
            started.person,
            Person {
                customer_id: Some("cus_QhR3xYz1AbCdEf".into()),
                ..Person::default()
            }
        );
        assert_eq!(
            started.amount,
            Some(Money {
                minor: 2900 + 3 * 1000,
                currency: "USD".into()
            })
        );
        assert_eq!(
            started.provider_ids["subscription"],
            "sub_1PqR8qLkdIwHu7ixSub0001"
        );
        assert_eq!(
            started.provider_ids["invoice"],
            "in_1PqR8qLkdIwHu7ixInv0001"
        );

        let ended = parse_fixture(SUBSCRIPTION_DELETED);
        assert_eq!(ended.event, "customer.subscription.deleted");
        assert_eq!(ended.subject.as_deref(), Some("Subscription canceled"));
        assert_eq!(ended.occurred_at, at(1_720_627_200));
        assert_eq!(ended.amount.map(|money| money.minor), Some(2900));
    }

    #[test]
    fn untracked_and_incomplete_events() {
        let headers = BTreeMap::new();
        let untracked = br#"{"id":"evt_2","type":"payment_intent.created","created":1}"#;
        assert_eq!(
            Stripe.parse(&request(&headers, untracked), &Value::Null),
            Ok(vec![])
        );
        let no_created = br#"{"id":"evt_3","type":"invoice.paid","data":{"object":{}}}"#;
        assert!(matches!(
            Stripe.parse(&request(&headers, no_created), &Value::Null),
            Err(ConnectorError::Malformed(_))
        ));
        let bare = br#"{"id":"evt_4","type":"charge.succeeded","created":1700000000,"data":{"object":{"amount":"x","customer":7}}}"#;
        let touchpoints = Stripe
            .parse(&request(&headers, bare), &Value::Null)
            .unwrap();
        assert_eq!(touchpoints[0].amount, None);
        assert_eq!(touchpoints[0].person, Person::default());
    }
}
