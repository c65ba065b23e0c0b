//! Read operations.

use async_graphql::{Context, ID, Object};
use entity::{account, activity, campaign, contact, lead, opportunity};
use sea_orm::Condition;

use crate::{
    error::Result,
    graphql::{
        ContextExt,
        connection::{Conn, connection, page_request},
        types::{Account, Activity, Campaign, Contact, Lead, Opportunity, PipelineStage, User},
    },
    services::{
        input, pipeline,
        records::{self, Record},
        users,
    },
};

pub struct Query;

async fn one<E: Record>(ctx: &Context<'_>, id: &ID) -> Result<E::Model> {
    records::get::<E>(&ctx.services().db, ctx.actor()?, input::uuid("id", id)?).await
}

async fn many<E: Record, T: async_graphql::OutputType>(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    id: impl Fn(&E::Model) -> uuid::Uuid,
    wrap: impl Fn(E::Model) -> T,
) -> Result<Conn<T>> {
    let request = page_request(ctx, first, after)?;
    let page =
        records::list::<E>(&ctx.services().db, ctx.actor()?, Condition::all(), request).await?;
    Ok(connection(page, id, wrap))
}

#[Object]
impl Query {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let actor = ctx.actor()?;
        Ok(User(
            users::get(&ctx.services().db, actor, actor.user_id).await?,
        ))
    }

    async fn user(&self, ctx: &Context<'_>, id: ID) -> Result<User> {
        Ok(User(
            users::get(&ctx.services().db, ctx.actor()?, input::uuid("id", &id)?).await?,
        ))
    }

    #[graphql(complexity = "first.map_or(20, |n| n.clamp(0, 100)) as usize * child_complexity")]

    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<User>> {
        let request = page_request(ctx, first, after)?;
        let page = users::list(&ctx.services().db, ctx.actor()?, request).await?;
        Ok(connection(page, |u| u.id, User))
    }

    async fn lead(&self, ctx: &Context<'_>, id: ID) -> Result<Lead> {
        one::<lead::Entity>(ctx, &id).await.map(Lead)
    }

    #[graphql(complexity = "first.map_or(20, |n| n.clamp(0, 100)) as usize * child_complexity")]

    async fn leads(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Lead>> {
        many::<lead::Entity, _>(ctx, first, after, |m| m.id, Lead).await
    }

    async fn contact(&self, ctx: &Context<'_>, id: ID) -> Result<Contact> {
        one::<contact::Entity>(ctx, &id).await.map(Contact)
    }

    #[graphql(complexity = "first.map_or(20, |n| n.clamp(0, 100)) as usize * child_complexity")]

    async fn contacts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Contact>> {
        many::<contact::Entity, _>(ctx, first, after, |m| m.id, Contact).await
    }

    async fn account(&self, ctx: &Context<'_>, id: ID) -> Result<Account> {
        one::<account::Entity>(ctx, &id).await.map(Account)
    }

    #[graphql(complexity = "first.map_or(20, |n| n.clamp(0, 100)) as usize * child_complexity")]

    async fn accounts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Account>> {
        many::<account::Entity, _>(ctx, first, after, |m| m.id, Account).await
    }

    async fn opportunity(&self, ctx: &Context<'_>, id: ID) -> Result<Opportunity> {
        one::<opportunity::Entity>(ctx, &id).await.map(Opportunity)
    }

    #[graphql(complexity = "first.map_or(20, |n| n.clamp(0, 100)) as usize * child_complexity")]

    async fn opportunities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Opportunity>> {
        many::<opportunity::Entity, _>(ctx, first, after, |m| m.id, Opportunity).await
    }

    /// The pipeline's stages in order.
    async fn pipeline_stages(&self, ctx: &Context<'_>) -> Result<Vec<PipelineStage>> {
        let stages = pipeline::stages(&ctx.services().db, ctx.actor()?).await?;
        Ok(stages.into_iter().map(PipelineStage).collect())
    }

    async fn activity(&self, ctx: &Context<'_>, id: ID) -> Result<Activity> {
        one::<activity::Entity>(ctx, &id).await.map(Activity)
    }

    #[graphql(complexity = "first.map_or(20, |n| n.clamp(0, 100)) as usize * child_complexity")]

    async fn activities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Activity>> {
        many::<activity::Entity, _>(ctx, first, after, |m| m.id, Activity).await
    }

    async fn campaign(&self, ctx: &Context<'_>, id: ID) -> Result<Campaign> {
        one::<campaign::Entity>(ctx, &id).await.map(Campaign)
    }

    #[graphql(complexity = "first.map_or(20, |n| n.clamp(0, 100)) as usize * child_complexity")]

    async fn campaigns(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Campaign>> {
        many::<campaign::Entity, _>(ctx, first, after, |m| m.id, Campaign).await
    }
}
