//! The API-key step of authentication: finds the key where the spec's `apiKey` scheme puts
//! it (header, query parameter or cookie; the configured `identity.api_keys.header` as the
//! fallback), verifies it, and turns each refusal into a denial with its own rule
//! (`auth.key-unknown`, `auth.key-invalid`, `auth.key-expired`...). The key never reaches a
//! denial, a log line or a metric label.

use std::sync::Arc;

use http::header::{self, HeaderMap};
use portcullis_spec::model::ParameterIn;

use crate::identity::Principal;
use crate::identity::apikeys::{ApiKeyFailure, ApiKeys};
use crate::problem::Denial;

/// Where a scheme expects its key.
pub(crate) struct KeyPlace<'a> {
    /// The security scheme's name (for reasons).
    pub scheme: &'a str,
    /// The key's name (header names lower-cased).
    pub name: &'a str,
    /// Where.
    pub location: ParameterIn,
    /// The configured fallback header.
    pub fallback_header: Option<&'a str>,
}

/// The request parts a key can be in.
pub(crate) struct Presented<'a> {
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// The raw query string.
    pub query: Option<&'a str>,
}

fn header_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn find(place: &KeyPlace<'_>, presented: &Presented<'_>) -> Option<String> {
    let at_place = match place.location {
        ParameterIn::Header => header_value(presented.headers, place.name).map(str::to_owned),
        ParameterIn::Query => presented.query.and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == place.name)
                .map(|(_, v)| v.into_owned())
        }),
        ParameterIn::Cookie => presented
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == place.name)
            .map(|(_, v)| v.trim().to_owned()),
        ParameterIn::Path => None,
    };
    at_place
        .filter(|k| !k.is_empty())
        .or_else(|| header_value(presented.headers, place.fallback_header?).map(str::to_owned))
}

fn challenge(place: &KeyPlace<'_>) -> String {
    let location = match place.location {
        ParameterIn::Header => "header",
        ParameterIn::Query => "query",
        ParameterIn::Cookie => "cookie",
        ParameterIn::Path => "path",
    };
    format!(
        "ApiKey realm=\"portcullis\", in=\"{location}\", name=\"{}\"",
        place.name.replace(['"', '\\'], "")
    )
}

/// Verifies the key for one `apiKey` scheme at `now`. On refusal, the failure's metric code
/// comes with the denial.
pub(crate) fn verify(
    keys: Option<&ApiKeys>,
    place: &KeyPlace<'_>,
    presented: &Presented<'_>,
    now: u64,
) -> Result<Arc<Principal>, (Denial, &'static str)> {
    let scheme = place.scheme;
    let Some(key) = find(place, presented) else {
        let d = Denial::new(
            401,
            crate::rules::AUTH_INVALID,
            format!("scheme {scheme}: no API key {}", place.name),
        )
        .detail("credentials are required")
        .header(header::WWW_AUTHENTICATE, challenge(place));
        return Err((d, "missing"));
    };
    let Some(keys) = keys else {
        let d = Denial::new(
            401,
            crate::rules::AUTH_INVALID,
            format!(
                "scheme {scheme}: API key {} cannot be verified (no API keys configured)",
                place.name
            ),
        )
        .detail("the credentials are not valid")
        .header(header::WWW_AUTHENTICATE, challenge(place));
        return Err((d, "key_unconfigured"));
    };
    keys.verify(&key, now).map_err(|f: ApiKeyFailure| {
        let d = Denial::new(401, f.rule(), format!("scheme {scheme}: {f}"))
            .detail("the credentials are not valid")
            .header(header::WWW_AUTHENTICATE, challenge(place));
        (d, f.code())
    })
}

#[cfg(test)]
mod tests;
