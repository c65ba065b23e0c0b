//! `POST /exports/{leads|contacts|accounts}`: the list, with the body's `filter` and `orderBy`
//! (the list query's arguments, as JSON), streamed as CSV a page at a time under the caller's
//! row and field rules. A refusal (a bad filter, a role that may not list the type) comes
//! before the first byte, as a JSON error.

use axum::{
    body::{Body, Bytes},
    extract::{Path, State},
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};
use entity::{account, contact, lead};
use futures_util::stream;

use crate::{
    actor::Actor,
    error::{AppError, Result},
    graphql::exports,
    http::{
        AppState,
        caller::{refusal, signed_in},
    },
    quality::export::{Export, Exportable},
    services::{filter::Filter, page::SortDirection},
};

pub async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(kind): Path<String>,
    body: Bytes,
) -> Response {
    let actor = match signed_in(&state, &headers).await {
        Ok(actor) => actor,
        Err(response) => return response,
    };
    let arguments = if body.iter().all(u8::is_ascii_whitespace) {
        Ok(serde_json::Value::Null)
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::bad_input("body", format!("not JSON: {e}")))
    };
    let caller = || exports::Caller {
        db: &state.services.db,
        actor: &actor,
        config: &state.services.config,
    };
    let started = async {
        let arguments = arguments?;
        match kind.as_str() {
            "leads" => {
                let (filter, order) = exports::leads(caller(), arguments).await?;
                stream_of::<lead::Entity>(&state, &actor, filter, order, "leads").await
            }
            "contacts" => {
                let (filter, order) = exports::contacts(caller(), arguments).await?;
                stream_of::<contact::Entity>(&state, &actor, filter, order, "contacts").await
            }
            "accounts" => {
                let (filter, order) = exports::accounts(caller(), arguments).await?;
                stream_of::<account::Entity>(&state, &actor, filter, order, "accounts").await
            }
            _ => Err(AppError::NotFound("export")),
        }
    };
    started.await.unwrap_or_else(refusal)
}

async fn stream_of<E: Exportable>(
    state: &AppState,
    actor: &Actor,
    filter: Filter<E::Column>,
    order: Vec<(E::OrderField, SortDirection)>,
    name: &str,
) -> Result<Response>
where
    E::Column: Send + Sync,
    E::OrderField: Send + Sync,
{
    let mut export = Export::<E>::start(&state.services.db, actor, filter, order).await?;
    // The first page is read before answering, so its failure is still an error response.
    let first = export.next_chunk().await?;
    let rest = stream::unfold(Some(export), |export| async move {
        let mut export = export?;
        match export.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(Bytes::from(chunk)), Some(export))),
            Ok(None) => None,
            Err(error) => {
                tracing::error!(?error, "an export stopped part way");
                Some((Err(std::io::Error::other("the export stopped")), None))
            }
        }
    });
    let first = stream::iter(first.map(|chunk| Ok::<_, std::io::Error>(Bytes::from(chunk))));
    let body = Body::from_stream(futures_util::StreamExt::chain(first, rest));
    let disposition = format!("attachment; filename=\"{name}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}
