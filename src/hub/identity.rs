//! Identity resolution: who a touchpoint is about. The keys, strongest first: the provider's
//! customer id (a Stripe `cus_…` once linked stays linked), the normalized email address (case
//! folded, plus-addressing kept), the E.164 phone number. A contact wins over a lead with the
//! same key, and a converted lead hands over to the contact it became. Nobody matching means
//! a new lead, created from what the provider told us, with the provider as its source.
//!
//! A sender whose email or phone does not normalise (an invalid or unassigned number such as
//! `+15550001111`, an alphanumeric sender id such as `ACME`, a malformed address) is not lost:
//! the value is kept as it came, trimmed, as a raw key. When nothing better names the person,
//! the raw key finds them through a contact point of that kind holding the raw value, flagged
//! not normalised, or makes a new lead that gets that point. Raw keys match only exactly; they
//! never fill a lead's email or phone, which hold canonical values alone.
//!
//! Resolution is race-free: workers lock the keys they resolve ([`lock`]) before looking them
//! up, so two deliveries about one new person make one lead, the second finding the first's.

use connectors::Person;
use entity::{contact, contact_point, enums::ContactPointKind, lead};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::Result,
    events::Event,
    hub::bounds,
    services::{
        contact_points, leads,
        records::{self, Record},
    },
    validate,
};

/// The record a touchpoint lands on.
#[derive(Debug, Clone, Default)]
pub struct Party {
    pub lead: Option<lead::Model>,
    pub contact: Option<contact::Model>,
    /// The lead was created for this touchpoint.
    pub created: bool,
}

impl Party {
    pub fn lead_id(&self) -> Option<Uuid> {
        self.lead.as_ref().map(|lead| lead.id)
    }

    pub fn contact_id(&self) -> Option<Uuid> {
        self.contact.as_ref().map(|contact| contact.id)
    }

    pub fn account_id(&self) -> Option<Uuid> {
        self.contact.as_ref().and_then(|contact| contact.account_id)
    }
}

/// A person's keys, normalized; an email or phone that does not normalise becomes a raw key
/// rather than failing the event (a provider's garbage phone field should not block an invoice)
/// or being dropped (it may be all we know of the sender).
#[derive(Debug, Clone, Default)]
pub struct Keys {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub customer_id: Option<String>,
    /// Emails and phones that did not normalise, as they came (trimmed; one too long to index
    /// is kept as its digest, which still tells senders apart).
    pub raw: Vec<(ContactPointKind, String)>,
}

impl Keys {
    pub fn of(person: &Person, phone_region: &str) -> Self {
        let mut raw = Vec::new();
        let email = canonical_or_raw(ContactPointKind::Email, &person.email, &mut raw, |v| {
            validate::email("email", v)
        });
        let phone = canonical_or_raw(ContactPointKind::Phone, &person.phone, &mut raw, |v| {
            validate::phone("phone", v, phone_region)
        });
        Keys {
            email,
            phone,
            customer_id: person
                .customer_id
                .as_deref()
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
            raw,
        }
    }

    fn is_empty(&self) -> bool {
        self.email.is_none()
            && self.phone.is_none()
            && self.customer_id.is_none()
            && self.raw.is_empty()
    }

    /// What [`lock`] locks to resolve these keys: each key on its own, so deliveries that
    /// share any key about one person wait for each other.
    pub fn lock_names(&self, provider: &str) -> Vec<String> {
        let email = self.email.iter().map(|email| format!("email {email}"));
        let phone = self.phone.iter().map(|phone| format!("phone {phone}"));
        let customer = self
            .customer_id
            .iter()
            .map(|id| format!("customer {provider} {id}"));
        let raw = self
            .raw
            .iter()
            .map(|(kind, value)| format!("raw {} {value}", kind.as_str()));
        email.chain(phone).chain(customer).chain(raw).collect()
    }
}

/// The canonical form of a non-blank `value`, or `None` with `value` added to `raw` as it came.
fn canonical_or_raw(
    kind: ContactPointKind,
    value: &Option<String>,
    raw: &mut Vec<(ContactPointKind, String)>,
    normalize: impl Fn(&str) -> Result<String>,
) -> Option<String> {
    let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
    match normalize(value) {
        Ok(canonical) => Some(canonical),
        Err(_) => {
            let mut kept = value.to_owned();
            bounds::key(&mut kept);
            raw.push((kind, kept));
            None
        }
    }
}

/// Holds `names` until the transaction ends, so deliveries that share a key about one person
/// wait for each other; see [`crate::db::lock`].
pub async fn lock(txn: &DatabaseTransaction, names: &[String]) -> Result<()> {
    crate::db::lock(txn, names).await
}

/// Finds the lead or contact behind `keys`; `None` when nobody matches.
pub async fn find(txn: &DatabaseTransaction, provider: &str, keys: &Keys) -> Result<Option<Party>> {
    if let Some(customer_id) = &keys.customer_id
        && let Some(point) =
            contact_points::find(txn, ContactPointKind::CustomerId, provider, customer_id).await?
    {
        return party(txn, point.lead_id, point.contact_id).await;
    }
    if let Some(email) = &keys.email {
        if let Some(contact) = contact::Entity::find()
            .filter(contact::Column::Email.eq(email.as_str()))
            .one(txn)
            .await?
        {
            return party(txn, None, Some(contact.id)).await;
        }
        if let Some(lead) = lead::Entity::find()
            .filter(lead::Column::Email.eq(email.as_str()))
            .one(txn)
            .await?
        {
            return party(txn, Some(lead.id), lead.converted_contact_id).await;
        }
    }
    if let Some(phone) = &keys.phone {
        if let Some(contact) = contact::Entity::find()
            .filter(contact::Column::Phone.eq(phone.as_str()))
            .one(txn)
            .await?
        {
            return party(txn, None, Some(contact.id)).await;
        }
        if let Some(lead) = lead::Entity::find()
            .filter(lead::Column::Phone.eq(phone.as_str()))
            .one(txn)
            .await?
        {
            return party(txn, Some(lead.id), lead.converted_contact_id).await;
        }
    }
    for (kind, value) in &keys.raw {
        if let Some(point) = contact_points::find(txn, *kind, "", value).await? {
            return party(txn, point.lead_id, point.contact_id).await;
        }
    }
    Ok(None)
}

