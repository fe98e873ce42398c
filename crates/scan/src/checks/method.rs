//! Method tampering: the API does something other than what the spec documents when only the
//! HTTP method changes.
//!
//! * METHOD-002, access control bypassed by the method: a secured read the first user got
//!   (2xx with content) is refused to an anonymous GET (401/403), yet answered 2xx to an
//!   anonymous HEAD whose `Content-Length` equals the one of the first user's own HEAD (the
//!   handler ran and produced the same data, only the body was left off). With `safe: false`
//!   a made-up method (`PCSCAN`) is tried too: reported when its anonymous answer carries the
//!   first user's data. HEAD is a safe method (RFC 9110), so it runs in safe mode; what a
//!   server does with an unknown method is not known, so that one waits for `safe: false`.
//! * METHOD-001, undocumented method executed (`safe: false` only, after every other check):
//!   on the path of an object the first user reads (one of theirs, or their `/me`), a PUT or
//!   PATCH the spec does not document for that path, with one property set to a marker; it
//!   was executed when the first user's read then shows the marker. The old value is put
//!   back the same way. A refusal (405, 404, 401, 403, 501) or a 2xx that changes nothing is
//!   not reported.
//! * METHOD-003, method override honoured (`safe: false` only): where that PUT/PATCH was
//!   refused, the same change sent as a POST carrying `X-HTTP-Method-Override`,
//!   `X-Method-Override`, `X-HTTP-Method` or `?_method=`; reported when the read then shows
//!   the marker (the refusal was bypassed). Not tried on paths that document a POST (a POST
//!   that works as documented is no bypass).
//!
//! DELETE is never sent: deleting a real object proves nothing the reversible PUT/PATCH does
//! not. Override headers only ever ask for PUT or PATCH, and only with `safe: false`: an
//! honoured override executes a write, which safe mode does not send.

use std::collections::HashSet;

use portcullis_spec::Method;
use serde_json::Value;

use super::{has_content, same_data};
use crate::harvest::norm;
use crate::http::{Exchange, Request};
use crate::plan;
use crate::scan::{Scan, Stop};
use crate::session::Who;

/// The most secured reads tried with HEAD.
const MAX_READS: usize = 20;
/// The most object paths tried with undocumented writes.
const MAX_PATHS: usize = 8;
/// The made-up method of `safe: false`.
const MADE_UP: &str = "PCSCAN";

/// How a tampered write is carried: the method itself, an override header, or `_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// The method itself (`PUT /x`).
    Plain,
    /// `POST /x` with this header naming the method.
    Header(&'static str),
    /// `POST /x?_method=PUT`.
    Query,
}

/// The override carriers, in the order they are tried.
pub const OVERRIDES: [Carrier; 4] = [
    Carrier::Header("X-HTTP-Method-Override"),
    Carrier::Header("X-Method-Override"),
    Carrier::Header("X-HTTP-Method"),
    Carrier::Query,
];

impl Carrier {
    /// `method` sent to `path` with `body` this way.
    pub fn request(self, method: &str, path: &str, body: Value) -> Request {
        let mut r = match self {
            Carrier::Plain => Request::new(method, path),
            Carrier::Header(h) => {
                let mut r = Request::new("POST", path);
                r.set_header(h, method);
                r
            }
            Carrier::Query => Request::new("POST", plan::with_query(path, "_method", method)),
        };
        r.body = Some(body);
        r
    }

    /// How it reads in a finding (`POST /x with X-HTTP-Method-Override: PUT`).
    pub fn describe(self, method: &str, path: &str) -> String {
        match self {
            Carrier::Plain => format!("{method} {path}"),
            Carrier::Header(h) => format!("POST {path} with `{h}: {method}`"),
            Carrier::Query => format!("POST {path}?_method={method}"),
        }
    }
}

/// True for an answer that refuses the method (or the caller) rather than executing it.
pub fn refused(status: u16) -> bool {
    matches!(status, 401 | 403 | 404 | 405 | 501)
}

/// The `Content-Length` of an answer.
fn length(x: &Exchange) -> Option<u64> {
    x.header("content-length")?.trim().parse().ok()
}

/// The HEAD oracle: the anonymous GET was refused, the anonymous HEAD answered 2xx with the
/// very length the owner's HEAD has (and not the length of the refusal).
pub fn head_bypassed(anon_get: &Exchange, anon_head: &Exchange, owner_head: &Exchange) -> bool {
    let refused_get = matches!(anon_get.status, 401 | 403);
    let (Some(anon), Some(owner)) = (length(anon_head), length(owner_head)) else {
        return false;
    };
    refused_get
        && anon_head.ok()
        && owner_head.ok()
        && owner > 0
        && anon == owner
        && anon != anon_get.body.len() as u64
}

