//! SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps): one run, rules with their
//! OWASP and CWE tags and `security-severity`, results with physical and logical locations,
//! stable fingerprints and in-source suppressions, and the CWE and OWASP taxonomies.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::{Value, json};

use super::blocks::{BLOCK, splice};
use crate::{Cwe, Finding, Owasp, Report, RuleInfo};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/portcullis-security/portcullis";

/// Writes the report as SARIF 2.1.0 (pretty-printed), followed by a newline. A large report's
/// results are rendered block by block on every core and streamed (the same bytes as
/// [`sarif_value`] pretty-printed, without holding every result in memory).
pub fn sarif(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    if report.findings.len() <= BLOCK {
        serde_json::to_writer_pretty(&mut *out, &sarif_value(report))?;
        return out.write_all(b"\n");
    }
    let rules = rules_of(report);
    let shell = log(report, &rules, artifacts_of(report), Vec::new());
    let text = serde_json::to_vec_pretty(&shell)?;
    splice(out, &text, "results", 3, &report.findings, |f, buf| {
        let index = rules.iter().position(|r| r.id == f.rule);
        let value = result(f, index, &mut BTreeMap::new());
        serde_json::to_writer_pretty(buf, &value).map_err(io::Error::from)
    })?;
    out.write_all(b"\n")
}

