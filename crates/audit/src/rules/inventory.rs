//! Inventory: versions, owners, environments, zombie operations (OWASP API9:2023).

use super::label;
use crate::names;
use crate::rule::rule;

rule! {
    /// Deprecated operations still in the document.
    DeprecatedServed {
        id: "PC-INV-001",
        title: "Deprecated operation still served",
        severity: Medium,
        owasp: Api9,
        cwe: 1059,
        rationale: "Deprecated operations stay reachable long after clients moved on; they miss later security fixes and are rarely monitored (zombie APIs).",
        remediation: "Set a sunset date (`x-sunset` or a `Sunset` header), monitor usage, and remove the operation once unused.",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            let sunset = op.extensions.contains_key("x-sunset") || op.responses.values().any(|r| r.headers.keys().any(|h| h.eq_ignore_ascii_case("sunset")));
            if op.deprecated && !sunset {
                let ptr = super::op_ptr(op, "deprecated");
                sink.report(&op.location.file, ptr, format!("{} is deprecated but still served, with no sunset date", label(op)));
            }
        }
    }
}

/// True when a path or server URL carries a version segment (`/v1`, `/v2.1`, `/2024-01-01`).
fn versioned(path: &str) -> bool {
    path.split('/').any(|seg| {
        let s = seg.to_ascii_lowercase();
        let digits = s.strip_prefix('v').unwrap_or(&s);
        (s.starts_with('v')
            && !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit() || c == '.'))
            || (s.len() == 10 && s.chars().all(|c| c.is_ascii_digit() || c == '-'))
    })
}

rule! {
    /// No way to tell API versions apart.
    NoVersion {
        id: "PC-INV-002",
        title: "API version not identified",
        severity: Low,
        owasp: Api9,
        cwe: 1059,
        rationale: "Without a meaningful `info.version` and a version in the URL (or a version header), old and new versions cannot be told apart, retired, or inventoried.",
        remediation: "Set `info.version` to the API's real version and carry the major version in the server URL or path (`/v1`).",
    }
    fn check(cx, sink) {
        let info_version = cx.catalog.info.version.as_deref().map(str::trim).filter(|v| !v.is_empty() && *v != "0" && *v != "0.0.0");
        let in_urls = cx.catalog.servers.iter().any(|s| versioned(&s.base_path))
            || cx.catalog.operations.iter().any(|op| versioned(&op.path) || op.servers.iter().any(|s| versioned(&s.base_path)))
            || cx.catalog.operations.iter().any(|op| op.parameters.iter().any(|p| names::fold(&p.name).contains("version")));
        let at = cx.catalog.info.location.as_ref();
        let (file, ptr) = at.map_or((cx.root_file(), String::new()), |l| (&l.file, l.pointer.clone()));
        match (info_version, in_urls) {
            (None, _) => sink.report(file, ptr, "`info.version` is missing or meaningless"),
            (Some(_), false) => sink.report(file, ptr, "no server URL, path or parameter carries the API version"),
            _ => {}
        }
    }
}

rule! {
    /// No owner to contact.
    NoContact {
        id: "PC-INV-003",
        title: "No contact",
        severity: Low,
        owasp: Api9,
        cwe: 1059,
        rationale: "Without `info.contact`, nobody knows who owns the API: vulnerability reports, deprecations and incidents have nowhere to go.",
        remediation: "Set `info.contact` with a team name and an e-mail or URL.",
    }
    fn check(cx, sink) {
        let has = cx.catalog.info.contact.as_ref().and_then(|c| c.as_object()).is_some_and(|c| c.contains_key("email") || c.contains_key("url"));
        if !has {
            let at = cx.catalog.info.location.as_ref();
            let (file, ptr) = at.map_or((cx.root_file(), String::new()), |l| (&l.file, l.pointer.clone()));
            sink.report(file, ptr, "`info.contact` has no e-mail or URL");
        }
    }
}

rule! {
    /// Servers without a declared audience.
    ServerAudience {
        id: "PC-INV-004",
        title: "Server audience not declared",
        severity: Info,
        owasp: Api9,
        cwe: 1059,
        rationale: "Whether a server is for the public or for internal callers decides how it must be protected; documentation tools read it from `x-internal`.",
        remediation: "Set `x-internal: true` or `false` on every server.",
    }
    fn check(cx, sink) {
        let root = cx.catalog.sources.root();
        for s in &cx.catalog.servers {
            let raw = root.filter(|f| f.name == s.location.file).and_then(|f| f.get(&s.location.pointer));
            if raw.is_none() {
                // The implied server `/` of a document without `servers`.
                continue;
            }
            let declared = raw.and_then(|r| r.get("x-internal")).is_some_and(serde_json::Value::is_boolean);
            if !declared && cx.catalog.version != portcullis_spec::SpecVersion::Swagger2 {
                sink.report(&s.location.file, s.location.pointer.clone(), format!("server {} does not declare `x-internal`", s.url));
            }
        }
    }
}

rule! {
    /// Servers whose environment is not stated.
    ServerEnvironment {
        id: "PC-INV-005",
        title: "Server environment not stated",
        severity: Info,
        owasp: Api9,
        cwe: 1059,
        rationale: "When a document does not say which server is production and which is a test or sandbox, test data reaches production and weaker test servers get exposed.",
        remediation: "Name the environment (production, staging, sandbox, test...) in each server's description.",
    }
    fn check(cx, sink) {
        const WORDS: &[&str] = &["prod", "live", "staging", "stage", "sandbox", "test", "dev", "qa", "uat", "preview", "demo", "local", "mock", "beta"];
        let root = cx.catalog.sources.root();
        for s in &cx.catalog.servers {
            if root.filter(|f| f.name == s.location.file).and_then(|f| f.get(&s.location.pointer)).is_none() {
                // The implied server `/` of a document without `servers`.
                continue;
            }
            let text = format!("{} {}", s.description.as_deref().unwrap_or(""), s.url).to_ascii_lowercase();
            if !WORDS.iter().any(|w| text.contains(w)) {
                sink.report(&s.location.file, s.location.pointer.clone(), format!("server {} does not say which environment it is", s.url));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::versioned;

    #[test]
    fn finds_versions() {
        assert!(versioned("/v1/pets"));
        assert!(versioned("/api/v2.1"));
        assert!(versioned("/2024-01-01/x"));
        assert!(!versioned("/pets/vip"));
        assert!(!versioned("/v"));
    }
}
