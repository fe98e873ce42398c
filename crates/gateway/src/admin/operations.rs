//! `GET /api/operations/{api}/{operation}`: an operation as the gateway loaded it from the
//! spec (parameters, request body, responses and their schemas in JSON Schema 2020-12,
//! security, deprecation), with the schemas its `$ref`s name (`$defs`), so the dashboard can
//! show the declared API beside the learned one.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::{AdminState, problem};

/// The most referenced schemas returned with one operation.
pub const MAX_DEFS: usize = 200;

/// Collects the `#/$defs/...` references inside `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(o) => {
            for (k, v) in o {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// `GET /api/operations/{api}/{operation}` (the operation's id, as `/api/config` lists it).
pub async fn declared(
    State(state): State<Arc<AdminState>>,
    Path((api, operation)): Path<(String, String)>,
) -> Response {
    let gw = state.shared.gateway.load();
    let Some(found) = gw.apis.iter().find(|a| *a.name == *api) else {
        return problem(StatusCode::NOT_FOUND, &format!("no API named {api:?}"));
    };
    let catalog = &found.catalog;
    let Some(op) = catalog.operations.iter().find(|o| o.id == operation) else {
        return problem(
            StatusCode::NOT_FOUND,
            &format!("API {api} has no operation {operation:?}"),
        );
    };
    let Ok(mut value) = serde_json::to_value(op) else {
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the operation cannot be shown",
        );
    };
    // The schemas its references name, transitively, bounded.
    let mut pending = Vec::new();
    refs(&value, &mut pending);
    let mut defs = Map::new();
    while let Some(r) = pending.pop() {
        if defs.len() >= MAX_DEFS {
            break;
        }
        let Some(key) = r.strip_prefix("#/$defs/") else {
            continue;
        };
        if defs.contains_key(key) {
            continue;
        }
        if let Some(schema) = catalog.resolve_ref(&r) {
            refs(&schema.value, &mut pending);
            defs.insert(key.to_owned(), (*schema.value).clone());
        }
    }
    if let Value::Object(o) = &mut value {
        o.insert("$defs".to_owned(), Value::Object(defs));
    }
    axum::Json(value).into_response()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Admin, TOKEN};
    use axum::http::StatusCode;
    use serde_json::Value;

    #[tokio::test]
    async fn an_operation_as_declared_with_its_schemas() {
        let admin = Admin::new().await;
        let (status, _, body) = admin
            .get("/api/operations/bank/createItem", Some(TOKEN))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let op: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(op["path"], "/items");
        assert_eq!(op["method"], "POST", "{op}");
        let body_schema = op["request_body"].to_string();
        assert!(body_schema.contains("#/$defs/"), "{op}");
        let defs = op["$defs"].as_object().unwrap();
        assert_eq!(defs.len(), 2, "Item and the Tag it refers to: {op}");
        let (status, _, body) = admin.get("/api/operations/bank/nope", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("no operation \\\"nope\\\""), "{body}");
        let (status, _, _) = admin.get("/api/operations/other/login", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
