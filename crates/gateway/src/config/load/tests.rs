//! Tests of reading and checking the configuration file.

use super::*;
use crate::config::ByteSize;
use portcullis_spec::parse::expand_vars as expand;

fn env(name: &str) -> Option<String> {
    match name {
        "TOKEN" => Some("0123456789abcdef0123".to_owned()),
        "PORT" => Some("8081".to_owned()),
        _ => None,
    }
}

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_str_in("gw.yaml", text, Path::new("/etc/pc"), &env)
}

const MINIMAL: &str =
    "apis:\n  - name: bank\n    spec: bank.yaml\n    upstream: http://127.0.0.1:${PORT}\n";

#[test]
fn minimal_config_gets_defaults_and_env() {
    let c = load(MINIMAL).unwrap();
    assert_eq!(c.apis[0].upstream, "http://127.0.0.1:8081");
    assert_eq!(c.server.listen.port(), 8080);
    assert_eq!(c.server.limits.max_body, ByteSize(1 << 20));
    assert_eq!(c.state.backend, "memory");
    assert_eq!(c.base_dir, Path::new("/etc/pc"));
}

#[test]
fn unknown_keys_name_file_line_and_pointer() {
    let text = "server:\n  listen: 127.0.0.1:1\n  lsiten: 1\napis: []\n";
    let e = load(text).unwrap_err().to_string();
    assert!(
        e.starts_with("gw.yaml:3:3: /server/lsiten: unknown field `lsiten`"),
        "{e}"
    );
}

/// Asserts that MINIMAL under a `server:` block of `lines` is refused at `pointer` with
/// `message`.
fn refused(lines: &str, pointer: &str, message: &str) {
    let text = format!("server:\n{lines}\n{MINIMAL}");
    let e = load(&text).unwrap_err().to_string();
    assert!(e.contains(pointer) && e.contains(message), "{lines}: {e}");
}

#[test]
fn bad_values_are_located() {
    let text = format!("{MINIMAL}    rate_limits:\n      - {{ key: ip, limit: 5, per: 5 }}\n");
    let e = load(&text).unwrap_err().to_string();
    assert!(e.contains("gw.yaml:6:"), "{e}");
    assert!(e.contains("/apis/0/rate_limits/0/per"), "{e}");
    assert!(e.contains("not a duration"), "{e}");

    let text = format!("{MINIMAL}    mode: enfroce\n");
    let e = load(&text).unwrap_err().to_string();
    assert!(
        e.contains("gw.yaml:5:") && e.contains("/apis/0/mode"),
        "{e}"
    );

    refused("  workers: 0", "/server/workers", "between 1 and 1024");
    for n in ["0", "1000001"] {
        let line = format!("  max_connections: {n}");
        refused(&line, "/server/max_connections", "between 1 and 1000000");
    }
    for n in ["0", "1001"] {
        let line = format!("  limits: {{ max_headers: {n} }}");
        refused(&line, "/server/limits/max_headers", "between 1 and 1000");
    }
    for key in [
        "request_timeout",
        "header_timeout",
        "upstream_timeout",
        "send_timeout",
    ] {
        let line = format!("  limits: {{ {key}: 0s }}");
        refused(
            &line,
            &format!("/server/limits/{key}"),
            "must be more than 0",
        );
    }
    let text = format!("server:\n  limits: {{ max_headers: 1000 }}\n{MINIMAL}");
    assert_eq!(load(&text).unwrap().server.limits.max_headers, 1000);
    assert_eq!(load(MINIMAL).unwrap().server.limits.max_headers, 100);
    let text = format!("server:\n  max_connections: 1000000\n{MINIMAL}");
    assert_eq!(load(&text).unwrap().server.max_connections, 1_000_000);
    assert_eq!(load(MINIMAL).unwrap().server.max_connections, 10_000);

    let text = format!("{MINIMAL}    rate_limits: [{{ key: cookie:x, limit: 1, per: 1s }}]\n");
    let e = load(&text).unwrap_err().to_string();
    assert!(
        e.contains("/apis/0/rate_limits/0/key") && e.contains("unknown rate-limit key"),
        "{e}"
    );
}

