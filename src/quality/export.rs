//! Exports: a list of leads, contacts or accounts, with the filter and order a list query takes,
//! as CSV produced a page at a time, so a large export streams rather than piling up in memory.
//! Pages come from `records::list`, so the row rules are the list's; the columns follow the
//! field rules (no budget or money custom fields for a role that may not see amounts). Headers
//! are the field names an import maps by, so an export imports back as it is.

use entity::{
    account, contact, custom_field_def,
    enums::{CustomFieldRecordType, CustomFieldType},
    lead,
};
use sea_orm::DatabaseConnection;
use serde_json::Value;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    quality::import::mapping::CUSTOM_PREFIX,
    services::{
        custom_fields,
        filter::Filter,
        page::{Cursor, PageRequest, SortDirection, Window},
        records::{self, Record},
        scope,
    },
    validate::format_amount,
};

/// Records read per page of the export.
const PAGE: u64 = 500;

/// A record type that can be exported: its columns, and one record's cells under them.
pub trait Exportable: Record {
    const RECORD_TYPE: CustomFieldRecordType;
    fn columns(actor: &Actor) -> Vec<&'static str>;
    fn cells(model: &Self::Model, actor: &Actor) -> Vec<String>;
    fn custom_fields(model: &Self::Model) -> &Value;
}

/// An export under way: each [`Export::next_chunk`] is the next page as CSV, the header first.
pub struct Export<E: Exportable> {
    db: DatabaseConnection,
    actor: Actor,
    filter: Filter<E::Column>,
    order: Vec<(E::OrderField, SortDirection)>,
    definitions: Vec<custom_field_def::Model>,
    after: Option<Cursor>,
    header_sent: bool,
    done: bool,
}

impl<E: Exportable> Export<E> {
    /// Checks that the actor may list the type with this filter and order before anything is
    /// sent, so a refusal is an error response rather than a cut-off file.
    pub async fn start(
        db: &DatabaseConnection,
        actor: &Actor,
        filter: Filter<E::Column>,
        order: Vec<(E::OrderField, SortDirection)>,
    ) -> Result<Self> {
        scope::visible::<E>(actor)?;
        E::ensure_listable(actor, &filter, &order)?;
        let amounts = scope::can_see_amounts(actor);
        let definitions = custom_fields::definitions(db, actor, E::RECORD_TYPE, false)
            .await?
            .into_iter()
            .filter(|d| amounts || d.field_type != CustomFieldType::Money)
            .collect();
        Ok(Export {
            db: db.clone(),
            actor: actor.clone(),
            filter,
            order,
            definitions,
            after: None,
            header_sent: false,
            done: false,
        })
    }

    /// The next part of the file; `None` once it is all sent.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        let mut out = csv::Writer::from_writer(Vec::new());
        if !self.header_sent {
            let mut header: Vec<String> = E::columns(&self.actor)
                .into_iter()
                .map(str::to_owned)
                .collect();
            header.extend(
                self.definitions
                    .iter()
                    .map(|d| format!("{CUSTOM_PREFIX}{}", d.key)),
            );
            out.write_record(&header).map_err(AppError::internal)?;
            self.header_sent = true;
        }
        let request = PageRequest {
            window: Window::Forward {
                first: PAGE,
                after: self.after.take(),
            },
            count_total: false,
        };
        let page = records::list::<E>(
            &self.db,
            &self.actor,
            &self.filter,
            self.order.clone(),
            request,
        )
        .await?;
        self.done = !page.has_next;
        for (cursor, model) in page.items {
            let mut cells = E::cells(&model, &self.actor);
            let stored = E::custom_fields(&model);
            cells.extend(
                self.definitions
                    .iter()
                    .map(|d| custom_cell(d, stored.get(&d.key))),
            );
            out.write_record(&cells).map_err(AppError::internal)?;
            self.after = Some(cursor);
        }
        out.into_inner()
            .map(Some)
            .map_err(|e| AppError::internal(e.into_error()))
    }
}

