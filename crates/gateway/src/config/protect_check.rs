//! Load-time checks of `threats`, `response` and `cors` (values the types alone accept).

use super::ApiConfig;
use super::protect::{THREAT_KINDS, field_error, origin_error};

/// The largest `response.max_inspect`: a body this size is held in memory per request.
const MAX_INSPECT: u64 = 64 << 20;

/// Reports each wrong value of API `i` through `refuse(pointer, message)`.
pub(super) fn check(i: usize, api: &ApiConfig, refuse: &mut dyn FnMut(String, String)) {
    if let Some(t) = &api.threats {
        if !(1..=3).contains(&t.paranoia) {
            refuse(
                format!("/apis/{i}/threats/paranoia"),
                format!("{}: give 1, 2 or 3", t.paranoia),
            );
        }
        for (j, e) in t.exclude.iter().enumerate() {
            if let Some(m) = field_error(&e.field) {
                refuse(format!("/apis/{i}/threats/exclude/{j}/field"), m);
            }
            for (k, kind) in e.kinds.iter().enumerate() {
                if !THREAT_KINDS.contains(&kind.as_str()) {
                    refuse(
                        format!("/apis/{i}/threats/exclude/{j}/kinds/{k}"),
                        format!("{kind:?} is not one of {}", THREAT_KINDS.join(", ")),
                    );
                }
            }
        }
        for (j, a) in t.ssrf_allow.iter().enumerate() {
            if let Some(m) = field_error(&a.field) {
                refuse(format!("/apis/{i}/threats/ssrf_allow/{j}/field"), m);
            }
            if a.hosts.is_empty() {
                refuse(
                    format!("/apis/{i}/threats/ssrf_allow/{j}/hosts"),
                    "name at least one host".to_owned(),
                );
            }
        }
        for (j, h) in t.allow_hosts.iter().enumerate() {
            if h.is_empty() || h.contains(['/', ':', ' ']) {
                refuse(
                    format!("/apis/{i}/threats/allow_hosts/{j}"),
                    format!("{h:?} is not a host name (`hooks.example.com`, `*.example.com`)"),
                );
            }
        }
    }
    if let Some(r) = &api.response {
        for (j, kind) in r.sensitive_optional.iter().enumerate() {
            if !["email", "phone"].contains(&kind.as_str()) {
                refuse(
                    format!("/apis/{i}/response/sensitive_optional/{j}"),
                    format!("{kind:?}: the optional detectors are email and phone"),
                );
            }
        }
        if !(1024..=MAX_INSPECT).contains(&r.max_inspect.0) {
            refuse(
                format!("/apis/{i}/response/max_inspect"),
                format!("{} bytes: give between 1KiB and 64MiB", r.max_inspect.0),
            );
        }
    }
    if let Some(c) = &api.cors {
        if c.origins.is_empty() {
            refuse(
                format!("/apis/{i}/cors/origins"),
                "name at least one origin".to_owned(),
            );
        }
        for (j, o) in c.origins.iter().enumerate() {
            if let Some(m) = origin_error(o) {
                refuse(format!("/apis/{i}/cors/origins/{j}"), m);
            }
            if o == "*" && c.credentials {
                refuse(
                    format!("/apis/{i}/cors/origins/{j}"),
                    "\"*\" with credentials: true would let every site read answers with the \
                     user's cookies; list the origins"
                        .to_owned(),
                );
            }
        }
        for (j, m) in c.methods.iter().enumerate() {
            if http::Method::from_bytes(m.as_bytes()).is_err() || m.to_ascii_uppercase() != *m {
                refuse(
                    format!("/apis/{i}/cors/methods/{j}"),
                    format!("{m:?} is not an HTTP method in upper case"),
                );
            }
        }
        for (key, list) in [
            ("headers", &c.headers),
            ("expose_headers", &c.expose_headers),
        ] {
            for (j, h) in list.iter().enumerate() {
                if http::HeaderName::from_bytes(h.as_bytes()).is_err() {
                    refuse(
                        format!("/apis/{i}/cors/{key}/{j}"),
                        format!("{h:?} is not a header name"),
                    );
                }
            }
        }
    }
}
