//! Moving the rows that point at merged records to the survivor, and back on undo. Each move
//! lists the rows it changed, so an undo puts back exactly those rows and no row linked to the
//! survivor since.

use sea_orm::{
    ConnectionTrait, DatabaseTransaction,
    sea_query::{Alias, Expr, ExprTrait, Query},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{error::Result, quality::merge::kinds::Relation};

/// Ids per statement: well inside both stores' parameter limits.
const IDS_PER_STATEMENT: usize = 500;

/// The rows of one relation that pointed at merged record `from` and now point at the survivor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Move {
    pub relation: String,
    pub table: String,
    pub column: String,
    pub from: Uuid,
    pub ids: Vec<Uuid>,
}

/// Points every row of `relations` that names one of `merged` at `survivor` (never the
/// survivor's own row: an account whose parent was merged into it does not become its own
/// parent). Answers what moved.
pub async fn move_to(
    txn: &DatabaseTransaction,
    relations: &[Relation],
    survivor: Uuid,
    merged: &[Uuid],
) -> Result<Vec<Move>> {
    let mut moves = Vec::new();
    for relation in relations {
        for &from in merged {
            let ids = pointing(txn, relation, from, survivor).await?;
            if ids.is_empty() {
                continue;
            }
            repoint(txn, relation.table, relation.column, &ids, from, survivor).await?;
            moves.push(Move {
                relation: relation.name.to_owned(),
                table: relation.table.to_owned(),
                column: relation.column.to_owned(),
                from,
                ids,
            });
        }
    }
    Ok(moves)
}

/// Puts the moved rows back on the records they came from, those still on the survivor.
/// A move naming a table or column outside `relations` is refused: the stored history is data,
/// and only the type's own relations are written.
pub async fn put_back(
    txn: &DatabaseTransaction,
    relations: &[Relation],
    survivor: Uuid,
    moves: &[Move],
) -> Result<()> {
    for moved in moves {
        let relation = relations
            .iter()
            .find(|r| r.table == moved.table && r.column == moved.column)
            .ok_or_else(|| {
                crate::error::AppError::internal(anyhow::anyhow!(
                    "a merge moved {}.{}, which is not a relation of its type",
                    moved.table,
                    moved.column
                ))
            })?;
        repoint(
            txn,
            relation.table,
            relation.column,
            &moved.ids,
            survivor,
            moved.from,
        )
        .await?;
    }
    Ok(())
}

async fn pointing(
    txn: &DatabaseTransaction,
    relation: &Relation,
    to: Uuid,
    except: Uuid,
) -> Result<Vec<Uuid>> {
    let select = Query::select()
        .column(Alias::new("id"))
        .from(Alias::new(relation.table))
        .and_where(Expr::col(Alias::new(relation.column)).eq(to))
        .and_where(Expr::col(Alias::new("id")).ne(except))
        .order_by(Alias::new("id"), sea_orm::Order::Asc)
        .to_owned();
    let rows = txn.query_all(&select).await?;
    Ok(rows
        .iter()
        .map(|row| row.try_get::<Uuid>("", "id"))
        .collect::<std::result::Result<_, _>>()?)
}

/// Sets `column` to `to` on the rows among `ids` where it is still `from`.
async fn repoint(
    txn: &DatabaseTransaction,
    table: &'static str,
    column: &'static str,
    ids: &[Uuid],
    from: Uuid,
    to: Uuid,
) -> Result<()> {
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let update = Query::update()
            .table(Alias::new(table))
            .value(Alias::new(column), to)
            .and_where(Expr::col(Alias::new("id")).is_in(chunk.iter().copied()))
            .and_where(Expr::col(Alias::new(column)).eq(from))
            .to_owned();
        txn.execute(&update).await?;
    }
    Ok(())
}
