//! `portcullis init --spec SPEC --upstream URL`: a starter gateway config for one's own API.
//!
//! The config runs in `monitor` mode (every denial is logged, none enforced: the dashboard
//! shows what `enforce` would block), lists the spec's security schemes with the identity
//! block each needs (commented out: only the user knows their issuer or key file), and sets
//! default rate limits (per client address, and a tight one on login-like operations). It is
//! checked with the gateway's own config loader before it is written.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use portcullis_gateway::config::Config;
use portcullis_spec::{Catalog, ParameterIn, SecurityScheme, SecuritySchemeKind};

use super::{Outcome, print};
use crate::args::InitArgs;

/// The environment variable the admin token is read from.
const TOKEN_VAR: &str = "PORTCULLIS_ADMIN_TOKEN";

/// Runs `init`.
pub fn run(args: &InitArgs) -> anyhow::Result<Outcome> {
    if !(args.upstream.starts_with("http://") || args.upstream.starts_with("https://")) {
        bail!(
            "--upstream {:?}: expected an http:// or https:// URL of the API",
            args.upstream
        );
    }
    if args.output.exists() && !args.force {
        bail!(
            "{} exists already (use --force to overwrite it)",
            args.output.display()
        );
    }
    let catalog = portcullis_spec::load(&args.spec)
        .with_context(|| format!("cannot load the spec {}", args.spec.display()))?;
    let dir = match args.output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let spec = spec_reference(&args.spec, &dir)?;
    let text = starter(&catalog, &spec, args);
    // What `check` will read: the same loader, with a stand-in token.
    Config::from_str_in(&args.output.display().to_string(), &text, &dir, &|name| {
        (name == TOKEN_VAR).then(|| "x".repeat(32))
    })
    .context("the starter config does not load (a bug in init: please report it)")?;
    std::fs::write(&args.output, &text)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    let schemes = catalog.security_schemes.len();
    let config = args.output.display();
    print(&format!(
        "wrote {config}: API {name} ({ops} operations) in monitor mode, {schemes} security scheme{s} to map to identity\n\n\
         next:\n  \
         export {TOKEN_VAR}=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n')\n  \
         portcullis check --config {config}\n  \
         portcullis serve --config {config}     # dashboard: http://{admin}/\n",
        name = api_name(&catalog, &args.spec),
        ops = catalog.operations.len(),
        s = if schemes == 1 { "" } else { "s" },
        admin = args.admin_listen,
    ))?;
    Ok(Outcome::Clean)
}

/// The spec's path as the config names it: relative to the config's folder when it lies
/// under it, absolute otherwise.
fn spec_reference(spec: &Path, dir: &Path) -> anyhow::Result<String> {
    let spec = std::fs::canonicalize(spec)
        .with_context(|| format!("cannot resolve {}", spec.display()))?;
    let dir = std::fs::canonicalize(dir)
        .with_context(|| format!("cannot resolve the folder {}", dir.display()))?;
    let shown = spec.strip_prefix(&dir).unwrap_or(&spec);
    Ok(shown.display().to_string())
}

/// A name for the API: the spec's title in lower case, letters, digits and dashes.
fn api_name(catalog: &Catalog, spec: &Path) -> String {
    let slug = |s: &str| {
        let mut out = String::new();
        for c in s.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        out.trim_end_matches('-')
            .chars()
            .take(40)
            .collect::<String>()
    };
    let from_title = slug(catalog.info.title.as_deref().unwrap_or_default());
    if from_title.is_empty() {
        let stem = spec.file_stem().map(|s| s.to_string_lossy().into_owned());
        let from_file = slug(stem.as_deref().unwrap_or_default());
        if from_file.is_empty() {
            "api".to_owned()
        } else {
            from_file
        }
    } else {
        from_title
    }
}

/// A YAML scalar that reads back as `text` (a JSON string is a YAML double-quoted scalar).
fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// Which identity block a scheme needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Jwt,
    ApiKeys,
    Mtls,
    None,
}

