//! Is a request value an attack? One [`Detector`] per paranoia level checks a value's decoded
//! forms ([`crate::decode::forms`]) against each kind of injection and names the first found,
//! with a short fingerprint (never the value).
//!
//! Paranoia 1 (the default) flags only what is an attack in any field: libinjection's SQL
//! fingerprints and XSS tokens, a shell separator followed by a command, two climbs up a path
//! or a well-known system file, an LDAP filter break-out, template expressions that compute or
//! reach objects, and NoSQL operators. Levels 2 and 3 add looser shapes (a lone `../`, any
//! command word after a separator, any `{{...}}`), catching more at the cost of false positives.

mod ldap;
mod nosql;
mod shell;
mod sql_xss;
mod template;
mod traversal;

use crate::decode;

/// The kinds of injection, each with its rule id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// SQL injection (libinjection fingerprint).
    Sqli,
    /// Cross-site scripting (HTML/JavaScript tokens).
    Xss,
    /// OS command injection.
    Command,
    /// Path traversal or a local file reference.
    Traversal,
    /// LDAP filter injection.
    Ldap,
    /// Server-side template injection.
    Template,
    /// NoSQL operator injection (MongoDB-style `$ne`, `$where`, ...).
    Nosql,
}

impl Kind {
    /// Every kind, in the order they are checked.
    pub const ALL: [Kind; 7] = [
        Kind::Sqli,
        Kind::Xss,
        Kind::Command,
        Kind::Traversal,
        Kind::Ldap,
        Kind::Template,
        Kind::Nosql,
    ];

    /// The rule id in findings and the decision log (`threat.sqli`, ...).
    pub fn rule(self) -> &'static str {
        match self {
            Kind::Sqli => "threat.sqli",
            Kind::Xss => "threat.xss",
            Kind::Command => "threat.cmd",
            Kind::Traversal => "threat.traversal",
            Kind::Ldap => "threat.ldap",
            Kind::Template => "threat.ssti",
            Kind::Nosql => "threat.nosql",
        }
    }
}

/// What a check found: the kind and a short fingerprint of the match (libinjection's token
/// fingerprint such as `s&sos`, the tag or handler for XSS, the command name, the operator...),
/// never the value itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The kind of injection.
    pub kind: Kind,
    /// A short description of what matched (at most a few dozen bytes, never the value).
    pub fingerprint: String,
}

impl Finding {
    fn new(kind: Kind, fingerprint: impl Into<String>) -> Finding {
        let mut fingerprint = fingerprint.into();
        if fingerprint.len() > 32 {
            let mut end = 32;
            while !fingerprint.is_char_boundary(end) {
                end -= 1;
            }
            fingerprint.truncate(end);
        }
        Finding { kind, fingerprint }
    }
}

/// Checks values at one paranoia level (1..=3; 1 has the fewest false positives). Cheap to
/// build and to share (`Copy`-sized, no tables built at run time).
#[derive(Debug, Clone, Copy)]
pub struct Detector {
    paranoia: u8,
}

impl Detector {
    /// A detector at `paranoia`, clamped to 1..=3.
    pub fn new(paranoia: u8) -> Detector {
        Detector {
            paranoia: paranoia.clamp(1, 3),
        }
    }

    /// The paranoia level in force (1..=3).
    pub fn paranoia(&self) -> u8 {
        self.paranoia
    }

    /// Decodes `value` (percent and `+`, HTML entities, backslash escapes, case, SQL comments;
    /// bounded, see [`crate::decode`]) and checks every decoded form for every kind; the first
    /// finding, or `None` for a value that looks benign.
    pub fn check(&self, value: &str) -> Option<Finding> {
        if value.len() < 2 {
            return None;
        }
        let forms = decode::forms(value);
        forms.iter().find_map(|form| self.check_form(form))
    }

    /// Checks `value` for one kind only (the same decoding as [`Detector::check`]).
    pub fn check_kind(&self, value: &str, kind: Kind) -> Option<Finding> {
        if value.len() < 2 {
            return None;
        }
        let forms = decode::forms(value);
        forms.iter().find_map(|form| self.check_one(form, kind))
    }

    /// A JSON object key (or a query parameter name) that is a NoSQL operator (`$ne`, `$gt`,
    /// `$where`, `$regex`, ..., also as `user[$ne]`).
    pub fn check_key(&self, key: &str) -> Option<Finding> {
        nosql::check_key(key, self.paranoia).map(|op| Finding::new(Kind::Nosql, op))
    }

    fn check_form(&self, form: &[u8]) -> Option<Finding> {
        Kind::ALL
            .iter()
            .find_map(|&kind| self.check_one(form, kind))
    }

    fn check_one(&self, form: &[u8], kind: Kind) -> Option<Finding> {
        let p = self.paranoia;
        match kind {
            Kind::Sqli => sql_xss::sqli(form, p).map(|f| Finding::new(kind, f)),
            Kind::Xss => sql_xss::xss(form, p).map(|f| Finding::new(kind, f)),
            Kind::Command => shell::check(form, p).map(|f| Finding::new(kind, f)),
            Kind::Traversal => traversal::check(form, p).map(|f| Finding::new(kind, f)),
            Kind::Ldap => ldap::check(form, p).map(|f| Finding::new(kind, f)),
            Kind::Template => template::check(form, p).map(|f| Finding::new(kind, f)),
            Kind::Nosql => nosql::check(form, p).map(|f| Finding::new(kind, f)),
        }
    }
}

impl Default for Detector {
    fn default() -> Detector {
        Detector::new(1)
    }
}

#[cfg(test)]
mod tests;
