//! Clean data: duplicate detection (and, beside it, merging, import and export). Quality writes
//! records only through `services`, so audit rows, change events and row rules exist once; it
//! knows nothing of GraphQL, HTTP or the hub.

pub mod dedupe;