/// What a scheme is and what verifies it (one comment line), and which block it needs.
fn scheme_note(name: &str, scheme: &SecurityScheme) -> (String, Block) {
    match &scheme.kind {
        SecuritySchemeKind::Http { scheme: s, .. } if s == "bearer" => (
            format!(
                "{name}: http bearer -> identity.jwt (or identity.introspection for opaque tokens)"
            ),
            Block::Jwt,
        ),
        SecuritySchemeKind::OAuth2 { .. } => (
            format!("{name}: oauth2 -> the authorization server's tokens in identity.jwt"),
            Block::Jwt,
        ),
        SecuritySchemeKind::OpenIdConnect { url } => (
            format!("{name}: openIdConnect -> identity.jwt with discovery: {url}"),
            Block::Jwt,
        ),
        SecuritySchemeKind::ApiKey {
            name: key,
            location_in,
        } => {
            let place = match location_in {
                ParameterIn::Header => "header",
                ParameterIn::Query => "query parameter",
                ParameterIn::Cookie => "cookie",
                ParameterIn::Path => "path",
            };
            (
                format!(
                    "{name}: apiKey in {place} {key} -> identity.api_keys (`portcullis keys new` makes a key)"
                ),
                Block::ApiKeys,
            )
        }
        SecuritySchemeKind::MutualTls => (
            format!(
                "{name}: mutualTLS -> server.tls.client_ca, and identity.mtls to map certificates"
            ),
            Block::Mtls,
        ),
        SecuritySchemeKind::Http { scheme: s, .. } => (
            format!(
                "{name}: http {s} -> not verifiable by Portcullis: refused (auth.unsupported) once enforced"
            ),
            Block::None,
        ),
        SecuritySchemeKind::Unknown { declared } => (
            format!(
                "{name}: unknown type {declared} -> never satisfied (auth.unsupported) once enforced"
            ),
            Block::None,
        ),
    }
}

/// The commented identity section: a note per scheme, then each block needed once.
fn identity_section(catalog: &Catalog) -> String {
    let mut out = String::from(
        "# Identity: how callers prove who they are. The spec declares these security schemes;\n\
         # until the matching block is filled in and uncommented, requests that need them are\n\
         # refused as auth.invalid (only logged while mode is monitor).\n",
    );
    let mut blocks = Vec::new();
    for (name, scheme) in &catalog.security_schemes {
        let (note, block) = scheme_note(name, scheme);
        let _ = writeln!(out, "#   {note}");
        if !blocks.contains(&block) {
            blocks.push(block);
        }
    }
    out.push_str("# identity:\n");
    for block in blocks {
        out.push_str(match block {
            Block::Jwt => {
                "#   jwt:\n\
                 #     - issuer: https://idp.example/            # your tokens' `iss`\n\
                 #       audiences: [my-api]                     # their `aud`\n\
                 #       jwks: https://idp.example/.well-known/jwks.json   # or discovery: URL\n\
                 #       algorithms: [RS256]\n"
            }
            Block::ApiKeys => "#   api_keys: { file: api-keys.yaml }\n",
            Block::Mtls => {
                "#   mtls:\n\
                 #     map:\n\
                 #       - { match: { subject_cn: client.example }, subject: client }\n"
            }
            Block::None => "",
        });
    }
    out.push('\n');
    out
}

/// Operations that look like a login (brute-force targets): tighter limits.
fn login_operations(catalog: &Catalog) -> Vec<String> {
    catalog
        .operations
        .iter()
        .filter(|op| op.method.as_str().eq_ignore_ascii_case("post"))
        .filter(|op| {
            let text = format!("{} {}", op.id, op.path).to_ascii_lowercase();
            [
                "login",
                "signin",
                "sign-in",
                "sign_in",
                "/token",
                "authenticate",
                "password",
            ]
            .iter()
            .any(|w| text.contains(w))
        })
        .map(|op| op.id.clone())
        .take(20)
        .collect()
}

