//! Broken object level authorization on ids carried in request bodies (BOLA-003): a request
//! the first user (A) made with an id in its JSON body (`{"accountId": 1}`, `{"from": 1,
//! ...}`) is sent again as the second user (B) with A's id in that property, where the
//! property names an object the caller must own (an `…Id` property, or a source such as
//! `from`; never a recipient such as `to`, which may be anyone's). A's and B's ids are the
//! ones harvested from their own answers for the same resource (or their own user ids).
//!
//! * Reads (an operation that looks like one: `get…`, `search…`, `…/statement`...), in safe
//!   mode: reported when B's answer with A's id is A's own answer (same data), while B's
//!   answer with B's id differs, and a made-up id is refused (so the id is looked up).
//! * Writes (any other POST, PUT or PATCH), only with `safe: false`, after every other check:
//!   A reads the object (a GET that takes that id in its path) twice, the same both times;
//!   B's request with A's id (recipients set to B's own) is answered 2xx while a made-up id
//!   is refused, and A's read then differs: B changed A's object (moved A's money).

use portcullis_spec::{Method, Operation};
use serde_json::Value;

use super::same_data;
use crate::harvest::{norm, resource_of, singular};
use crate::http::{Exchange, Request};
use crate::plan;
use crate::scan::{Scan, Stop};
use crate::session::Who;

/// Property names of a recipient (`to`, `toAccountId`, `recipient`...): not the caller's.
const RECIPIENTS: &[&str] = &[
    "to",
    "recipient",
    "destination",
    "dest",
    "target",
    "payee",
    "beneficiary",
    "receiver",
    "credit",
];
/// Property names of a source (`from`, `sourceAccount`...): the caller's own.
const SOURCES: &[&str] = &["from", "source", "src", "sender", "payer", "debit"];
/// Operation id prefixes and path words of reads.
const READS: &[&str] = &[
    "get",
    "read",
    "search",
    "lookup",
    "query",
    "find",
    "list",
    "view",
    "show",
    "fetch",
    "export",
    "report",
    "statement",
    "preview",
    "quote",
    "estimate",
    "check",
];
/// The most requests tried, as (operation, property) pairs.
const MAX_PAIRS: usize = 20;

/// True for a property that names a recipient.
fn recipient(n: &str) -> bool {
    RECIPIENTS.iter().any(|p| {
        n == *p
            || n.strip_prefix(p).is_some_and(|rest| {
                ["account", "user", "id", "wallet", "address", "iban"]
                    .iter()
                    .any(|r| rest.starts_with(r))
            })
    })
}

/// The harvest keys that may hold ids for body property `key` of an operation tagged
/// `tags`, in order; `None` when the property does not name an object the caller must own.
pub fn id_keys(key: &str, tags: &[String]) -> Option<Vec<String>> {
    let n = norm(key);
    if n.is_empty() || recipient(&n) {
        return None;
    }
    let source = SOURCES.iter().find(|s| n.starts_with(**s));
    let id_like = n.ends_with("id") || n.ends_with("uuid");
    if !id_like && source.is_none() {
        return None;
    }
    let mut keys = Vec::new();
    if id_like {
        keys.push(n.clone());
    }
    let rest = source
        .and_then(|s| n.strip_prefix(*s))
        .unwrap_or(n.as_str());
    let rest = rest
        .strip_suffix("uuid")
        .or_else(|| rest.strip_suffix("id"))
        .unwrap_or(rest);
    if !rest.is_empty() {
        keys.push(format!("{rest}id"));
    }
    for tag in tags {
        keys.push(format!("{}id", singular(tag)));
    }
    keys.dedup();
    Some(keys)
}

