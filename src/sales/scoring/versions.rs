//! The scoring model's versions: the highest is in force; older ones stay, so a score computed
//! before a change is still explained by the model that gave it.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use entity::scoring_model;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QueryOrder, QuerySelect, Set};

use uuid::Uuid;

use super::model::ScoringModel;
use crate::{
    actor::Actor,
    error::{AppError, Result},
    services::audit,
};

/// A model version as stored and parsed.
#[derive(Clone, Debug)]
pub struct Version {
    pub number: i32,
    pub model: Arc<ScoringModel>,
    pub created_at: chrono::DateTime<Utc>,
}

/// The last version this process parsed: the worker looks the version up on every touch, and
/// parses the model again only when it changed.
static PARSED: Mutex<Option<Version>> = Mutex::new(None);

/// The version in force. A store that has none yet gets the default model as version 1.
pub async fn current(conn: &impl ConnectionTrait) -> Result<Version> {
    let latest: Option<(i32, chrono::DateTime<Utc>)> = scoring_model::Entity::find()
        .select_only()
        .columns([
            scoring_model::Column::Version,
            scoring_model::Column::CreatedAt,
        ])
        .order_by_desc(scoring_model::Column::Version)
        .into_tuple()
        .one(conn)
        .await?;
    match latest {
        Some((number, _)) => numbered(conn, number).await,
        None => first(conn).await,
    }
}

/// Version `number`, known to be the one in force (read alongside other rows), parsed once
/// per process.
pub async fn numbered(conn: &impl ConnectionTrait, number: i32) -> Result<Version> {
    if let Some(parsed) = PARSED.lock().expect("not poisoned").as_ref()
        && parsed.number == number
    {
        return Ok(parsed.clone());
    }
    let version = of(conn, number).await?.ok_or_else(|| {
        AppError::internal(anyhow::anyhow!("scoring model version {number} vanished"))
    })?;
    *PARSED.lock().expect("not poisoned") = Some(version.clone());
    Ok(version)
}

/// One version, if it exists.
pub async fn of(conn: &impl ConnectionTrait, number: i32) -> Result<Option<Version>> {
    let Some(row) = scoring_model::Entity::find_by_id(number).one(conn).await? else {
        return Ok(None);
    };
    let model: ScoringModel = serde_json::from_str(&row.model).map_err(AppError::internal)?;
    Ok(Some(Version {
        number,
        model: Arc::new(model),
        created_at: row.created_at,
    }))
}

/// Stores `model`, checked, as the next version and answers it. Two admins saving at once
/// cannot take one number: the second insert fails on the key and is answered CONFLICT.
pub async fn add(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    model: ScoringModel,
) -> Result<Version> {
    let model = model.check()?;
    let number = current(conn).await?.number + 1;
    let row = scoring_model::ActiveModel {
        version: Set(number),
        id: Set(Uuid::now_v7()),
        model: Set(serde_json::to_string(&model).map_err(AppError::internal)?),
        created_by: Set((!actor.is_system()).then_some(actor.user_id)),
        created_at: Set(Utc::now()),
    };
    let row = row
        .insert(conn)
        .await
        .map_err(|error| match error.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => AppError::conflict(
                "version",
                "the scoring model was changed at the same time; load it again",
            ),
            _ => error.into(),
        })?;
    audit::record(
        conn,
        actor,
        "scoring_model",
        "create",
        row.id,
        None,
        Some(&model),
    )
    .await?;
    Ok(Version {
        number,
        model: Arc::new(model),
        created_at: row.created_at,
    })
}

/// The default model as version 1; replicas starting together store it once.
async fn first(conn: &impl ConnectionTrait) -> Result<Version> {
    let model = ScoringModel::default();
    let now = Utc::now();
    let insert = scoring_model::Entity::insert(scoring_model::ActiveModel {
        version: Set(1),
        id: Set(Uuid::now_v7()),
        model: Set(serde_json::to_string(&model).map_err(AppError::internal)?),
        created_by: Set(None),
        created_at: Set(now),
    })
    .on_conflict_do_nothing_on([scoring_model::Column::Version]);
    insert.exec(conn).await?;
    Ok(Version {
        number: 1,
        model: Arc::new(model),
        created_at: now,
    })
}
