//! # portcullis-gateway
//!
//! The gateway: a reverse proxy that enforces an OpenAPI document as a positive security model.
//!
//! * [`config`]: the YAML configuration file, as written.
//! * [`bounded`]: the one bounded concurrent map (capacity, expiry, sweep) behind the limiter,
//!   lockout and token caches.
//! * [`ratelimit`]: rate limits, spike arrest and concurrency limits, in memory or Redis.
//! * [`client_tls`]: verified TLS for outbound connections (key sets, introspection, upstreams).
pub mod admin;
pub mod bans;
pub mod bounded;
pub mod client_tls;
pub(crate) mod coding;
pub mod config;
pub mod deadline;
pub mod decision;
pub mod events;
#[doc(hidden)]
pub mod fuzzing;
pub mod identity;
pub mod metrics;
pub mod observe;
pub mod pipeline;
pub mod problem;
pub mod proxy;
pub mod ratelimit;
pub mod request_id;
pub mod rules;
pub mod runtime;
pub mod server;
pub mod shared;
pub mod tls;
pub mod validate;
