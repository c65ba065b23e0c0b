//! Imports: a CSV or XLSX file read into rows ([`parse`]), its columns mapped onto a record
//! type's fields ([`mapping`]), each row turned into the services' change set ([`rows`]) and
//! written through them ([`write`]) as a durable job, stored ([`upload`]) and worked in batches
//! ([`job`], [`worker`]), with a per-row report ([`report`]). Each written record is checked against the
//! dedupe rules as an API write is ([`write`]).

pub mod job;
pub mod mapping;
pub mod parse;
pub mod report;
pub mod rows;
pub mod upload;
pub mod worker;
pub mod write;
