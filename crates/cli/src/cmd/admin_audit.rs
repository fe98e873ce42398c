//! `GET /api/audit` on the admin API: the audit findings of the specs the gateway serves.
//! The gateway cannot depend on the audit crate (feature crates do not depend on each
//! other), so `cli` adds this route through the gateway's extensions.
//!
//! The specs are audited once, on the first request (in a blocking task: a large document
//! takes a moment), with the recommended profile, as they are on disk then.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portcullis_audit::{Profile, Settings, audit_catalog};
use portcullis_gateway::config::Config;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

/// The route, over the specs of `config`.
pub fn router(config: &Config) -> Router {
    let specs: Arc<Vec<(String, PathBuf)>> = Arc::new(
        config
            .apis
            .iter()
            .map(|a| (a.name.clone(), config.base_dir.join(&a.spec)))
            .collect(),
    );
    let report: Arc<OnceCell<Value>> = Arc::new(OnceCell::new());
    Router::new().route(
        "/api/audit",
        get(move || {
            let (specs, report) = (specs.clone(), report.clone());
            async move { answer(&specs, &report).await }
        }),
    )
}

async fn answer(specs: &Arc<Vec<(String, PathBuf)>>, report: &OnceCell<Value>) -> Response {
    let value = report
        .get_or_init(|| async {
            let specs = specs.clone();
            tokio::task::spawn_blocking(move || audit(&specs))
                .await
                .unwrap_or_else(|e| json!({ "error": format!("the audit failed: {e}") }))
        })
        .await;
    axum::Json(value.clone()).into_response()
}

/// The findings of every spec, with the API each belongs to.
fn audit(specs: &[(String, PathBuf)]) -> Value {
    let settings = Profile::Recommended.apply(Settings::default());
    let mut findings = Vec::new();
    let mut apis = Vec::new();
    for (name, path) in specs {
        match portcullis_spec::load(path) {
            Ok(catalog) => {
                let found = audit_catalog(&catalog, &settings);
                apis.push(json!({ "api": name, "spec": path.display().to_string(), "findings": found.len() }));
                for f in found {
                    if let Ok(Value::Object(mut o)) = serde_json::to_value(&f) {
                        o.insert("api".to_owned(), Value::from(name.as_str()));
                        findings.push(Value::Object(o));
                    }
                }
            }
            Err(e) => apis.push(
                json!({ "api": name, "spec": path.display().to_string(), "error": e.to_string() }),
            ),
        }
    }
    json!({ "profile": "recommended", "apis": apis, "findings": findings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_name_their_api_and_unreadable_specs_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("open.yaml");
        std::fs::write(
            &spec,
            "openapi: 3.0.3\ninfo: { title: t, version: '1' }\npaths:\n  /users:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema: { type: object }\n      responses: { '200': { description: ok } }\n",
        )
        .unwrap();
        let report = audit(&[
            ("open".to_owned(), spec),
            ("gone".to_owned(), dir.path().join("gone.yaml")),
        ]);
        let findings = report["findings"].as_array().unwrap();
        assert!(
            findings
                .iter()
                .any(|f| f["rule"] == "PC-AUTH-001" && f["api"] == "open"),
            "{report}"
        );
        assert!(
            report["apis"][1]["error"]
                .as_str()
                .unwrap()
                .contains("gone.yaml"),
            "{report}"
        );
    }
}