/// The property of an object to set to a marker, and the marker: a descriptive string
/// property (names, titles, e-mail addresses first), never an id, a secret or a privilege.
pub fn marker_property(object: &Value, unique: &str) -> Option<(String, String, String)> {
    let object = object.as_object()?;
    let fit = |k: &str| {
        let n = norm(k);
        !(n.ends_with("id")
            || n.ends_with("uuid")
            || matches!(
                n.as_str(),
                "username" | "owner" | "role" | "roles" | "admin" | "isadmin" | "status"
            )
            || crate::evidence::is_sensitive_key(k))
    };
    let preferred = [
        "name",
        "title",
        "label",
        "nickname",
        "displayname",
        "description",
        "email",
    ];
    let mut strings: Vec<(&String, &str)> = object
        .iter()
        .filter_map(|(k, v)| Some((k, v.as_str()?)))
        .filter(|(k, _)| fit(k))
        .collect();
    strings.sort_by_key(|(k, _)| {
        let n = norm(k);
        preferred
            .iter()
            .position(|p| n == *p || n.ends_with(p))
            .unwrap_or(preferred.len())
    });
    let (key, original) = strings.first()?;
    let tag: String = unique.chars().filter(char::is_ascii_alphanumeric).collect();
    let marker = if original.contains('@') {
        format!("{tag}@example.org")
    } else {
        format!("Pc{tag}")
    };
    Some(((*key).clone(), (*original).to_owned(), marker))
}

/// The methods the spec documents on `template`.
fn documented(scan: &Scan<'_>, template: &str) -> HashSet<Method> {
    scan.catalog
        .operations
        .iter()
        .filter(|o| o.path == template)
        .map(|o| o.method)
        .collect()
}

/// The first user's secured reads with content: (operation, exchange), once per path
/// template; `objects` keeps only their own objects (an owned id, or no path parameter) with
/// a JSON object answer.
fn reads(scan: &Scan<'_>, objects: bool) -> Vec<(usize, Exchange)> {
    let mut seen = HashSet::new();
    scan.records
        .iter()
        .filter(|r| r.who == Who::User(0) && has_content(&r.exchange))
        .filter(|r| {
            scan.op(r.op).is_some_and(|o| {
                o.method == Method::Get
                    && super::authn::secured(o)
                    && (!objects
                        || ((r.owned || !o.path.contains('{'))
                            && r.exchange.json.as_ref().is_some_and(Value::is_object)))
            })
        })
        .filter(|r| seen.insert(r.op))
        .map(|r| (r.op, r.exchange.clone()))
        .collect()
}

/// METHOD-002: HEAD (and, with `safe: false`, a made-up method) without credentials.
pub async fn run(scan: &mut Scan<'_>) -> Result<(), Stop> {
    if scan.users.is_empty() {
        return Ok(());
    }
    for (op, theirs) in reads(scan, false).into_iter().take(MAX_READS) {
        let get = Request {
            body: None,
            ..theirs.request.clone()
        };
        let Some(anon_get) = scan.send_as(get.clone(), Who::Anon, Some(op)).await? else {
            continue;
        };
        if !matches!(anon_get.status, 401 | 403) {
            continue;
        }
        let head = Request {
            method: "HEAD".to_owned(),
            ..get.clone()
        };
        let Some(anon_head) = scan.send_as(head.clone(), Who::Anon, Some(op)).await? else {
            continue;
        };
        if anon_head.ok() {
            let Some(owner_head) = scan.send_as(head, Who::User(0), Some(op)).await? else {
                continue;
            };
            if head_bypassed(&anon_get, &anon_head, &owner_head) {
                let proof = format!(
                    "GET without credentials answered {}; HEAD without credentials answered {} with Content-Length {} (the first user's own HEAD: {} with Content-Length {}): the handler ran for an anonymous caller",
                    anon_get.status,
                    anon_head.status,
                    length(&anon_head).unwrap_or(0),
                    owner_head.status,
                    length(&owner_head).unwrap_or(0)
                );
                report_bypass(scan, op, &anon_head, proof);
                continue;
            }
        }
        if scan.safe {
            continue;
        }
        let made_up = Request {
            method: MADE_UP.to_owned(),
            ..get
        };
        let Some(answer) = scan.send_as(made_up, Who::Anon, Some(op)).await? else {
            continue;
        };
        if !has_content(&answer) {
            continue;
        }
        let reference = if same_data(&answer, &theirs) {
            Some(theirs.clone())
        } else {
            scan.send_as(theirs.request.clone(), Who::User(0), Some(op))
                .await?
                .filter(|fresh| same_data(&answer, fresh))
        };
        if reference.is_some() {
            let proof = format!(
                "GET without credentials answered {}; the made-up method {MADE_UP} without credentials answered {} with the first user's own data",
                anon_get.status, answer.status
            );
            report_bypass(scan, op, &answer, proof);
        }
    }
    Ok(())
}

