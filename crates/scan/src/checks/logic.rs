//! Business logic: a negative number where the spec requires a positive or zero one (amounts,
//! quantities, prices). The operation is called as the first user with a valid body (the
//! control, which must succeed), then with one such property negated. Reported when the
//! negative value is accepted too (2xx) and not replaced by another value in the answer.

use portcullis_spec::Method;
use serde_json::{Value, json};

use crate::scan::{Scan, Stop};
use crate::session::Who;

/// The most properties tried per operation.
const MAX_PROPERTIES: usize = 3;

/// Top-level number properties of the body schema with a lower bound of zero or more.
fn bounded(scan: &Scan<'_>, op: usize) -> Vec<(String, f64)> {
    let Some(body) = scan.op(op).and_then(|o| o.request_body.as_ref()) else {
        return Vec::new();
    };
    let Some(schema) = body
        .content
        .iter()
        .find(|(m, _)| m.starts_with("application/json") || m.contains("+json"))
        .and_then(|(_, m)| m.schema.as_ref())
    else {
        return Vec::new();
    };
    let schema = scan.catalog.deref_schema(&schema.value);
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    props
        .iter()
        .filter_map(|(name, p)| {
            let p = scan.catalog.deref_schema(p);
            let numeric = matches!(
                crate::generate::schema_type(p).as_deref(),
                Some("number" | "integer")
            );
            let floor = p
                .get("minimum")
                .or_else(|| p.get("exclusiveMinimum"))
                .and_then(Value::as_f64)?;
            (numeric && floor >= 0.0).then(|| (name.clone(), floor))
        })
        .take(MAX_PROPERTIES)
        .collect()
}

/// Runs the check.
pub async fn run(scan: &mut Scan<'_>) -> Result<(), Stop> {
    let who = if scan.users.is_empty() {
        Who::Anon
    } else {
        Who::User(0)
    };
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
        let props = bounded(scan, op);
        if props.is_empty() {
            continue;
        }
        let Some(control) = scan.build(op, who).map(|b| b.request) else {
            continue;
        };
        let Some(control_answer) = scan.send_as(control.clone(), who, Some(op)).await? else {
            continue;
        };
        if !control_answer.ok() {
            continue;
        }
        for (name, floor) in props {
            let Some(value) = control
                .body
                .as_ref()
                .and_then(|b| b.get(&name))
                .and_then(Value::as_f64)
                .filter(|v| *v > 0.0)
            else {
                continue;
            };
            let mut attack = control.clone();
            let negative = if value.fract() == 0.0 {
                json!(-(value as i64))
            } else {
                json!(-value)
            };
            if let Some(Value::Object(body)) = attack.body.as_mut() {
                body.insert(name.clone(), negative.clone());
            }
            let Some(answer) = scan.send_as(attack, who, Some(op)).await? else {
                continue;
            };
            let echoed = answer.json.as_ref().and_then(|j| j.get(&name));
            let kept = echoed.is_none_or(|e| e.as_f64() == negative.as_f64());
            if answer.ok() && kept {
                scan.report(
                    "PC-SCAN-LOGIC-001",
                    Some(op),
                    &answer,
                    format!(
                        "{} {} accepted {name}: {negative}, although the spec requires {name} >= {floor}",
                        answer.request.method,
                        crate::plan::path_only(&answer.request.path)
                    ),
                    format!(
                        "the same body with {name}: {value} answered {}; with {name}: {negative} it answered {}{}",
                        control_answer.status,
                        answer.status,
                        if echoed.is_some() { " and echoed the negative value" } else { "" }
                    ),
                );
                break;
            }
        }
    }
    Ok(())
}
