//! Broken object level authorization on writes (BOLA-002), only with `safe: false` and run
//! after every other check: an update (PUT/PATCH) or deletion the first user (A) made of one
//! of their own objects while exploring is sent again as the second user (B), and A reads the
//! object back:
//!
//! * update: one string property of the body is set to a marker unique to this scan; reported
//!   when A's read of the object (a GET on the same path, or on its parent path for
//!   `/objects/{id}/field`) then holds the marker. A password is not read back that way: A
//!   logging in with the marker as password is the read-back; both users' passwords are then
//!   set back to their configured values.
//! * deletion: A reads the object first (the baseline, which must have content); reported
//!   when B's DELETE is answered 2xx and A's read then finds nothing (404 or 410).
//!
//! B's own object (B's request for the same operation) must be another path, so B cannot
//! be changing what is theirs.

use portcullis_spec::Method;
use serde_json::Value;

use super::has_content;
use super::login::{attempt, logged_in, setup};
use crate::http::{Exchange, Request};
use crate::plan;
use crate::scan::{Scan, Stop};
use crate::session::Who;

/// The GET operation that reads what `template` writes: the same path, or its parent.
fn reader(scan: &Scan<'_>, template: &str) -> Option<(usize, bool)> {
    let get = |path: &str| {
        scan.catalog
            .operations
            .iter()
            .position(|o| o.method == Method::Get && o.path == path)
    };
    if let Some(i) = get(template) {
        return Some((i, false));
    }
    let (parent, last) = template.rsplit_once('/')?;
    (!last.starts_with('{') && parent.contains('{'))
        .then(|| get(parent).map(|i| (i, true)))
        .flatten()
}

fn parent_path(path: &str) -> String {
    let p = plan::path_only(path);
    p.rsplit_once('/')
        .map_or(p, |(parent, _)| parent)
        .to_owned()
}

fn is_password(key: &str) -> bool {
    key.to_ascii_lowercase().contains("pass")
}

/// The property to change and its marker value.
fn target_property(body: &Value, unique: &str) -> Option<(String, String)> {
    let object = body.as_object()?;
    let key = object
        .iter()
        .filter(|(_, v)| v.is_string())
        .map(|(k, _)| k)
        .find(|k| {
            let k = k.to_ascii_lowercase();
            k != "id" && !k.ends_with("id")
        })?;
    let tag: String = unique.chars().filter(char::is_ascii_alphanumeric).collect();
    let value = if key.to_ascii_lowercase().contains("mail") {
        format!("{tag}@example.org")
    } else if is_password(key) {
        format!("Pc{tag}9x")
    } else {
        format!("pc-{tag}")
    };
    Some((key.clone(), value))
}

/// Runs the check.
pub async fn run(scan: &mut Scan<'_>) -> Result<(), Stop> {
    if scan.safe || scan.users.len() < 2 {
        return Ok(());
    }
    let candidates: Vec<(usize, Exchange)> = scan
        .records
        .iter()
        .filter(|r| r.who == Who::User(0) && r.owned && r.exchange.ok())
        .filter(|r| {
            scan.op(r.op).is_some_and(|o| {
                matches!(o.method, Method::Put | Method::Patch | Method::Delete)
                    && super::authn::secured(o)
            })
        })
        .map(|r| (r.op, r.exchange.clone()))
        .collect();
    for (op, theirs) in candidates {
        let theirs_path = plan::path_only(&theirs.request.path).to_owned();
        let bs_own = scan
            .record(op, Who::User(1))
            .map(|r| plan::path_only(&r.exchange.request.path).to_owned());
        if bs_own.as_deref() == Some(theirs_path.as_str()) {
            continue;
        }
        let template = scan.op(op).map(|o| o.path.clone()).unwrap_or_default();
        if theirs.request.method == "DELETE" {
            deletion(scan, op, &theirs, &template).await?;
        } else {
            update(scan, op, &theirs, &template).await?;
        }
    }
    Ok(())
}

/// A's read of the object `theirs` wrote.
async fn read_back(
    scan: &mut Scan<'_>,
    theirs: &Exchange,
    template: &str,
) -> Result<Option<(usize, Exchange)>, Stop> {
    let Some((read_op, parent)) = reader(scan, template) else {
        return Ok(None);
    };
    let path = if parent {
        parent_path(&theirs.request.path)
    } else {
        plan::path_only(&theirs.request.path).to_owned()
    };
    let request = scan.as_who(Request::new("GET", path), Who::User(0));
    Ok(scan
        .send(request, Some(read_op))
        .await?
        .map(|x| (read_op, x)))
}

