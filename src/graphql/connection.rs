//! Relay connections over the services' keyset pages: opaque cursors, page sizes capped (over
//! the cap is refused, never truncated), and a `totalCount` beside `edges` and `pageInfo`.

use async_graphql::{
    Context, OutputType, SimpleObject,
    connection::{Connection, CursorType, Edge, EmptyFields},
};

use crate::{
    error::{AppError, Result},
    graphql::ContextExt,
    services::page::{Cursor, Page, PageRequest, Window},
};

const DEFAULT_PAGE_SIZE: u64 = 20;

#[derive(SimpleObject)]
pub struct Totals {
    /// How many records match, across all pages.
    pub total_count: u64,
}

/// Edges keep their cursor as a position and encode it only if the query selects it: a list
/// asked for its nodes alone does not pay for a hundred encodings.
pub type Conn<T> = Connection<Cursor, T, Totals, EmptyFields>;

impl CursorType for Cursor {
    type Error = AppError;

    fn decode_cursor(raw: &str) -> Result<Self> {
        Cursor::decode("after", raw)
    }

    fn encode_cursor(&self) -> String {
        self.encode()
    }
}

/// The four Relay paging arguments of a list field.
#[derive(Default)]
pub struct Paging {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl Paging {
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Self {
        Paging {
            first,
            after,
            last,
            before,
        }
    }

    /// Reads `first`/`after` or `last`/`before`; mixing the two directions is refused.
    pub fn request(self, ctx: &Context<'_>) -> Result<PageRequest> {
        let size = |field: &str, n: Option<i32>| page_size(ctx, field, n);
        let backward = self.last.is_some() || self.before.is_some();
        if backward && (self.first.is_some() || self.after.is_some()) {
            return Err(AppError::bad_input(
                "last",
                "page with first/after or with last/before, not both",
            ));
        }
        let window = if backward {
            Window::Backward {
                last: size("last", self.last)?,
                before: self
                    .before
                    .map(|c| Cursor::decode("before", &c))
                    .transpose()?,
            }
        } else {
            Window::Forward {
                first: size("first", self.first)?,
                after: self
                    .after
                    .map(|c| Cursor::decode("after", &c))
                    .transpose()?,
            }
        };
        let count_total = ctx.look_ahead().field("totalCount").exists();
        Ok(PageRequest {
            window,
            count_total,
        })
    }
}

/// A requested number of rows: the default when absent, refused over the configured cap.
pub fn page_size(ctx: &Context<'_>, field: &str, requested: Option<i32>) -> Result<u64> {
    let cap = u64::from(ctx.services().config.max_page_size);
    match requested {
        None => Ok(DEFAULT_PAGE_SIZE.min(cap)),
        Some(n) if n < 0 => Err(AppError::bad_input(field, "must not be negative")),
        Some(n) if n as u64 > cap => Err(AppError::bad_input(field, format!("at most {cap}"))),
        Some(n) => Ok(n as u64),
    }
}

pub fn connection<M, T: OutputType>(page: Page<M>, wrap: impl Fn(M) -> T) -> Conn<T> {
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
            .map(|(cursor, item)| Edge::new(cursor, wrap(item))),
    );
    connection
}
