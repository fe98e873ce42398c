//! Where rate-limit state lives for a config: the memory store (with its quotas kept in
//! `storage.path` when set) and the warnings about state that a restart would lose.

use std::collections::HashMap;

use super::{BuildError, config_error};
use crate::config::{Config, redact_url};
use crate::ratelimit::memory::MemoryStore;
use crate::ratelimit::persist::QUOTA_MIN_PERIOD_SECS;
use crate::ratelimit::{Gcra, Limiter, Store};

/// Client keys held per store (memory, or the Redis fallback), and rows in `storage.path`.
pub const STATE_CAPACITY: usize = 1_000_000;

/// The name of the limit at `index` in the API `api`'s `rate_limits` (`bank/0`): part of every
/// state key, so state follows a limit's position.
pub fn limit_name(api: &str, index: usize) -> String {
    format!("{api}/{index}")
}

/// The Redis client `state.backend` names: for `rediss://`, the certificate is verified
/// against `state.tls.ca` when given (else the system's roots) and `state.tls.cert`/`key` are
/// presented. Nothing is connected here.
pub fn redis_client(config: &Config) -> Result<redis::Client, BuildError> {
    let state = &config.state;
    let url = &state.backend;
    let fail = |pointer: &str, message: String| {
        config_error(
            config,
            pointer.to_owned(),
            format!("{}: {message}", redact_url(url)),
        )
    };
    let Some(tls) = state.tls.as_ref().filter(|_| url.starts_with("rediss://")) else {
        return redis::Client::open(url.as_str())
            .map_err(|e| fail("/state/backend", format!("invalid Redis URL: {e}")));
    };
    let read = |key: &str, path: &std::path::Path| {
        let path = config.base_dir.join(path);
        std::fs::read(&path).map_err(|e| {
            fail(
                &format!("/state/tls/{key}"),
                format!("{}: {e}", path.display()),
            )
        })
    };
    // redis-rs would take a file without certificates as an empty trust store; refuse it here.
    if let Some(ca) = &tls.ca {
        crate::client_tls::certificates(&config.base_dir.join(ca), "CA certificates")
            .map_err(|e| fail("/state/tls/ca", e.to_string()))?;
    }
    let root_cert = tls.ca.as_ref().map(|p| read("ca", p)).transpose()?;
    let client_tls = match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => Some(redis::ClientTlsConfig {
            client_cert: read("cert", cert)?,
            client_key: read("key", key)?,
        }),
        _ => None,
    };
    redis::Client::build_with_tls(
        url.as_str(),
        redis::TlsCertificates {
            client_tls,
            root_cert,
        },
    )
    .map_err(|e| fail("/state/tls", format!("cannot set up TLS: {e}")))
}

/// The quotas of `config` (limits whose period is at least an hour), by name.
pub fn quotas(config: &Config) -> HashMap<String, Gcra> {
    config
        .apis
        .iter()
        .flat_map(|api| {
            api.rate_limits.iter().enumerate().filter_map(|(j, rl)| {
                let secs = rl.per.0.as_secs().max(1);
                (secs >= QUOTA_MIN_PERIOD_SECS).then(|| {
                    let gcra = Gcra::new(
                        rl.limit,
                        secs.saturating_mul(1_000_000),
                        rl.burst.unwrap_or(0),
                    );
                    (limit_name(&api.name, j), gcra)
                })
            })
        })
        .collect()
}

/// The limiter of the memory backend: quotas restored from and kept in `storage.path` when it
/// is set. An unusable file is an error naming it (fail closed).
pub(super) fn memory_limiter(config: &Config) -> Result<Limiter, BuildError> {
    let store = MemoryStore::new(STATE_CAPACITY);
    let Some(storage) = &config.storage else {
        return Ok(Limiter::new(Store::Memory(store)));
    };
    let path = config.base_dir.join(&storage.path);
    Limiter::with_storage(store, &path, &quotas(config), STATE_CAPACITY).map_err(|e| {
        config_error(
            config,
            "/storage/path".to_owned(),
            format!("cannot keep rate-limit quotas in {e}"),
        )
    })
}