async fn update(
    scan: &mut Scan<'_>,
    op: usize,
    theirs: &Exchange,
    template: &str,
) -> Result<(), Stop> {
    let unique = scan.generator.unique();
    let Some((key, marker)) = theirs
        .request
        .body
        .as_ref()
        .and_then(|b| target_property(b, &unique))
    else {
        return Ok(());
    };
    let mut attack = scan.as_who(theirs.request.clone(), Who::User(1));
    if let Some(body) = attack.body.as_mut().and_then(Value::as_object_mut) {
        body.insert(key.clone(), Value::String(marker.clone()));
    }
    let Some(answer) = scan.send(attack, Some(op)).await? else {
        return Ok(());
    };
    if !answer.ok() {
        return Ok(());
    }
    let (a, b) = names(scan);
    if is_password(&key) && scan.login_op.is_some() {
        let confirmed = login_as_a(scan, &marker).await?;
        restore_passwords(scan, op, theirs, &key).await?;
        if let Some(login) = confirmed {
            scan.report(
                "PC-SCAN-BOLA-002",
                Some(op),
                &answer,
                format!(
                    "{b} changed {a}'s `{key}`: {} {} answered {}",
                    answer.request.method, theirs_path(theirs), answer.status
                ),
                format!(
                    "{a} then logged in with the password {b} set ({}); both passwords were set back afterwards",
                    login.status
                ),
            );
        }
        return Ok(());
    }
    let Some((_, read)) = read_back(scan, theirs, template).await? else {
        return Ok(());
    };
    if read.ok() && read.text().contains(&marker) {
        scan.report(
            "PC-SCAN-BOLA-002",
            Some(op),
            &answer,
            format!(
                "{b} changed {a}'s object: {} {} answered {}",
                answer.request.method,
                theirs_path(theirs),
                answer.status
            ),
            format!(
                "{a}'s own read {} then showed `{key}` = {marker:?}, the value {b} sent",
                plan::path_only(&read.request.path)
            ),
        );
    }
    Ok(())
}

async fn deletion(
    scan: &mut Scan<'_>,
    op: usize,
    theirs: &Exchange,
    template: &str,
) -> Result<(), Stop> {
    let Some((_, before)) = read_back(scan, theirs, template).await? else {
        return Ok(());
    };
    if !has_content(&before) {
        return Ok(());
    }
    let attack = scan.as_who(theirs.request.clone(), Who::User(1));
    let Some(answer) = scan.send(attack, Some(op)).await? else {
        return Ok(());
    };
    if !answer.ok() {
        return Ok(());
    }
    let Some((_, after)) = read_back(scan, theirs, template).await? else {
        return Ok(());
    };
    if matches!(after.status, 404 | 410) {
        let (a, b) = names(scan);
        scan.report(
            "PC-SCAN-BOLA-002",
            Some(op),
            &answer,
            format!(
                "{b} deleted {a}'s object: DELETE {} answered {}",
                theirs_path(theirs),
                answer.status
            ),
            format!(
                "{a}'s read answered {} before and {} after",
                before.status, after.status
            ),
        );
    }
    Ok(())
}

fn theirs_path(x: &Exchange) -> &str {
    plan::path_only(&x.request.path)
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

/// The user name and password members of the first user's login body.
fn credentials(scan: &Scan<'_>, who: usize) -> Option<(String, String)> {
    let body = scan.users.get(who)?.login_body.clone()?;
    let (u, p) = super::login::fields(body.as_object()?)?;
    Some((
        body.get(&u)?.as_str()?.to_owned(),
        body.get(&p)?.as_str()?.to_owned(),
    ))
}

/// A logs in with `password`; the answer when that succeeded.
async fn login_as_a(scan: &mut Scan<'_>, password: &str) -> Result<Option<Exchange>, Stop> {
    let (Some((op, login, path)), Some((user, _))) = (setup(scan), credentials(scan, 0)) else {
        return Ok(None);
    };
    let Some(request) = attempt(&login, &path, &user, password) else {
        return Ok(None);
    };
    Ok(scan
        .send(request, Some(op))
        .await?
        .filter(|x| logged_in(x, &login)))
}

/// Sets both users' passwords back to their configured values, each through their own
/// request for the operation (A's path as A, B's path as B).
async fn restore_passwords(
    scan: &mut Scan<'_>,
    op: usize,
    theirs: &Exchange,
    key: &str,
) -> Result<(), Stop> {
    let bs = match scan.record(op, Who::User(1)) {
        Some(r) => Some(r.exchange.request.clone()),
        None => scan.build(op, Who::User(1)).map(|b| {
            let mut r = b.request;
            r.body.clone_from(&theirs.request.body);
            r
        }),
    };
    for (i, request) in [(0, Some(theirs.request.clone())), (1, bs)] {
        let (Some(mut request), Some((_, password))) = (request, credentials(scan, i)) else {
            continue;
        };
        if let Some(body) = request.body.as_mut().and_then(Value::as_object_mut) {
            body.insert(key.to_owned(), Value::String(password));
        }
        let request = scan.as_who(request, Who::User(i));
        scan.send(request, Some(op)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn the_changed_property_and_its_marker() {
        let (k, v) = target_property(&json!({"id": "1", "name": "x"}), "pcscan-ab-3").unwrap();
        assert_eq!((k.as_str(), v.as_str()), ("name", "pc-pcscanab3"));
        let (_, v) = target_property(&json!({"email": "a@b.c"}), "u-1").unwrap();
        assert_eq!(v, "u1@example.org");
        let (k, v) = target_property(&json!({"password": "p"}), "u-1").unwrap();
        assert!(is_password(&k) && v == "Pcu19x");
        assert!(target_property(&json!({"n": 3}), "u").is_none());
        assert_eq!(parent_path("/users/v1/a/email?x=1"), "/users/v1/a");
    }
}
