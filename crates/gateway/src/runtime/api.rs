//! Compiling one API of the configuration: its spec loaded and routed, each operation's plan
//! (security requirements, owner binding, limits, request checks) made once, every name the
//! configuration gives checked against the spec.

use crate::pipeline::stages::StageList;
use std::path::Path;
use std::sync::Arc;

use portcullis_spec::{Catalog, ParameterIn, Router, RouterOptions, SecuritySchemeKind};
use serde_json::Value;

use super::{
    Api, BuildError, OpPlan, OwnerRule, Requirement, Scheme, config_error, lockout, protect, state,
    upstream,
};
use crate::config::{ApiConfig, Config};
use crate::ratelimit::{self, ConcurrencyLimiter, Limit};
use crate::validate::RequestCheck;

/// The scheme the gateway checks for a spec's security scheme.
fn scheme_of(kind: &SecuritySchemeKind) -> Scheme {
    match kind {
        SecuritySchemeKind::Http { scheme, .. } if scheme == "bearer" => Scheme::Bearer,
        SecuritySchemeKind::OAuth2 { .. } | SecuritySchemeKind::OpenIdConnect { .. } => {
            Scheme::Bearer
        }
        SecuritySchemeKind::ApiKey { name, location_in } => Scheme::ApiKey {
            name: if *location_in == ParameterIn::Header {
                name.to_ascii_lowercase()
            } else {
                name.clone()
            },
            location: *location_in,
        },
        SecuritySchemeKind::Http { scheme, .. } => Scheme::Unsupported(format!("http {scheme}")),
        SecuritySchemeKind::MutualTls => Scheme::MutualTls,
        SecuritySchemeKind::Unknown { declared } => Scheme::Unsupported(declared.clone()),
    }
}

/// An owner rule from an operation's `x-portcullis-owner` extension.
fn owner_from_extension(value: &Value) -> Option<OwnerRule> {
    let param = value.get("param")?.as_str()?.to_owned();
    let claim = value
        .get("claim")
        .and_then(Value::as_str)
        .unwrap_or("sub")
        .to_owned();
    let exempt_roles = value
        .get("exempt_roles")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Some(OwnerRule {
        param,
        claim,
        exempt_roles,
    })
}