/// True when the operation reads rather than changes (by its id, or its path's last word).
pub fn read_like(op: &Operation) -> bool {
    if op.method == Method::Get {
        return true;
    }
    let id = op
        .operation_id
        .as_deref()
        .unwrap_or(&op.id)
        .to_ascii_lowercase();
    let last = op
        .path
        .rsplit('/')
        .find(|s| !s.is_empty() && !s.starts_with('{'))
        .map(singular)
        .unwrap_or_default();
    READS
        .iter()
        .any(|w| id.starts_with(w) || last == *w || last == singular(w))
}

/// `id` as the JSON type `like` has (a number stays a number when it parses as one).
fn typed(id: &Value, like: &Value) -> Value {
    match (like, id) {
        (Value::Number(_), Value::String(s)) => {
            s.parse::<i64>().map_or_else(|_| id.clone(), Value::from)
        }
        (Value::String(_), Value::Number(n)) => Value::String(n.to_string()),
        _ => id.clone(),
    }
}

/// An id that surely names nothing, of the type of `like`.
fn made_up(like: &Value, unique: &str) -> Value {
    match like {
        Value::Number(_) => Value::from(987_654_i64),
        Value::String(s) if s.len() == 36 && s.matches('-').count() == 4 => {
            Value::String("00000000-0000-4000-8000-00000000dead".to_owned())
        }
        _ => Value::String(unique.to_owned()),
    }
}

/// A's body with `key` set to `id`, and every other property that held the same value as
/// `key` (a transfer from and to one account) set to `others`.
pub fn body_with(body: &Value, key: &str, id: &Value, others: &Value) -> Option<Value> {
    let mut object = body.as_object()?.clone();
    let old = object.get(key)?.clone();
    for (k, v) in object.iter_mut() {
        if k != key && *v == old {
            *v = typed(others, v);
        }
    }
    object.insert(key.to_owned(), typed(id, &old));
    Some(Value::Object(object))
}

/// The ids of A and B for the first of `keys` both have (different ones).
fn ids(scan: &Scan<'_>, key: &str, keys: &[String]) -> Option<(Value, Value)> {
    let n = norm(key);
    if n.contains("user") || n.contains("owner") {
        let own = |i: usize| scan.users.get(i)?.self_ids.first().cloned();
        if let (Some(a), Some(b)) = (own(0), own(1))
            && a != b
        {
            return Some((Value::String(a), Value::String(b)));
        }
    }
    keys.iter().find_map(|k| {
        let a = scan.harvest.get(Who::User(0), k)?;
        let b = scan.harvest.get(Who::User(1), k)?;
        (a != b).then(|| (a.clone(), b.clone()))
    })
}

/// The reads (`writes` false, safe mode) or the writes (`writes` true, `safe: false` only).
pub async fn run(scan: &mut Scan<'_>, writes: bool) -> Result<(), Stop> {
    if scan.users.len() < 2 || (writes && scan.safe) {
        return Ok(());
    }
    let mut work = Vec::new();
    for r in scan
        .records
        .iter()
        .filter(|r| r.who == Who::User(0) && r.exchange.ok())
    {
        let Some(op) = scan.op(r.op) else { continue };
        if Some(r.op) == scan.login_op
            || read_like(op) == writes
            || !matches!(
                op.method,
                Method::Post | Method::Put | Method::Patch | Method::Get
            )
        {
            continue;
        }
        let Some(Value::Object(body)) = &r.exchange.request.body else {
            continue;
        };
        for (key, value) in body {
            if !(value.is_string() || value.is_number()) {
                continue;
            }
            let Some(keys) = id_keys(key, &op.tags) else {
                continue;
            };
            if let Some((a, b)) = ids(scan, key, &keys) {
                work.push((r.op, r.exchange.clone(), key.clone(), a, b, keys));
            }
        }
    }
    for (op, theirs, key, a, b, keys) in work.into_iter().take(MAX_PAIRS) {
        if writes {
            write(scan, op, &theirs, &key, (&a, &b), &keys).await?;
        } else {
            read(scan, op, &theirs, &key, (&a, &b)).await?;
        }
    }
    Ok(())
}

