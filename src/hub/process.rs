//! Processing one stored delivery, inside the transaction that marks it processed: parse it
//! with its connector, find or create the person each touchpoint is about, record the
//! touchpoint with its source, keep the lead's first and latest touch, log ended calls as call
//! activities and flag contact points. Everything commits together or not at all, so a
//! delivery is processed exactly once however often it is attempted. Every row it writes goes
//! through the record lifecycle (`records::*_in`), which writes the audit row and hands back
//! the change event the worker publishes after its commit.
//!
//! A delivery that proved nothing about its sender (an unsigned web form) may create a lead,
//! but on a lead or contact that existed before it only leaves a touchpoint marked unverified:
//! anyone can post such a form with someone else's email address. A sender whose email or phone
//! does not normalise is not dropped: it is kept raw and found or filed as a contact point
//! flagged not normalised ([`identity`]), so the touch still lands on a person. A touch that
//! names nobody (no email, phone, customer id or name, however raw) is refused with that reason
//! rather than recorded on no timeline or marked processed with nothing written. A provider's
//! time after the delivery's receipt or before [`EARLIEST_TOUCH`] is replaced by the receipt.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use connectors::{ContactFlag, InboundRequest, NormalizedTouchpoint};
use entity::{
    activity, campaign, connector, contact_point, delivery,
    enums::{ActivityKind, ContactPointKind, Direction, SourceCategory, TouchpointChannel},
    lead, touchpoint,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    events::Event,
    hub::{
        attribution,
        identity::{self, Keys, Party},
        lifecycle, storable,
    },
    services::{activities, assignments, contact_points, records},
};

/// What processing a delivery did, for its row and for subscribers once it commits.
#[derive(Debug, Default)]
pub struct Processed {
    pub touchpoints: i32,
    /// The change events of its writes, each once.
    pub events: Vec<Event>,
}

/// Everything processing needs besides the transaction.
pub struct Context<'a> {
    pub actor: &'a Actor,
    pub phone_region: &'a str,
    /// Whether the leads touches reach are scored, qualified and assigned as they are recorded.
    pub sales_engine: bool,
}

#[tracing::instrument(skip_all, fields(delivery = %delivery.id, connector = %connector.id))]
pub async fn delivery(
    txn: &DatabaseTransaction,
    cx: &Context<'_>,
    connector: &connector::Model,
    delivery: &delivery::Model,
) -> Result<Processed> {
    let headers: BTreeMap<String, String> =
        serde_json::from_value(delivery.headers.clone()).map_err(AppError::internal)?;
    let request = InboundRequest {
        headers: &headers,
        body: &delivery.body,
        url: &delivery.url,
        received_at: delivery.received_at,
    };
    let kind = super::provider(connector.kind);
    let parsed = kind
        .connector()
        .parse(&request, &connector.settings)
        .map_err(|e| AppError::bad_input("body", e.to_string()))?
        .into_iter()
        .map(|mut normalized| {
            super::bounds::bound(&mut normalized);
            storable::touchpoint(normalized)
        })
        .collect::<Result<Vec<_>>>()?;
    let provider = connector.kind.as_str();
    let mut locks = Vec::new();
    let mut touches = Vec::new();
    for normalized in parsed {
        let keys = Keys::of(&normalized.person, cx.phone_region);
        locks.extend(keys.lock_names(provider));
        locks.push(format!("touch {} {}", connector.id, normalized.external_id));
        touches.push((normalized, keys));
    }
    // Deliveries about one person, or one touch, wait for each other rather than collide.
    identity::lock(txn, &locks).await?;
    let mut processed = Processed::default();
    let mut events = Vec::new();
    for (normalized, keys) in touches {
        if record(txn, cx, connector, delivery, normalized, keys, &mut events).await? {
            processed.touchpoints += 1;
        }
    }
    processed.events = once_each(events);
    Ok(processed)
}

/// Each event once, where it was last heard: a lead created, then attributed by the same
/// delivery has changed once by the time anyone hears of it.
fn once_each(events: Vec<Event>) -> Vec<Event> {
    let mut kept: Vec<Event> = Vec::with_capacity(events.len());
    for event in events.into_iter().rev() {
        if !kept.contains(&event) {
            kept.push(event);
        }
    }
    kept.reverse();
    kept
}