/// Compiles the configuration's API `i` (warnings about its spec go to `warnings`).
pub(super) fn build_api(
    config: &Config,
    i: usize,
    api: &ApiConfig,
    warnings: &mut Vec<String>,
) -> Result<Api, BuildError> {
    let spec_path = config.base_dir.join(&api.spec);
    let catalog = load_spec(&spec_path).map_err(|error| BuildError::Spec {
        api: api.name.clone(),
        error,
    })?;
    let options = RouterOptions {
        base_paths: api.base_path.as_ref().map(|b| vec![b.clone()]),
    };
    let (router, route_warnings) = Router::new(&catalog, &options);
    for w in route_warnings {
        warnings.push(format!("api {}: {w}", api.name));
    }
    let mut limits = Vec::new();
    for (j, rl) in api.rate_limits.iter().enumerate() {
        let key = rl.key.parse().map_err(|e: ratelimit::BadKeySource| {
            config_error(
                config,
                format!("/apis/{i}/rate_limits/{j}/key"),
                e.to_string(),
            )
        })?;
        if let Some(ops) = &rl.operations {
            for (k, op) in ops.iter().enumerate() {
                known_operation(
                    config,
                    &catalog,
                    &spec_path,
                    format!("/apis/{i}/rate_limits/{j}/operations/{k}"),
                    op,
                )?;
            }
        }
        let mut limit = Limit::new(
            state::limit_name(&api.name, j),
            key,
            rl.limit,
            rl.per.0.as_secs().max(1),
            rl.burst.unwrap_or(0),
        );
        limit.operations = rl.operations.clone();
        limits.push(limit);
    }
    for (j, ob) in api.owner_binding.iter().enumerate() {
        known_operation(
            config,
            &catalog,
            &spec_path,
            format!("/apis/{i}/owner_binding/{j}/operation"),
            &ob.operation,
        )?;
    }
    for (j, op) in api.admin_operations.iter().enumerate() {
        known_operation(
            config,
            &catalog,
            &spec_path,
            format!("/apis/{i}/admin_operations/{j}"),
            op,
        )?;
    }
    if let Some(t) = &api.threats {
        let named = t
            .exclude
            .iter()
            .enumerate()
            .map(|(j, e)| {
                (
                    format!("/apis/{i}/threats/exclude/{j}/operation"),
                    &e.operation,
                )
            })
            .chain(t.ssrf_allow.iter().enumerate().map(|(j, a)| {
                (
                    format!("/apis/{i}/threats/ssrf_allow/{j}/operation"),
                    &a.operation,
                )
            }));
        for (pointer, op) in named {
            if let Some(op) = op {
                known_operation(config, &catalog, &spec_path, pointer, op)?;
            }
        }
    }
    let mut ops = Vec::new();
    for op in &catalog.operations {
        let check = RequestCheck::new(&catalog, op).map_err(|error| BuildError::Schema {
            api: api.name.clone(),
            error,
        })?;
        let security = op
            .security
            .iter()
            .map(|req| Requirement {
                schemes: req
                    .schemes
                    .iter()
                    .map(|(name, scopes)| {
                        let scheme = catalog.security_schemes.get(name).map_or_else(
                            || Scheme::Unsupported(format!("undeclared {name}")),
                            |s| scheme_of(&s.kind),
                        );
                        (name.clone(), scheme, scopes.clone())
                    })
                    .collect(),
            })
            .collect();
        let mut owner: Vec<OwnerRule> = api
            .owner_binding
            .iter()
            .filter(|o| {
                o.operation == op.id || op.operation_id.as_deref() == Some(o.operation.as_str())
            })
            .map(|o| OwnerRule {
                param: o.param.clone(),
                claim: o.claim.clone(),
                exempt_roles: o.exempt_roles.clone(),
            })
            .collect();
        if let Some(ext) = op
            .extensions
            .get("x-portcullis-owner")
            .and_then(owner_from_extension)
        {
            owner.push(ext);
        }
        let admin = op.extensions.get("x-portcullis-admin") == Some(&Value::Bool(true))
            || api.admin_operations.contains(&op.id);
        let applicable = limits
            .iter()
            .enumerate()
            .filter(|(_, l)| l.applies_to(Some(&op.id)))
            .map(|(k, _)| k)
            .collect();
        ops.push(OpPlan {
            id: Arc::from(op.id.as_str()),
            check,
            security,
            owner,
            admin,
            deprecated: op.deprecated,
            template: Arc::from(op.path.as_str()),
            threats: protect::threat_plan(config, i, api.threats.as_ref(), &catalog, Some(op))?,
            response: protect::response_plan(
                config,
                i,
                &api.name,
                api.response.as_ref(),
                &catalog,
                Some(op),
            )?,
            limits: applicable,
            stages: StageList::default(),
        });
    }
    let lockout = lockout::compile(config, i, api, &catalog, &spec_path, warnings)?;
    let undocumented_limits = limits
        .iter()
        .enumerate()
        .filter(|(_, l)| l.applies_to(None))
        .map(|(k, _)| k)
        .collect();
    let undocumented_threats =
        protect::threat_plan(config, i, api.threats.as_ref(), &catalog, None)?;
    let undocumented_response =
        protect::response_plan(config, i, &api.name, api.response.as_ref(), &catalog, None)?;
    let mut compiled = Api {
        name: Arc::from(api.name.as_str()),
        catalog: Arc::new(catalog),
        router,
        ops,
        upstream: upstream::compile(config, i, api)?,
        // As requests' hosts are compared: lower case, without a fully qualified name's dot.
        host: api
            .host
            .as_ref()
            .map(|h| h.strip_suffix('.').unwrap_or(h).to_ascii_lowercase()),
        strip: api.base_path.clone().filter(|b| b != "/" && !b.is_empty()),
        mode: api.mode,
        undocumented: api.undocumented,
        deprecated: api.deprecated,
        request: api.request,
        limits,
        undocumented_limits,
        concurrency: api.concurrency.map(|n| ConcurrencyLimiter::new(n, 100_000)),
        admin_role: api.admin_role.clone(),
        rate_limit_headers: api.rate_limit_headers,
        lockout,
        undocumented_stages: StageList::default(),
        undocumented_threats,
        undocumented_response,
        cors: protect::cors_plan(api.cors.as_ref()),
    };
    // The stage lists, once everything they depend on is compiled.
    let stages: Vec<StageList> = compiled
        .ops
        .iter()
        .map(|op| StageList::compile(&compiled, Some(op)))
        .collect();
    for (op, list) in compiled.ops.iter_mut().zip(stages) {
        op.stages = list;
    }
    compiled.undocumented_stages = StageList::compile(&compiled, None);
    Ok(compiled)
}

/// An error naming `pointer` unless the spec at `spec_path` has the operation `id`.
pub(super) fn known_operation(
    config: &Config,
    catalog: &Catalog,
    spec_path: &Path,
    pointer: String,
    id: &str,
) -> Result<(), BuildError> {
    if catalog.operation(id).is_some() {
        return Ok(());
    }
    Err(config_error(
        config,
        pointer,
        format!("no operation {id:?} in {}", spec_path.display()),
    ))
}

/// Loads and parses a spec file.
pub(super) fn load_spec(path: &Path) -> Result<Catalog, portcullis_spec::Error> {
    portcullis_spec::load(path)
}