#[test]
fn missing_env_and_short_admin_token_are_errors() {
    let e = load("admin: { token: \"${NOPE}\" }\napis: []\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("gw.yaml:1:") && e.contains("NOPE is not set"),
        "{e}"
    );
    let e = load(&format!("admin: {{ token: short }}\n{MINIMAL}"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/admin/token") && e.contains("16 characters"),
        "{e}"
    );
    let c = load(&format!("admin: {{ token: \"${{TOKEN}}\" }}\n{MINIMAL}")).unwrap();
    assert_eq!(c.admin.unwrap().token, "0123456789abcdef0123");
}

#[test]
fn expansion_rules() {
    assert_eq!(expand("a${PORT}b", &env).unwrap(), "a8081b");
    assert_eq!(expand("${X:-dflt}", &env).unwrap(), "dflt");
    assert_eq!(expand("$${PORT}", &env).unwrap(), "${PORT}");
    assert_eq!(expand("cost: $5", &env).unwrap(), "cost: $5");
    assert!(expand("${PORT", &env).is_err());
    assert!(expand("${a b}", &env).is_err());
}

#[test]
fn urls_in_errors_hide_their_password() {
    let e = load(&format!(
        "state: {{ backend: \"rdis://user:hunter2@cache:6379\" }}\n{MINIMAL}"
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("/state/backend"), "{e}");
    assert!(e.contains("rdis://user:***@cache:6379"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
    let text =
        "apis:\n  - name: bank\n    spec: bank.yaml\n    upstream: htp://svc:hunter2@up:80\n";
    let e = load(text).unwrap_err().to_string();
    assert!(
        e.contains("/apis/0/upstream") && e.contains("svc:***@up"),
        "{e}"
    );
    assert!(!e.contains("hunter2"), "{e}");
}

#[test]
fn io_and_syntax_errors_print_their_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let e = Config::load(&dir.path().join("gw.yaml")).unwrap_err();
    assert!(std::error::Error::source(&e).is_none(), "{e}");
    assert!(
        e.to_string()
            .contains("gw.yaml: cannot read the configuration: "),
        "{e}"
    );
    let e = load("apis: [\n").unwrap_err();
    assert!(std::error::Error::source(&e).is_none(), "{e}");
    assert_eq!(e.to_string().matches("gw.yaml").count(), 1, "{e}");
}

#[test]
fn missing_fields_are_named() {
    let e = load("server: { listen: 127.0.0.1:1 }\n")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "gw.yaml:1:1: /apis: missing field `apis`");
    let e = load("apis:\n  - name: bank\n    spec: bank.yaml\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("gw.yaml:2:") && e.contains("/apis/0/upstream: missing field `upstream`"),
        "{e}"
    );
}

#[test]
fn rejected_values_name_their_key() {
    let bad = [
        (
            "    base_path: v1\n",
            "/apis/0/base_path",
            "must start with `/`",
        ),
        (
            "    host: api.example.com:8443\n",
            "/apis/0/host",
            "has a port",
        ),
        ("    host: \"[::1]:8443\"\n", "/apis/0/host", "has a port"),
        (
            "    rate_limits: [{ key: ip, limit: 5, per: 1500ms }]\n",
            "/apis/0/rate_limits/0/per",
            "1500ms is not a whole number of seconds",
        ),
    ];
    for (extra, pointer, message) in bad {
        let e = load(&format!("{MINIMAL}{extra}")).unwrap_err().to_string();
        assert!(
            e.starts_with("gw.yaml:5:") && e.contains(pointer) && e.contains(message),
            "{extra}: {e}"
        );
    }
    let c = load(&format!(
        "{MINIMAL}    host: API.example.com\n    base_path: /v1\n"
    ));
    assert!(c.is_ok(), "{c:?}");

    let jwt = |entries: &str| load(&format!("identity:\n  jwt:\n{entries}{MINIMAL}"));
    let e = jwt("    - { issuer: a }\n").unwrap_err().to_string();
    assert!(
        e.starts_with("gw.yaml:3:")
            && e.contains("/identity/jwt/0:")
            && e.contains("give `jwks`, `discovery` or `secret`"),
        "{e}"
    );
    let e = jwt("    - { issuer: a, jwks: j.json }\n    - { issuer: a, jwks: k.json }\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("gw.yaml:4:")
            && e.contains("/identity/jwt/1/issuer")
            && e.contains("duplicate issuer \"a\""),
        "{e}"
    );
    let e = jwt("    - { issuer: a, jwks: k.json, leeway: 500ms }\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/identity/jwt/0/leeway")
            && e.contains("500ms is not a whole number of seconds"),
        "{e}"
    );
    assert!(jwt("    - { issuer: a, jwks: k.json, leeway: 0s }\n").is_ok());
}

#[test]
fn mtls_mappings_and_client_auth_are_checked() {
    let mtls = |entries: &str| load(&format!("identity:\n  mtls:\n    map:\n{entries}{MINIMAL}"));
    let c = mtls(
        "      - { match: { subject_cn: billing-svc }, subject: billing, roles: [service] }\n      - { match: { san_uri: \"spiffe://example.org/x\" }, subject: x }\n",
    )
    .unwrap();
    let map = &c.identity.mtls.as_ref().unwrap().map;
    assert_eq!(map.len(), 2);
    assert_eq!(map[0].matcher.subject_cn.as_deref(), Some("billing-svc"));
    assert_eq!(map[0].roles, ["service"]);
    assert_eq!(
        map[1].matcher.san_uri.as_deref(),
        Some("spiffe://example.org/x")
    );
    assert!(map[1].roles.is_empty());
    let bad = [
        (
            "      - { match: { subject_cn: a }, subject: a }\n      - { match: { subject_cn: b, san_dns: b }, subject: b }\n",
            "gw.yaml:5:",
            "/identity/mtls/map/1/match:",
            "give exactly one of `subject_cn`, `san_dns`, `san_uri`",
        ),
        (
            "      - { match: {}, subject: a }\n",
            "gw.yaml:4:",
            "/identity/mtls/map/0/match:",
            "give exactly one of",
        ),
        (
            "      - { match: { san_dns: \"\" }, subject: a }\n",
            "gw.yaml:4:",
            "/identity/mtls/map/0/match:",
            "the name to match is empty",
        ),
        (
            "      - { match: { subject_cn: a }, subject: \"\" }\n",
            "gw.yaml:4:",
            "/identity/mtls/map/0/subject:",
            "the subject is empty",
        ),
        (
            "      - { match: { subject_cn: a } }\n",
            "gw.yaml:4:",
            "/identity/mtls/map/0/subject:",
            "missing field `subject`",
        ),
        (
            "      - { match: { issuer_cn: a }, subject: a }\n",
            "gw.yaml:4:",
            "/identity/mtls/map/0/match/issuer_cn:",
            "unknown field `issuer_cn`",
        ),
        (
            "      - { match: { subject_cn: a }, subject: a, scopes: [x] }\n",
            "gw.yaml:4:",
            "/identity/mtls/map/0/scopes:",
            "unknown field `scopes`",
        ),
    ];
    for (entries, line, pointer, message) in bad {
        let e = mtls(entries).unwrap_err().to_string();
        assert!(
            e.starts_with(line) && e.contains(pointer) && e.contains(message),
            "{entries}: {e}"
        );
    }

    let tls = |extra: &str| {
        load(&format!(
            "server:\n  tls:\n    cert: s.pem\n    key: s.key\n{extra}{MINIMAL}"
        ))
    };
    let c = tls("    client_ca: ca.pem\n    client_auth: optional\n").unwrap();
    let t = c.server.tls.unwrap();
    assert_eq!(t.client_auth, Some(super::super::ClientAuth::Optional));
    assert!(tls("    client_ca: ca.pem\n    client_auth: required\n").is_ok());
    let e = tls("    client_auth: optional\n").unwrap_err().to_string();
    assert!(
        e.starts_with("gw.yaml:5:")
            && e.contains("/server/tls/client_auth:")
            && e.contains("needs `client_ca`"),
        "{e}"
    );
    let e = tls("    client_ca: ca.pem\n    client_auth: maybe\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/server/tls/client_auth") && e.contains("unknown variant `maybe`"),
        "{e}"
    );
}