fn report_bypass(scan: &mut Scan<'_>, op: usize, answer: &Exchange, proof: String) {
    scan.report(
        "PC-SCAN-METHOD-002",
        Some(op),
        answer,
        format!(
            "{} {} answered {} without credentials, where GET is refused: access control depends on the method",
            answer.request.method,
            plan::path_only(&answer.request.path),
            answer.status
        ),
        proof,
    );
}

/// METHOD-001 and METHOD-003 (`safe: false` only).
pub async fn writes(scan: &mut Scan<'_>) -> Result<(), Stop> {
    if scan.safe || scan.users.is_empty() {
        return Ok(());
    }
    for (op, theirs) in reads(scan, true).into_iter().take(MAX_PATHS) {
        let Some(template) = scan.op(op).map(|o| o.path.clone()) else {
            continue;
        };
        let known = documented(scan, &template);
        for method in [Method::Put, Method::Patch] {
            if known.contains(&method) {
                continue;
            }
            if tamper(scan, op, &theirs, method, &known).await? {
                break;
            }
        }
    }
    Ok(())
}

/// One undocumented `method` on the path `theirs` read: plainly, then (when refused) through
/// the overrides. True when a finding was reported.
async fn tamper(
    scan: &mut Scan<'_>,
    op: usize,
    theirs: &Exchange,
    method: Method,
    known: &HashSet<Method>,
) -> Result<bool, Stop> {
    let unique = scan.generator.unique();
    let Some(json) = theirs.json.clone() else {
        return Ok(false);
    };
    let Some((key, original, marker)) = marker_property(&json, &unique) else {
        return Ok(false);
    };
    let path = plan::path_only(&theirs.request.path).to_owned();
    let template = scan.op(op).map(|o| o.path.clone()).unwrap_or_default();
    let body = |value: &str| -> Value {
        if method == Method::Patch {
            serde_json::json!({ key.clone(): value })
        } else {
            let mut whole = json.clone();
            if let Some(o) = whole.as_object_mut() {
                o.insert(key.clone(), Value::String(value.to_owned()));
            }
            whole
        }
    };
    let name = method.as_str();
    let plain = Carrier::Plain.request(name, &path, body(&marker));
    let Some(answer) = scan.send_as(plain, Who::User(0), Some(op)).await? else {
        return Ok(false);
    };
    if answer.ok() {
        if read_shows(scan, op, theirs, &key, &marker).await? {
            restore(scan, op, Carrier::Plain, name, &path, body(&original)).await?;
            let proof = format!(
                "the spec documents {} on {template}; {name} {path} answered {} and the first user's read then showed `{key}` = {marker:?}; the old value was put back",
                methods(known),
                answer.status
            );
            scan.report(
                "PC-SCAN-METHOD-001",
                Some(op),
                &answer,
                format!("{name} {path} is not in the spec, yet it was executed"),
                proof,
            );
            return Ok(true);
        }
        return Ok(false);
    }
    if !refused(answer.status) || known.contains(&Method::Post) {
        return Ok(false);
    }
    for carrier in OVERRIDES {
        let request = carrier.request(name, &path, body(&marker));
        let Some(over) = scan.send_as(request, Who::User(0), Some(op)).await? else {
            continue;
        };
        if !over.ok() || !read_shows(scan, op, theirs, &key, &marker).await? {
            continue;
        }
        restore(scan, op, carrier, name, &path, body(&original)).await?;
        let proof = format!(
            "{name} {path} itself was refused ({}); {} answered {} and the first user's read then showed `{key}` = {marker:?}; the old value was put back",
            answer.status,
            carrier.describe(name, &path),
            over.status
        );
        scan.report(
            "PC-SCAN-METHOD-003",
            Some(op),
            &over,
            format!(
                "{} bypasses the refusal of {name}: the method override is honoured",
                carrier.describe(name, &path)
            ),
            proof,
        );
        return Ok(true);
    }
    Ok(false)
}

