//! Record linkage: which records describe the same person or company. Pure computation over
//! rows of text, no store and no CRM types, so the API, the background scan and the benchmark
//! run the same code.
//!
//! The pipeline: [`blocking`] picks the candidate pairs worth comparing (records sharing a
//! key in at least one pass), [`compare`] turns each pair into a comparison vector (a level of
//! agreement per field), [`model`] weighs the vector with Fellegi-Sunter weights (set by an
//! admin or estimated from the data with EM) into a match probability, and [`cluster`] joins
//! the pairs above a threshold into groups.

pub mod blocking;
pub mod cluster;
pub mod compare;
pub mod link;
pub mod model;

pub use blocking::{KeyPart, Pass, Transform};
pub use compare::{Comparator, FieldSpec, Levels};
pub use link::{Linker, Match};
pub use model::{FieldWeights, Model};

/// A record as linkage sees it: one optional, already folded value per field of the rule.
pub type Row = Vec<Option<String>>;
