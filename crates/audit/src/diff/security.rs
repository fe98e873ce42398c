//! Whether security got weaker: ranks of schemes, requirements compared alternative by
//! alternative, and scheme definitions compared by name.
//!
//! A requirement is a list of alternatives (OR), each a set of schemes required together
//! (AND) with their scopes. The new requirement is no weaker when each of its alternatives
//! asks for at least everything some old alternative asked for. An alternative that does not
//! is classified: `{}` (anyone) makes the operation public; the same schemes with fewer scopes
//! is [`kinds::SCOPES_REDUCED`]; a subset of an old alternative's schemes, or a scheme ranked
//! below every old alternative, is [`kinds::SECURITY_WEAKENED`]. An alternative of other
//! schemes of equal or higher rank is a change, not a weakening, and is not reported.

use indexmap::IndexMap;
use portcullis_spec::{
    Catalog, OAuthFlowKind, ParameterIn, SecurityRequirement, SecurityScheme, SecuritySchemeKind,
};

use super::{Changes, Side, kinds};

/// How strong a scheme is, 0 (undeclared) to 5 (mutual TLS).
pub fn rank(scheme: Option<&SecurityScheme>) -> u8 {
    let Some(scheme) = scheme else { return 0 };
    match &scheme.kind {
        SecuritySchemeKind::MutualTls => 5,
        SecuritySchemeKind::OAuth2 { flows } => {
            let weak = flows
                .iter()
                .any(|f| matches!(f.kind, OAuthFlowKind::Implicit | OAuthFlowKind::Password));
            if weak { 3 } else { 4 }
        }
        SecuritySchemeKind::OpenIdConnect { .. } => 4,
        SecuritySchemeKind::Http { scheme, .. } => match scheme.as_str() {
            "bearer" => 3,
            "digest" | "hoba" | "mutual" | "negotiate" | "scram-sha-256" => 2,
            _ => 1,
        },
        SecuritySchemeKind::ApiKey { location_in, .. } => match location_in {
            ParameterIn::Query => 1,
            _ => 2,
        },
        SecuritySchemeKind::Unknown { .. } => 0,
    }
}

/// A scheme described for people: `oauth2 (authorization code)`, `apiKey in query`...
pub fn describe(scheme: Option<&SecurityScheme>) -> String {
    let Some(scheme) = scheme else {
        return "undeclared".to_owned();
    };
    match &scheme.kind {
        SecuritySchemeKind::MutualTls => "mutualTLS".to_owned(),
        SecuritySchemeKind::OAuth2 { flows } => {
            let names: Vec<&str> = flows
                .iter()
                .map(|f| match f.kind {
                    OAuthFlowKind::Implicit => "implicit",
                    OAuthFlowKind::Password => "password",
                    OAuthFlowKind::ClientCredentials => "client credentials",
                    OAuthFlowKind::AuthorizationCode => "authorization code",
                })
                .collect();
            format!("oauth2 ({})", names.join(", "))
        }
        SecuritySchemeKind::OpenIdConnect { .. } => "openIdConnect".to_owned(),
        SecuritySchemeKind::Http { scheme, .. } => format!("http {scheme}"),
        SecuritySchemeKind::ApiKey { location_in, .. } => {
            format!("apiKey in {}", location_in.as_str())
        }
        SecuritySchemeKind::Unknown { declared } => format!("unknown type `{declared}`"),
    }
}

/// One alternative, for messages: `oauth [read, write] + key`.
pub fn describe_alternative(alt: &SecurityRequirement) -> String {
    if alt.schemes.is_empty() {
        return "{} (anyone)".to_owned();
    }
    let parts: Vec<String> = alt
        .schemes
        .iter()
        .map(|(name, scopes)| {
            if scopes.is_empty() {
                format!("`{name}`")
            } else {
                format!("`{name}` [{}]", scopes.join(", "))
            }
        })
        .collect();
    parts.join(" + ")
}

/// A requirement list, for messages.
pub fn describe_requirements(reqs: &[SecurityRequirement]) -> String {
    if reqs.is_empty() {
        return "none".to_owned();
    }
    let alts: Vec<String> = reqs.iter().map(describe_alternative).collect();
    alts.join(" or ")
}

/// How a requirement got weaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Weakening {
    /// Anyone may call it now.
    Public,
    /// The same schemes, fewer scopes (those dropped).
    ScopesReduced(Vec<String>),
    /// A scheme required together with others was dropped, or a weaker one accepted.
    Weaker {
        /// The old alternative it is weaker than.
        was: String,
        /// The new alternative.
        now: String,
    },
}

/// True when anyone may call: no requirement, or an anonymous alternative.
pub fn is_public(reqs: &[SecurityRequirement]) -> bool {
    reqs.is_empty() || reqs.iter().any(SecurityRequirement::is_anonymous)
}

/// True when `new` asks for everything `old` asks for.
fn covers(new: &SecurityRequirement, old: &SecurityRequirement) -> bool {
    old.schemes.iter().all(|(name, scopes)| {
        new.schemes
            .get(name)
            .is_some_and(|have| scopes.iter().all(|s| have.contains(s)))
    })
}

/// The strongest scheme of an alternative.
fn strength(alt: &SecurityRequirement, schemes: &IndexMap<String, SecurityScheme>) -> u8 {
    alt.schemes
        .keys()
        .map(|n| rank(schemes.get(n)))
        .max()
        .unwrap_or(0)
}