/// The earliest time a touch may claim: no provider here existed before it, so an earlier time
/// is a broken clock or a zero, and it would stay the lead's first touch for good.
pub const EARLIEST_TOUCH: NaiveDate = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid date");

/// Records one touchpoint, or updates the one recorded under its external id when this is a
/// later state of the same thing (a call's next status), keeping the change events of its
/// writes in `events`. False when it was already recorded.
async fn record(
    txn: &DatabaseTransaction,
    cx: &Context<'_>,
    connector: &connector::Model,
    delivery: &delivery::Model,
    mut normalized: NormalizedTouchpoint,
    keys: Keys,
    events: &mut Vec<Event>,
) -> Result<bool> {
    let provider = connector.kind.as_str();
    if let Some(existing) = touchpoint::Entity::find()
        .filter(touchpoint::Column::ConnectorId.eq(connector.id))
        .filter(touchpoint::Column::ExternalId.eq(normalized.external_id.as_str()))
        .one(txn)
        .await?
    {
        // Only the provider itself may move a touch it reported on.
        if !delivery.verified {
            return Ok(false);
        }
        return update_existing(txn, cx, existing, delivery, &normalized, events).await;
    }

    let party = match identity::find(txn, provider, &keys).await? {
        Some(party) => party,
        None => identity::create_lead(txn, cx.actor, provider, &normalized.person, &keys, events)
            .await?
            .ok_or_else(|| names_nobody(&normalized))?,
    };
    // Anyone may send an unverified delivery: it may make a new lead, but not change a record
    // that was there before it (fields, sources, activities). Nor may it link a provider's
    // customer id or flag an address, which later verified events would trust.
    let may_change = delivery.verified || party.created;
    if delivery.verified
        && let Some(customer_id) = &keys.customer_id
    {
        identity::link_customer_id(txn, cx.actor, provider, customer_id, &party, events).await?;
    }
    if may_change {
        identity::link_raw_keys(txn, cx.actor, &keys, &party, events).await?;
    }

    let claimed_at = normalized.occurred_at;
    normalized.occurred_at = placed_in_time(claimed_at, delivery.received_at);
    let category = attribution::classify(&normalized.attribution, normalized.channel);
    let campaign_id = matching_campaign(txn, normalized.attribution.campaign.as_deref()).await?;
    let mut details = details_of(&normalized);
    if claimed_at != normalized.occurred_at {
        details["claimed_occurred_at"] = json!(claimed_at);
    }
    if party.created {
        // Scoring counts an unverified touch only on the lead it made.
        details["created_lead"] = json!(true);
    }
    let activity_id = match &normalized.call {
        Some(call) if call.ended && may_change => {
            Some(log_call(txn, cx, &party, &normalized, None, events).await?)
        }
        _ => None,
    };
    if let Some(activity_id) = activity_id {
        details["activity_id"] = json!(activity_id);
    }
    let a = &normalized.attribution;
    let touchpoint = touchpoint::ActiveModel {
        id: Set(Uuid::now_v7()),
        lead_id: Set(party.lead_id()),
        contact_id: Set(party.contact_id()),
        account_id: Set(party.account_id()),
        campaign_id: Set(campaign_id),
        channel: Set(channel(normalized.channel)),
        direction: Set(Some(direction(normalized.direction))),
        source: Set(a.source.clone().or_else(|| Some(provider.to_owned()))),
        medium: Set(a.medium.clone()),
        campaign: Set(a.campaign.clone()),
        term: Set(a.term.clone()),
        content: Set(a.content.clone()),
        referrer: Set(a.referrer.clone()),
        landing_page: Set(a.landing_page.clone()),
        gclid: Set(a.gclid.clone()),
        fbclid: Set(a.fbclid.clone()),
        msclkid: Set(a.msclkid.clone()),
        source_category: Set(Some(category)),
        subject: Set(normalized.subject.clone()),
        summary: Set(normalized.summary.clone()),
        amount_minor: Set(normalized.amount.as_ref().map(|m| m.minor)),
        currency: Set(normalized.amount.as_ref().map(|m| m.currency.clone())),
        occurred_at: Set(normalized.occurred_at),
        created_by: Set(None),
        created_at: Set(Utc::now()),
        connector_id: Set(Some(connector.id)),
        delivery_id: Set(Some(delivery.id)),
        external_id: Set(Some(normalized.external_id.clone())),
        event: Set(Some(normalized.event.clone())),
        sequence: Set(normalized.sequence),
        details: Set(Some(details)),
        verified: Set(delivery.verified),
    };
    let created = records::insert_in::<touchpoint::Entity>(txn, cx.actor, touchpoint)
        .await?
        .keep_event_in(events);
    // Reaching out to the lead is a response to its assignment, whoever's system sent it.
    if created.direction == Some(Direction::Outbound)
        && let Some(lead_id) = created.lead_id
    {
        assignments::note_response_in(txn, lead_id, created.occurred_at).await?;
    }

    if let Some(flag) = normalized.flag
        && delivery.verified
    {
        flag_contact_point(txn, cx, &party, &keys, flag, normalized.occurred_at, events).await?;
    }
    if let Some(lead) = party.lead.clone()
        && may_change
    {
        let touch = Touch {
            normalized: &normalized,
            touchpoint: &created,
            category,
        };
        let (lead, prepared) = touch_lead(txn, cx, lead, &party, &touch, events).await?;
        if cx.sales_engine {
            let made = party.created;
            lifecycle::touchpoint_recorded(txn, lead, &created, prepared, made, events).await?;
        }
    }
    Ok(true)
}

