//! Canonical forms of what people type, for search, uniqueness and matching: text folded alike
//! whatever the keyboard ([`fold`]), a company's name without its legal form ([`company`]), and
//! the domain a website names ([`domain`]), and the keys a record is filed under for finding
//! its likely duplicates ([`keys`]).
//!
//! A crate of its own because both the application and the migrations that backfill stored
//! canonical columns need the very same functions. It knows no database.

mod company;
mod digits;
mod domain;
mod fold;
pub mod keys;

pub use company::company;
pub use domain::domain;
pub use fold::{MAX_WORD_CHARS, fold, words};
