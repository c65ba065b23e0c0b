//! Reading only the columns a query asked for. A list of a hundred touchpoints that shows their
//! channel needs four of their thirty-one columns; reading and decoding the rest is much of the
//! cost of such a list. The other fields of a pruned model keep the values of the type's blank
//! model, so only the fields whose columns were read may be looked at.

use sea_orm::{
    DbErr, EntityTrait, IdenStatic, Iterable, ModelTrait, QueryResult, Value, sea_query::ArrayType,
};
use uuid::Uuid;

/// Some columns of one entity: bit `i` is the `i`-th column in declaration order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Columns(u64);

impl Columns {
    /// `None` when the entity has more columns than the set can name.
    pub fn of<E: EntityTrait>(columns: impl IntoIterator<Item = E::Column>) -> Option<Columns> {
        let mut set = Columns::default();
        for column in columns {
            set.0 |= 1u64.checked_shl(position::<E>(column)?)?;
        }
        Some(set)
    }

    pub fn union(self, other: Columns) -> Columns {
        Columns(self.0 | other.0)
    }

    /// The columns in declaration order.
    pub fn list<E: EntityTrait>(self) -> Vec<E::Column> {
        E::Column::iter()
            .enumerate()
            .filter(|(i, _)| *i < 64 && self.0 & (1 << i) != 0)
            .map(|(_, column)| column)
            .collect()
    }
}

fn position<E: EntityTrait>(column: E::Column) -> Option<u32> {
    let name = column.as_str();
    let index = E::Column::iter().position(|c| c.as_str() == name)?;
    u32::try_from(index).ok()
}

/// A model from a row that holds `columns`, in that order, and nothing else before them; the
/// other fields are the blank's.
pub fn decode<E: EntityTrait>(
    row: &QueryResult,
    blank: &E::Model,
    columns: &[E::Column],
) -> Result<E::Model, DbErr> {
    let mut model = blank.clone();
    for (index, column) in columns.iter().enumerate() {
        model.try_set(*column, read::<E>(row, index, *column)?)?;
    }
    Ok(model)
}

/// The value of one column, typed as the model stores it. Enumerations are stored as text.
fn read<E: EntityTrait>(
    row: &QueryResult,
    index: usize,
    column: E::Column,
) -> Result<Value, DbErr> {
    Ok(match E::Model::get_value_type(column) {
        ArrayType::Uuid => Value::Uuid(row.try_get_by_index::<Option<Uuid>>(index)?),
        ArrayType::String => Value::String(row.try_get_by_index(index)?),
        ArrayType::BigInt => Value::BigInt(row.try_get_by_index(index)?),
        ArrayType::Int => Value::Int(row.try_get_by_index(index)?),
        ArrayType::Bool => Value::Bool(row.try_get_by_index(index)?),
        ArrayType::ChronoDateTimeUtc => Value::ChronoDateTimeUtc(row.try_get_by_index(index)?),
        ArrayType::ChronoDate => Value::ChronoDate(row.try_get_by_index(index)?),
        ArrayType::Json => Value::Json(
            row.try_get_by_index::<Option<serde_json::Value>>(index)?
                .map(Box::new),
        ),
        other => {
            return Err(DbErr::Type(format!(
                "{} is a {other:?} column, which is not read column by column",
                column.as_str()
            )));
        }
    })
}
