//! Per-request DataLoaders. Nested fields of a list load in one batch per field instead of one
//! query per row, and every loader carries the caller's actor, so a batch goes through the same
//! row rules as a single lookup.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{
    account, activity, assignment, campaign, connector, contact, contact_point, custom_field_def,
    delivery, enums::CustomFieldRecordType, lead, opportunity, pipeline_stage, touchpoint, user,
};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::AppError,
    services::{
        accounts, activities, assignments, contact_points, contacts, custom_fields,
        page::Page,
        pipeline,
        projection::Columns,
        records::{self, Parent, Record},
        touchpoints, users,
    },
};

type LoadResult<V> = Result<HashMap<Uuid, V>, Arc<AppError>>;

/// Records by id, within the caller's rows.
pub struct ById<E> {
    db: DatabaseConnection,
    actor: Actor,
    entity: std::marker::PhantomData<E>,
}

impl<E: Record> Loader<Uuid> for ById<E> {
    type Value = E::Model;
    type Error = Arc<AppError>;

    async fn load(&self, ids: &[Uuid]) -> LoadResult<E::Model> {
        let rows = records::visible_by_ids::<E>(&self.db, &self.actor, ids).await?;
        Ok(rows
            .into_iter()
            .map(|row| (id_of::<E>(&row), row))
            .collect())
    }
}

/// The first page of a parent's children, keyed by parent and page size.
pub struct FirstPages<E: Record> {
    db: DatabaseConnection,
    actor: Actor,
    pub parent: Parent<E>,
}

/// Which first page of which parent: its size, whether the parent's total is wanted, and the
/// columns its rows need (all when `None`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FirstPage {
    pub parent: Uuid,
    pub size: u64,
    pub count_total: bool,
    pub columns: Option<Columns>,
}

impl<E: Record> Loader<FirstPage> for FirstPages<E> {
    type Value = Arc<Page<E::Model>>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[FirstPage],
    ) -> Result<HashMap<FirstPage, Self::Value>, Self::Error> {
        let mut batches: HashMap<FirstPage, Vec<Uuid>> = HashMap::new();
        for key in keys {
            let batch = FirstPage {
                parent: Uuid::nil(),
                ..*key
            };
            batches.entry(batch).or_default().push(key.parent);
        }
        let mut pages = HashMap::new();
        for (batch, parents) in batches {
            let loaded = records::first_pages::<E>(
                &self.db,
                &self.actor,
                self.parent,
                &parents,
                batch.size,
                batch.count_total,
                batch.columns,
            )
            .await?;
            pages.extend(
                loaded
                    .into_iter()
                    .map(|(parent, page)| (FirstPage { parent, ..batch }, Arc::new(page))),
            );
        }
        Ok(pages)
    }
}

/// Users by id; every signed-in user may see them.
pub struct Users(DatabaseConnection);

impl Loader<Uuid> for Users {
    type Value = user::Model;
    type Error = Arc<AppError>;

    async fn load(&self, ids: &[Uuid]) -> LoadResult<user::Model> {
        let rows = users::by_ids(&self.0, ids).await?;
        Ok(rows.into_iter().map(|u| (u.id, u)).collect())
    }
}

/// The contact points of leads or contacts, a whole page's in one query.
pub struct ContactPoints {
    db: DatabaseConnection,
    owner: contact_points::Owner,
}

impl Loader<Uuid> for ContactPoints {
    type Value = Vec<contact_point::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, ids: &[Uuid]) -> LoadResult<Vec<contact_point::Model>> {
        Ok(contact_points::of(&self.db, self.owner, ids).await?)
    }
}

/// Pipeline stages by id.
pub struct Stages(DatabaseConnection);

impl Loader<Uuid> for Stages {
    type Value = pipeline_stage::Model;
    type Error = Arc<AppError>;

    async fn load(&self, ids: &[Uuid]) -> LoadResult<pipeline_stage::Model> {
        let rows = pipeline::stages_by_ids(&self.0, ids).await?;
        Ok(rows.into_iter().map(|s| (s.id, s)).collect())
    }
}

/// Pipelines by id, archived ones included (a deal in one still names it).
pub struct Pipelines(DatabaseConnection);

impl Loader<Uuid> for Pipelines {
    type Value = entity::pipeline::Model;
    type Error = Arc<AppError>;

    async fn load(&self, ids: &[Uuid]) -> LoadResult<entity::pipeline::Model> {
        let rows = pipeline::pipelines_by_ids(&self.0, ids).await?;
        Ok(rows.into_iter().map(|p| (p.id, p)).collect())
    }
}

/// Leads' current assignments, by lead id; the leads were read within the caller's rows.
pub struct LatestAssignments(DatabaseConnection);

impl Loader<Uuid> for LatestAssignments {
    type Value = assignment::Model;
    type Error = Arc<AppError>;

    async fn load(&self, ids: &[Uuid]) -> LoadResult<assignment::Model> {
        Ok(assignments::latest_of_leads(&self.0, ids).await?)
    }
}

fn id_of<E: Record>(row: &E::Model) -> Uuid {
    match sea_orm::ModelTrait::get(row, E::id_column()) {
        sea_orm::Value::Uuid(Some(id)) => id,
        _ => Uuid::nil(),
    }
}

/// Every loader of one request.
/// The live custom field definitions of a record type, read once a request: every record of a
/// list shows its values against the same few definitions.
pub struct CustomFieldDefinitions {
    db: DatabaseConnection,
    actor: Actor,
}