#[test]
fn syntax_errors_and_empty_api_lists() {
    assert!(
        load("apis: [\n")
            .unwrap_err()
            .to_string()
            .contains("gw.yaml")
    );
    let e = load("apis: []\n").unwrap_err().to_string();
    assert!(e.contains("/apis") && e.contains("at least one API"), "{e}");
}

/// `detect` and `storage` are read, and their bad values refused with their place.
#[test]
fn detect_and_storage_are_read_and_checked() {
    let ok = load(&format!(
        "{MINIMAL}storage: {{ path: p.db, flush: 2s, retention: 7d }}\n\
         detect: {{ enabled: true, ban: 10m, webhook: http://127.0.0.1:9/alerts, thresholds: {{ stuffing_failures: 5 }} }}\n"
    ))
    .unwrap();
    let d = ok.detect.unwrap();
    assert_eq!(d.ban.map(|b| b.0.as_secs()), Some(600));
    assert_eq!(d.thresholds.stuffing_failures, Some(5));
    assert_eq!(ok.storage.unwrap().flush.0.as_secs(), 2);
    for (extra, pointer, what) in [
        (
            "detect: { webhook: ftp://x }\n",
            "/detect/webhook",
            "not an http://",
        ),
        (
            "detect: { ban_on: [stuffing, guessing] }\n",
            "/detect/ban_on/1",
            "unknown detector",
        ),
        (
            "detect: { thresholds: { scanning_share: 2 } }\n",
            "/detect/thresholds/scanning_share",
            "at most 1",
        ),
        (
            "detect: { thresholds: { spike_min: 0 } }\n",
            "/detect/thresholds/spike_min",
            "more than 0",
        ),
        (
            "storage: { path: p.db, flush: 1ms }\n",
            "/storage/flush",
            "at least 100ms",
        ),
        (
            "detect: { thresholds: { nope: 1 } }\n",
            "/detect/thresholds",
            "nope",
        ),
    ] {
        let e = load(&format!("{MINIMAL}{extra}")).unwrap_err().to_string();
        assert!(
            e.starts_with("gw.yaml:5:") && e.contains(pointer) && e.contains(what),
            "{extra}: {e}"
        );
    }
}

