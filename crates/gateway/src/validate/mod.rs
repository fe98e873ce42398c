//! Request validation from the spec: parameters (path, query, header, cookie), the content
//! type, and JSON, form and multipart bodies, each against schemas compiled once at load.
//!
//! A [`RequestCheck`] is built per operation; [`RequestCheck::check_params`] and
//! [`RequestCheck::check_body`] return the [`Violation`]s found, and the pipeline decides
//! (block or log) from the API's policy.

pub mod body;
pub mod fields;
pub mod json;
pub mod params;
pub mod schema;

use std::collections::HashMap;

use portcullis_spec::{Catalog, Operation, ParameterIn, PathParams};

pub use body::{BodyCheck, MediaKind};
pub use params::ParamCheck;
pub use schema::SchemaError;

/// Which policy a violation falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// `request.validate`.
    Validate,
    /// `request.unknown_fields`.
    UnknownFields,
}

/// One way a request breaks its operation's contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Stable rule id (`request.parameter`...).
    pub rule: &'static str,
    /// The status a denial answers with.
    pub status: u16,
    /// What is wrong, for logs and the problem detail.
    pub reason: String,
    /// The policy that governs it.
    pub policy: Policy,
}

impl Violation {
    pub(crate) fn new(rule: &'static str, status: u16, reason: String) -> Violation {
        Violation {
            rule,
            status,
            reason,
            policy: Policy::Validate,
        }
    }
}

/// Everything checked on a request to one operation.
#[derive(Debug)]
pub struct RequestCheck {
    /// Declared parameters.
    pub params: Vec<ParamCheck>,
    /// The request body, when the operation declares one.
    pub body: Option<BodyCheck>,
}

impl RequestCheck {
    /// Compiles the checks of `op`.
    pub fn new(catalog: &Catalog, op: &Operation) -> Result<RequestCheck, SchemaError> {
        let params = op
            .parameters
            .iter()
            .filter(|p| {
                matches!(
                    p.location_in,
                    ParameterIn::Path
                        | ParameterIn::Query
                        | ParameterIn::Header
                        | ParameterIn::Cookie
                )
            })
            .map(|p| ParamCheck::new(catalog, p))
            .collect::<Result<Vec<_>, _>>()?;
        let body = op
            .request_body
            .as_ref()
            .map(|b| BodyCheck::new(catalog, b))
            .transpose()?;
        Ok(RequestCheck { params, body })
    }

    /// Checks path, query, header and cookie parameters; stops at the first violation.
    ///
    /// A parameter that takes one value and comes more than once (`?q=ok&q=' OR 1=1`, two
    /// header fields, a cookie twice) is refused: the gateway would check one copy while the
    /// upstream may read another. A header or cookie value that is not UTF-8 text is refused
    /// rather than skipped, so nothing reaches the upstream unvalidated.
    pub fn check_params(
        &self,
        path: &PathParams<'_, '_>,
        query: &[(String, String)],
        headers: &http::HeaderMap,
    ) -> Option<Violation> {
        let refuse =
            |reason: String| Some(Violation::new(crate::rules::REQUEST_PARAMETER, 400, reason));
        // The cookie jar is read only when a cookie parameter is declared.
        let mut jar: Option<Result<Vec<(String, String)>, params::CookieNotUtf8>> = None;
        let mut by_name: HashMap<&str, Vec<&str>> = HashMap::new();
        for (k, v) in query {
            by_name.entry(k.as_str()).or_default().push(v.as_str());
        }
        for check in &self.params {
            let path_value;
            let raw: Vec<&str> = match check.location {
                ParameterIn::Path => {
                    path_value = path.get(&check.name);
                    path_value.as_deref().into_iter().collect()
                }
                ParameterIn::Query => by_name
                    .get(check.name.as_str())
                    .cloned()
                    .unwrap_or_default(),
                ParameterIn::Header => {
                    let mut values = Vec::new();
                    for v in headers.get_all(check.name.as_str()) {
                        match std::str::from_utf8(v.as_bytes()) {
                            Ok(text) => values.push(text),
                            Err(_) => {
                                return refuse(format!("{} is not UTF-8 text", check.describe()));
                            }
                        }
                    }
                    values
                }
                ParameterIn::Cookie => {
                    let cookies = jar.get_or_insert_with(|| params::cookie_pairs(headers));
                    let Ok(cookies) = cookies else {
                        return refuse(format!(
                            "{}: the Cookie header is not UTF-8 text",
                            check.describe()
                        ));
                    };
                    cookies
                        .iter()
                        .filter(|(k, _)| *k == check.name)
                        .map(|(_, v)| v.as_str())
                        .collect()
                }
            };
            if raw.len() > 1 && check.single_valued() {
                return refuse(format!(
                    "{} is sent {} times; it takes one value",
                    check.describe(),
                    raw.len()
                ));
            }
            match params::value_of(check, &raw, query) {
                None if check.required => {
                    return refuse(format!("{} is required", check.describe()));
                }
                None => {}
                Some(value) => {
                    if let Err(reason) = params::validate(check, &value) {
                        return refuse(reason);
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
