//! Mass assignment: operations that take a JSON object body are called twice as the first
//! user, once with a valid body (the control) and once with privileged properties the body
//! schema does not declare added (`role: admin`, `isAdmin: true`, `balance`...). A property
//! is reported when the API kept the value sent, proved by one of:
//!
//! * a read-back: a GET on the same path, or, for a creation whose body holds the login's
//!   user name and password, logging in as the created user and reading the `/me`-like
//!   operation;
//! * the control: the server gave the property a different value of its own when it was not
//!   sent, and took the value sent when it was.

use portcullis_spec::{Method, Operation};
use serde_json::{Value, json};

use crate::http::Exchange;
use crate::scan::{Scan, Stop};
use crate::session::Who;

/// Privileged properties and the values sent for them.
fn privileged() -> Vec<(&'static str, Value)> {
    vec![
        ("role", json!("admin")),
        ("isAdmin", json!(true)),
        ("is_admin", json!(true)),
        ("admin", json!(true)),
        ("balance", json!(1_000_000)),
    ]
}

/// The value of `key` in an answer: at the top, or one level down (`{"user": {...}}`).
fn find<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    v.get(key).or_else(|| {
        v.as_object()?
            .values()
            .filter(|x| x.is_object())
            .find_map(|x| x.get(key))
    })
}

/// The names the body schema declares (top level).
fn declared(scan: &Scan<'_>, op: &Operation) -> Option<Vec<String>> {
    let body = op.request_body.as_ref()?;
    let (_, media) = body
        .content
        .iter()
        .find(|(m, _)| m.starts_with("application/json") || m.contains("+json"))?;
    let schema = scan.catalog.deref_schema(&media.schema.as_ref()?.value);
    let props = schema.get("properties").and_then(Value::as_object);
    Some(
        props
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default(),
    )
}

/// Reads the property back: GET on the same path, or login as the created user and `/me`.
async fn read_back(scan: &mut Scan<'_>, op: usize, sent: &Value) -> Result<Option<Exchange>, Stop> {
    let Some(operation) = scan.op(op) else {
        return Ok(None);
    };
    let same_path =
        scan.catalog.operations.iter().position(|o| {
            o.method == Method::Get && o.path == operation.path && !o.path.contains('{')
        });
    if let Some(get) = same_path {
        let Some(built) = scan.build(get, Who::User(0)) else {
            return Ok(None);
        };
        return scan.send_as(built.request, Who::User(0), Some(get)).await;
    }
    // A created account: log in with the credentials it was created with.
    let (Some(login_op), Some(login), Some(me)) = (
        scan.login_op,
        scan.login.clone(),
        crate::engine::me_operation(scan.catalog),
    ) else {
        return Ok(None);
    };
    let Some(template) = login.body.as_object() else {
        return Ok(None);
    };
    let mut body = serde_json::Map::new();
    for key in template.keys() {
        match sent.get(key) {
            Some(v) => body.insert(key.clone(), v.clone()),
            None => return Ok(None),
        };
    }
    let Some(mut request) = scan.build(login_op, Who::Anon).map(|b| b.request) else {
        return Ok(None);
    };
    request.body = Some(Value::Object(body));
    let Some(answer) = scan.send(request, Some(login_op)).await? else {
        return Ok(None);
    };
    let Some(token) = answer
        .json
        .as_ref()
        .and_then(|j| j.pointer(&login.token))
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Ok(None);
    };
    let Some(mut request) = scan.build(me, Who::Anon).map(|b| b.request) else {
        return Ok(None);
    };
    request.set_header(&login.header, format!("{}{token}", login.prefix));
    scan.send(request, Some(me)).await
}

/// Runs the check.
pub async fn run(scan: &mut Scan<'_>) -> Result<(), Stop> {
    if scan.users.is_empty() {
        return Ok(());
    }
    let safe = scan.safe;
    let ops: Vec<usize> = scan
        .catalog
        .operations
        .iter()
        .enumerate()
        .filter(|(i, o)| Some(*i) != scan.login_op && crate::plan::allowed(o, safe))
        .filter(|(_, o)| matches!(o.method, Method::Post | Method::Put | Method::Patch))
        .map(|(i, _)| i)
        .collect();
    for op in ops {
        let Some(operation) = scan.op(op) else {
            continue;
        };
        let Some(declared) = declared(scan, operation) else {
            continue;
        };
        let props: Vec<(&str, Value)> = privileged()
            .into_iter()
            .filter(|(k, _)| !declared.iter().any(|d| d.eq_ignore_ascii_case(k)))
            .collect();
        if props.is_empty() {
            continue;
        }
        let Some(mut control) = scan.build(op, Who::User(0)) else {
            continue;
        };
        crate::plan::uniquify(&mut control.request, &mut scan.generator);
        if !matches!(control.request.body, Some(Value::Object(_))) {
            continue;
        }
        let Some(control_answer) = scan
            .send_as(control.request, Who::User(0), Some(op))
            .await?
        else {
            continue;
        };
        let Some(mut attack) = scan.build(op, Who::User(0)).map(|b| b.request) else {
            continue;
        };
        crate::plan::uniquify(&mut attack, &mut scan.generator);
        if let Some(Value::Object(body)) = attack.body.as_mut() {
            for (k, v) in &props {
                body.insert((*k).to_owned(), v.clone());
            }
        }
        let sent = attack.body.clone().unwrap_or(Value::Null);
        let Some(answer) = scan.send_as(attack, Who::User(0), Some(op)).await? else {
            continue;
        };
        if !answer.ok() {
            continue;
        }
        let echoed: Vec<(&str, Value)> = props
            .iter()
            .filter(|(k, v)| answer.json.as_ref().and_then(|j| find(j, k)) == Some(v))
            .cloned()
            .collect();
        let back = read_back(scan, op, &sent).await?;
        let kept_on_read: Vec<&str> = props
            .iter()
            .filter(|(k, v)| {
                back.as_ref()
                    .filter(|b| b.ok())
                    .and_then(|b| b.json.as_ref())
                    .and_then(|j| find(j, k))
                    == Some(v)
            })
            .map(|(k, _)| *k)
            .collect();
        let overridden: Vec<&str> = echoed
            .iter()
            .filter(|(k, v)| {
                let own = control_answer.json.as_ref().and_then(|j| find(j, k));
                control_answer.ok() && own.is_some_and(|o| !o.is_null() && o != v)
            })
            .map(|(k, _)| *k)
            .collect();
        let mut confirmed: Vec<&str> = kept_on_read.clone();
        for k in &overridden {
            if !confirmed.contains(k) {
                confirmed.push(k);
            }
        }
        if confirmed.is_empty() {
            continue;
        }
        let mut proof = Vec::new();
        if let Some(b) = back.as_ref().filter(|_| !kept_on_read.is_empty()) {
            proof.push(format!(
                "read back with {} {}: {} kept",
                b.request.method,
                crate::plan::path_only(&b.request.path),
                kept_on_read.join(", ")
            ));
        }
        if !overridden.is_empty() {
            proof.push(format!(
                "without them the server set its own value ({}); with them it took the value sent",
                overridden.join(", ")
            ));
        }
        let shown: Vec<String> = props
            .iter()
            .filter(|(k, _)| confirmed.contains(k))
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        scan.report(
            "PC-SCAN-MASS-001",
            Some(op),
            &answer,
            format!(
                "{} {} accepted undeclared privileged properties: {}",
                answer.request.method,
                crate::plan::path_only(&answer.request.path),
                shown.join(", ")
            ),
            proof.join("; "),
        );
    }
    Ok(())
}
