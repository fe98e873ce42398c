//! Passive checks, run on every answer the scan gets: properties the spec does not declare
//! (sensitive ones above all: password hashes, SSNs, write-only fields) and verbose errors
//! (stack traces, SQL errors). The proof is the answer itself, parsed and compared with the
//! response schema the spec declares for its status.

use portcullis_spec::{Catalog, Operation};
use serde_json::Value;

use crate::evidence::{is_sensitive_key, url_password};
use crate::http::Exchange;
use crate::scan::Scan;

/// How many items of an array are compared with its schema.
const MAX_ITEMS: usize = 20;
/// How deep bodies are compared.
const MAX_DEPTH: usize = 8;

/// Stack-trace signatures (the SQL ones are in [`super::sqli`]).
pub(crate) const TRACES: &[&str] = &[
    r"Traceback \(most recent call last\)",
    r#"File "[^"]+\.py", line \d+"#,
    r"(?m)^\s*at [\w$.]+\([\w$]+\.java:\d+\)",
    r"\bat [\w.<>$]+ \([^)]*\.(?:js|ts|mjs):\d+:\d+\)",
    r"panicked at ",
    r"System\.[A-Za-z.]+Exception",
    r"(?i)<b>(?:Fatal|Parse) error</b>:",
];

/// The first stack-trace or SQL-error signature found in `text`.
pub fn verbose_error(text: &str) -> Option<String> {
    if let Some(s) = super::sqli::sql_error(text) {
        return Some(s);
    }
    TRACE_RES
        .iter()
        .find_map(|re| re.find(text).map(|m| m.as_str().to_owned()))
}

/// [`TRACES`], compiled once.
static TRACE_RES: std::sync::LazyLock<Vec<regex::Regex>> =
    std::sync::LazyLock::new(|| super::compile_all(TRACES));

/// Values that are secrets whatever their key: password hashes, SSNs, private keys.
pub(crate) const SENSITIVE_VALUES: &[&str] = &[
    r"^\$2[abxy]?\$\d\d\$",
    r"^\$argon2(id|i|d)\$",
    r"^\$[156]\$[^$]+\$",
    r"^\d{3}-\d{2}-\d{4}$",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
];

/// [`SENSITIVE_VALUES`], compiled once.
static SENSITIVE_VALUE_RES: std::sync::LazyLock<Vec<regex::Regex>> =
    std::sync::LazyLock::new(|| super::compile_all(SENSITIVE_VALUES));

/// Reads one answer for the passive checks.
pub fn observe(scan: &mut Scan<'_>, op: Option<usize>, exchange: &Exchange) {
    let text = exchange.text();
    if let Some(signature) = verbose_error(&text) {
        scan.report(
            "PC-SCAN-ERR-001",
            op,
            exchange,
            format!(
                "{} {} answered {} with internal details: {signature:?}",
                exchange.request.method,
                crate::plan::path_only(&exchange.request.path),
                exchange.status
            ),
            "the answer body contains the error signature quoted above".to_owned(),
        );
    }
    let Some(operation) = op.and_then(|i| scan.op(i)) else {
        return;
    };
    if !exchange.ok() {
        return;
    }
    let (Some(json), Some(schema)) = (&exchange.json, response_schema(operation, exchange.status))
    else {
        return;
    };
    let mut found = Exposure::default();
    compare(scan.catalog, json, schema, "", 0, &mut found);
    let where_ = format!(
        "{} {}",
        exchange.request.method,
        crate::plan::path_only(&exchange.request.path)
    );
    if !found.sensitive.is_empty() {
        scan.report(
            "PC-SCAN-EXPO-001",
            op,
            exchange,
            format!(
                "{where_} answered with sensitive data (undeclared, write-only or passwords): {}",
                found.sensitive.join(", ")
            ),
            format!(
                "compared with the declared schema of the {} answer; undeclared: {}",
                exchange.status,
                if found.undeclared.is_empty() {
                    "none".to_owned()
                } else {
                    found.undeclared.join(", ")
                }
            ),
        );
    } else if !found.undeclared.is_empty() {
        scan.report(
            "PC-SCAN-EXPO-002",
            op,
            exchange,
            format!(
                "{where_} answered with properties the spec does not declare: {}",
                found.undeclared.join(", ")
            ),
            format!(
                "compared with the declared schema of the {} answer",
                exchange.status
            ),
        );
    }
}

