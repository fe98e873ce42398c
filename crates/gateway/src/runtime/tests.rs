//! Tests of building a gateway from a configuration.

use super::*;

/// The error and its sources joined the way `anyhow`'s `{:#}` prints them.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        out.push_str(&format!(": {cause}"));
        next = cause.source();
    }
    out
}

#[tokio::test]
async fn unknown_admin_operations_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("spec.yaml"),
        "openapi: 3.0.3\ninfo: { title: t, version: '1' }\npaths:\n  /a:\n    delete:\n      operationId: deleteA\n      responses: { '200': { description: ok } }\n",
    )
    .unwrap();
    let text = |ops: &str| {
        format!(
            "apis:\n  - name: t\n    spec: spec.yaml\n    upstream: http://127.0.0.1:9\n    admin_operations: [{ops}]\n"
        )
    };
    let config = Config::from_str_in("gw.yaml", &text("deleteA"), dir.path(), &|_| None).unwrap();
    let gw = Gateway::build(config, None, jwt::system_clock()).await;
    assert!(gw.is_ok_and(|g| g.apis[0].ops[0].admin));
    let config =
        Config::from_str_in("gw.yaml", &text("deleteA, delete_a"), dir.path(), &|_| None).unwrap();
    let Err(e) = Gateway::build(config, None, jwt::system_clock()).await else {
        panic!("an unknown admin operation builds");
    };
    let e = e.to_string();
    assert!(
        e.starts_with("gw.yaml:5:33: /apis/0/admin_operations/1: no operation \"delete_a\" in "),
        "{e}"
    );
}

#[tokio::test]
async fn each_cause_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    // Every OS error's text ends with its code: `... (os error 2)`.
    let os_error = "(os error ";
    let Err(e) = jwks::load(
        "missing.jwks.json",
        jwks::Reach {
            tls: None,
            base_dir: dir.path(),
        },
    )
    .await
    else {
        panic!("a missing key set loads");
    };
    let shown = chain(&BuildError::from(e));
    assert!(
        shown.contains("missing.jwks.json: cannot read the key set"),
        "{shown}"
    );
    assert_eq!(shown.matches(os_error).count(), 1, "{shown}");

    let e = ApiKeys::load(&dir.path().join("keys.yaml"), &indexmap::IndexMap::new())
        .err()
        .unwrap();
    let shown = chain(&BuildError::from(e));
    assert!(
        shown.contains("keys.yaml: cannot read the API key file"),
        "{shown}"
    );
    assert_eq!(shown.matches(os_error).count(), 1, "{shown}");

    std::fs::write(dir.path().join("keys.yaml"), "keys: [\n").unwrap();
    let e = ApiKeys::load(&dir.path().join("keys.yaml"), &indexmap::IndexMap::new())
        .err()
        .unwrap();
    let shown = chain(&BuildError::from(e));
    assert_eq!(
        shown,
        BuildError::from(
            ApiKeys::load(&dir.path().join("keys.yaml"), &indexmap::IndexMap::new())
                .err()
                .unwrap()
        )
        .to_string()
    );
    assert_eq!(shown.matches("keys.yaml").count(), 1, "{shown}");

    let text = "apis:\n  - name: bank\n    spec: nope.yaml\n    upstream: http://127.0.0.1:9\n";
    let config = Config::from_str_in("gw.yaml", text, dir.path(), &|_| None).unwrap();
    let Err(e) = Gateway::build(config, None, jwt::system_clock()).await else {
        panic!("a missing spec builds");
    };
    let shown = chain(&e);
    assert!(shown.starts_with("api bank: "), "{shown}");
    assert_eq!(shown.matches(os_error).count(), 1, "{shown}");
    assert_eq!(shown.matches("nope.yaml").count(), 1, "{shown}");
}

#[test]
fn cidrs() {
    let c = Cidr::parse("10.0.0.0/8").unwrap();
    assert!(c.contains("10.1.2.3".parse().unwrap()));
    assert!(!c.contains("11.1.2.3".parse().unwrap()));
    assert!(c.contains("::ffff:10.0.0.1".parse().unwrap()));
    let one = Cidr::parse("127.0.0.1").unwrap();
    assert!(one.contains("127.0.0.1".parse().unwrap()));
    assert!(!one.contains("127.0.0.2".parse().unwrap()));
    let all = Cidr::parse("0.0.0.0/0").unwrap();
    assert!(all.contains("8.8.8.8".parse().unwrap()));
    assert!(
        Cidr::parse("::1/128")
            .unwrap()
            .contains("::1".parse().unwrap())
    );
    assert_eq!(Cidr::parse("10.0.0.0/33"), None);
    assert_eq!(Cidr::parse("nope"), None);
}