/// A stored custom value as one cell, in the text an import reads back.
fn custom_cell(definition: &custom_field_def::Model, value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("; "),
        Some(money) if definition.field_type == CustomFieldType::Money => {
            let minor = money.get("minor").and_then(Value::as_i64);
            let currency = money.get("currency").and_then(Value::as_str);
            match (minor, currency) {
                (Some(minor), Some(currency)) => {
                    format!("{} {currency}", format_amount(minor, currency))
                }
                _ => String::new(),
            }
        }
        Some(other) => other.to_string(),
    }
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

fn shown<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

impl Exportable for lead::Entity {
    const RECORD_TYPE: CustomFieldRecordType = CustomFieldRecordType::Lead;

    fn columns(actor: &Actor) -> Vec<&'static str> {
        let mut columns = vec![
            "id",
            "firstName",
            "lastName",
            "email",
            "phone",
            "company",
            "title",
            "website",
            "industry",
            "employees",
            "country",
            "region",
            "postcode",
            "status",
            "lifecycleStage",
            "leadSource",
            "ownerId",
            "score",
            "grade",
            "createdAt",
        ];
        if scope::can_see_amounts(actor) {
            columns.push("budget");
        }
        columns
    }

    fn cells(lead: &lead::Model, actor: &Actor) -> Vec<String> {
        let mut cells = vec![
            lead.id.to_string(),
            text(&lead.first_name),
            text(&lead.last_name),
            text(&lead.email),
            text(&lead.phone),
            text(&lead.company),
            text(&lead.title),
            text(&lead.website),
            text(&lead.industry),
            shown(lead.employees),
            text(&lead.country),
            text(&lead.region),
            text(&lead.postcode),
            lead.status.as_str().to_owned(),
            lead.lifecycle_stage.as_str().to_owned(),
            text(&lead.lead_source),
            shown(lead.owner_id),
            lead.score.to_string(),
            shown(lead.grade.map(|g| g.as_str())),
            lead.created_at.to_rfc3339(),
        ];
        if scope::can_see_amounts(actor) {
            cells.push(match (lead.budget_minor, &lead.budget_currency) {
                (Some(minor), Some(currency)) => {
                    format!("{} {currency}", format_amount(minor, currency))
                }
                _ => String::new(),
            });
        }
        cells
    }

    fn custom_fields(lead: &lead::Model) -> &Value {
        &lead.custom_fields
    }
}

impl Exportable for contact::Entity {
    const RECORD_TYPE: CustomFieldRecordType = CustomFieldRecordType::Contact;

    fn columns(_: &Actor) -> Vec<&'static str> {
        vec![
            "id",
            "firstName",
            "lastName",
            "email",
            "phone",
            "title",
            "accountId",
            "ownerId",
            "lifecycleStage",
            "createdAt",
        ]
    }

    fn cells(contact: &contact::Model, _: &Actor) -> Vec<String> {
        vec![
            contact.id.to_string(),
            text(&contact.first_name),
            text(&contact.last_name),
            text(&contact.email),
            text(&contact.phone),
            text(&contact.title),
            shown(contact.account_id),
            shown(contact.owner_id),
            contact.lifecycle_stage.as_str().to_owned(),
            contact.created_at.to_rfc3339(),
        ]
    }

    fn custom_fields(contact: &contact::Model) -> &Value {
        &contact.custom_fields
    }
}

impl Exportable for account::Entity {
    const RECORD_TYPE: CustomFieldRecordType = CustomFieldRecordType::Account;

    fn columns(_: &Actor) -> Vec<&'static str> {
        vec![
            "id",
            "name",
            "domain",
            "industry",
            "phone",
            "parentId",
            "status",
            "territory",
            "ownerId",
            "createdAt",
        ]
    }

    fn cells(account: &account::Model, _: &Actor) -> Vec<String> {
        vec![
            account.id.to_string(),
            account.name.clone(),
            text(&account.domain),
            text(&account.industry),
            text(&account.phone),
            shown(account.parent_id),
            account.status.as_str().to_owned(),
            text(&account.territory),
            shown(account.owner_id),
            account.created_at.to_rfc3339(),
        ]
    }

    fn custom_fields(account: &account::Model) -> &Value {
        &account.custom_fields
    }
}
