//! Live updates (served over graphql-transport-ws at `/graphql/ws`). Events only name records;
//! each one is re-read with the subscriber's row rules before it is sent, so a subscription
//! shows exactly what a query by the same caller would, and records the caller may not see are
//! skipped without a trace.

use async_graphql::{Context, ID, Subscription as SubscriptionRoot};
use entity::{activity, lead, touchpoint};
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    events::Event,
    graphql::{
        ContextExt,
        changes::uuid,
        imports::{self, ImportRun},
        types::{Activity, Lead, Touchpoint},
    },
    services::{Services, records, scope},
};

pub struct Subscription;

#[SubscriptionRoot]
impl Subscription {
    /// A lead the caller may see, each time it is created, changed, archived or restored.
    async fn lead_changed(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = async_graphql::Result<Lead>> + use<>> {
        let (svc, actor) = caller(ctx)?;
        Ok(
            visible_records::<lead::Entity>(svc, actor, |event| match event {
                Event::LeadChanged { lead_id } => Some(lead_id),
                _ => None,
            })?
            .map(|lead| lead.map(Lead)),
        )
    }

    /// Each touchpoint recorded on the lead from now on. Refused when the caller may not see
    /// the lead; stays silent while the lead is out of the caller's sight.
    async fn touchpoint_added(
        &self,
        ctx: &Context<'_>,
        lead_id: ID,
    ) -> Result<impl Stream<Item = async_graphql::Result<Touchpoint>> + use<>> {
        let (svc, actor) = caller(ctx)?;
        let lead_id = uuid("leadId", &lead_id)?;
        // Subscribed before the check, so nothing committed after the check is missed.
        let events = svc.events.subscribe();
        records::get::<lead::Entity>(&svc.db, &actor, lead_id).await?;
        Ok(events.filter_map(move |event| {
            let (svc, actor) = (svc.clone(), actor.clone());
            async move {
                let Event::TouchpointAdded {
                    lead_id: of,
                    touchpoint_id,
                } = event
                else {
                    return None;
                };
                if of != lead_id {
                    return None;
                }
                if let Err(error) = records::get::<lead::Entity>(&svc.db, &actor, lead_id).await {
                    return unless_hidden(error);
                }
                match records::get::<touchpoint::Entity>(&svc.db, &actor, touchpoint_id).await {
                    Ok(touchpoint) => Some(Ok(Touchpoint(touchpoint))),
                    Err(error) => unless_hidden(error),
                }
            }
        }))
    }

    /// An import the caller started (any, for an admin) as it is now, then after each batch,
    /// until it is done or failed.
    async fn import_progressed(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<impl Stream<Item = async_graphql::Result<ImportRun>> + use<>> {
        imports::progress(ctx, id).await
    }

    /// An open activity the caller may see, when its due time passes.
    async fn activity_due(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = async_graphql::Result<Activity>> + use<>> {
        let (svc, actor) = caller(ctx)?;
        Ok(
            visible_records::<activity::Entity>(svc, actor, |event| match event {
                Event::ActivityDue { activity_id } => Some(activity_id),
                _ => None,
            })?
            // Done or archived between the announcement and now: no longer due.
            .filter(|activity: &async_graphql::Result<activity::Model>| {
                let still_open = match activity {
                    Ok(activity) => !activity.done && activity.archived_at.is_none(),
                    Err(_) => true,
                };
                std::future::ready(still_open)
            })
            .map(|activity| activity.map(Activity)),
        )
    }
}

fn caller(ctx: &Context<'_>) -> Result<(Services, Actor)> {
    Ok((ctx.services().clone(), ctx.actor()?.clone()))
}

/// The records of `E` the events name (`pick`), as `actor` may see them now. A role that may
/// not read `E` at all is refused up front rather than left listening to silence.
fn visible_records<E: records::Record>(
    svc: Services,
    actor: Actor,
    pick: fn(Event) -> Option<Uuid>,
) -> Result<impl Stream<Item = async_graphql::Result<E::Model>> + use<E>> {
    scope::visible::<E>(&actor)?;
    Ok(svc.events.subscribe().filter_map(move |event| {
        let (svc, actor) = (svc.clone(), actor.clone());
        async move {
            let id = pick(event)?;
            match records::get::<E>(&svc.db, &actor, id).await {
                Ok(record) => Some(Ok(record)),
                Err(error) => unless_hidden(error),
            }
        }
    }))
}

/// Skips a record the caller may not see; any other failure reaches the subscriber.
fn unless_hidden<T>(error: AppError) -> Option<async_graphql::Result<T>> {
    match error {
        AppError::NotFound(_) | AppError::Forbidden(_) => None,
        error => Some(Err(error.into())),
    }
}
