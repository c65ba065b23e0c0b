//! Data quality: what gets data in clean and keeps it clean (imports and exports, among
//! others). Writes go through `services`, like every writer's; nothing here knows GraphQL or
//! HTTP.

pub mod export;
pub mod import;
