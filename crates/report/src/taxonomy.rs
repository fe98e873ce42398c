//! Severities, the OWASP API Security Top 10 (2023) and the CWE ids our rules cite.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; not a weakness by itself.
    Info,
    /// A weakness with limited impact.
    Low,
    /// A weakness an attacker can use with some effort.
    Medium,
    /// A weakness that exposes data or functions.
    High,
    /// A weakness that exposes the API to anyone, now.
    Critical,
}

impl Severity {
    /// Every severity, most severe first.
    pub const DESCENDING: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// The lower-case name (`critical`, `high`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The `security-severity` score GitHub code scanning reads from SARIF rules.
    pub fn security_severity(self) -> &'static str {
        match self {
            Severity::Info => "0.0",
            Severity::Low => "3.0",
            Severity::Medium => "5.5",
            Severity::High => "8.0",
            Severity::Critical => "9.5",
        }
    }

    /// The SARIF `level` of a result of this severity.
    pub fn sarif_level(self) -> &'static str {
        match self {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low | Severity::Info => "note",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A severity name that is not one of `critical`, `high`, `medium`, `low`, `info`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?} (expected critical, high, medium, low or info)")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::DESCENDING
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownSeverity(s.to_owned()))
    }
}

/// The OWASP API Security Top 10, 2023 edition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owasp {
    /// API1:2023 Broken Object Level Authorization.
    Api1,
    /// API2:2023 Broken Authentication.
    Api2,
    /// API3:2023 Broken Object Property Level Authorization.
    Api3,
    /// API4:2023 Unrestricted Resource Consumption.
    Api4,
    /// API5:2023 Broken Function Level Authorization.
    Api5,
    /// API6:2023 Unrestricted Access to Sensitive Business Flows.
    Api6,
    /// API7:2023 Server Side Request Forgery.
    Api7,
    /// API8:2023 Security Misconfiguration.
    Api8,
    /// API9:2023 Improper Inventory Management.
    Api9,
    /// API10:2023 Unsafe Consumption of APIs.
    Api10,
}

impl Owasp {
    /// All ten categories in order.
    pub const ALL: [Owasp; 10] = [
        Owasp::Api1,
        Owasp::Api2,
        Owasp::Api3,
        Owasp::Api4,
        Owasp::Api5,
        Owasp::Api6,
        Owasp::Api7,
        Owasp::Api8,
        Owasp::Api9,
        Owasp::Api10,
    ];

    /// The category id, e.g. `API1:2023`.
    pub fn id(self) -> &'static str {
        match self {
            Owasp::Api1 => "API1:2023",
            Owasp::Api2 => "API2:2023",
            Owasp::Api3 => "API3:2023",
            Owasp::Api4 => "API4:2023",
            Owasp::Api5 => "API5:2023",
            Owasp::Api6 => "API6:2023",
            Owasp::Api7 => "API7:2023",
            Owasp::Api8 => "API8:2023",
            Owasp::Api9 => "API9:2023",
            Owasp::Api10 => "API10:2023",
        }
    }

    /// The category title as OWASP publishes it.
    pub fn title(self) -> &'static str {
        match self {
            Owasp::Api1 => "Broken Object Level Authorization",
            Owasp::Api2 => "Broken Authentication",
            Owasp::Api3 => "Broken Object Property Level Authorization",
            Owasp::Api4 => "Unrestricted Resource Consumption",
            Owasp::Api5 => "Broken Function Level Authorization",
            Owasp::Api6 => "Unrestricted Access to Sensitive Business Flows",
            Owasp::Api7 => "Server Side Request Forgery",
            Owasp::Api8 => "Security Misconfiguration",
            Owasp::Api9 => "Improper Inventory Management",
            Owasp::Api10 => "Unsafe Consumption of APIs",
        }
    }
}

impl fmt::Display for Owasp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A string that names no OWASP API 2023 category.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown OWASP API category {0:?} (expected API1:2023 .. API10:2023)")]
pub struct UnknownOwasp(pub String);

impl FromStr for Owasp {
    type Err = UnknownOwasp;

    /// Accepts `API1:2023`, `API1` and `api1`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        let short = upper.strip_suffix(":2023").unwrap_or(&upper);
        Owasp::ALL
            .into_iter()
            .find(|o| o.id().strip_suffix(":2023") == Some(short))
            .ok_or_else(|| UnknownOwasp(s.to_owned()))
    }
}

impl Serialize for Owasp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

impl<'de> Deserialize<'de> for Owasp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A CWE (Common Weakness Enumeration) id, written `CWE-284`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cwe(pub u32);

