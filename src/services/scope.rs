//! Row rules. A sales rep sees their own and unassigned records, a manager the team's and
//! unassigned ones, everyone else with read access sees all. Built into the `Select` itself,
//! so lists, lookups by id, nested fields and updates share one definition.

use entity::{enums::Role, user};
use sea_orm::{ColumnTrait, Condition, QueryFilter, Select, sea_query::Query};

use crate::{
    actor::Actor,
    error::{AppError, Result},
    services::records::Record,
};

/// The rows of `E` that `actor` may see.
pub fn visible<E: Record>(actor: &Actor) -> Result<Select<E>> {
    if !actor.is_any(E::READERS) {
        return Err(AppError::forbidden(format!(
            "the {} role cannot read {}s",
            actor.role.as_str(),
            E::KIND
        )));
    }
    let select = E::find();
    let Some(owner) = E::owner_column() else {
        return Ok(select);
    };
    Ok(match actor.role {
        Role::Sales => select.filter(
            Condition::any()
                .add(owner.eq(actor.user_id))
                .add(owner.is_null()),
        ),
        Role::Manager => {
            let mut mine = Condition::any()
                .add(owner.eq(actor.user_id))
                .add(owner.is_null());
            if let Some(team) = actor.team_id {
                let members = Query::select()
                    .column(user::Column::Id)
                    .from(user::Entity)
                    .and_where(user::Column::TeamId.eq(team))
                    .to_owned();
                mine = mine.add(owner.in_subquery(members));
            }
            select.filter(mine)
        }
        Role::Admin | Role::Marketing | Role::Support => select,
    })
}

/// Refuses a write by a role that may not write records of `E`.
pub fn ensure_writer<E: Record>(actor: &Actor) -> Result<()> {
    if actor.is_any(E::WRITERS) {
        Ok(())
    } else {
        Err(AppError::forbidden(format!(
            "the {} role cannot change {}s",
            actor.role.as_str(),
            E::KIND
        )))
    }
}

/// Field rule: marketing sees no money amounts of deals and invoices.
pub fn can_see_amounts(actor: &Actor) -> bool {
    !actor.is(Role::Marketing)
}