impl Loader<CustomFieldRecordType> for CustomFieldDefinitions {
    type Value = Arc<Vec<custom_field_def::Model>>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        types: &[CustomFieldRecordType],
    ) -> Result<HashMap<CustomFieldRecordType, Self::Value>, Self::Error> {
        let mut found = HashMap::new();
        for record_type in types {
            let definitions =
                custom_fields::definitions(&self.db, &self.actor, *record_type, false).await?;
            found.insert(*record_type, Arc::new(definitions));
        }
        Ok(found)
    }
}

pub struct Loaders {
    pub users: DataLoader<Users>,
    pub stages: DataLoader<Stages>,
    pub pipelines: DataLoader<Pipelines>,
    pub assignments: DataLoader<LatestAssignments>,
    pub leads: DataLoader<ById<lead::Entity>>,
    pub contacts: DataLoader<ById<contact::Entity>>,
    pub accounts: DataLoader<ById<account::Entity>>,
    pub opportunities: DataLoader<ById<opportunity::Entity>>,
    pub campaigns: DataLoader<ById<campaign::Entity>>,
    pub connectors: DataLoader<ById<connector::Entity>>,
    pub deliveries: DataLoader<ById<delivery::Entity>>,
    pub lead_contact_points: DataLoader<ContactPoints>,
    pub contact_contact_points: DataLoader<ContactPoints>,
    pub lead_touchpoints: DataLoader<FirstPages<touchpoint::Entity>>,
    pub lead_activities: DataLoader<FirstPages<activity::Entity>>,
    pub opportunity_activities: DataLoader<FirstPages<activity::Entity>>,
    pub account_contacts: DataLoader<FirstPages<contact::Entity>>,
    pub account_children: DataLoader<FirstPages<account::Entity>>,
    pub custom_fields: DataLoader<CustomFieldDefinitions, HashMapCache>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection, actor: &Actor) -> Self {
        fn by_id<E: Record>(db: &DatabaseConnection, actor: &Actor) -> DataLoader<ById<E>> {
            let loader = ById {
                db: db.clone(),
                actor: actor.clone(),
                entity: std::marker::PhantomData,
            };
            DataLoader::new(loader, tokio::spawn)
        }
        fn pages<E: Record>(
            db: &DatabaseConnection,
            actor: &Actor,
            parent: Parent<E>,
        ) -> DataLoader<FirstPages<E>> {
            DataLoader::new(
                FirstPages {
                    db: db.clone(),
                    actor: actor.clone(),
                    parent,
                },
                tokio::spawn,
            )
        }
        fn contact_points_of(
            db: &DatabaseConnection,
            owner: contact_points::Owner,
        ) -> DataLoader<ContactPoints> {
            let loader = ContactPoints {
                db: db.clone(),
                owner,
            };
            DataLoader::new(loader, tokio::spawn)
        }
        Loaders {
            users: DataLoader::new(Users(db.clone()), tokio::spawn),
            stages: DataLoader::new(Stages(db.clone()), tokio::spawn),
            pipelines: DataLoader::new(Pipelines(db.clone()), tokio::spawn),
            assignments: DataLoader::new(LatestAssignments(db.clone()), tokio::spawn),
            leads: by_id(db, actor),
            contacts: by_id(db, actor),
            accounts: by_id(db, actor),
            opportunities: by_id(db, actor),
            campaigns: by_id(db, actor),
            connectors: by_id(db, actor),
            deliveries: by_id(db, actor),
            lead_contact_points: contact_points_of(db, contact_points::Owner::Lead),
            contact_contact_points: contact_points_of(db, contact_points::Owner::Contact),
            lead_touchpoints: pages(db, actor, touchpoints::of_lead()),
            lead_activities: pages(db, actor, activities::of_lead()),
            opportunity_activities: pages(db, actor, activities::of_opportunity()),
            account_contacts: pages(db, actor, contacts::of_account()),
            account_children: pages(db, actor, accounts::of_parent()),
            custom_fields: DataLoader::with_cache(
                CustomFieldDefinitions {
                    db: db.clone(),
                    actor: actor.clone(),
                },
                tokio::spawn,
                HashMapCache::default(),
            ),
        }
    }
}

/// The by-id loader of each record type that other records point at.
pub trait Referenced: Record + Sized {
    fn loader(loaders: &Loaders) -> &DataLoader<ById<Self>>;
}

impl Referenced for lead::Entity {
    fn loader(loaders: &Loaders) -> &DataLoader<ById<Self>> {
        &loaders.leads
    }
}

impl Referenced for contact::Entity {
    fn loader(loaders: &Loaders) -> &DataLoader<ById<Self>> {
        &loaders.contacts
    }
}

impl Referenced for account::Entity {
    fn loader(loaders: &Loaders) -> &DataLoader<ById<Self>> {
        &loaders.accounts
    }
}

impl Referenced for opportunity::Entity {
    fn loader(loaders: &Loaders) -> &DataLoader<ById<Self>> {
        &loaders.opportunities
    }
}

impl Referenced for campaign::Entity {
    fn loader(loaders: &Loaders) -> &DataLoader<ById<Self>> {
        &loaders.campaigns
    }
}

impl Referenced for connector::Entity {
    fn loader(loaders: &Loaders) -> &DataLoader<ById<Self>> {
        &loaders.connectors
    }
}

impl Referenced for delivery::Entity {
    fn loader(loaders: &Loaders) -> &DataLoader<ById<Self>> {
        &loaders.deliveries
    }
}
