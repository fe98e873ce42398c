//! # portcullis-gateway
//!
//! The gateway: a reverse proxy that enforces an OpenAPI document as a positive security model.
pub mod ratelimit;