/// `theirs` with its body replaced, sent as `who`.
async fn send_body(
    scan: &mut Scan<'_>,
    op: usize,
    theirs: &Exchange,
    body: Option<Value>,
    who: Who,
) -> Result<Option<Exchange>, Stop> {
    let Some(body) = body else { return Ok(None) };
    let request = Request {
        body: Some(body),
        ..theirs.request.clone()
    };
    scan.send_as(request, who, Some(op)).await
}

fn names(scan: &Scan<'_>) -> (String, String) {
    let name = |i: usize| {
        scan.users
            .get(i)
            .map(|s| s.name.clone())
            .unwrap_or_default()
    };
    (name(0), name(1))
}

async fn read(
    scan: &mut Scan<'_>,
    op: usize,
    theirs: &Exchange,
    key: &str,
    (a, b): (&Value, &Value),
) -> Result<(), Stop> {
    let Some(body) = theirs.request.body.clone() else {
        return Ok(());
    };
    let with = |id: &Value| body_with(&body, key, id, b);
    let Some(attack) = send_body(scan, op, theirs, with(a), Who::User(1)).await? else {
        return Ok(());
    };
    if !attack.ok() {
        return Ok(());
    }
    let unique = scan.generator.unique();
    let fake = body
        .get(key)
        .map(|v| made_up(v, &unique))
        .unwrap_or_default();
    let Some(control) = send_body(scan, op, theirs, with(&fake), Who::User(1)).await? else {
        return Ok(());
    };
    if control.ok() {
        return Ok(());
    }
    let Some(own) = send_body(scan, op, theirs, with(b), Who::User(1)).await? else {
        return Ok(());
    };
    let Some(reference) = send_body(scan, op, theirs, with(a), Who::User(0)).await? else {
        return Ok(());
    };
    if !(same_data(&attack, &reference) && own.ok() && !same_data(&attack, &own)) {
        return Ok(());
    }
    let (an, bn) = names(scan);
    scan.report(
        "PC-SCAN-BOLA-003",
        Some(op),
        &attack,
        format!(
            "{bn} read {an}'s object by putting {an}'s id ({a}) in `{key}` of the body: {} {} answered {}",
            attack.request.method,
            plan::path_only(&attack.request.path),
            attack.status
        ),
        format!(
            "{bn}'s answer is identical to {an}'s own answer for that id and differs from {bn}'s answer for {bn}'s id ({b}); a made-up id was refused ({})",
            control.status
        ),
    );
    Ok(())
}

/// A GET that takes an id of `keys` as its only path parameter, and the path for `id`.
fn reader(scan: &Scan<'_>, keys: &[String], id: &Value) -> Option<(usize, String)> {
    let text = match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    scan.catalog
        .operations
        .iter()
        .enumerate()
        .filter(|(_, o)| {
            o.method == Method::Get && !o.deprecated && o.path.matches('{').count() == 1
        })
        .find_map(|(i, o)| {
            let p = o.parameters.iter().find(|p| {
                p.location_in == portcullis_spec::ParameterIn::Path && {
                    let n = norm(&p.name);
                    keys.contains(&n)
                        || (n == "id" && keys.contains(&format!("{}id", resource_of(&o.path))))
                }
            })?;
            Some((i, plan::with_path_param(&o.path, &o.path, &p.name, &text)?))
        })
}

async fn a_reads(
    scan: &mut Scan<'_>,
    read_op: usize,
    path: &str,
) -> Result<Option<Exchange>, Stop> {
    scan.send_as(Request::new("GET", path), Who::User(0), Some(read_op))
        .await
}

