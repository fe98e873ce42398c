//! Profiles: which rules run when no rules file says otherwise.
//!
//! * `recommended` runs what a security reviewer acts on first: every rule but the schema
//!   hygiene and documentation rules listed in [`NOT_RECOMMENDED`], which fire on most
//!   properties or operations of real documents (over the corpus, PC-INPUT-001 and
//!   PC-INPUT-002 alone are 129 000 of 310 000 findings; the rules left out make 258 875, leaving 51 173)
//!   and rarely point at an exploitable weakness on their own.
//! * `strict` runs every rule.
//!
//! A `--rules` file is applied on top: a rule it names (`PC-INPUT-001: medium`, or `on`) runs
//! whatever the profile.

use std::fmt;

use crate::rules;
use crate::settings::{Override, Settings};

/// A set of rules to run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Profile {
    /// Every rule but [`NOT_RECOMMENDED`].
    #[default]
    Recommended,
    /// Every rule.
    Strict,
}

/// The rules `recommended` leaves out, each with why.
pub const NOT_RECOMMENDED: &[(&str, &str)] = &[
    (
        "PC-INPUT-001",
        "schema hygiene: most string properties of real documents have no maxLength; the gateway's body size limit bounds them",
    ),
    (
        "PC-INPUT-002",
        "schema hygiene: free-text strings without format, pattern or enum are normal",
    ),
    (
        "PC-INPUT-004",
        "schema hygiene: integers without bounds are the norm and rarely exploitable alone",
    ),
    (
        "PC-INPUT-005",
        "schema hygiene: a missing integer format is a documentation gap",
    ),
    (
        "PC-INPUT-006",
        "schema hygiene: numbers without bounds are the norm and rarely exploitable alone",
    ),
    (
        "PC-INPUT-011",
        "response documentation: a missing 400/422 response says nothing about whether input is validated",
    ),
    (
        "PC-AUTHZ-003",
        "response documentation: a missing 403 response says nothing about whether access is checked",
    ),
    (
        "PC-CONF-001",
        "response documentation: a missing 401 response says nothing about whether authentication is enforced",
    ),
    (
        "PC-LIMIT-001",
        "response documentation: a missing 429 response says nothing about whether rate limits exist",
    ),
    (
        "PC-LIMIT-002",
        "documentation: rate-limit headers are rarely described even where limits exist",
    ),
    (
        "PC-CONF-002",
        "documentation: a 500 response says nothing about security",
    ),
    (
        "PC-CONF-004",
        "documentation: undeclared media types (2.0 produces/consumes)",
    ),
    (
        "PC-INV-004",
        "documentation: server audience (x-internal) is a convention few documents use",
    ),
    (
        "PC-INV-005",
        "documentation: server environment is a convention few documents use",
    ),
];

impl Profile {
    /// The profile's name (`recommended`, `strict`).
    pub fn name(self) -> &'static str {
        match self {
            Profile::Recommended => "recommended",
            Profile::Strict => "strict",
        }
    }

    /// True when the profile runs the rule `id`.
    pub fn includes(self, id: &str) -> bool {
        match self {
            Profile::Strict => true,
            Profile::Recommended => !NOT_RECOMMENDED.iter().any(|(r, _)| *r == id),
        }
    }

    /// `settings` (from a rules file, or the default) with the rules the profile leaves out
    /// turned off, unless the settings name them.
    pub fn apply(self, mut settings: Settings) -> Settings {
        for rule in rules::all() {
            let id = rule.meta().id;
            if !self.includes(id) && !settings.mentions(id) {
                settings.set(
                    id,
                    Override {
                        disabled: true,
                        severity: None,
                    },
                );
            }
        }
        settings
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn left_out_rules_exist_and_a_rules_file_wins() {
        for (id, why) in NOT_RECOMMENDED {
            assert!(rules::find(id).is_some(), "{id}");
            assert!(!why.is_empty());
        }
        let s = Profile::Recommended.apply(Settings::default());
        assert!(!s.enabled("PC-INPUT-001"));
        assert!(s.enabled("PC-AUTH-001"));
        assert!(
            Profile::Strict
                .apply(Settings::default())
                .enabled("PC-INPUT-001")
        );
        let mut named = Settings::default();
        named.set(
            "PC-INPUT-001",
            Override {
                disabled: false,
                severity: Some(portcullis_report::Severity::Low),
            },
        );
        let s = Profile::Recommended.apply(named);
        assert!(s.enabled("PC-INPUT-001"));
    }
}