/// An HMAC secret shorter than the hash (32 bytes for HS256) is cracked offline from one token:
/// refused at load with its place.
#[test]
fn short_hmac_secrets_are_refused() {
    let jwt = |secret: &str| {
        format!(
            "identity:\n  jwt:\n    - {{ issuer: i, secret: \"{secret}\", algorithms: [HS256] }}\n{MINIMAL}"
        )
    };
    let e = load(&jwt("secret")).unwrap_err().to_string();
    assert!(
        e.starts_with("gw.yaml:3:") && e.contains("/identity/jwt/0/secret"),
        "{e}"
    );
    assert!(e.contains("6 bytes: give at least 32"), "{e}");
    assert!(load(&jwt(&"k".repeat(32))).is_ok());
}

#[test]
fn durations_past_the_clocks_range_are_refused() {
    refused(
        "  limits: { request_timeout: 10000000000000000000s }",
        "/server/limits/request_timeout",
        "longest duration accepted",
    );
}

/// `check` reports every problem of a file at once, each with its line, not only the first.
#[test]
fn every_problem_is_reported_at_once_with_its_line() {
    let text = format!(
        "server:\n  workers: 0\n  max_connections: 0\n{MINIMAL}    base_path: v1\n    \
         rate_limits:\n      - {{ key: ip, limit: 0, per: 1s }}\n"
    );
    let e = load(&text).unwrap_err().to_string();
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 4, "{e}");
    for (line, pointer) in [
        ("gw.yaml:2:", "/server/workers"),
        ("gw.yaml:3:", "/server/max_connections"),
        ("gw.yaml:8:", "/apis/0/base_path"),
        ("gw.yaml:10:", "/apis/0/rate_limits/0/limit"),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(line) && l.contains(pointer)),
            "{pointer}: {e}"
        );
    }
}

