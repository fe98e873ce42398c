//! Fault injection through the real `portcullis serve` on 127.0.0.1 (issue 28): each thing the
//! gateway depends on fails in a way the test controls, and the test asserts what SECURITY.md's
//! fault table says happens (fails open or closed, counted, logged, recovered on its own) and
//! that the gateway stays up and serves normal requests.
//!
//! - `faults/upstream.rs`: an upstream that refuses, sends half a head, resets or closes
//!   mid-body;
//! - `faults/redis.rs`: Redis slow, answering errors, restarted mid-traffic;
//! - `faults/keys.rs`: the key set unreachable, answering garbage, rotating, failing on reload;
//! - `faults/inventory.rs`: the alert webhook stalled or down; kill -9 during inventory writes;
//! - `faults/disk.rs`: `storage.path` on a full, then read-only tmpfs (needs root);
//! - `faults/hang.rs`: `storage.path` on a disk that hangs (a suspended device-mapper device,
//!   needs root).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

#[path = "faults/disk.rs"]
mod disk;
#[path = "faults/hang.rs"]
mod hang;
#[path = "faults/inventory.rs"]
mod inventory;
#[path = "faults/keys.rs"]
mod keys;
#[path = "faults/redis.rs"]
mod redis;
#[path = "faults/upstream.rs"]
mod upstream;
