//! Rule settings: which rules run and at which severity, from a `--rules` YAML file.
//!
//! ```yaml
//! rules:
//!   PC-INPUT-002: off              # disable
//!   PC-AUTH-004: critical          # change the severity
//!   PC-LIMIT-001: { severity: medium }
//!   PC-CONF-003: { enabled: false }
//! ```
//!
//! Unknown keys, unknown rule ids and unknown severities are errors naming the file, line and
//! column.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use portcullis_report::Severity;
use portcullis_spec::Location;
use portcullis_spec::parse::{Limits, parse_file};
use portcullis_spec::pointer;
use serde_json::Value;

use crate::rules;

/// Why a rules file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The file could not be read or is not valid YAML/JSON.
    #[error(transparent)]
    Load(#[from] portcullis_spec::Error),
    /// The file parsed but says something we do not understand.
    #[error("{location}: {message}")]
    Invalid {
        /// Where, in the rules file.
        location: Location,
        /// What is wrong.
        message: String,
    },
}

/// What the rules file says about one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Override {
    /// False when the rule is disabled.
    pub disabled: bool,
    /// The severity to report instead of the rule's default.
    pub severity: Option<Severity>,
}

/// Per-rule settings; the default runs every rule at its default severity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    overrides: HashMap<&'static str, Override>,
}

impl Settings {
    /// True when the rule runs.
    pub fn enabled(&self, id: &str) -> bool {
        !self.overrides.get(id).is_some_and(|o| o.disabled)
    }

    /// The severity the rule reports at.
    pub fn severity(&self, id: &str, default: Severity) -> Severity {
        self.overrides
            .get(id)
            .and_then(|o| o.severity)
            .unwrap_or(default)
    }

    /// True when the rules file said something about this rule (its settings then win over
    /// a profile's).
    pub fn mentions(&self, id: &str) -> bool {
        self.overrides.contains_key(id)
    }

    /// Sets the override of a rule (ids are matched case-insensitively; unknown ids give
    /// `false`).
    pub fn set(&mut self, id: &str, o: Override) -> bool {
        match rules::find(id) {
            Some(rule) => {
                self.overrides.insert(rule.meta().id, o);
                true
            }
            None => false,
        }
    }

    /// Reads a rules file.
    pub fn load(path: &Path) -> Result<Settings, SettingsError> {
        let name: Arc<str> = Arc::from(path.display().to_string());
        let file = parse_file(
            path,
            name,
            &Limits {
                max_bytes: 1024 * 1024,
                ..Limits::default()
            },
        )?;
        let invalid = |ptr: &str, message: String| SettingsError::Invalid {
            location: file.locate(ptr),
            message,
        };
        let mut settings = Settings::default();
        let root = match &file.value {
            Value::Object(m) => m,
            Value::Null => return Ok(settings),
            _ => {
                return Err(invalid(
                    "",
                    "a rules file must be a mapping with a `rules` key".to_owned(),
                ));
            }
        };
        for key in root.keys() {
            if key != "rules" {
                return Err(invalid(
                    &pointer::push("", key),
                    format!("unknown key `{key}` (expected `rules`)"),
                ));
            }
        }
        let Some(list) = root.get("rules") else {
            return Ok(settings);
        };
        let Value::Object(list) = list else {
            return Err(invalid(
                "/rules",
                "`rules` must be a mapping of rule id -> off | SEVERITY | {enabled, severity}"
                    .to_owned(),
            ));
        };
        for (id, v) in list {
            let at = pointer::push("/rules", id);
            let o = match v {
                Value::Bool(false) => Override {
                    disabled: true,
                    severity: None,
                },
                Value::Bool(true) => Override::default(),
                Value::String(s)
                    if s.eq_ignore_ascii_case("off") || s.eq_ignore_ascii_case("disabled") =>
                {
                    Override {
                        disabled: true,
                        severity: None,
                    }
                }
                Value::String(s) if s.eq_ignore_ascii_case("on") => Override::default(),
                Value::String(s) => Override {
                    disabled: false,
                    severity: Some(s.parse().map_err(
                        |e: portcullis_report::UnknownSeverity| invalid(&at, e.to_string()),
                    )?),
                },
                Value::Object(m) => {
                    let mut o = Override::default();
                    for (k, x) in m {
                        let kat = pointer::push(&at, k);
                        match (k.as_str(), x) {
                            ("enabled", Value::Bool(b)) => o.disabled = !b,
                            ("severity", Value::String(s)) => {
                                o.severity = Some(s.parse().map_err(
                                    |e: portcullis_report::UnknownSeverity| {
                                        invalid(&kat, e.to_string())
                                    },
                                )?)
                            }
                            ("enabled" | "severity", _) => {
                                return Err(invalid(
                                    &kat,
                                    format!(
                                        "`{k}` has the wrong type (enabled: true|false, severity: critical|high|medium|low|info)"
                                    ),
                                ));
                            }
                            _ => {
                                return Err(invalid(
                                    &kat,
                                    format!("unknown key `{k}` (expected `enabled` or `severity`)"),
                                ));
                            }
                        }
                    }
                    o
                }
                _ => {
                    return Err(invalid(
                        &at,
                        format!("`{id}`: expected off, a severity, or {{enabled, severity}}"),
                    ));
                }
            };
            if !settings.set(id, o) {
                return Err(invalid(
                    &at,
                    format!("unknown rule id `{id}` (see `portcullis audit --list-rules`)"),
                ));
            }
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Settings, SettingsError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.yaml");
        std::fs::write(&path, text).unwrap();
        Settings::load(&path)
    }

    #[test]
    fn reads_every_form() {
        let s = load("rules:\n  PC-INPUT-002: off\n  pc-auth-004: critical\n  PC-LIMIT-001: {severity: medium}\n  PC-CONF-003: {enabled: false}\n").unwrap();
        assert!(!s.enabled("PC-INPUT-002"));
        assert!(!s.enabled("PC-CONF-003"));
        assert!(s.enabled("PC-AUTH-004"));
        assert_eq!(s.severity("PC-AUTH-004", Severity::Low), Severity::Critical);
        assert_eq!(s.severity("PC-LIMIT-001", Severity::Low), Severity::Medium);
        assert_eq!(s.severity("PC-AUTH-001", Severity::High), Severity::High);
    }

    #[test]
    fn unknown_ids_name_the_line() {
        let err = load("rules:\n  PC-INPUT-002: off\n  PC-NOPE-999: off\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("rules.yaml:3:"), "{err}");
        assert!(err.contains("PC-NOPE-999"), "{err}");
    }

    #[test]
    fn bad_values_are_errors() {
        let err = load("rules:\n  PC-INPUT-002: loud\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(":2:") && err.contains("unknown severity"),
            "{err}"
        );
        let err = load("rulez: {}\n").unwrap_err().to_string();
        assert!(err.contains("unknown key `rulez`"), "{err}");
        let err = load("rules:\n  PC-INPUT-002: {sev: low}\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown key `sev`"), "{err}");
    }
}