/// How `new` (with the new document's schemes) is weaker than `old`, if it is.
pub fn weakening(
    old: &[SecurityRequirement],
    old_schemes: &IndexMap<String, SecurityScheme>,
    new: &[SecurityRequirement],
    new_schemes: &IndexMap<String, SecurityScheme>,
) -> Option<Weakening> {
    if is_public(old) {
        return None;
    }
    if is_public(new) {
        return Some(Weakening::Public);
    }
    let weakest_old = old
        .iter()
        .map(|a| strength(a, old_schemes))
        .min()
        .unwrap_or(0);
    for alt in new {
        if old.iter().any(|o| covers(alt, o)) {
            continue;
        }
        let same_schemes = old.iter().find(|o| {
            o.schemes.len() == alt.schemes.len()
                && o.schemes.keys().all(|k| alt.schemes.contains_key(k))
        });
        if let Some(o) = same_schemes {
            let dropped: Vec<String> = o
                .schemes
                .iter()
                .flat_map(|(name, scopes)| {
                    let have = alt.schemes.get(name);
                    scopes
                        .iter()
                        .filter(move |s| !have.is_some_and(|h| h.contains(s)))
                        .cloned()
                })
                .collect();
            return Some(Weakening::ScopesReduced(dropped));
        }
        let subset_of = old.iter().find(|o| {
            alt.schemes.len() < o.schemes.len()
                && alt.schemes.keys().all(|k| o.schemes.contains_key(k))
        });
        if let Some(o) = subset_of {
            return Some(Weakening::Weaker {
                was: describe_alternative(o),
                now: describe_alternative(alt),
            });
        }
        if strength(alt, new_schemes) < weakest_old {
            let was = old
                .iter()
                .min_by_key(|a| strength(a, old_schemes))
                .map(describe_alternative)
                .unwrap_or_default();
            return Some(Weakening::Weaker {
                was,
                now: describe_alternative(alt),
            });
        }
    }
    None
}

/// Schemes that kept their name and became weaker ([`kinds::SCHEME_WEAKENED`]).
pub fn compare_schemes(old: &Catalog, new: &Catalog, changes: &mut Changes<'_>) {
    for (name, now) in &new.security_schemes {
        let Some(before) = old.security_schemes.get(name) else {
            continue;
        };
        let (was_rank, now_rank) = (rank(Some(before)), rank(Some(now)));
        if now_rank < was_rank {
            let (was, is) = (describe(Some(before)), describe(Some(now)));
            changes.add(
                &kinds::SCHEME_WEAKENED,
                kinds::SCHEME_WEAKENED.severity,
                Side::New,
                &now.location.file,
                &now.location.pointer,
                None,
                format!("security scheme `{name}` changed from {was} to {is}"),
                Some(format!("{was} -> {is}")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(parts: &[(&str, &[&str])]) -> SecurityRequirement {
        SecurityRequirement {
            schemes: parts
                .iter()
                .map(|(n, s)| ((*n).to_owned(), s.iter().map(|x| (*x).to_owned()).collect()))
                .collect(),
        }
    }

    fn schemes() -> IndexMap<String, SecurityScheme> {
        let doc = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  securitySchemes:\n    oauth: {type: oauth2, flows: {clientCredentials: {tokenUrl: 'https://x/t', scopes: {a: a, b: b}}}}\n    key: {type: apiKey, in: header, name: K}\n    qkey: {type: apiKey, in: query, name: k}\n    basic: {type: http, scheme: basic}\n";
        portcullis_spec::load_str("s.yaml", doc)
            .unwrap()
            .security_schemes
    }

    #[test]
    fn weakenings_are_classified() {
        let s = schemes();
        let oauth_ab = [req(&[("oauth", &["a", "b"])])];
        assert_eq!(weakening(&oauth_ab, &s, &[], &s), Some(Weakening::Public));
        assert_eq!(
            weakening(
                &oauth_ab,
                &s,
                &[req(&[("oauth", &["a", "b"])]), req(&[])],
                &s
            ),
            Some(Weakening::Public)
        );
        assert_eq!(
            weakening(&oauth_ab, &s, &[req(&[("oauth", &["a"])])], &s),
            Some(Weakening::ScopesReduced(vec!["b".into()]))
        );
        assert!(matches!(
            weakening(&oauth_ab, &s, &[req(&[("basic", &[])])], &s),
            Some(Weakening::Weaker { .. })
        ));
        // More scopes, or a stronger alternative, is not weaker.
        assert_eq!(
            weakening(&[req(&[("oauth", &["a"])])], &s, &oauth_ab, &s),
            None
        );
        assert_eq!(
            weakening(&[req(&[("key", &[])])], &s, &[req(&[("oauth", &[])])], &s),
            None
        );
        // Dropping one of two schemes required together.
        assert!(matches!(
            weakening(
                &[req(&[("key", &[]), ("oauth", &[])])],
                &s,
                &[req(&[("oauth", &[])])],
                &s
            ),
            Some(Weakening::Weaker { .. })
        ));
        // A public operation cannot get weaker.
        assert_eq!(weakening(&[], &s, &[], &s), None);
        assert!(rank(s.get("qkey")) < rank(s.get("key")));
        assert!(rank(s.get("basic")) < rank(s.get("oauth")));
    }
}