/// A touch with no email, phone, customer id or name could be on no one's timeline.
fn names_nobody(normalized: &NormalizedTouchpoint) -> AppError {
    AppError::bad_input(
        "person",
        format!(
            "{} {} names nobody: no email, phone, customer id or name",
            normalized.event, normalized.external_id
        ),
    )
}

/// When a touch happened: the provider's time, unless it is after the delivery arrived (no
/// touch happens after it is reported; year 5138 is a broken clock) or before
/// [`EARLIEST_TOUCH`]; then the time the delivery arrived.
fn placed_in_time(claimed: DateTime<Utc>, received: DateTime<Utc>) -> DateTime<Utc> {
    let earliest = EARLIEST_TOUCH.and_time(chrono::NaiveTime::MIN).and_utc();
    if claimed > received || claimed < earliest {
        received
    } else {
        claimed
    }
}

/// A later delivery about an already recorded touchpoint: a higher sequence moves it on (and
/// logs the call once it ends); anything else is a repeat or arrived late, and changes nothing
/// (false). A recording callback carries no sequence: it only adds the recording link.
async fn update_existing(
    txn: &DatabaseTransaction,
    cx: &Context<'_>,
    existing: touchpoint::Model,
    delivery: &delivery::Model,
    normalized: &NormalizedTouchpoint,
    events: &mut Vec<Event>,
) -> Result<bool> {
    let newer = match (normalized.sequence, existing.sequence) {
        (Some(new), Some(old)) => new > old,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let recording = normalized
        .call
        .as_ref()
        .and_then(|call| call.recording_url.clone());
    if !newer && recording.is_none() {
        return Ok(false);
    }
    let mut details = existing.details.clone().unwrap_or_else(|| json!({}));
    if newer {
        merge(&mut details, details_of(normalized));
    }
    if let Some(url) = &recording {
        details["call"]["recording_url"] = json!(url);
    }
    let activity_id = details["activity_id"]
        .as_str()
        .and_then(|id| id.parse::<Uuid>().ok());
    let ended = normalized.call.as_ref().is_some_and(|call| call.ended);
    match activity_id {
        Some(activity_id) => update_call_activity(txn, cx, activity_id, &details, events).await?,
        None if newer && ended => {
            let party = identity::party(txn, existing.lead_id, existing.contact_id)
                .await?
                .unwrap_or_default();
            let id = log_call(txn, cx, &party, normalized, Some(&details), events).await?;
            details["activity_id"] = json!(id);
        }
        None => {}
    }
    records::update_in::<touchpoint::Entity, _>(
        txn,
        cx.actor,
        existing.id,
        "update",
        async |_, _, active| {
            if newer {
                active.event = Set(Some(normalized.event.clone()));
                active.sequence = Set(normalized.sequence);
                active.delivery_id = Set(Some(delivery.id));
                if normalized.summary.is_some() {
                    active.summary = Set(normalized.summary.clone());
                }
            }
            active.details = Set(Some(details));
            Ok(())
        },
    )
    .await?
    .keep_event_in(events);
    Ok(true)
}

/// The provider facts a touchpoint keeps beyond its columns.
fn details_of(normalized: &NormalizedTouchpoint) -> serde_json::Value {
    json!({
        "call": normalized.call,
        "flag": normalized.flag,
        "fields": normalized.fields,
        "provider_ids": normalized.provider_ids,
        "person": normalized.person,
    })
}

/// Overlays `fresh` on `into`, keeping what `fresh` leaves null (a recording link learned
/// earlier survives the call's next status).
fn merge(into: &mut serde_json::Value, fresh: serde_json::Value) {
    match (into, fresh) {
        (serde_json::Value::Object(into), serde_json::Value::Object(fresh)) => {
            for (key, value) in fresh {
                match into.get_mut(&key) {
                    Some(existing) if value.is_object() => merge(existing, value),
                    _ if value.is_null() => {}
                    _ => {
                        into.insert(key, value);
                    }
                }
            }
        }
        (into, fresh) => *into = fresh,
    }
}

/// A finished call becomes a done call activity on the person, assigned to their owner.
async fn log_call(
    txn: &DatabaseTransaction,
    cx: &Context<'_>,
    party: &Party,
    normalized: &NormalizedTouchpoint,
    details: Option<&serde_json::Value>,
    events: &mut Vec<Event>,
) -> Result<Uuid> {
    let call = normalized.call.clone().unwrap_or_default();
    let recording = details
        .and_then(|d| d["call"]["recording_url"].as_str().map(str::to_owned))
        .or(call.recording_url.clone());
    let who = normalized
        .person
        .phone
        .clone()
        .or_else(|| normalized.person.name.clone())
        .unwrap_or_else(|| "unknown caller".into());
    let subject = match normalized.direction {
        connectors::Direction::Inbound => format!("Inbound call from {who} ({})", call.status),
        connectors::Direction::Outbound => format!("Outbound call to {who} ({})", call.status),
    };
    let owner = party
        .lead
        .as_ref()
        .and_then(|l| l.owner_id)
        .or(party.contact.as_ref().and_then(|c| c.owner_id));
    let activity = activity::ActiveModel {
        kind: Set(ActivityKind::Call),
        subject: Set(subject),
        due_at: Set(Some(normalized.occurred_at)),
        done: Set(true),
        completed_at: Set(Some(normalized.occurred_at)),
        lead_id: Set(party.lead_id()),
        contact_id: Set(party.contact_id()),
        account_id: Set(party.account_id()),
        details: Set(Some(json!({
            "call_status": call.status,
            "duration_secs": call.duration_secs,
            "recording_url": recording,
        }))),
        ..activities::blank(owner)
    };
    let created = records::insert_in::<activity::Entity>(txn, cx.actor, activity)
        .await?
        .keep_event_in(events);
    Ok(created.id)
}

/// Keeps the call activity's duration and recording link in step with its touchpoint.
async fn update_call_activity(
    txn: &DatabaseTransaction,
    cx: &Context<'_>,
    activity_id: Uuid,
    touchpoint_details: &serde_json::Value,
    events: &mut Vec<Event>,
) -> Result<()> {
    let Some(before) = activity::Entity::find_by_id(activity_id).one(txn).await? else {
        return Ok(());
    };
    let call = &touchpoint_details["call"];
    let mut details = before.details.clone().unwrap_or_else(|| json!({}));
    for (key, value) in [
        ("recording_url", &call["recording_url"]),
        ("duration_secs", &call["duration_secs"]),
    ] {
        if !value.is_null() {
            details[key] = value.clone();
        }
    }
    if Some(&details) == before.details.as_ref() {
        return Ok(());
    }
    records::update_in::<activity::Entity, _>(
        txn,
        cx.actor,
        activity_id,
        "update",
        async |_, _, active| {
            active.details = Set(Some(details));
            Ok(())
        },
    )
    .await?
    .keep_event_in(events);
    Ok(())
}

/// The campaign whose UTM key the touch carries; keys are stored lowercased.
async fn matching_campaign(
    txn: &DatabaseTransaction,
    utm_campaign: Option<&str>,
) -> Result<Option<Uuid>> {
    let Some(key) = utm_campaign.map(str::trim).filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    Ok(campaign::Entity::find()
        .filter(campaign::Column::UtmCampaign.eq(key.to_lowercase()))
        .one(txn)
        .await?
        .map(|c| c.id))
}

/// Marks the email address (or, without one, the number, or else the raw sender) as bounced, unsubscribed or reported,
/// making its contact point when it is the first report about it. The delivery holds the lock
/// on that key ([`identity::lock`]), so looking the point up and then writing it is race-free.
async fn flag_contact_point(
    txn: &DatabaseTransaction,
    cx: &Context<'_>,
    party: &Party,
    keys: &Keys,
    flag: ContactFlag,
    at: DateTime<Utc>,
    events: &mut Vec<Event>,
) -> Result<()> {
    let (kind, value, normalized) = match (&keys.email, &keys.phone, keys.raw.first()) {
        (Some(email), _, _) => (ContactPointKind::Email, email.clone(), true),
        (None, Some(phone), _) => (ContactPointKind::Phone, phone.clone(), true),
        (None, None, Some((kind, raw))) => (*kind, raw.clone(), false),
        (None, None, None) => return Ok(()),
    };
    let column = match flag {
        ContactFlag::Bounced => contact_point::Column::BouncedAt,
        ContactFlag::Unsubscribed => contact_point::Column::UnsubscribedAt,
        ContactFlag::SpamReported => contact_point::Column::SpamReportedAt,
    };
    let written = match contact_points::find(txn, kind, "", &value).await? {
        Some(point) => {
            records::update_in::<contact_point::Entity, _>(
                txn,
                cx.actor,
                point.id,
                "flag",
                async |_, _, active| {
                    active.set(column, Some(at).into());
                    Ok(())
                },
            )
            .await?
        }
        None => {
            let mut point =
                contact_points::first_seen(kind, "", value, party.lead_id(), party.contact_id());
            point.set(column, Some(at).into());
            point.normalized = Set(normalized);
            records::insert_in::<contact_point::Entity>(txn, cx.actor, point).await?
        }
    };
    written.keep_event_in(events);
    Ok(())
}

/// What a recorded touch tells the lead it landed on.
struct Touch<'a> {
    normalized: &'a NormalizedTouchpoint,
    touchpoint: &'a touchpoint::Model,
    category: SourceCategory,
}

