//! Request validation from the spec: parameters (path, query, header, cookie), the content
//! type, and JSON, form and multipart bodies, each against schemas compiled once at load.
//!
//! A [`RequestCheck`] is built per operation; [`RequestCheck::check_params`] and
//! [`RequestCheck::check_body`] return the [`Violation`]s found, and the pipeline decides
//! (block or log) from the API's policy.

pub mod body;
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
    pub fn check_params(
        &self,
        path: &PathParams<'_, '_>,
        query: &[(String, String)],
        headers: &http::HeaderMap,
    ) -> Option<Violation> {
        let cookie_header = headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join("; ");
        let jar = params::cookies(&cookie_header);
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
                ParameterIn::Header => headers
                    .get_all(check.name.as_str())
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect(),
                ParameterIn::Cookie => jar.get(check.name.as_str()).copied().into_iter().collect(),
            };
            match params::value_of(check, &raw, query) {
                None if check.required => {
                    return Some(Violation::new(
                        "request.parameter",
                        400,
                        format!("{} is required", check.describe()),
                    ));
                }
                None => {}
                Some(value) => {
                    if let Err(reason) = params::validate(check, &value) {
                        return Some(Violation::new("request.parameter", 400, reason));
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