/// The JSON schema the spec declares for `status` (exact code, then `2XX`, then `default`).
fn response_schema(op: &Operation, status: u16) -> Option<&Value> {
    let class = format!("{}XX", status / 100);
    let response = op
        .responses
        .get(&status.to_string())
        .or_else(|| op.responses.get(&class))
        .or_else(|| op.responses.get(&class.to_ascii_lowercase()))
        .or_else(|| op.responses.get("default"))?;
    response
        .content
        .iter()
        .find(|(media, _)| media.contains("json"))
        .and_then(|(_, m)| m.schema.as_ref())
        .map(|s| s.value.as_ref())
}

#[derive(Default)]
struct Exposure {
    sensitive: Vec<String>,
    undeclared: Vec<String>,
}

impl Exposure {
    fn add(list: &mut Vec<String>, item: String) {
        if list.len() < 20 && !list.contains(&item) {
            list.push(item);
        }
    }
}

/// Declared properties of an object schema (following `$ref` and `allOf`); `None` when the
/// schema does not list its properties (a free-form object).
fn declared<'c>(
    catalog: &'c Catalog,
    schema: &'c Value,
    depth: usize,
) -> Option<Vec<(&'c str, &'c Value)>> {
    let schema = catalog.deref_schema(schema);
    let mut out: Vec<(&str, &Value)> = Vec::new();
    let mut known = false;
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        known = true;
        out.extend(props.iter().map(|(k, v)| (k.as_str(), v)));
    }
    if depth < MAX_DEPTH {
        for key in ["allOf", "oneOf", "anyOf"] {
            for part in schema
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(more) = declared(catalog, part, depth + 1) {
                    known = true;
                    out.extend(more);
                } else if key != "allOf" {
                    return None;
                }
            }
        }
    }
    let open = schema
        .get("additionalProperties")
        .is_some_and(|a| a != &Value::Bool(false))
        || schema.get("patternProperties").is_some();
    (known && !open).then_some(out)
}

fn sensitive_value(value: &str) -> bool {
    url_password(value).is_some() || SENSITIVE_VALUE_RES.iter().any(|re| re.is_match(value))
}

fn compare(
    catalog: &Catalog,
    body: &Value,
    schema: &Value,
    at: &str,
    depth: usize,
    found: &mut Exposure,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let schema = catalog.deref_schema(schema);
    match body {
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items.iter().take(MAX_ITEMS) {
                    compare(
                        catalog,
                        item,
                        item_schema,
                        &format!("{at}/*"),
                        depth + 1,
                        found,
                    );
                }
            }
        }
        Value::Object(map) => {
            let Some(props) = declared(catalog, schema, 0) else {
                return;
            };
            for (key, value) in map {
                let here = format!("{at}/{key}");
                match props.iter().find(|(k, _)| k == key) {
                    None => {
                        let secret =
                            is_sensitive_key(key) || value.as_str().is_some_and(sensitive_value);
                        if secret {
                            Exposure::add(&mut found.sensitive, here.clone());
                        }
                        Exposure::add(&mut found.undeclared, here);
                    }
                    Some((_, prop)) => {
                        let prop_schema = catalog.deref_schema(prop);
                        let write_only =
                            prop_schema.get("writeOnly").and_then(Value::as_bool) == Some(true);
                        // A password has no business in an answer, declared or not.
                        let password = {
                            let k = key.to_ascii_lowercase();
                            (k.contains("password") || k.contains("passwd"))
                                && value.as_str().is_some_and(|v| !v.is_empty())
                        };
                        if write_only || password {
                            Exposure::add(&mut found.sensitive, here.clone());
                        }
                        compare(catalog, value, prop, &here, depth + 1, found);
                    }
                }
            }
        }
        _ => {}
    }
}
