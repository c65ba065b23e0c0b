//! Clean data: what gets data in clean and keeps it clean. Duplicate detection, imports and
//! exports. Quality writes records only through `services` (and the sales engine, so imported
//! leads are scored and assigned), so audit rows, change events and row rules exist once; it
//! knows nothing of GraphQL, HTTP or the hub.

pub mod dedupe;
pub mod export;
pub mod import;
pub mod merge;
