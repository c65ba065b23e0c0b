//! The integrations hub: the one path every touchpoint takes. A provider's request, a delivery,
//! is verified and stored whole, with the time it was received, by [`inbox`] before the
//! provider hears back; the [`worker`] later claims the delivery and [`process`] turns it into
//! touchpoints on the right lead or contact ([`identity`]), with its source classified
//! ([`attribution`]), its texts cut to size ([`bounds`]) and fit for either store
//! ([`storable`]), and hands each lead to the scoring and lifecycle seam ([`lifecycle`]).
//! Admins configure connectors and replay deliveries through [`admin`]. Provider formats live
//! in the `connectors` crate; nothing here knows one. Nor does anything here write a record
//! itself: every lead, contact point, touchpoint and activity goes through `services::records`,
//! inside the worker's transaction.

pub mod admin;
pub mod attribution;
pub mod bounds;
pub mod identity;
pub mod inbox;
pub mod lifecycle;
pub mod process;
pub mod secrets;
pub mod storable;
pub mod worker;

use std::sync::Arc;

use tokio::sync::Notify;

/// What the hub's parts share: the key that opens connector secrets and the worker's doorbell.
/// Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    pub secrets: secrets::SecretBox,
    doorbell: Arc<Notify>,
}

impl Hub {
    pub fn new(secrets: secrets::SecretBox) -> Self {
        Hub {
            secrets,
            doorbell: Arc::new(Notify::new()),
        }
    }

    /// Tells this process's worker a delivery is waiting, so it need not wait for its next poll.
    pub fn wake_worker(&self) {
        self.doorbell.notify_one();
    }

    pub(crate) async fn woken(&self) {
        self.doorbell.notified().await;
    }
}

/// The provider module that speaks a stored connector kind's wire format.
pub fn provider(kind: entity::enums::ConnectorKind) -> connectors::Kind {
    use entity::enums::ConnectorKind as K;
    match kind {
        K::Stripe => connectors::Kind::Stripe,
        K::Twilio => connectors::Kind::Twilio,
        K::SendgridEvents => connectors::Kind::SendgridEvents,
        K::SendgridInbound => connectors::Kind::SendgridInbound,
        K::Mailgun => connectors::Kind::Mailgun,
        K::Postmark => connectors::Kind::Postmark,
        K::WebForm => connectors::Kind::WebForm,
        K::Typeform => connectors::Kind::Typeform,
        K::Calendly => connectors::Kind::Calendly,
        K::StandardWebhooks => connectors::Kind::StandardWebhooks,
    }
}
