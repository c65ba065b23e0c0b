//! The sales engine: what Touchbase does with the records and touches it holds — scoring leads
//! and moving them through the lifecycle, converting qualified ones, scoring customers, shaping
//! pipelines. It builds on the services' record lifecycle and rules, and is called by the API,
//! the hub and jobs; the computations themselves are kept pure where they can be, so their
//! results can be explained and tested without a store.

pub mod assignment;
pub mod conversion;
pub mod leads;
pub mod pipelines;
pub mod rfm;
pub mod scoring;
