//! Unit tests of [`crate::inventory`].

use super::*;
use crate::sample::Client;

const SPEC: &str = r#"
openapi: 3.1.0
info: { title: t, version: "1" }
security: [{ key: [] }]
components:
  securitySchemes:
    key: { type: apiKey, in: header, name: X-Key }
paths:
  /items/{id}:
    get: { operationId: getItem, responses: { "200": { description: ok } } }
  /public:
    get: { operationId: pub, security: [], responses: { "200": { description: ok } } }
  /old:
    get: { operationId: old, deprecated: true, responses: { "200": { description: ok } } }
  /never:
    get: { operationId: never, responses: { "200": { description: ok } } }
"#;

fn inventory() -> Inventory {
    let catalog = portcullis_spec::load_str("t.yaml", SPEC).unwrap_or_else(|e| panic!("{e}"));
    Inventory::new(
        vec![ApiSpec {
            name: "t".into(),
            catalog: Arc::new(catalog),
        }],
        Settings::default(),
    )
}

fn sample(op: Option<&str>, template: &str, path: &str, valid: bool) -> Sample {
    Sample {
        ts_ms: 1_000_000,
        api: Some("t".into()),
        operation: op.map(str::to_owned),
        route_template: op.map(|_| template.to_owned()),
        method: "GET".into(),
        path: path.into(),
        status: 200,
        decision: "allow".into(),
        client: Client {
            ip: Some([10, 0, 0, 1].into()),
            ..Client::default()
        },
        credentials_presented: valid,
        credentials_valid: valid,
        ..Sample::default()
    }
}

#[test]
fn classes_posture_and_findings() {
    let mut inv = inventory();
    inv.record(&sample(Some("getItem"), "/items/{id}", "/items/7", true));
    // A 2xx without credentials on an operation that requires them: critical.
    inv.record(&sample(Some("getItem"), "/items/{id}", "/items/8", false));
    let mut public = sample(Some("pub"), "/public", "/public", false);
    public.sensitive = vec!["card".into()];
    inv.record(&public);
    let mut old = sample(Some("old"), "/old", "/old", true);
    old.deprecated = true;
    inv.record(&old);
    for n in [12_345, 23_456, 34_567] {
        inv.record(&sample(None, "", &format!("/export/{n}"), false));
    }
    let snap = inv.snapshot(1_000_500);
    let find = |p: &str| {
        snap.endpoints
            .iter()
            .find(|e| e.path == p)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(find("/items/{id}").class, Class::Documented);
    assert_eq!(find("/items/{id}").posture, Posture::Critical);
    assert_eq!(find("/public").posture, Posture::High);
    assert_eq!(find("/old").class, Class::Zombie);
    assert_eq!(find("/never").class, Class::Unused);
    let shadow = find("/export/{id}");
    assert_eq!(
        (shadow.class, shadow.requests, shadow.confident),
        (Class::Shadow, 3, true)
    );
    let rules: Vec<&str> = snap.findings.iter().map(|f| f.rule.as_str()).collect();
    for r in [
        "PC-INV-001",
        "PC-INV-002",
        "PC-INV-003",
        "PC-INV-004",
        "PC-INV-005",
    ] {
        assert!(rules.contains(&r), "{r}: {rules:?}");
    }
    // The critical finding points at the operation in the spec.
    let critical = snap.findings.iter().find(|f| f.rule == "PC-INV-004");
    assert!(critical.is_some_and(|f| f.location.line.is_some()));
    // Not called within the window: unused; past the retention: forgotten.
    let later = 1_000_000 + Settings::default().unused_after_ms + 1;
    assert_eq!(
        inv.snapshot(later)
            .endpoints
            .iter()
            .filter(|e| e.class == Class::Unused)
            .count(),
        4
    );
    inv.expire(1_000_000 + Settings::default().retention_ms + 1);
    assert!(inv.undocumented().is_empty() && inv.documented().is_empty());
}

#[test]
fn a_flood_of_distinct_paths_stays_bounded() {
    let mut inv = Inventory::new(
        Vec::new(),
        Settings {
            max_undocumented: 64,
            ..Settings::default()
        },
    );
    for i in 0..10_000u32 {
        // Words that repeat (not ids): each path its own endpoint until merged.
        inv.record(&sample(
            None,
            "",
            &format!("/w{}/x{}", i % 500, i % 97),
            false,
        ));
    }
    assert!(inv.undocumented().len() <= 64);
    // Many methods and long segments: the templates stay bounded too.
    for i in 0..5_000u32 {
        let mut s = sample(None, "", &format!("/{}/{i}", "z".repeat(300)), false);
        s.method = format!("M{}", i % 200);
        inv.record(&s);
    }
    assert!(inv.tries.len() <= MAX_TRIES);
    assert!(
        inv.tries
            .values()
            .all(|t| t.len() <= crate::template::MAX_NODES)
    );
    let snap = inv.snapshot(1_000_001);
    let total: u64 = snap.endpoints.iter().map(|e| e.requests).sum();
    assert_eq!(total + snap.overflow, 15_000);
}
