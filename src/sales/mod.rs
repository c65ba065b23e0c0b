//! The sales engine: what Touchbase concludes from the records and touches it holds. Each part
//! is a pure computation here, fed by the services and the hub, so its results can be explained
//! and tested without a store.

pub mod rfm;
