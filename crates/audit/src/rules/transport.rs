//! Transport and server declarations (OWASP API8:2023 misconfiguration).

use std::collections::HashSet;

use portcullis_spec::Server;

use crate::context::Context;
use crate::names;
use crate::rule::rule;

/// Every server of the document (top level, path and operation level), each once.
fn servers<'a>(cx: &Context<'a>) -> Vec<&'a Server> {
    let mut seen = HashSet::new();
    cx.catalog
        .servers
        .iter()
        .chain(
            cx.catalog
                .operations
                .iter()
                .flat_map(|op| op.servers.iter()),
        )
        .filter(|s| seen.insert((s.location.file.clone(), s.location.pointer.clone())))
        .collect()
}

rule! {
    /// Servers over plain HTTP.
    HttpServer {
        id: "PC-TLS-001",
        title: "Server over cleartext HTTP",
        severity: High,
        owasp: Api8,
        cwe: 319,
        rationale: "Everything sent to an `http://` server (credentials, personal data, responses) can be read and changed by anyone on the network path.",
        remediation: "Serve the API over `https://` only and drop `http` servers (2.0: `schemes: [https]`).",
    }
    fn check(cx, sink) {
        for s in servers(cx) {
            if names::is_http(&s.resolved_url) {
                sink.report_with(&s.location.file, s.location.pointer.clone(), format!("server {} uses cleartext HTTP", s.resolved_url), s.resolved_url.clone());
            }
        }
    }
}

rule! {
    /// Servers on loopback, private or internal hosts.
    InternalServer {
        id: "PC-TLS-002",
        title: "Internal host in servers",
        severity: Low,
        owasp: Api8,
        cwe: 200,
        rationale: "Loopback, private-network and internal host names in a published document reveal internal topology and often point at environments that were never meant to be reachable.",
        remediation: "Publish only the public server URLs; keep internal and development servers in a separate, private document.",
    }
    fn check(cx, sink) {
        for s in servers(cx) {
            if let Some(host) = names::host(&s.resolved_url).filter(|h| names::is_internal_host(h)) {
                sink.report_with(&s.location.file, s.location.pointer.clone(), format!("server {} is on the internal host `{host}`", s.resolved_url), host.to_owned());
            }
        }
    }
}
