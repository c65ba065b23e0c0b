//! Full-text search across leads, contacts and accounts, within the caller's rows. Records keep
//! their searchable fields folded into words (`search_text`, written by the record lifecycle)
//! and the query is folded by the same function, so each store's engine only looks words up and
//! both stores find the same records; every word of the query must match the start of a word
//! in the record.

use entity::{account, contact, lead};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, SimpleExpr},
};

use crate::{
    actor::Actor,
    error::{AppError, Result},
    services::{records::Record, scope},
};

/// More words than this add nothing but cost.
const MAX_WORDS: usize = 8;

// Hits live only until they are written into the response; boxing would cost more than it saves.
#[allow(clippy::large_enum_variant)]
pub enum Hit {
    Lead(lead::Model),
    Contact(contact::Model),
    Account(account::Model),
}

/// Up to `first` matches, the best of each kind first, kinds interleaved.
pub async fn search(
    db: &DatabaseConnection,
    actor: &Actor,
    query: &str,
    first: u64,
) -> Result<Vec<Hit>> {
    let words: Vec<String> = canonical::words(query).take(MAX_WORDS).collect();
    if words.is_empty() {
        return Err(AppError::bad_input(
            "query",
            "give at least one word to search for",
        ));
    }
    let backend = db.get_database_backend();
    let leads = if actor.is_any(lead::Entity::READERS) {
        matching::<lead::Entity>(db, actor, backend, "leads", &words, first).await?
    } else {
        Vec::new()
    };
    let contacts =
        matching::<contact::Entity>(db, actor, backend, "contacts", &words, first).await?;
    let accounts =
        matching::<account::Entity>(db, actor, backend, "accounts", &words, first).await?;

    let mut kinds = [
        leads
            .into_iter()
            .map(Hit::Lead)
            .collect::<Vec<_>>()
            .into_iter(),
        contacts
            .into_iter()
            .map(Hit::Contact)
            .collect::<Vec<_>>()
            .into_iter(),
        accounts
            .into_iter()
            .map(Hit::Account)
            .collect::<Vec<_>>()
            .into_iter(),
    ];
    let mut hits = Vec::new();
    while (hits.len() as u64) < first {
        let round: Vec<Hit> = kinds.iter_mut().filter_map(Iterator::next).collect();
        if round.is_empty() {
            break;
        }
        hits.extend(round);
    }
    hits.truncate(first as usize);
    Ok(hits)
}

/// The live records of one table matching every word, most relevant first.
async fn matching<E: Record>(
    db: &DatabaseConnection,
    actor: &Actor,
    backend: DbBackend,
    table: &str,
    words: &[String],
    limit: u64,
) -> Result<Vec<E::Model>> {
    let (matches, relevance): (SimpleExpr, SimpleExpr) = match backend {
        DbBackend::Postgres => {
            // Read as a tsquery literal, not parsed by a text search configuration: the
            // words are the index's lexemes already, and being letters, digits and marks only
            // they need no escaping, here or in FTS5's query syntax.
            let query = words
                .iter()
                .map(|w| format!("'{w}':*"))
                .collect::<Vec<_>>()
                .join(" & ");
            (
                Expr::cust_with_values(
                    format!("\"{table}\".search_words @@ CAST($1 AS tsquery)"),
                    [query.clone()],
                ),
                Expr::cust_with_values(
                    format!("ts_rank(\"{table}\".search_words, CAST($1 AS tsquery))"),
                    [query],
                ),
            )
        }
        _ => {
            let query = words
                .iter()
                .map(|w| format!("\"{w}\"*"))
                .collect::<Vec<_>>()
                .join(" AND ");
            let fts = format!("{table}_search");
            (
                Expr::cust_with_values(
                    format!("\"{table}\".rowid IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ?)"),
                    [query.clone()],
                ),
                // bm25 ranks better matches lower; negate it so both stores sort descending.
                Expr::cust_with_values(
                    format!(
                        "-(SELECT bm25({fts}) FROM {fts} WHERE {fts} MATCH ? AND rowid = \"{table}\".rowid)"
                    ),
                    [query],
                ),
            )
        }
    };
    let mut select = scope::visible::<E>(actor)?.filter(matches);
    if let Some(archived_at) = E::archived_at_column() {
        select = select.filter(archived_at.is_null());
    }
    Ok(select
        .order_by_desc(relevance)
        .order_by_asc(E::id_column())
        .limit(limit)
        .all(db)
        .await?)
}