/// Names of the CWE entries API-security rules cite.
const CWE_NAMES: &[(u32, &str)] = &[
    (20, "Improper Input Validation"),
    (22, "Path Traversal"),
    (78, "OS Command Injection"),
    (79, "Cross-site Scripting"),
    (89, "SQL Injection"),
    (94, "Code Injection"),
    (113, "HTTP Response Splitting"),
    (
        200,
        "Exposure of Sensitive Information to an Unauthorized Actor",
    ),
    (
        209,
        "Generation of Error Message Containing Sensitive Information",
    ),
    (
        213,
        "Exposure of Sensitive Information Due to Incompatible Policies",
    ),
    (235, "Improper Handling of Extra Parameters"),
    (250, "Execution with Unnecessary Privileges"),
    (256, "Plaintext Storage of a Password"),
    (284, "Improper Access Control"),
    (285, "Improper Authorization"),
    (287, "Improper Authentication"),
    (290, "Authentication Bypass by Spoofing"),
    (306, "Missing Authentication for Critical Function"),
    (
        307,
        "Improper Restriction of Excessive Authentication Attempts",
    ),
    (311, "Missing Encryption of Sensitive Data"),
    (319, "Cleartext Transmission of Sensitive Information"),
    (326, "Inadequate Encryption Strength"),
    (327, "Use of a Broken or Risky Cryptographic Algorithm"),
    (345, "Insufficient Verification of Data Authenticity"),
    (347, "Improper Verification of Cryptographic Signature"),
    (352, "Cross-Site Request Forgery"),
    (
        359,
        "Exposure of Private Personal Information to an Unauthorized Actor",
    ),
    (400, "Uncontrolled Resource Consumption"),
    (404, "Improper Resource Shutdown or Release"),
    (441, "Unintended Proxy or Intermediary"),
    (444, "Inconsistent Interpretation of HTTP Requests"),
    (522, "Insufficiently Protected Credentials"),
    (
        525,
        "Use of Web Browser Cache Containing Sensitive Information",
    ),
    (
        598,
        "Use of GET Request Method With Sensitive Query Strings",
    ),
    (601, "Open Redirect"),
    (613, "Insufficient Session Expiration"),
    (639, "Authorization Bypass Through User-Controlled Key"),
    (
        640,
        "Weak Password Recovery Mechanism for Forgotten Password",
    ),
    (668, "Exposure of Resource to Wrong Sphere"),
    (693, "Protection Mechanism Failure"),
    (697, "Incorrect Comparison"),
    (732, "Incorrect Permission Assignment for Critical Resource"),
    (770, "Allocation of Resources Without Limits or Throttling"),
    (798, "Use of Hard-coded Credentials"),
    (799, "Improper Control of Interaction Frequency"),
    (862, "Missing Authorization"),
    (863, "Incorrect Authorization"),
    (
        915,
        "Improperly Controlled Modification of Dynamically-Determined Object Attributes",
    ),
    (918, "Server-Side Request Forgery"),
    (942, "Permissive Cross-domain Policy with Untrusted Domains"),
    (1021, "Improper Restriction of Rendered UI Layers or Frames"),
    (1059, "Insufficient Technical Documentation"),
    (1104, "Use of Unmaintained Third Party Components"),
];

impl Cwe {
    /// The entry's name, for the ids in our table.
    pub fn name(self) -> Option<&'static str> {
        CWE_NAMES
            .iter()
            .find(|(id, _)| *id == self.0)
            .map(|(_, name)| *name)
    }

    /// The MITRE page of the entry.
    pub fn url(self) -> String {
        format!("https://cwe.mitre.org/data/definitions/{}.html", self.0)
    }
}

impl fmt::Display for Cwe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CWE-{}", self.0)
    }
}

/// A string that is not a CWE id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a CWE id: {0:?} (expected CWE-<number>)")]
pub struct BadCwe(pub String);

impl FromStr for Cwe {
    type Err = BadCwe;

    /// Accepts `CWE-284` and `284`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let digits = t
            .strip_prefix("CWE-")
            .or_else(|| t.strip_prefix("cwe-"))
            .unwrap_or(t);
        digits.parse().map(Cwe).map_err(|_| BadCwe(s.to_owned()))
    }
}

impl Serialize for Cwe {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cwe {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Low > Severity::Info);
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert!("severe".parse::<Severity>().is_err());
        assert_eq!(
            serde_json::to_string(&Severity::Medium).unwrap(),
            "\"medium\""
        );
    }

    #[test]
    fn owasp_ids_titles_and_parsing() {
        assert_eq!(Owasp::Api1.id(), "API1:2023");
        assert_eq!(Owasp::Api10.title(), "Unsafe Consumption of APIs");
        assert_eq!("API3".parse::<Owasp>(), Ok(Owasp::Api3));
        assert_eq!("api10:2023".parse::<Owasp>(), Ok(Owasp::Api10));
        assert!("API11:2023".parse::<Owasp>().is_err());
        assert!("API1:2019".parse::<Owasp>().is_err());
        let json = serde_json::to_string(&Owasp::Api7).unwrap();
        assert_eq!(json, "\"API7:2023\"");
        assert_eq!(serde_json::from_str::<Owasp>(&json).unwrap(), Owasp::Api7);
    }

    #[test]
    fn cwe_format_and_names() {
        assert_eq!(Cwe(639).to_string(), "CWE-639");
        assert_eq!("CWE-918".parse::<Cwe>(), Ok(Cwe(918)));
        assert_eq!(Cwe(918).name(), Some("Server-Side Request Forgery"));
        assert!("CWE-x".parse::<Cwe>().is_err());
        assert!(CWE_NAMES.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