/// The starter config's text.
fn starter(catalog: &Catalog, spec: &str, args: &InitArgs) -> String {
    let mut out = String::new();
    let title = catalog.info.title.as_deref().unwrap_or("untitled");
    let _ = writeln!(
        out,
        "# Portcullis starter config for {title:?} (written by `portcullis init`).\n\
         # Check it:  portcullis check --config {config}\n\
         # Run it:    portcullis serve --config {config}   (with {TOKEN_VAR} set: 16+ characters)\n\
         # Reference: docs/config.md. Unknown keys are errors; nothing is silently ignored.\n",
        config = args.output.display()
    );
    let _ = writeln!(
        out,
        "server:\n  listen: {}\n  limits: {{ max_body: 1MiB, request_timeout: 30s }}\n",
        args.listen
    );
    let _ = writeln!(
        out,
        "# The admin API and the dashboard (http://{admin}/): keep them on loopback.\n\
         admin:\n  listen: {admin}\n  token: ${{{TOKEN_VAR}}}\n",
        admin = args.admin_listen
    );
    if catalog.security_schemes.is_empty() {
        out.push_str(
            "# The spec declares no security scheme: every operation is public to the gateway.\n\n",
        );
    } else {
        out.push_str(&identity_section(catalog));
    }
    let _ = writeln!(
        out,
        "log:\n  decisions: stdout                  # one JSON line per request (or a file path, or off)\n"
    );
    let _ = writeln!(
        out,
        "apis:\n  - name: {name}\n    spec: {spec}\n    upstream: {upstream}\n    \
         # monitor: every denial is logged and shown on the dashboard, none enforced. Switch to\n    \
         # enforce once the dashboard shows only attacks among the would-be blocks.\n    \
         mode: monitor\n    \
         undocumented: block                # paths the spec does not declare (shadow endpoints)\n    \
         request: {{ validate: block, unknown_fields: block }}   # schema checks, mass assignment\n    \
         rate_limits:\n      \
         # `limit` per `per` is the sustained rate; `burst` how many an idle client may send at once.\n      \
         - {{ key: ip, limit: 100, per: 1s, burst: 200 }}",
        name = api_name(catalog, &args.spec),
        spec = quoted(spec),
        upstream = quoted(&args.upstream),
    );
    let logins = login_operations(catalog);
    if !logins.is_empty() {
        let _ = writeln!(
            out,
            "      # Login-like operations: five attempts a minute per address (credential stuffing).\n      \
             - {{ key: ip, operations: [{}], limit: 5, per: 1m }}",
            logins
                .iter()
                .map(|o| quoted(o))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"openapi: 3.0.3
info: { title: "Pet Store: v2", version: "1" }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer, bearerFormat: JWT }
    key: { type: apiKey, in: header, name: X-API-Key }
    basic: { type: http, scheme: basic }
security: [ { bearer: [] } ]
paths:
  /auth/login:
    post: { operationId: login, security: [], responses: { "200": { description: ok } } }
  /pets:
    get: { operationId: listPets, responses: { "200": { description: ok } } }
"#;

    fn args(dir: &Path) -> InitArgs {
        InitArgs {
            spec: dir.join("pets.yaml"),
            upstream: "http://127.0.0.1:3000".to_owned(),
            output: dir.join("portcullis.yaml"),
            force: false,
            listen: "127.0.0.1:8080".parse().unwrap(),
            admin_listen: "127.0.0.1:9090".parse().unwrap(),
        }
    }

    #[test]
    fn the_starter_loads_in_monitor_mode_with_stubs_and_limits() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pets.yaml"), SPEC).unwrap();
        let a = args(dir.path());
        let catalog = portcullis_spec::load(&a.spec).unwrap();
        let text = starter(&catalog, "pets.yaml", &a);
        let config = Config::from_str_in("p.yaml", &text, dir.path(), &|n| {
            (n == TOKEN_VAR).then(|| "t".repeat(32))
        })
        .unwrap();
        assert_eq!(config.apis.len(), 1);
        assert!(text.contains("mode: monitor"), "{text}");
        assert!(text.contains("- name: pet-store-v2"), "{text}");
        assert!(
            text.contains("#     - issuer: https://idp.example/"),
            "{text}"
        );
        assert!(
            text.contains("#   key: apiKey in header X-API-Key"),
            "{text}"
        );
        assert!(
            text.contains("#   basic: http basic -> not verifiable"),
            "{text}"
        );
        assert!(
            text.contains("#   api_keys: { file: api-keys.yaml }"),
            "{text}"
        );
        // Uncommenting the identity section gives a config that parses (up to the files).
        let uncommented: String = text
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest.starts_with("identity:")
                        || rest.starts_with("  jwt:")
                        || rest.starts_with("    ")
                        || rest.starts_with("  api_keys") =>
                {
                    rest
                }
                _ => l,
            })
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(
            uncommented.contains("\nidentity:\n  jwt:\n"),
            "{uncommented}"
        );
        assert!(
            text.contains("operations: [\"login\"], limit: 5, per: 1m"),
            "{text}"
        );
    }

    #[test]
    fn bad_input_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pets.yaml"), SPEC).unwrap();
        let mut a = args(dir.path());
        a.upstream = "127.0.0.1:3000".to_owned();
        let e = run(&a).unwrap_err().to_string();
        assert!(e.contains("expected an http:// or https:// URL"), "{e}");
        let mut a = args(dir.path());
        std::fs::write(&a.output, "keep me").unwrap();
        let e = run(&a).unwrap_err().to_string();
        assert!(e.contains("exists already"), "{e}");
        assert_eq!(std::fs::read_to_string(&a.output).unwrap(), "keep me");
        a.spec = dir.path().join("missing.yaml");
        a.force = true;
        let e = format!("{:#}", run(&a).unwrap_err());
        assert!(e.contains("missing.yaml"), "{e}");
    }

    #[test]
    fn names_and_paths() {
        assert_eq!(quoted("a \"b\" c"), "\"a \\\"b\\\" c\"");
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("specs")).unwrap();
        std::fs::write(dir.path().join("specs/x.yaml"), SPEC).unwrap();
        assert_eq!(
            spec_reference(&dir.path().join("specs/x.yaml"), dir.path()).unwrap(),
            "specs/x.yaml"
        );
        let elsewhere = tempfile::tempdir().unwrap();
        let shown = spec_reference(&dir.path().join("specs/x.yaml"), elsewhere.path()).unwrap();
        assert!(Path::new(&shown).is_absolute(), "{shown}");
    }
}