/// FNV-1a 64: a hash that stays the same across Rust versions and runs, for fingerprints.
fn fnv1a(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// A file path as a URI reference: forward slashes, and the characters that cannot stand in
/// a URI percent-encoded (`:` too, or `a:b.yaml` would read as a URI with scheme `a`).
/// Absolute paths become `file://` URIs.
fn path_uri(path: &str) -> (String, bool) {
    let forward = path.replace('\\', "/");
    let mut encoded = String::with_capacity(forward.len());
    for ch in forward.chars() {
        match ch {
            'A'..='Z'
            | 'a'..='z'
            | '0'..='9'
            | '-'
            | '.'
            | '_'
            | '~'
            | '/'
            | '@'
            | '!'
            | '$'
            | '&'
            | '\''
            | '('
            | ')'
            | '*'
            | '+'
            | ','
            | ';'
            | '=' => encoded.push(ch),
            _ => {
                let mut buf = [0u8; 4];
                for b in ch.encode_utf8(&mut buf).bytes() {
                    encoded.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    if encoded.starts_with('/') {
        (format!("file://{encoded}"), true)
    } else {
        (encoded.trim_start_matches("./").to_owned(), false)
    }
}

fn rule_descriptor(rule: &RuleInfo) -> Value {
    let mut tags = vec!["security".to_owned()];
    if let Some(o) = rule.owasp {
        tags.push(format!("OWASP-{}", o.id()));
    }
    if let Some(c) = rule.cwe {
        tags.push(c.to_string());
    }
    let mut markdown = format!(
        "**{}**\n\n{}\n\n**Remediation:** {}",
        rule.title, rule.rationale, rule.remediation
    );
    if let Some(o) = rule.owasp {
        markdown.push_str(&format!(
            "\n\nOWASP API Security Top 10: {} {}",
            o.id(),
            o.title()
        ));
    }
    if let Some(c) = rule.cwe {
        markdown.push_str(&format!("\n\n[{c}]({})", c.url()));
    }
    let mut relationships = Vec::new();
    if let Some(c) = rule.cwe {
        relationships.push(json!({
            "target": {"id": c.0.to_string(), "toolComponent": {"name": "CWE"}},
            "kinds": ["superset"]
        }));
    }
    if let Some(o) = rule.owasp {
        relationships.push(json!({
            "target": {"id": o.id(), "toolComponent": {"name": "OWASP API Security Top 10"}},
            "kinds": ["superset"]
        }));
    }
    let mut descriptor = json!({
        "id": rule.id,
        "name": rule.title,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {
            "text": format!("{}\n\nRemediation: {}", rule.rationale, rule.remediation),
            "markdown": markdown
        },
        "defaultConfiguration": {"level": rule.severity.sarif_level()},
        "properties": {
            "tags": tags,
            "precision": "high",
            "security-severity": rule.severity.security_severity()
        },
        "relationships": relationships
    });
    if let (Some(uri), Some(obj)) = (&rule.help_uri, descriptor.as_object_mut()) {
        obj.insert("helpUri".into(), json!(uri));
    }
    descriptor
}

/// The rules to describe: those the report carries, plus any rule a finding names that the
/// report does not describe (built from the finding itself).
fn rules_of(report: &Report) -> Vec<RuleInfo> {
    let mut rules: Vec<RuleInfo> = report.rules.clone();
    for f in &report.findings {
        if !rules.iter().any(|r| r.id == f.rule) {
            rules.push(RuleInfo {
                id: f.rule.clone(),
                title: f.title.clone(),
                severity: f.severity,
                owasp: f.owasp,
                cwe: f.cwe,
                rationale: f.title.clone(),
                remediation: f.remediation.clone(),
                help_uri: None,
            });
        }
    }
    rules
}

fn result(f: &Finding, rule_index: Option<usize>, artifacts: &mut BTreeMap<String, bool>) -> Value {
    let loc = &f.location;
    let mut physical = serde_json::Map::new();
    if let Some(file) = &loc.file {
        let (uri, absolute) = path_uri(file);
        artifacts.insert(uri.clone(), absolute);
        let mut artifact = json!({"uri": uri});
        if !absolute && let Some(obj) = artifact.as_object_mut() {
            obj.insert("uriBaseId".into(), json!("%SRCROOT%"));
        }
        physical.insert("artifactLocation".into(), artifact);
        if let Some(line) = loc.line.filter(|l| *l > 0) {
            let mut region = json!({"startLine": line});
            if let (Some(col), Some(obj)) = (loc.column.filter(|c| *c > 0), region.as_object_mut())
            {
                obj.insert("startColumn".into(), json!(col));
            }
            physical.insert("region".into(), region);
        }
    } else if let Some(url) = &loc.url {
        artifacts.insert(url.clone(), true);
        physical.insert("artifactLocation".into(), json!({"uri": url}));
    }
    let mut logical = Vec::new();
    if let Some(pointer) = &loc.pointer {
        logical.push(json!({"fullyQualifiedName": pointer, "kind": "object"}));
    }
    if let Some(op) = &loc.operation {
        let name = match &loc.method {
            Some(m) => format!("{m} {op}"),
            None => op.clone(),
        };
        logical.push(json!({"name": op, "fullyQualifiedName": name, "kind": "function"}));
    }
    let mut location = serde_json::Map::new();
    if !physical.is_empty() {
        location.insert("physicalLocation".into(), Value::Object(physical));
    }
    if !logical.is_empty() {
        location.insert("logicalLocations".into(), Value::Array(logical));
    }
    let place = [
        loc.file.as_deref().unwrap_or(""),
        loc.pointer.as_deref().unwrap_or(""),
        loc.url.as_deref().unwrap_or(""),
        loc.operation.as_deref().unwrap_or(""),
    ];
    let mut message = f.message.clone();
    if let Some(evidence) = &f.evidence {
        message.push_str(&format!(" (evidence: {evidence})"));
    }
    let mut properties = json!({"severity": f.severity.as_str()});
    if let Some(obj) = properties.as_object_mut() {
        if let Some(o) = f.owasp {
            obj.insert("owasp".into(), json!(o.id()));
        }
        if let Some(c) = f.cwe {
            obj.insert("cwe".into(), json!(c.to_string()));
        }
        if let Some(x) = &f.exchange {
            obj.insert("request".into(), json!(x.request));
            obj.insert("response".into(), json!(x.response));
        }
    }
    let mut out = json!({
        "ruleId": f.rule,
        "level": f.severity.sarif_level(),
        "message": {"text": message},
        "locations": if location.is_empty() { json!([]) } else { json!([Value::Object(location)]) },
        "partialFingerprints": {
            "portcullisFinding/v1": fnv1a(&[&f.rule, place[0], place[1], place[2], place[3]])
        },
        "properties": properties
    });
    if let Some(obj) = out.as_object_mut() {
        if let Some(i) = rule_index {
            obj.insert("ruleIndex".into(), json!(i));
        }
        if let Some(reason) = &f.suppressed {
            obj.insert(
                "suppressions".into(),
                json!([{"kind": "inSource", "status": "accepted", "justification": reason}]),
            );
        }
    }
    out
}

fn taxonomies(rules: &[RuleInfo]) -> Value {
    let mut cwes: Vec<Cwe> = rules.iter().filter_map(|r| r.cwe).collect();
    cwes.sort();
    cwes.dedup();
    let mut owasp: Vec<Owasp> = rules.iter().filter_map(|r| r.owasp).collect();
    owasp.sort();
    owasp.dedup();
    let cwe_taxa: Vec<Value> = cwes
        .iter()
        .map(|c| {
            let mut taxon = json!({"id": c.0.to_string(), "helpUri": c.url()});
            if let (Some(name), Some(obj)) = (c.name(), taxon.as_object_mut()) {
                obj.insert("name".into(), json!(name));
                obj.insert("shortDescription".into(), json!({"text": name}));
            }
            taxon
        })
        .collect();
    let owasp_taxa: Vec<Value> = owasp
        .iter()
        .map(|o| json!({"id": o.id(), "name": o.title(), "shortDescription": {"text": o.title()}}))
        .collect();
    json!([
        {
            "name": "CWE",
            "organization": "MITRE",
            "shortDescription": {"text": "The MITRE Common Weakness Enumeration"},
            "informationUri": "https://cwe.mitre.org/",
            "isComprehensive": false,
            "taxa": cwe_taxa
        },
        {
            "name": "OWASP API Security Top 10",
            "organization": "OWASP",
            "version": "2023",
            "shortDescription": {"text": "OWASP API Security Top 10, 2023 edition"},
            "informationUri": "https://owasp.org/API-Security/editions/2023/en/0x11-t10/",
            "isComprehensive": true,
            "taxa": owasp_taxa
        }
    ])
}

/// The SARIF log of a report, as a JSON value.
pub fn sarif_value(report: &Report) -> Value {
    let rules = rules_of(report);
    let mut artifacts = BTreeMap::new();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let index = rules.iter().position(|r| r.id == f.rule);
            result(f, index, &mut artifacts)
        })
        .collect();
    log(report, &rules, artifact_list(artifacts), results)
}

/// The artifacts the results of `report` name (as [`result`] records them), without
/// building the results.
fn artifacts_of(report: &Report) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    let mut artifacts = BTreeMap::new();
    for f in &report.findings {
        let loc = &f.location;
        if let Some(file) = &loc.file {
            if seen.insert(file.as_str()) {
                let (uri, absolute) = path_uri(file);
                artifacts.insert(uri, absolute);
            }
        } else if let Some(url) = &loc.url {
            artifacts.insert(url.clone(), true);
        }
    }
    artifact_list(artifacts)
}

/// `artifacts` entries: uri -> whether it is absolute (no `%SRCROOT%` base).
fn artifact_list(artifacts: BTreeMap<String, bool>) -> Vec<Value> {
    artifacts
        .into_iter()
        .map(|(uri, absolute)| {
            if absolute {
                json!({"location": {"uri": uri}})
            } else {
                json!({"location": {"uri": uri, "uriBaseId": "%SRCROOT%"}})
            }
        })
        .collect()
}

/// The SARIF log around `results`.
fn log(report: &Report, rules: &[RuleInfo], artifacts: Vec<Value>, results: Vec<Value>) -> Value {
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": report.tool,
                    "version": report.version,
                    "semanticVersion": report.version,
                    "informationUri": INFORMATION_URI,
                    "rules": rules.iter().map(rule_descriptor).collect::<Vec<_>>()
                }
            },
            "taxonomies": taxonomies(rules),
            "artifacts": artifacts,
            "results": results,
            "columnKind": "unicodeCodePoints"
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_with_forward_slashes_or_file_uris() {
        assert_eq!(
            path_uri("specs\\a b.yaml"),
            ("specs/a%20b.yaml".to_owned(), false)
        );
        assert_eq!(path_uri("./x.json"), ("x.json".to_owned(), false));
        assert_eq!(path_uri("a:b.yaml"), ("a%3Ab.yaml".to_owned(), false));
        assert_eq!(
            path_uri("/tmp/x#1.yaml"),
            ("file:///tmp/x%231.yaml".to_owned(), true)
        );
    }

    #[test]
    fn streamed_output_is_byte_for_byte_the_value() {
        for n in [0, 1, BLOCK + 1, 3 * BLOCK + 17] {
            let mut r = crate::write::json::tests::report(n);
            if let Some(f) = r.findings.get_mut(5) {
                f.location.file = None;
                f.location.url = Some("https://api.example/x".into());
            }
            let mut got = Vec::new();
            sarif(&r, &mut got).unwrap();
            let mut want = serde_json::to_vec_pretty(&sarif_value(&r)).unwrap();
            want.push(b'\n');
            assert!(got == want, "{n} findings: output differs");
        }
    }

    #[test]
    fn fingerprints_are_stable() {
        assert_eq!(fnv1a(&["a", "b"]), fnv1a(&["a", "b"]));
        assert_ne!(fnv1a(&["ab", ""]), fnv1a(&["a", "b"]));
    }
}
