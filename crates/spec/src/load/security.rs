//! Security schemes (3.x `components.securitySchemes`, 2.0 `securityDefinitions`) and
//! security requirements.

use indexmap::IndexMap;
use serde_json::Value;

use crate::error::Error;
use crate::model::{
    Location, OAuthFlow, OAuthFlowKind, Operation, ParameterIn, SecurityRequirement,
    SecurityScheme, SecuritySchemeKind,
};
use crate::pointer;

use super::node::{At, Builder, kind_of};

/// 3.x flow keys and the flows they declare.
const FLOWS_3: [(&str, OAuthFlowKind); 4] = [
    ("implicit", OAuthFlowKind::Implicit),
    ("password", OAuthFlowKind::Password),
    ("clientCredentials", OAuthFlowKind::ClientCredentials),
    ("authorizationCode", OAuthFlowKind::AuthorizationCode),
];

impl<'a> Builder<'a> {
    /// `components.securitySchemes` of a 3.x document.
    pub fn security_schemes(
        &mut self,
        root: &At<'a>,
    ) -> Result<IndexMap<String, SecurityScheme>, Error> {
        let Some(components) = root.get_present("components") else {
            return Ok(IndexMap::new());
        };
        let Some(components) = self.deref(components)? else {
            return Ok(IndexMap::new());
        };
        let Some(schemes) = components.get_present("securitySchemes") else {
            return Ok(IndexMap::new());
        };
        let Some(schemes) = self.deref(schemes)? else {
            return Ok(IndexMap::new());
        };
        schemes.expect_object("`securitySchemes`")?;
        let mut out = IndexMap::new();
        for (name, at) in schemes.members() {
            let Some(at) = self.deref(at)? else {
                continue;
            };
            at.expect_object("a security scheme")?;
            let kind = self.scheme_kind_3(&at)?;
            out.insert(name.to_owned(), self.scheme(&at, kind));
        }
        Ok(out)
    }

    /// `securityDefinitions` of a 2.0 document.
    pub fn swagger2_security_schemes(
        &mut self,
        root: &At<'a>,
    ) -> Result<IndexMap<String, SecurityScheme>, Error> {
        let Some(defs) = root.get_present("securityDefinitions") else {
            return Ok(IndexMap::new());
        };
        let Some(defs) = self.deref(defs)? else {
            return Ok(IndexMap::new());
        };
        defs.expect_object("`securityDefinitions`")?;
        let mut out = IndexMap::new();
        for (name, at) in defs.members() {
            let Some(at) = self.deref(at)? else {
                continue;
            };
            at.expect_object("a security definition")?;
            let kind = match at.str("type").unwrap_or("") {
                "basic" => SecuritySchemeKind::Http {
                    scheme: "basic".to_owned(),
                    bearer_format: None,
                },
                "apiKey" => self.api_key(&at, false)?,
                "oauth2" => {
                    let flow = match at.str("flow") {
                        Some("implicit") => OAuthFlowKind::Implicit,
                        Some("password") => OAuthFlowKind::Password,
                        Some("application") => OAuthFlowKind::ClientCredentials,
                        Some("accessCode") => OAuthFlowKind::AuthorizationCode,
                        other => {
                            return Err(at.invalid(format!(
                                "an oauth2 security definition needs `flow` (implicit, password, application or accessCode), found {other:?}"
                            )));
                        }
                    };
                    SecuritySchemeKind::OAuth2 {
                        flows: vec![self.flow(&at, flow)],
                    }
                }
                other => self.unknown_scheme(&at, other),
            };
            out.insert(name.to_owned(), self.scheme(&at, kind));
        }
        Ok(out)
    }

    fn scheme(&mut self, at: &At<'a>, kind: SecuritySchemeKind) -> SecurityScheme {
        SecurityScheme {
            kind,
            description: self.text(at, "description"),
            extensions: at.extensions(),
            location: at.location(),
        }
    }

    fn scheme_kind_3(&mut self, at: &At<'a>) -> Result<SecuritySchemeKind, Error> {
        Ok(match at.str("type").unwrap_or("") {
            "apiKey" => self.api_key(at, true)?,
            "http" => {
                let Some(scheme) = at.str("scheme") else {
                    return Err(at.invalid("an http security scheme needs a string `scheme`"));
                };
                SecuritySchemeKind::Http {
                    scheme: scheme.to_ascii_lowercase(),
                    bearer_format: self.text(at, "bearerFormat"),
                }
            }
            "oauth2" => {
                let mut flows = Vec::new();
                if let Some(declared) = at.get_present("flows") {
                    declared.expect_object("`flows`")?;
                    for (key, kind) in FLOWS_3 {
                        if let Some(flow) = declared.get_present(key) {
                            flows.push(self.flow(&flow, kind));
                        }
                    }
                } else {
                    self.warn(at.location(), "an oauth2 security scheme without `flows`");
                }
                SecuritySchemeKind::OAuth2 { flows }
            }
            "openIdConnect" => match at.str("openIdConnectUrl") {
                Some(url) => SecuritySchemeKind::OpenIdConnect {
                    url: url.to_owned(),
                },
                None => {
                    return Err(
                        at.invalid("an openIdConnect security scheme needs `openIdConnectUrl`")
                    );
                }
            },
            "mutualTLS" => SecuritySchemeKind::MutualTls,
            other => self.unknown_scheme(at, other),
        })
    }