/// The record with `id`, or the one it was merged into: a touch for a merged-away person lands
/// on the person they became.
async fn live<E: Record>(txn: &DatabaseTransaction, id: Uuid) -> Result<Option<E::Model>> {
    let by_id = |id: Uuid| E::find().filter(E::id_column().eq(id));
    let Some(mut found) = by_id(id).one(txn).await? else {
        return Ok(None);
    };
    // Merges point every tombstone at the final survivor; the bound only guards a bad row.
    for _ in 0..4 {
        let Some(survivor) = records::merged_into::<E>(&found) else {
            break;
        };
        match by_id(survivor).one(txn).await? {
            Some(next) => found = next,
            None => break,
        }
    }
    Ok(Some(found))
}

/// Loads the records a contact point, lead or touchpoint points at; a converted lead's contact
/// comes along.
pub async fn party(
    txn: &DatabaseTransaction,
    lead_id: Option<Uuid>,
    contact_id: Option<Uuid>,
) -> Result<Option<Party>> {
    let lead = match lead_id {
        Some(id) => live::<lead::Entity>(txn, id).await?,
        None => None,
    };
    let contact_id = contact_id.or(lead.as_ref().and_then(|l| l.converted_contact_id));
    let contact = match contact_id {
        Some(id) => live::<contact::Entity>(txn, id).await?,
        None => None,
    };
    Ok((lead.is_some() || contact.is_some()).then_some(Party {
        lead,
        contact,
        created: false,
    }))
}

/// A new, unassigned lead for an unknown sender, its change event kept in `events`; the
/// lifecycle seam assigns it once its first touch has given it sources and scores. `None` when
/// the touchpoint names nobody at all.
pub async fn create_lead(
    txn: &DatabaseTransaction,
    actor: &Actor,
    provider: &str,
    person: &Person,
    keys: &Keys,
    events: &mut Vec<Event>,
) -> Result<Option<Party>> {
    let (first_name, last_name) = names(person);
    let company = clean(person.company.as_deref());
    if keys.is_empty() && last_name.is_none() && company.is_none() {
        return Ok(None);
    }
    let lead = lead::ActiveModel {
        first_name: Set(first_name),
        last_name: Set(last_name),
        email: Set(keys.email.clone()),
        phone: Set(keys.phone.clone()),
        company: Set(company),
        title: Set(clean(person.title.as_deref())),
        lead_source: Set(Some(provider.to_owned())),
        ..leads::blank()
    };
    let created = records::insert_in::<lead::Entity>(txn, actor, lead)
        .await?
        .keep_event_in(events);
    Ok(Some(Party {
        lead: Some(created),
        contact: None,
        created: true,
    }))
}

/// Links the provider's customer id to the party, unless it is linked already (to anyone). The
/// delivery holds the lock on the id ([`lock`]), so looking it up and then writing is race-free.
pub async fn link_customer_id(
    txn: &DatabaseTransaction,
    actor: &Actor,
    provider: &str,
    customer_id: &str,
    party: &Party,
    events: &mut Vec<Event>,
) -> Result<()> {
    let kind = ContactPointKind::CustomerId;
    if contact_points::find(txn, kind, provider, customer_id)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let point = contact_points::first_seen(
        kind,
        provider,
        customer_id.to_owned(),
        party.lead_id(),
        party.contact_id(),
    );
    records::insert_in::<contact_point::Entity>(txn, actor, point)
        .await?
        .keep_event_in(events);
    Ok(())
}

/// Files each raw key the party has no contact point for yet as one, flagged not normalised,
/// so the sender's next touch finds them. The delivery holds the lock on each ([`lock`]).
pub async fn link_raw_keys(
    txn: &DatabaseTransaction,
    actor: &Actor,
    keys: &Keys,
    party: &Party,
    events: &mut Vec<Event>,
) -> Result<()> {
    for (kind, value) in &keys.raw {
        if contact_points::find(txn, *kind, "", value).await?.is_some() {
            continue;
        }
        let mut point = contact_points::first_seen(
            *kind,
            "",
            value.clone(),
            party.lead_id(),
            party.contact_id(),
        );
        point.normalized = Set(false);
        records::insert_in::<contact_point::Entity>(txn, actor, point)
            .await?
            .keep_event_in(events);
    }
    Ok(())
}

/// First and last name, splitting a whole name at its last space when the provider gave one.
fn names(person: &Person) -> (Option<String>, Option<String>) {
    let first = clean(person.first_name.as_deref());
    let last = clean(person.last_name.as_deref());
    if first.is_some() || last.is_some() {
        return (first, last);
    }
    match clean(person.name.as_deref()) {
        Some(name) => match name.rsplit_once(' ') {
            Some((first, last)) => (Some(first.trim().to_owned()), Some(last.to_owned())),
            None => (None, Some(name)),
        },
        None => (None, None),
    }
}

fn clean(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.chars().take(200).collect())
}