async fn write(
    scan: &mut Scan<'_>,
    op: usize,
    theirs: &Exchange,
    key: &str,
    (a, b): (&Value, &Value),
    keys: &[String],
) -> Result<(), Stop> {
    let (Some(body), Some((read_op, path))) = (theirs.request.body.clone(), reader(scan, keys, a))
    else {
        return Ok(());
    };
    let (Some(before), Some(again)) = (
        a_reads(scan, read_op, &path).await?,
        a_reads(scan, read_op, &path).await?,
    ) else {
        return Ok(());
    };
    if !same_data(&before, &again) {
        return Ok(());
    }
    let with = |id: &Value| body_with(&body, key, id, b);
    let unique = scan.generator.unique();
    let fake = body
        .get(key)
        .map(|v| made_up(v, &unique))
        .unwrap_or_default();
    let Some(control) = send_body(scan, op, theirs, with(&fake), Who::User(1)).await? else {
        return Ok(());
    };
    if control.ok() {
        return Ok(());
    }
    let Some(attack) = send_body(scan, op, theirs, with(a), Who::User(1)).await? else {
        return Ok(());
    };
    if !attack.ok() {
        return Ok(());
    }
    let Some(after) = a_reads(scan, read_op, &path).await? else {
        return Ok(());
    };
    if !super::has_content(&after) || same_data(&after, &before) {
        return Ok(());
    }
    let (an, bn) = names(scan);
    scan.report(
        "PC-SCAN-BOLA-003",
        Some(op),
        &attack,
        format!(
            "{bn} acted on {an}'s object by putting {an}'s id ({a}) in `{key}` of the body: {} {} answered {}",
            attack.request.method,
            plan::path_only(&attack.request.path),
            attack.status
        ),
        format!(
            "{an}'s read of GET {path} was the same twice before and changed after {bn}'s request; a made-up id was refused ({})",
            control.status
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    #[test]
    fn owned_ids_and_never_recipients() {
        let tags = vec!["accounts".to_owned()];
        assert_eq!(id_keys("accountId", &[]).unwrap(), vec!["accountid"]);
        assert_eq!(id_keys("from", &tags).unwrap(), vec!["accountid"]);
        assert_eq!(
            id_keys("fromAccountId", &tags).unwrap(),
            vec!["fromaccountid", "accountid"]
        );
        assert_eq!(id_keys("source_wallet", &[]).unwrap(), vec!["walletid"]);
        for recipient in ["to", "toAccountId", "recipient_id", "targetUserId", "payee"] {
            assert!(id_keys(recipient, &tags).is_none(), "{recipient}");
        }
        for other in ["amount", "name", "token", "email"] {
            assert!(id_keys(other, &tags).is_none(), "{other}");
        }
    }

    #[test]
    fn bodies_take_the_ids_with_their_types() {
        let body = json!({"from": 1, "to": 1, "amount": 5});
        assert_eq!(
            body_with(&body, "from", &json!("2"), &json!(7)).unwrap(),
            json!({"from": 2, "to": 7, "amount": 5})
        );
        let body = json!({"accountId": "a-1", "note": "x"});
        assert_eq!(
            body_with(&body, "accountId", &json!(3), &json!(4)).unwrap(),
            json!({"accountId": "3", "note": "x"})
        );
        assert!(body_with(&json!([1]), "a", &json!(1), &json!(2)).is_none());
        assert_eq!(made_up(&json!(3), "u"), json!(987_654));
        assert_eq!(made_up(&json!("x"), "u"), json!("u"));
    }

    #[test]
    fn reads_are_told_from_writes() {
        let spec = r#"
openapi: 3.1.0
info: {title: t, version: '1'}
paths:
  /statements:
    post: {operationId: getStatement, responses: {'200': {description: ok}}}
  /transfers:
    post: {operationId: createTransfer, responses: {'201': {description: ok}}}
  /accounts/search:
    post: {operationId: accountsByName, responses: {'200': {description: ok}}}
"#;
        let c = portcullis_spec::load_str("t.yaml", spec).unwrap();
        let by = |id: &str| c.operations.iter().find(|o| o.id == id).unwrap();
        assert!(read_like(by("getStatement")));
        assert!(!read_like(by("createTransfer")));
        assert!(read_like(by("accountsByName")));
    }
}
