//! # portcullis-audit
//!
//! Static security audit of OpenAPI documents.
