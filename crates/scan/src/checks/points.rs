//! Injection points: the string parameters (query, path, top-level body property) of the
//! requests that explored the API, each with the request that was sent (the baseline every
//! injection check compares with).

use portcullis_spec::{Method, ParameterIn};
use serde_json::Value;

use crate::generate::schema_type;
use crate::http::{Exchange, Request};
use crate::plan;
use crate::scan::Scan;
use crate::session::Who;

/// Where a value can be injected.
#[derive(Debug, Clone)]
pub enum Point {
    /// A query parameter.
    Query(String),
    /// A path parameter.
    Path(String),
    /// A top-level string property of a JSON body.
    Body(String),
}

impl Point {
    /// "query parameter `q`".
    pub fn describe(&self) -> String {
        match self {
            Point::Query(n) => format!("query parameter `{n}`"),
            Point::Path(n) => format!("path parameter `{n}`"),
            Point::Body(n) => format!("body property `{n}`"),
        }
    }
}

/// `request` with `suffix` appended to the value at `point`.
pub fn inject(request: &Request, template: &str, point: &Point, suffix: &str) -> Option<Request> {
    let mut r = request.clone();
    match point {
        Point::Query(name) => {
            let v = plan::query_value(&r.path, name)?;
            r.path = plan::with_query(&r.path, name, &format!("{v}{suffix}"));
        }
        Point::Path(name) => {
            let v = plan::path_param(template, &r.path, name)?;
            r.path = plan::with_path_param(template, &r.path, name, &format!("{v}{suffix}"))?;
        }
        Point::Body(name) => {
            let body = r.body.as_mut()?.as_object_mut()?;
            let v = body.get(name)?.as_str()?.to_owned();
            body.insert(name.clone(), Value::String(format!("{v}{suffix}")));
        }
    }
    Some(r)
}

/// The value at `point` of `request`.
pub fn value(request: &Request, template: &str, point: &Point) -> Option<String> {
    match point {
        Point::Query(name) => plan::query_value(&request.path, name),
        Point::Path(name) => plan::path_param(template, &request.path, name),
        Point::Body(name) => Some(request.body.as_ref()?.get(name)?.as_str()?.to_owned()),
    }
}

/// `request` with the value at `point` replaced by `value`.
pub fn replace(request: &Request, template: &str, point: &Point, value: &str) -> Option<Request> {
    let mut r = request.clone();
    match point {
        Point::Query(name) => {
            plan::query_value(&r.path, name)?;
            r.path = plan::with_query(&r.path, name, value);
        }
        Point::Path(name) => {
            r.path = plan::with_path_param(template, &r.path, name, value)?;
        }
        Point::Body(name) => {
            let body = r.body.as_mut()?.as_object_mut()?;
            body.get(name)?.as_str()?;
            body.insert(name.clone(), Value::String(value.to_owned()));
        }
    }
    Some(r)
}

/// The injection points of the requests the scan's first user (or the anonymous caller)
/// sent while exploring, with the operation and the baseline exchange; GET and POST
/// operations only (and PUT/PATCH when `writes`), never the login, never answers that
/// already failed.
pub fn collect(scan: &Scan<'_>, writes: bool) -> Vec<(usize, Exchange, Point)> {
    let who = if scan.users.is_empty() {
        Who::Anon
    } else {
        Who::User(0)
    };
    let mut work = Vec::new();
    for record in scan.records.iter().filter(|r| r.who == who) {
        let Some(op) = scan.op(record.op) else {
            continue;
        };
        if record.exchange.status >= 500
            || crate::checks::sqli::sql_error(&record.exchange.text()).is_some()
        {
            continue;
        }
        let methods_ok = matches!(op.method, Method::Get | Method::Post)
            || (writes && matches!(op.method, Method::Put | Method::Patch));
        if !methods_ok || Some(record.op) == scan.login_op {
            continue;
        }
        let stringy = |s: Option<&portcullis_spec::Schema>| {
            s.map(|s| scan.catalog.deref_schema(&s.value))
                .and_then(schema_type)
                .is_none_or(|t| t == "string")
        };
        for p in &op.parameters {
            if !stringy(p.schema.as_ref()) {
                continue;
            }
            match p.location_in {
                ParameterIn::Query
                    if plan::query_value(&record.exchange.request.path, &p.name).is_some() =>
                {
                    work.push((
                        record.op,
                        record.exchange.clone(),
                        Point::Query(p.name.clone()),
                    ));
                }
                ParameterIn::Path => {
                    work.push((
                        record.op,
                        record.exchange.clone(),
                        Point::Path(p.name.clone()),
                    ));
                }
                _ => {}
            }
        }
        if let Some(Value::Object(body)) = &record.exchange.request.body {
            for (k, v) in body {
                if v.is_string() && !crate::evidence::is_sensitive_key(k) {
                    work.push((record.op, record.exchange.clone(), Point::Body(k.clone())));
                }
            }
        }
    }
    work
}
