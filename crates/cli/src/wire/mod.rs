//! Wiring between library crates that do not know each other (the gateway and the
//! inventory): adapters only, no logic of their own.

pub mod inventory;
pub mod metrics;
