//! The spec learned from traffic: an OpenAPI 3.1 document of what the declared spec is
//! missing, a diff against it, and per-operation rate-limit recommendations from the peaks
//! observed per client, as a `rate_limits` snippet `portcullis check` accepts.

use serde_json::{Map, Value, json};

use crate::inventory::{ApiSpec, Class, Endpoint, Snapshot};
use crate::segment::Kind;

/// The OpenAPI 3.1 document of the shadow endpoints (paths, methods, path and query
/// parameters with schemas from the values' kinds, the status codes seen, and the request and
/// response body schemas inferred from sampled JSON bodies).
pub fn openapi(snapshot: &Snapshot) -> Value {
    let mut paths = Map::new();
    for e in snapshot
        .endpoints
        .iter()
        .filter(|e| e.class == Class::Shadow)
    {
        let item = paths
            .entry(e.path.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        let mut parameters: Vec<Value> = path_params(&e.path)
            .into_iter()
            .map(|(name, kind)| {
                json!({"name": name, "in": "path", "required": true, "schema": kind.schema()})
            })
            .collect();
        parameters.extend(e.query.iter().map(
            |q| json!({"name": q, "in": "query", "required": false, "schema": {"type": "string"}}),
        ));
        let learned = e.schemas.as_ref();
        let mut responses = Map::new();
        for (code, n) in &e.codes {
            let mut response = json!({"description": format!("observed {n} times")});
            if let (Some(schema), Some(r)) = (
                learned.and_then(|l| l["responses"].get(code.to_string())),
                response.as_object_mut(),
            ) {
                r.insert(
                    "content".into(),
                    json!({"application/json": {"schema": schema}}),
                );
            }
            responses.insert(code.to_string(), response);
        }
        if responses.is_empty() {
            responses.insert("default".into(), json!({"description": "not observed"}));
        }
        let mut op = json!({
            "summary": format!("Learned from traffic ({} requests)", e.requests),
            "responses": responses,
            "x-portcullis-observed": {
                "api": e.api, "requests": e.requests, "clients": e.clients,
                "first_seen": e.first_seen, "last_seen": e.last_seen, "confident": e.confident,
                "sensitive": e.sensitive,
            },
        });
        if !parameters.is_empty()
            && let Some(o) = op.as_object_mut()
        {
            o.insert("parameters".into(), Value::Array(parameters));
        }
        if let (Some(schema), Some(o)) = (
            learned.map(|l| &l["request"]).filter(|r| !r.is_null()),
            op.as_object_mut(),
        ) {
            o.insert(
                "requestBody".into(),
                json!({"content": {"application/json": {"schema": schema}}}),
            );
        }
        if let Some(item) = item.as_object_mut() {
            item.insert(e.method.to_ascii_lowercase(), op);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Endpoints seen in traffic and missing from the spec",
            "version": snapshot.generated_at,
        },
        "paths": paths,
    })
}

/// The `{name}` parameters of a template with the kind their name stands for.
fn path_params(template: &str) -> Vec<(String, Kind)> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = rest.get(open + 1..).unwrap_or_default();
        let Some(close) = after.find('}') else { break };
        let name = after.get(..close).unwrap_or_default();
        let kind = match name.trim_end_matches(|c: char| c.is_ascii_digit()) {
            "id" => Kind::Integer,
            "uuid" => Kind::Uuid,
            "hash" => Kind::Hex,
            "email" => Kind::Email,
            "date" => Kind::Date,
            _ => Kind::Name,
        };
        out.push((name.to_owned(), kind));
        rest = after.get(close + 1..).unwrap_or_default();
    }
    out
}

/// What traffic says against the declared spec: endpoints missing from it, operations not
/// called, deprecated ones still called, and status codes answered but not declared.
pub fn diff(snapshot: &Snapshot, apis: &[ApiSpec]) -> Value {
    let line = |e: &Endpoint| format!("{} {} ({})", e.method, e.path, e.api);
    let of = |class: Class| -> Vec<String> {
        snapshot
            .endpoints
            .iter()
            .filter(|e| e.class == class)
            .map(line)
            .collect()
    };
    let mut undeclared = Vec::new();
    for e in &snapshot.endpoints {
        let Some(id) = &e.operation else { continue };
        let Some(op) = apis
            .iter()
            .filter(|a| a.name == e.api)
            .find_map(|a| a.catalog.operations.iter().find(|o| &o.id == id))
        else {
            continue;
        };
        for code in e.codes.keys() {
            let c = code.to_string();
            let class = format!("{}XX", c.get(..1).unwrap_or_default());
            if !op.responses.contains_key(&c)
                && !op.responses.contains_key(&class)
                && !op.responses.contains_key("default")
            {
                undeclared.push(json!({"operation": id, "status": code}));
            }
        }
    }
    json!({
        "missing_from_spec": of(Class::Shadow),
        "unused": of(Class::Unused),
        "deprecated_in_use": of(Class::Zombie),
        "undeclared_status": undeclared,
    })
}

/// Recommended per-client limits, as YAML `rate_limits` entries per API: twice the highest
/// rate one client reached on each operation, per minute, with a burst of twice its
/// highest second (at least 10 a minute and 5 at once, so a quiet log does not recommend
/// a limit that refuses normal use).
pub fn rate_limits(snapshot: &Snapshot) -> String {
    let mut out = String::new();
    let mut current = None;
    for e in snapshot
        .endpoints
        .iter()
        .filter(|e| e.operation.is_some() && e.requests > 0 && e.class != Class::Unused)
    {
        if current != Some(&e.api) {
            current = Some(&e.api);
            out.push_str(&format!(
                "# apis[name={}].rate_limits: twice the peak per client observed\nrate_limits:\n",
                e.api
            ));
        }
        let limit = (e.peak_per_minute_per_client * 2).max(10);
        let burst = ((e.peak_rps_per_client as u64) * 2).clamp(5, limit);
        out.push_str(&format!(
            "  - {{ key: ip, operations: [{}], limit: {limit}, per: 1m, burst: {burst} }}\n",
            e.operation.as_deref().unwrap_or_default()
        ));
    }
    out
}