    fn unknown_scheme(&mut self, at: &At<'a>, declared: &str) -> SecuritySchemeKind {
        let message = if declared.is_empty() {
            "a security scheme without a string `type`".to_owned()
        } else {
            format!("unknown security scheme type {declared:?}")
        };
        self.warn(at.location_of("type"), message);
        SecuritySchemeKind::Unknown {
            declared: declared.to_owned(),
        }
    }

    fn api_key(&mut self, at: &At<'a>, cookie: bool) -> Result<SecuritySchemeKind, Error> {
        let Some(name) = at.str("name") else {
            return Err(at.invalid("an apiKey security scheme needs a string `name`"));
        };
        let location_in = match at.str("in") {
            Some("header") => ParameterIn::Header,
            Some("query") => ParameterIn::Query,
            Some("cookie") if cookie => ParameterIn::Cookie,
            other => {
                return Err(at.invalid(format!(
                    "an apiKey security scheme needs `in: header`, `query`{}, found {other:?}",
                    if cookie { " or `cookie`" } else { "" }
                )));
            }
        };
        Ok(SecuritySchemeKind::ApiKey {
            name: name.to_owned(),
            location_in,
        })
    }

    fn flow(&mut self, at: &At<'a>, kind: OAuthFlowKind) -> OAuthFlow {
        let mut scopes = IndexMap::new();
        if let Some(declared) = at.get_present("scopes") {
            if !declared.value.is_object() {
                let found = kind_of(declared.value);
                self.warn(
                    declared.location(),
                    format!("`scopes` should be a mapping, found {found}"),
                );
            }
            for (name, description) in declared.members() {
                let text = match description.value {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                scopes.insert(name.to_owned(), text);
            }
        }
        OAuthFlow {
            kind,
            authorization_url: self.text(at, "authorizationUrl"),
            token_url: self.text(at, "tokenUrl"),
            refresh_url: self.text(at, "refreshUrl"),
            scopes,
        }
    }

    /// A `security` list: alternatives (OR), each a mapping of scheme -> scopes (AND).
    pub fn requirements(&mut self, at: &At<'a>) -> Result<Vec<SecurityRequirement>, Error> {
        at.expect_array("`security`")?;
        let mut out = Vec::new();
        for alternative in at.items() {
            alternative.expect_object("a security requirement")?;
            let mut schemes = IndexMap::new();
            for (name, scopes) in alternative.members() {
                let list = match scopes.value {
                    Value::Array(items) => {
                        let mut list = Vec::with_capacity(items.len());
                        for (i, scope) in items.iter().enumerate() {
                            match scope.as_str() {
                                Some(s) => list.push(s.to_owned()),
                                None => {
                                    return Err(Error::Invalid {
                                        location: scopes
                                            .file
                                            .locate(&format!("{}/{i}", scopes.ptr)),
                                        message: format!(
                                            "a scope must be a string, found {}",
                                            kind_of(scope)
                                        ),
                                    });
                                }
                            }
                        }
                        list
                    }
                    Value::Null => {
                        self.warn(
                            scopes.location(),
                            format!("the scopes of {name:?} should be a list (`[]` for none)"),
                        );
                        Vec::new()
                    }
                    other => {
                        return Err(scopes.invalid(format!(
                            "the scopes of {name:?} must be a list, found {}",
                            kind_of(other)
                        )));
                    }
                };
                schemes.insert(name.to_owned(), list);
            }
            out.push(SecurityRequirement { schemes });
        }
        Ok(out)
    }

    /// Warns about requirements that name a scheme the document does not declare.
    pub fn check_security_names(
        &mut self,
        schemes: &IndexMap<String, SecurityScheme>,
        global: Option<&[SecurityRequirement]>,
        global_location: Option<&Location>,
        operations: &[Operation],
    ) {
        let check = |b: &mut Self, reqs: &[SecurityRequirement], at: &Location| {
            for req in reqs {
                for name in req.schemes.keys() {
                    if !schemes.contains_key(name) {
                        b.warn(
                            at.clone(),
                            format!("the security requirement names {name:?}, which is not a declared security scheme"),
                        );
                    }
                }
            }
        };
        if let (Some(global), Some(location)) = (global, global_location) {
            check(self, global, location);
        }
        for op in operations {
            if op.security_origin == crate::model::SecurityOrigin::Operation {
                let location = self.files.locate_named(
                    &op.location.file,
                    &pointer::push(&op.location.pointer, "security"),
                );
                check(self, &op.security, &location);
            }
        }
    }
}