/// Moves the lead's first and latest touch, and fills fields the lead has empty with what the
/// provider told us (a form's company, a caller's name); what sales entered is never overwritten.
/// A touch that moves neither and fills nothing leaves the lead as it is.
async fn touch_lead(
    txn: &DatabaseTransaction,
    cx: &Context<'_>,
    lead: lead::Model,
    party: &Party,
    touch: &Touch<'_>,
    events: &mut Vec<Event>,
) -> Result<(lead::Model, Option<lifecycle::Prepared>)> {
    // Asked of the row in hand, so an idle touch writes nothing; the lifecycle then applies
    // the touch to the row as it reads it.
    if !touched(
        &lead,
        &mut lead.clone().into_active_model(),
        touch,
        cx.phone_region,
    ) {
        return Ok((lead, None));
    }
    let verb = if party.created { "attribute" } else { "touch" };
    let mut prepared = None;
    let written = records::update_in::<lead::Entity, _>(
        txn,
        cx.actor,
        lead.id,
        verb,
        async |txn, before, active| {
            touched(before, active, touch, cx.phone_region);
            // Scores (and a new lead's owner) go in the same write of the row.
            if cx.sales_engine {
                prepared = Some(lifecycle::prepare(txn, active, party.created).await?);
            }
            Ok(())
        },
    )
    .await?;
    Ok((written.keep_event_in(events), prepared))
}

