//! Duplicate detection. Admins keep rules per record type ([`rules`]): the fields compared
//! and how, Fellegi-Sunter weights and a threshold, and what a write does on a likely duplicate
//! (allow, warn, block). One record's candidates come from the match keys every write files
//! ([`crate::services::match_keys`]) and are scored by [`check`]; a whole type is scanned in
//! the background by [`scan`] into clusters for review. The computation itself is the
//! `linkage` crate's, shared with the benchmark.

pub mod check;
pub mod fields;
pub mod rules;
pub mod scan;
pub mod writes;

pub use check::{Candidate, Evidence};
