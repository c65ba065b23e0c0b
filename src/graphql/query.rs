//! Read operations.

use async_graphql::{Context, EnumType, ID, InputType, Object, OutputType, Union};
use entity::{account, activity, campaign, contact, lead, opportunity};

use crate::{
    error::Result,
    graphql::{
        ContextExt,
        changes::uuid,
        connection::{Conn, Paging, connection, page_size},
        filters::{
            AccountFilter, AccountOrderField, ActivityFilter, ActivityOrderField, CampaignFilter,
            CampaignOrderField, ContactFilter, ContactOrderField, FilterInput, LeadFilter,
            LeadOrderField, List, OpportunityFilter, OpportunityOrderField, OrderBy, RecordOrderBy,
            order, with_custom_fields,
        },
        types::{Account, Activity, Campaign, Contact, Lead, Opportunity, PipelineStage, User},
    },
    services::{
        custom_order::WithCustomFields,
        pipeline,
        records::{self, Record},
        search::{self, Hit},
        users,
    },
};

#[derive(Default)]
pub struct RecordsQuery;

/// One full-text search match.
#[derive(Union)]
#[allow(clippy::large_enum_variant)]
pub enum SearchResult {
    Lead(Lead),
    Contact(Contact),
    Account(Account),
}

async fn one<E: Record>(ctx: &Context<'_>, id: &ID) -> Result<E::Model> {
    records::get::<E>(&ctx.services().db, ctx.actor()?, uuid("id", id)?).await
}

async fn many<E, T>(
    ctx: &Context<'_>,
    paging: Paging,
    list: List<E::Column, E::OrderField>,
    wrap: impl Fn(E::Model) -> T,
) -> Result<Conn<T>>
where
    E: Record,
    T: OutputType,
{
    let request = paging.request(ctx)?;
    let (filter, order) = list;
    let (db, actor) = (&ctx.services().db, ctx.actor()?);
    let page = records::list::<E>(db, actor, &filter, order, request).await?;
    Ok(connection(page, wrap))
}

/// The filter and order of a list of records with custom fields, checked against them.
async fn custom<E, F, O>(
    ctx: &Context<'_>,
    filter: Option<F>,
    order_by: Option<Vec<RecordOrderBy<O>>>,
) -> Result<List<E::Column, E::OrderField>>
where
    E: WithCustomFields,
    F: FilterInput<Column = E::Column>,
    O: EnumType + InputType + Into<E::OrderField>,
{
    let (db, actor) = (&ctx.services().db, ctx.actor()?);
    with_custom_fields::<E, F, O>(db, actor, filter, order_by).await
}

/// The filter and order of a list of records without custom fields.
fn plain<F, O, S>(
    filter: Option<F>,
    order_by: Option<Vec<OrderBy<O>>>,
) -> Result<List<F::Column, S>>
where
    F: FilterInput,
    O: EnumType + InputType + Into<S>,
{
    let filter = filter.map(F::into_filter).transpose()?.unwrap_or_default();
    Ok((filter, order(order_by)))
}

