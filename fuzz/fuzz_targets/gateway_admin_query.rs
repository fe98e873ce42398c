//! A query string of the admin API's `GET /api/decisions` (filters, limit, offset, the
//! `before` cursor, since/until) and `GET /api/limits/{client}` (`key`), read by axum's
//! `Query`: a refusal names a parameter, a page holds at most `limit` decisions in order, the
//! cursor reads back. The property is `crates/gateway/tests/fuzz_props/admin.rs`, which the
//! proptests also run.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/gateway/tests/fuzz_props/admin.rs"]
mod admin;

fuzz_target!(|data: &[u8]| admin::check_admin_query(data));
