//! The sales engine: what Touchbase does with the records and touches it holds — converting
//! qualified leads, scoring customers. It builds on the services' record lifecycle and rules,
//! and is called by the API, the hub and jobs; the computations themselves are kept pure where
//! they can be, so their results can be explained and tested without a store.

pub mod assignment;
pub mod conversion;
pub mod rfm;