/// Applies the touch to `active`, a copy of `lead`: the first and latest touch when it moves
/// them, and blanks it fills; returns whether it changed anything.
fn touched(
    lead: &lead::Model,
    active: &mut lead::ActiveModel,
    touch: &Touch<'_>,
    phone_region: &str,
) -> bool {
    let (touchpoint, category) = (touch.touchpoint, touch.category);
    let at = touchpoint.occurred_at;
    let mut changed = false;
    if lead.first_touch_at.is_none_or(|first| at < first) {
        active.first_source = Set(touchpoint.source.clone());
        active.first_medium = Set(touchpoint.medium.clone());
        active.first_campaign = Set(touchpoint.campaign.clone());
        active.first_source_category = Set(Some(category));
        active.first_touch_at = Set(Some(at));
        changed = true;
    }
    if lead.latest_touch_at.is_none_or(|latest| at >= latest) {
        active.latest_source = Set(touchpoint.source.clone());
        active.latest_medium = Set(touchpoint.medium.clone());
        active.latest_campaign = Set(touchpoint.campaign.clone());
        active.latest_source_category = Set(Some(category));
        active.latest_touch_at = Set(Some(at));
        changed = true;
    }
    changed |= fill_blanks(lead, active, touch.normalized, phone_region);
    changed
}

