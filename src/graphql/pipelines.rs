//! The pipelines API: everyone who reads deals reads the pipelines and their stages; admins
//! create, rename and archive pipelines and add, change, reorder and archive stages.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use entity::pipeline;

use crate::{
    error::Result,
    graphql::{
        ContextExt,
        changes::uuid,
        types::{Pipeline, PipelineStage},
    },
    sales::pipelines::{self, NewStage, StageChanges},
    services::{pipeline as read, records},
};

/// A stage as an admin describes it.
#[derive(InputObject)]
pub struct NewStageInput {
    pub name: String,
    /// Win probability in percent, 0 to 100.
    pub probability: i32,
    #[graphql(default = false)]
    pub is_won: bool,
    #[graphql(default = false)]
    pub is_lost: bool,
}

impl From<NewStageInput> for NewStage {
    fn from(input: NewStageInput) -> Self {
        NewStage {
            name: input.name,
            probability: input.probability,
            is_won: input.is_won,
            is_lost: input.is_lost,
        }
    }
}

/// A new pipeline and its stages in order; one stage at least must be open (neither won nor
/// lost).
#[derive(InputObject)]
pub struct NewPipelineInput {
    pub name: String,
    pub stages: Vec<NewStageInput>,
}

/// What to change of a stage; what is left out stays.
#[derive(InputObject, Default)]
pub struct PipelineStageInput {
    pub name: Option<String>,
    /// Percent, 0 to 100.
    pub probability: Option<i32>,
    pub is_won: Option<bool>,
    pub is_lost: Option<bool>,
}

#[derive(SimpleObject)]
pub struct PipelinePayload {
    pub pipeline: Pipeline,
}

#[derive(SimpleObject)]
pub struct PipelineStagePayload {
    pub stage: PipelineStage,
}

#[derive(Default)]
pub struct PipelinesQuery;

#[Object]
impl PipelinesQuery {
    /// The pipelines in order; archived ones only when asked for.
    async fn pipelines(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] include_archived: bool,
    ) -> Result<Vec<Pipeline>> {
        let found = read::pipelines(&ctx.services().db, ctx.actor()?, include_archived).await?;
        Ok(found.into_iter().map(Pipeline).collect())
    }

    async fn pipeline(&self, ctx: &Context<'_>, id: ID) -> Result<Pipeline> {
        let id = uuid("id", &id)?;
        let found = records::get::<pipeline::Entity>(&ctx.services().db, ctx.actor()?, id).await?;
        Ok(Pipeline(found))
    }
}

#[derive(Default)]
pub struct PipelinesMutation;

/// Admins only; every change is audited.
#[Object]
impl PipelinesMutation {
    /// Adds a pipeline after the others.
    async fn create_pipeline(
        &self,
        ctx: &Context<'_>,
        input: NewPipelineInput,
    ) -> Result<PipelinePayload> {
        let stages = input.stages.into_iter().map(NewStage::from).collect();
        let (created, _) =
            pipelines::create(ctx.services(), ctx.actor()?, &input.name, stages).await?;
        Ok(PipelinePayload {
            pipeline: Pipeline(created),
        })
    }

    async fn rename_pipeline(
        &self,
        ctx: &Context<'_>,
        id: ID,
        name: String,
    ) -> Result<PipelinePayload> {
        let id = uuid("id", &id)?;
        let renamed = pipelines::rename(ctx.services(), ctx.actor()?, id, &name).await?;
        Ok(PipelinePayload {
            pipeline: Pipeline(renamed),
        })
    }

    /// Archives a pipeline without open deals; the last live pipeline stays.
    async fn archive_pipeline(&self, ctx: &Context<'_>, id: ID) -> Result<PipelinePayload> {
        let id = uuid("id", &id)?;
        let archived = pipelines::archive(ctx.services(), ctx.actor()?, id).await?;
        Ok(PipelinePayload {
            pipeline: Pipeline(archived),
        })
    }

    /// Adds a stage at the end of a pipeline; reorder to place it.
    async fn add_pipeline_stage(
        &self,
        ctx: &Context<'_>,
        pipeline_id: ID,
        input: NewStageInput,
    ) -> Result<PipelineStagePayload> {
        let pipeline_id = uuid("pipelineId", &pipeline_id)?;
        let added =
            pipelines::add_stage(ctx.services(), ctx.actor()?, pipeline_id, input.into()).await?;
        Ok(PipelineStagePayload {
            stage: PipelineStage(added),
        })
    }

    /// Renames a stage or changes its probability, or whether it is won or lost; the
    /// pipeline keeps at least one open stage.
    async fn update_pipeline_stage(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: PipelineStageInput,
    ) -> Result<PipelineStagePayload> {
        let id = uuid("id", &id)?;
        let changes = StageChanges {
            name: input.name,
            probability: input.probability,
            is_won: input.is_won,
            is_lost: input.is_lost,
        };
        let updated = pipelines::update_stage(ctx.services(), ctx.actor()?, id, changes).await?;
        Ok(PipelineStagePayload {
            stage: PipelineStage(updated),
        })
    }

    /// Orders a pipeline's live stages as `stageIds`, which names each of them once.
    async fn reorder_pipeline_stages(
        &self,
        ctx: &Context<'_>,
        pipeline_id: ID,
        stage_ids: Vec<ID>,
    ) -> Result<PipelinePayload> {
        let pipeline_id = uuid("pipelineId", &pipeline_id)?;
        let ids = stage_ids
            .iter()
            .map(|id| uuid("stageIds", id))
            .collect::<Result<Vec<_>>>()?;
        let (svc, actor) = (ctx.services(), ctx.actor()?);
        pipelines::reorder_stages(svc, actor, pipeline_id, &ids).await?;
        let reordered = records::get::<pipeline::Entity>(&svc.db, actor, pipeline_id).await?;
        Ok(PipelinePayload {
            pipeline: Pipeline(reordered),
        })
    }

    /// Archives a stage. Its open deals move to `moveOpenDealsTo`, another live stage of the
    /// same pipeline (their stage history shows the move), which is required while it holds
    /// any; closed deals keep the stage.
    async fn archive_pipeline_stage(
        &self,
        ctx: &Context<'_>,
        id: ID,
        move_open_deals_to: Option<ID>,
    ) -> Result<PipelineStagePayload> {
        let id = uuid("id", &id)?;
        let target = move_open_deals_to
            .map(|to| uuid("moveOpenDealsTo", &to))
            .transpose()?;
        let archived = pipelines::archive_stage(ctx.services(), ctx.actor()?, id, target).await?;
        Ok(PipelineStagePayload {
            stage: PipelineStage(archived),
        })
    }
}