/// Wrong values of threats, response and cors are refused at their line, each with what is
/// wrong; `*` with credentials is refused (every site could read answers with cookies).
#[test]
fn threat_response_and_cors_values_are_checked_at_their_line() {
    let ok = "    threats: { injection: block, ssrf: log, paranoia: 2, exclude: [{ field: body/notes, kinds: [sqli] }] }\n    response: { validate: log, undeclared_fields: strip, sensitive_data: mask, max_inspect: 2MiB }\n    cors: { origins: [\"https://app.example.com\"], credentials: true }\n";
    load(&format!("{MINIMAL}{ok}")).unwrap_or_else(|e| panic!("{e}"));
    for (extra, pointer, says) in [
        (
            "    threats: { paranoia: 4 }\n",
            "/apis/0/threats/paranoia",
            "give 1, 2 or 3",
        ),
        (
            "    threats: { exclude: [{ field: notes }] }\n",
            "/apis/0/threats/exclude/0/field",
            "query.NAME",
        ),
        (
            "    threats: { exclude: [{ field: query.q, kinds: [sql] }] }\n",
            "/apis/0/threats/exclude/0/kinds/0",
            "not one of",
        ),
        (
            "    threats: { injection: maybe }\n",
            "/apis/0/threats/injection",
            "maybe",
        ),
        (
            "    response: { sensitive_data: hide }\n",
            "/apis/0/response/sensitive_data",
            "hide",
        ),
        (
            "    response: { sensitive_optional: [names] }\n",
            "/apis/0/response/sensitive_optional/0",
            "email and phone",
        ),
        (
            "    response: { max_inspect: 1GiB }\n",
            "/apis/0/response/max_inspect",
            "64MiB",
        ),
        (
            "    cors: { origins: [\"*\"], credentials: true }\n",
            "/apis/0/cors/origins/0",
            "credentials",
        ),
        (
            "    cors: { origins: [app.example.com] }\n",
            "/apis/0/cors/origins/0",
            "not an origin",
        ),
        (
            "    cors: { origins: [\"https://a.example\"], methods: [get] }\n",
            "/apis/0/cors/methods/0",
            "upper case",
        ),
    ] {
        let e = load(&format!("{MINIMAL}{extra}")).unwrap_err().to_string();
        assert!(
            e.starts_with("gw.yaml:5:") && e.contains(pointer) && e.contains(says),
            "{extra}: {e}"
        );
    }
}

/// `state.timeout` bounds how long a Redis call may hold a request: given within its bounds,
/// refused outside them with the bounds named.
#[test]
fn the_state_timeout_is_a_bounded_key() {
    assert_eq!(load(MINIMAL).unwrap().state.timeout.0.as_millis(), 200);
    let text = format!("state: {{ timeout: 50ms }}\n{MINIMAL}");
    assert_eq!(load(&text).unwrap().state.timeout.0.as_millis(), 50);
    for bad in ["1ms", "6s", "1d"] {
        let text = format!("state: {{ timeout: {bad} }}\n{MINIMAL}");
        let e = load(&text).unwrap_err().to_string();
        assert!(
            e.starts_with("gw.yaml:1:")
                && e.contains("/state/timeout: ")
                && e.contains("give between 10ms and 5s"),
            "{bad}: {e}"
        );
    }
}