/// Copies mapped fields onto a lead where it has nothing yet; returns whether any was copied.
fn fill_blanks(
    lead: &lead::Model,
    active: &mut lead::ActiveModel,
    normalized: &NormalizedTouchpoint,
    phone_region: &str,
) -> bool {
    let mut changed = false;
    let mut fill = |current: &Option<String>,
                    slot: &mut sea_orm::ActiveValue<Option<String>>,
                    value: Option<String>| {
        if current.is_none()
            && let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
        {
            *slot = Set(Some(value.chars().take(200).collect()));
            changed = true;
        }
    };
    let field = |name: &str| normalized.fields.get(name).cloned();
    let person = &normalized.person;
    fill(
        &lead.first_name,
        &mut active.first_name,
        field("first_name").or(person.first_name.clone()),
    );
    fill(
        &lead.last_name,
        &mut active.last_name,
        field("last_name").or(person.last_name.clone()),
    );
    fill(
        &lead.company,
        &mut active.company,
        field("company").or(person.company.clone()),
    );
    fill(
        &lead.title,
        &mut active.title,
        field("title").or(person.title.clone()),
    );
    fill(&lead.website, &mut active.website, field("website"));
    let phone = field("phone")
        .or(person.phone.clone())
        .and_then(|raw| crate::validate::phone("phone", &raw, phone_region).ok());
    fill(&lead.phone, &mut active.phone, phone);

    let mut custom = lead.custom_fields.as_object().cloned().unwrap_or_default();
    let before = custom.len();
    for (name, value) in &normalized.fields {
        if let Some(key) = name.strip_prefix("custom.") {
            custom.entry(key.to_owned()).or_insert_with(|| json!(value));
        }
    }
    if custom.len() != before {
        active.custom_fields = Set(serde_json::Value::Object(custom));
        changed = true;
    }
    changed
}

fn channel(channel: connectors::Channel) -> TouchpointChannel {
    use connectors::Channel as C;
    match channel {
        C::Email => TouchpointChannel::Email,
        C::Call => TouchpointChannel::Call,
        C::Sms => TouchpointChannel::Sms,
        C::WebForm => TouchpointChannel::WebForm,
        C::Billing => TouchpointChannel::Billing,
        C::Meeting => TouchpointChannel::Meeting,
        C::Web => TouchpointChannel::Web,
        C::Other => TouchpointChannel::Other,
    }
}

fn direction(direction: connectors::Direction) -> Direction {
    match direction {
        connectors::Direction::Inbound => Direction::Inbound,
        connectors::Direction::Outbound => Direction::Outbound,
    }
}