/// Warnings about state: quotas that a restart resets, a `storage.path` that is not used or
/// not in use yet.
pub(super) fn warnings(config: &Config, limiter: &Limiter, warnings: &mut Vec<String>) {
    let memory = config.state.backend == "memory";
    match &config.storage {
        None if memory => {
            let mut names: Vec<String> = quotas(config).into_keys().collect();
            if !names.is_empty() {
                names.sort();
                warnings.push(format!(
                    "rate limits {} are quotas (a period of 1h or more) kept in memory without \
                     `storage.path`: they reset when the gateway restarts; set `storage.path` \
                     (or use a Redis backend) to keep them",
                    names.join(", ")
                ));
            }
        }
        None => {}
        Some(_) if !memory => warnings.push(
            "`storage.path` is not used for rate limits with a Redis `state.backend` (Redis \
             keeps them)"
                .to_owned(),
        ),
        Some(storage) => {
            let wanted = config.base_dir.join(&storage.path);
            if limiter.storage_path() != Some(wanted.as_path()) {
                warnings.push(format!(
                    "`storage.path` {} is not the file in use ({}): a reload keeps the state \
                     file the gateway started with; restart to change it",
                    wanted.display(),
                    limiter
                        .storage_path()
                        .map_or_else(|| "none".to_owned(), |p| p.display().to_string())
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path, extra: &str) -> Config {
        std::fs::write(
            dir.join("spec.yaml"),
            "openapi: 3.0.3\ninfo: { title: t, version: '1' }\npaths: {}\n",
        )
        .unwrap();
        let text = format!(
            "apis:\n  - name: bank\n    spec: spec.yaml\n    upstream: http://127.0.0.1:9\n    \
             rate_limits:\n      - {{ key: ip, limit: 10, per: 1m }}\n      \
             - {{ key: subject, limit: 5, per: 1d }}\n      - {{ key: ip, limit: 3, per: 1h }}\n{extra}"
        );
        Config::from_str_in("gw.yaml", &text, dir, &|_| None).unwrap()
    }

    #[test]
    fn quotas_are_limits_of_an_hour_or_more() {
        let dir = tempfile::tempdir().unwrap();
        let q = quotas(&config(dir.path(), ""));
        let mut names: Vec<&String> = q.keys().collect();
        names.sort();
        assert_eq!(names, ["bank/1", "bank/2"]);
        assert_eq!(q["bank/1"], Gcra::new(5, 86_400_000_000, 0));
    }

    #[test]
    fn memory_quotas_without_storage_warn_that_a_restart_resets_them() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path(), "");
        let limiter = memory_limiter(&c).unwrap();
        let mut w = Vec::new();
        warnings(&c, &limiter, &mut w);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("rate limits bank/1, bank/2 are quotas"),
            "{w:?}"
        );
        assert!(w[0].contains("reset when the gateway restarts"), "{w:?}");

        // With storage: no warning, and the file is the one in use.
        let c = config(dir.path(), "storage: { path: state.db }\n");
        let limiter = memory_limiter(&c).unwrap();
        assert_eq!(
            limiter.storage_path(),
            Some(dir.path().join("state.db").as_path())
        );
        let mut w = Vec::new();
        warnings(&c, &limiter, &mut w);
        assert!(w.is_empty(), "{w:?}");

        // A reload naming another file keeps the running one, and says so.
        let other = config(dir.path(), "storage: { path: other.db }\n");
        let mut w = Vec::new();
        warnings(&other, &limiter, &mut w);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("restart to change it"), "{w:?}");

        // Redis keeps quotas itself.
        let redis = config(
            dir.path(),
            "state: { backend: \"redis://127.0.0.1:1/0\" }\nstorage: { path: state.db }\n",
        );
        let mut w = Vec::new();
        warnings(&redis, &limiter, &mut w);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("not used for rate limits"), "{w:?}");
    }

    #[test]
    fn an_unusable_storage_file_is_a_config_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("state.db"), "plain text, not SQLite at all").unwrap();
        let c = config(dir.path(), "storage: { path: state.db }\n");
        let Err(e) = memory_limiter(&c) else {
            panic!("a text file is used as storage");
        };
        let e = e.to_string();
        let file = dir.path().join("state.db").display().to_string();
        assert!(
            e.starts_with(&format!(
                "gw.yaml:9:12: /storage/path: cannot keep rate-limit quotas in {file}: not a SQLite database"
            )),
            "{e}"
        );
    }

    #[test]
    fn a_rediss_backend_builds_a_verifying_tls_client() {
        let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
        let dir = tempfile::tempdir().unwrap();
        let state = |tls: &str| {
            let mut c = config(
                dir.path(),
                &format!("state: {{ backend: \"rediss://:s3cret@127.0.0.1:6380/0\"{tls} }}\n"),
            );
            c.base_dir = data.clone();
            c
        };
        for tls in [
            "",
            ", tls: { ca: ca.pem }",
            ", tls: { ca: ca.pem, cert: client.pem, key: client.key }",
        ] {
            let client = redis_client(&state(tls)).unwrap_or_else(|e| panic!("{tls}: {e}"));
            let redis::ConnectionAddr::TcpTls { host, insecure, .. } =
                &client.get_connection_info().addr
            else {
                panic!("{tls}: rediss:// is not a TLS connection");
            };
            assert_eq!(host, "127.0.0.1");
            assert!(!insecure, "{tls}");
        }
        for (tls, pointer, problem) in [
            (
                ", tls: { ca: client.key }",
                "/state/tls/ca",
                "no certificate",
            ),
            (", tls: { ca: missing.pem }", "/state/tls/ca", "cannot read"),
            (
                ", tls: { ca: ca.pem, cert: client.pem, key: missing.key }",
                "/state/tls/key",
                "missing.key",
            ),
        ] {
            let e = redis_client(&state(tls)).unwrap_err().to_string();
            assert!(
                e.contains(&format!("{pointer}: rediss://:***@127.0.0.1:6380/0: "))
                    && e.contains(problem)
                    && !e.contains("s3cret"),
                "{e}"
            );
        }
    }
}