/// Lists take Relay paging (`first`/`after` or `last`/`before`), a typed `filter` and an
/// `orderBy` list; ties and the default order fall back to creation order.
#[Object]
impl RecordsQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let actor = ctx.actor()?;
        Ok(User(
            users::get(&ctx.services().db, actor, actor.user_id).await?,
        ))
    }

    async fn user(&self, ctx: &Context<'_>, id: ID) -> Result<User> {
        Ok(User(
            users::get(&ctx.services().db, ctx.actor()?, uuid("id", &id)?).await?,
        ))
    }

    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<User>> {
        let request = Paging::new(first, after, last, before).request(ctx)?;
        let page = users::list(&ctx.services().db, ctx.actor()?, request).await?;
        Ok(connection(page, User))
    }

    async fn lead(&self, ctx: &Context<'_>, id: ID) -> Result<Lead> {
        one::<lead::Entity>(ctx, &id).await.map(Lead)
    }

    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn leads(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<LeadFilter>,
        order_by: Option<Vec<RecordOrderBy<LeadOrderField>>>,
    ) -> Result<Conn<Lead>> {
        let paging = Paging::new(first, after, last, before);
        let list = custom::<lead::Entity, _, _>(ctx, filter, order_by).await?;
        many::<lead::Entity, _>(ctx, paging, list, Lead).await
    }

    async fn contact(&self, ctx: &Context<'_>, id: ID) -> Result<Contact> {
        one::<contact::Entity>(ctx, &id).await.map(Contact)
    }

    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ContactFilter>,
        order_by: Option<Vec<RecordOrderBy<ContactOrderField>>>,
    ) -> Result<Conn<Contact>> {
        let paging = Paging::new(first, after, last, before);
        let list = custom::<contact::Entity, _, _>(ctx, filter, order_by).await?;
        many::<contact::Entity, _>(ctx, paging, list, Contact).await
    }

    async fn account(&self, ctx: &Context<'_>, id: ID) -> Result<Account> {
        one::<account::Entity>(ctx, &id).await.map(Account)
    }

    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<AccountFilter>,
        order_by: Option<Vec<RecordOrderBy<AccountOrderField>>>,
    ) -> Result<Conn<Account>> {
        let paging = Paging::new(first, after, last, before);
        let list = custom::<account::Entity, _, _>(ctx, filter, order_by).await?;
        many::<account::Entity, _>(ctx, paging, list, Account).await
    }

    async fn opportunity(&self, ctx: &Context<'_>, id: ID) -> Result<Opportunity> {
        one::<opportunity::Entity>(ctx, &id).await.map(Opportunity)
    }

    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn opportunities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<OpportunityFilter>,
        order_by: Option<Vec<RecordOrderBy<OpportunityOrderField>>>,
    ) -> Result<Conn<Opportunity>> {
        let paging = Paging::new(first, after, last, before);
        let list = custom::<opportunity::Entity, _, _>(ctx, filter, order_by).await?;
        many::<opportunity::Entity, _>(ctx, paging, list, Opportunity).await
    }

    /// Leads, contacts and accounts matching every word of `query` (prefixes count), within
    /// the caller's rows; the best of each kind first.
    async fn search(
        &self,
        ctx: &Context<'_>,
        query: String,
        #[graphql(default = 20)] first: i32,
    ) -> Result<Vec<SearchResult>> {
        let first = page_size(ctx, "first", Some(first))?;
        let hits = search::search(&ctx.services().db, ctx.actor()?, &query, first).await?;
        Ok(hits
            .into_iter()
            .map(|hit| match hit {
                Hit::Lead(m) => SearchResult::Lead(Lead(m)),
                Hit::Contact(m) => SearchResult::Contact(Contact(m)),
                Hit::Account(m) => SearchResult::Account(Account(m)),
            })
            .collect())
    }

    /// The default pipeline's live stages in order; `pipelines` has every pipeline.
    async fn pipeline_stages(&self, ctx: &Context<'_>) -> Result<Vec<PipelineStage>> {
        let stages = pipeline::stages(&ctx.services().db, ctx.actor()?).await?;
        Ok(stages.into_iter().map(PipelineStage).collect())
    }

    async fn activity(&self, ctx: &Context<'_>, id: ID) -> Result<Activity> {
        one::<activity::Entity>(ctx, &id).await.map(Activity)
    }

    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn activities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ActivityFilter>,
        order_by: Option<Vec<OrderBy<ActivityOrderField>>>,
    ) -> Result<Conn<Activity>> {
        let paging = Paging::new(first, after, last, before);
        let list = plain(filter, order_by)?;
        many::<activity::Entity, _>(ctx, paging, list, Activity).await
    }

    async fn campaign(&self, ctx: &Context<'_>, id: ID) -> Result<Campaign> {
        one::<campaign::Entity>(ctx, &id).await.map(Campaign)
    }

    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn campaigns(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CampaignFilter>,
        order_by: Option<Vec<OrderBy<CampaignOrderField>>>,
    ) -> Result<Conn<Campaign>> {
        let paging = Paging::new(first, after, last, before);
        let list = plain(filter, order_by)?;
        many::<campaign::Entity, _>(ctx, paging, list, Campaign).await
    }
}