fn methods(known: &HashSet<Method>) -> String {
    let mut names: Vec<&str> = known.iter().map(|m| m.as_str()).collect();
    names.sort_unstable();
    names.join(", ")
}

/// True when the first user's read of `theirs` now has `key` = `marker`.
async fn read_shows(
    scan: &mut Scan<'_>,
    op: usize,
    theirs: &Exchange,
    key: &str,
    marker: &str,
) -> Result<bool, Stop> {
    let read = scan.as_who(theirs.request.clone(), Who::User(0));
    Ok(scan.send(read, Some(op)).await?.is_some_and(|x| {
        x.ok()
            && x.json
                .as_ref()
                .and_then(|j| j.get(key))
                .and_then(Value::as_str)
                == Some(marker)
    }))
}

async fn restore(
    scan: &mut Scan<'_>,
    op: usize,
    carrier: Carrier,
    method: &str,
    path: &str,
    body: Value,
) -> Result<(), Stop> {
    let request = carrier.request(method, path, body);
    scan.send_as(request, Who::User(0), Some(op)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    fn x(method: &str, status: u16, headers: &[(&str, &str)], body: &str) -> Exchange {
        Exchange {
            request: Request::new(method, "/users/a/accounts"),
            url: "http://h/users/a/accounts".into(),
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: bytes::Bytes::copy_from_slice(body.as_bytes()),
            json: serde_json::from_str(body).ok(),
            elapsed: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn head_bypass_needs_a_refused_get_and_the_owners_length() {
        let refused = x("GET", 401, &[], r#"{"detail":"no token"}"#);
        let anon = x("HEAD", 200, &[("content-length", "120")], "");
        let owner = x("HEAD", 200, &[("content-length", "120")], "");
        assert!(head_bypassed(&refused, &anon, &owner));
        // GET was not refused: nothing to bypass.
        assert!(!head_bypassed(&x("GET", 200, &[], "{}"), &anon, &owner));
        // A server answering 405 (or the same refusal) to HEAD.
        assert!(!head_bypassed(
            &refused,
            &x("HEAD", 405, &[("content-length", "0")], ""),
            &owner
        ));
        assert!(!head_bypassed(
            &refused,
            &x("HEAD", 401, &[("content-length", "21")], ""),
            &owner
        ));
        // A 200 that is not the owner's data (another length), or no length to compare.
        assert!(!head_bypassed(
            &refused,
            &x("HEAD", 200, &[("content-length", "7")], ""),
            &owner
        ));
        assert!(!head_bypassed(&refused, &x("HEAD", 200, &[], ""), &owner));
        // An empty answer proves nothing.
        let empty = x("HEAD", 200, &[("content-length", "0")], "");
        assert!(!head_bypassed(&refused, &empty, &empty));
    }

    #[test]
    fn the_marked_property_is_descriptive_never_an_id_or_secret() {
        let me = json!({"id": "alice", "username": "alice", "role": "user",
            "passwordHash": "$2b$x", "ssn": "1", "email": "a@b.c", "internalNotes": "n"});
        let (k, old, new) = marker_property(&me, "pcscan-ab-1").unwrap();
        assert_eq!((k.as_str(), old.as_str()), ("email", "a@b.c"));
        assert_eq!(new, "pcscanab1@example.org");
        let account = json!({"id": 3, "owner": "bob", "name": "Checking", "balance": 3.0});
        let (k, _, new) = marker_property(&account, "u-2").unwrap();
        assert_eq!((k.as_str(), new.as_str()), ("name", "Pcu2"));
        assert!(marker_property(&json!({"id": "x", "owner": "y"}), "u").is_none());
        assert!(marker_property(&json!([1]), "u").is_none());
    }

    #[test]
    fn carriers_and_refusals() {
        let r = Carrier::Header("X-HTTP-Method-Override").request("PUT", "/a", json!({}));
        assert_eq!(r.method, "POST");
        assert_eq!(r.header("x-http-method-override"), Some("PUT"));
        let q = Carrier::Query.request("PATCH", "/a", json!({}));
        assert_eq!(
            (q.method.as_str(), q.path.as_str()),
            ("POST", "/a?_method=PATCH")
        );
        assert_eq!(Carrier::Plain.request("PUT", "/a", json!({})).method, "PUT");
        assert!(refused(405) && refused(404) && refused(401) && refused(403) && refused(501));
        assert!(!refused(200) && !refused(400) && !refused(500));
    }
}
