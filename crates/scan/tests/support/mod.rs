//! What the whole-scan tests share: a small axum server on 127.0.0.1, and one scan of it with
//! two ordinary users (alice and bob, static bearer tokens) reduced to "rule operation" lines.
#![allow(clippy::unwrap_used)]

/// Serves `app` on a free port of 127.0.0.1 for the rest of the test; returns its base URL.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

/// Scans `url` with the spec `spec` (named `name`) as alice and bob, `safe` as given, and
/// returns "rule operation" for every finding whose rule `keep` accepts.
pub async fn scan_rules(
    url: &str,
    name: &str,
    spec: &str,
    safe: bool,
    keep: impl Fn(&str) -> bool,
) -> Vec<String> {
    let catalog = portcullis_spec::load_str(name, spec).unwrap();
    let text = format!(
        "identities:\n  alice: {{headers: {{Authorization: \"Bearer alice\"}}}}\n  bob: {{headers: {{Authorization: \"Bearer bob\"}}}}\nsafe: {safe}\nbudget: {{requests: 500, rate: 1000/s}}\n"
    );
    let config = portcullis_scan::ScanConfig::from_str_in(
        "scan.yaml",
        &text,
        std::path::Path::new("."),
        &|_| None,
    )
    .unwrap();
    let target = portcullis_scan::Target::parse(url).unwrap();
    let outcome = portcullis_scan::run(&catalog, target, &config)
        .await
        .unwrap();
    outcome
        .report
        .findings
        .iter()
        .filter(|f| keep(&f.rule))
        .map(|f| {
            format!(
                "{} {}",
                f.rule,
                f.location.operation.clone().unwrap_or_default()
            )
        })
        .collect()
}
