//! Relay connections over the services' keyset pages: opaque cursors, capped page sizes and a
//! `totalCount` beside `edges` and `pageInfo`.

use async_graphql::{
    Context, OutputType, SimpleObject,
    connection::{Connection, CursorType, Edge, EmptyFields},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::{
    error::{AppError, Result},
    graphql::ContextExt,
    services::page::{Page, PageRequest},
};

const DEFAULT_PAGE_SIZE: u64 = 20;

/// A position in a list: the id of the last row seen, opaque to clients.
pub struct Cursor(Uuid);

impl CursorType for Cursor {
    type Error = &'static str;

    fn decode_cursor(s: &str) -> std::result::Result<Self, Self::Error> {
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| "malformed cursor")?;
        Uuid::from_slice(&bytes)
            .map(Cursor)
            .map_err(|_| "malformed cursor")
    }

    fn encode_cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.as_bytes())
    }
}

#[derive(SimpleObject)]
pub struct Totals {
    /// How many records match, across all pages.
    pub total_count: u64,
}

pub type Conn<T> = Connection<Cursor, T, Totals, EmptyFields>;

/// Reads `first`/`after`; a page larger than the configured cap is refused, never truncated.
pub fn page_request(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<PageRequest> {
    let cap = u64::from(ctx.services().config.max_page_size);
    let first = match first {
        None => DEFAULT_PAGE_SIZE.min(cap),
        Some(n) if n < 0 => return Err(AppError::bad_input("first", "must not be negative")),
        Some(n) if n as u64 > cap => {
            return Err(AppError::bad_input("first", format!("at most {cap}")));
        }
        Some(n) => n as u64,
    };
    let after = after
        .map(|c| {
            Cursor::decode_cursor(&c)
                .map(|c| c.0)
                .map_err(|e| AppError::bad_input("after", e))
        })
        .transpose()?;
    Ok(PageRequest { first, after })
}

pub fn connection<M, T: OutputType>(
    page: Page<M>,
    id: impl Fn(&M) -> Uuid,
    wrap: impl Fn(M) -> T,
) -> Conn<T> {
    let mut connection = Connection::with_additional_fields(
        page.has_previous,
        page.has_next,
        Totals {
            total_count: page.total,
        },
    );
    connection.edges.extend(
        page.items
            .into_iter()
            .map(|item| Edge::new(Cursor(id(&item)), wrap(item))),
    );
    connection
}
