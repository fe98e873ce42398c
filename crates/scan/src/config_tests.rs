#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;

fn env(name: &str) -> Option<String> {
    match name {
        "ALICE_PW" => Some("a-secret".into()),
        "BOB_TOKEN" => Some("tok".into()),
        _ => None,
    }
}

fn load(text: &str) -> Result<ScanConfig, ConfigError> {
    ScanConfig::from_str_in("scan.yaml", text, Path::new("/cfg"), &env)
}

fn error_at(text: &str) -> (u32, String) {
    match load(text) {
        Err(ConfigError::Invalid {
            line,
            message,
            pointer,
            ..
        }) => (line, format!("{pointer}: {message}")),
        other => panic!("expected a located error, got {other:?}"),
    }
}

#[test]
fn the_design_example_loads_with_its_variables() {
    let c = load(
        r#"
target: http://127.0.0.1:8081
spec: bookstore.yaml
identities:                       # two ordinary users at least; an admin is optional
  alice: { login: { operation: login, body: { username: alice, password: "${ALICE_PW}" }, token: /token } }
  bob:   { headers: { Authorization: "Bearer ${BOB_TOKEN}" } }
  admin: { role: admin, login: { operation: login, body: { username: root, password: "${ROOT_PW:-x}" }, token: /token } }
safe: true
budget: { requests: 5000, rate: 50/s }
"#,
    )
    .unwrap();
    assert_eq!(c.target.as_deref(), Some("http://127.0.0.1:8081"));
    assert_eq!(c.spec, Some(PathBuf::from("/cfg/bookstore.yaml")));
    assert_eq!(c.identities.len(), 3);
    assert_eq!(c.users().count(), 2);
    let Auth::Login(login) = &c.identities[0].auth else {
        panic!("alice logs in")
    };
    assert_eq!(login.body["password"], "a-secret");
    assert_eq!(login.header, "Authorization");
    assert_eq!(login.prefix, "Bearer ");
    assert_eq!(
        c.identities[1].auth,
        Auth::Headers(vec![("Authorization".into(), "Bearer tok".into())])
    );
    assert_eq!(c.identities[2].role, Role::Admin);
    assert!(c.safe);
    assert_eq!(
        c.budget,
        Budget {
            requests: 5000,
            rate: 50.0
        }
    );
}

#[test]
fn defaults_are_safe_and_bounded() {
    let c = load("{}").unwrap();
    assert!(c.safe);
    assert_eq!(c.budget, Budget::default());
    assert!(c.identities.is_empty());
    assert_eq!(load("budget: {rate: 600/m}").unwrap().budget.rate, 10.0);
    assert_eq!(load("budget: {rate: 5}").unwrap().budget.rate, 5.0);
}

#[test]
fn mistakes_are_refused_at_their_line() {
    let (line, m) = error_at("safe: true\nsaef: false\n");
    assert_eq!(line, 2, "{m}");
    assert!(m.contains("/saef") && m.contains("unknown field"), "{m}");
    let (line, m) = error_at(
        "identities:\n  a: {headers: {X: y}}\n  b:\n    headers: {X: y}\n    rol: admin\n",
    );
    assert_eq!(line, 5, "{m}");
    assert!(m.contains("/identities/b/rol"), "{m}");
    let (_, m) = error_at("identities:\n  a: {headers: {X: y}}\n");
    assert!(m.contains("two ordinary users"), "{m}");
    let (line, m) = error_at("identities:\n  a: {headers: {X: y}}\n  b: {}\n");
    assert_eq!(line, 3, "{m}");
    assert!(m.contains("needs `headers` or a `login`"), "{m}");
    let (_, m) = error_at(
        "identities:\n  a: {headers: {X: y}}\n  b: {login: {operation: l, token: token}}\n",
    );
    assert!(m.contains("JSON pointer"), "{m}");
    let (line, m) = error_at("budget:\n  rate: 50/fortnight\n");
    assert_eq!(line, 2, "{m}");
    let (_, m) = error_at("budget: {requests: 0}");
    assert!(m.contains("out of range"), "{m}");
    let (_, m) = error_at("target: ftp://x");
    assert!(m.contains("http://"), "{m}");
    let (_, m) =
        error_at("identities:\n  a: {headers: {X: \"${NOPE}\"}}\n  b: {headers: {X: y}}\n");
    assert!(m.contains("NOPE is not set"), "{m}");
    let (_, m) =
        error_at("identities:\n  a: {headers: {\"bad header\": y}}\n  b: {headers: {X: y}}\n");
    assert!(m.contains("not a header name"), "{m}");
}

#[test]
fn a_missing_file_names_itself() {
    let e = ScanConfig::load(Path::new("/nonexistent/scan.yaml")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/scan.yaml"), "{e}");
}

/// `${VAR}` unquoted inside a YAML flow mapping is not YAML (`{` and `}` are flow indicators):
/// the error says where; the docs tell to quote it.
#[test]
fn an_unquoted_variable_in_a_flow_mapping_is_a_located_syntax_error() {
    let e = load("identities:\n  alice: { login: { operation: login, body: { username: alice, password: ${ALICE_PW} }, token: /token } }\n").unwrap_err();
    let ConfigError::Syntax(portcullis_spec::Error::Syntax { location, .. }) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(location.line, 2, "{e}");
}

#[test]
fn tls_files_are_resolved_against_the_file_and_paired() {
    let c = load("tls: { ca: certs/ca.pem, cert: me.pem, key: me.key }\n").unwrap();
    let tls = c.tls.unwrap();
    assert_eq!(tls.ca.as_deref(), Some(Path::new("/cfg/certs/ca.pem")));
    assert_eq!(
        tls.identity,
        Some((PathBuf::from("/cfg/me.pem"), PathBuf::from("/cfg/me.key")))
    );
    assert!(load("safe: true\n").unwrap().tls.is_none());
    let (line, message) = error_at("safe: true\ntls: { cert: me.pem }\n");
    assert_eq!(line, 2);
    assert!(
        message.starts_with("/tls/cert: `cert` needs `key`"),
        "{message}"
    );
    let (line, message) = error_at("tls:\n  ca: a.pem\n  verify: false\n");
    assert_eq!(line, 3);
    assert!(message.contains("verify"), "{message}");
}
