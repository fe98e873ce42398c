//! # portcullis-inventory
//!
//! What an API really serves, learned from its traffic: every request, allowed or blocked,
//! counted per endpoint (the documented operation, or a template inferred for undocumented
//! paths), classified against the spec (documented, shadow, zombie, unused) with its auth
//! posture, turned into findings, a learned OpenAPI document and rate-limit recommendations,
//! kept in SQLite; and anomaly detectors over the same stream that raise explainable alerts
//! and may ban a client for a while.
//!
//! The gateway does not depend on this crate: `cli` turns the gateway's observations into
//! [`Sample`]s. `discover` builds the same from recorded traffic ([`logs`]). Nothing here
//! blocks a request: the work runs on the gateway's observation dispatcher thread, and every
//! piece of state is bounded.

pub mod classify;
pub mod clock;
mod deltas;
pub mod inventory;
pub mod sample;
pub mod schema;
pub mod segment;
pub mod sketch;
pub mod stats;
pub mod template;

pub use inventory::{ApiSpec, Class, Endpoint, Inventory, Posture, Settings, Snapshot};
pub use sample::{Client, Sample};
pub mod detect;
pub mod learned;
pub mod logs;
pub mod replicas;
pub mod route;
pub mod sampling;
pub mod store;
pub mod webhook;
