//! SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps): one run, rules with their
//! OWASP and CWE tags and `security-severity`, results with physical and logical locations,
//! stable fingerprints and in-source suppressions, and the CWE and OWASP taxonomies.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::{Value, json};

use super::blocks::{BLOCK, splice};
use crate::fingerprint::digest;
use crate::{Cwe, Finding, Owasp, Report, RuleInfo};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/portcullis-security/portcullis";

/// Whether a result is new, unchanged or gone since a baseline (SARIF `baselineState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaselineState {
    /// Found now, not in the baseline.
    New,
    /// Found now and in the baseline.
    Unchanged,
    /// In the baseline, no longer found (written with `kind: pass`, `level: none`).
    Absent,
}

impl BaselineState {
    fn as_str(self) -> &'static str {
        match self {
            BaselineState::New => "new",
            BaselineState::Unchanged => "unchanged",
            BaselineState::Absent => "absent",
        }
    }
}

/// One result to write: a finding and, when compared with a baseline, its state.
pub(crate) type Item<'a> = (&'a Finding, Option<BaselineState>);

/// The results of a report: its findings, and when it was compared with a baseline, the
/// unchanged and absent ones too, each marked.
fn items_of(report: &Report) -> Vec<Item<'_>> {
    match &report.baseline {
        None => report.findings.iter().map(|f| (f, None)).collect(),
        Some(b) => report
            .findings
            .iter()
            .map(|f| (f, Some(BaselineState::New)))
            .chain(
                b.unchanged
                    .iter()
                    .map(|f| (f, Some(BaselineState::Unchanged))),
            )
            .chain(b.absent.iter().map(|f| (f, Some(BaselineState::Absent))))
            .collect(),
    }
}

/// Writes the report as SARIF 2.1.0 (pretty-printed), followed by a newline. A large report's
/// results are rendered block by block on every core and streamed (the same bytes as
/// [`sarif_value`] pretty-printed, without holding every result in memory). A report compared
/// with a baseline carries its new, unchanged and absent results, each with its
/// `baselineState`.
pub fn sarif(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let items = items_of(report);
    let rules = rules_of(&report.rules, items.iter().map(|(f, _)| *f));
    write_log(&report.tool, &report.version, &rules, &items, out)
}

/// Writes one SARIF log of `items` (streamed when large), followed by a newline.
pub(crate) fn write_log(
    tool: &str,
    version: &str,
    rules: &[RuleInfo],
    items: &[Item<'_>],
    out: &mut dyn Write,
) -> io::Result<()> {
    if items.len() <= BLOCK {
        let value = log_of(tool, version, rules, items);
        serde_json::to_writer_pretty(&mut *out, &value)?;
        return out.write_all(b"\n");
    }
    let shell = log(
        tool,
        version,
        rules,
        artifacts_of(items.iter().map(|(f, _)| *f)),
        Vec::new(),
    );
    let text = serde_json::to_vec_pretty(&shell)?;
    splice(out, &text, "results", 3, items, |(f, state), buf| {
        let index = rules.iter().position(|r| r.id == f.rule);
        let value = result(f, index, *state, &mut BTreeMap::new());
        serde_json::to_writer_pretty(buf, &value).map_err(io::Error::from)
    })?;
    out.write_all(b"\n")
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

/// The rules to describe: `described`, plus any rule a finding names that they do not
/// describe (built from the finding itself).
pub(crate) fn rules_of<'a>(
    described: &[RuleInfo],
    findings: impl Iterator<Item = &'a Finding>,
) -> Vec<RuleInfo> {
    let mut rules: Vec<RuleInfo> = described.to_vec();
    let mut known: std::collections::HashSet<String> = rules.iter().map(|r| r.id.clone()).collect();
    for f in findings {
        if known.insert(f.rule.clone()) {
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

fn result(
    f: &Finding,
    rule_index: Option<usize>,
    state: Option<BaselineState>,
    artifacts: &mut BTreeMap<String, bool>,
) -> Value {
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
    let mut fingerprints = json!({
        "portcullisFinding/v1": digest(&[&f.rule, place[0], place[1], place[2], place[3]])
    });
    if let (Some(stable), Some(obj)) = (&f.fingerprint, fingerprints.as_object_mut()) {
        obj.insert("portcullisFinding/v2".into(), json!(stable));
    }
    let absent = state == Some(BaselineState::Absent);
    let level = if absent {
        "none"
    } else {
        f.severity.sarif_level()
    };
    let mut out = json!({
        "ruleId": f.rule,
        "level": level,
        "message": {"text": message},
        "locations": if location.is_empty() { json!([]) } else { json!([Value::Object(location)]) },
        "partialFingerprints": fingerprints,
        "properties": properties
    });
    if let Some(obj) = out.as_object_mut() {
        if let Some(state) = state {
            obj.insert("baselineState".into(), json!(state.as_str()));
        }
        if absent {
            obj.insert("kind".into(), json!("pass"));
        }
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
    let items = items_of(report);
    let rules = rules_of(&report.rules, items.iter().map(|(f, _)| *f));
    log_of(&report.tool, &report.version, &rules, &items)
}

/// The SARIF log of `items`, as a JSON value.
fn log_of(tool: &str, version: &str, rules: &[RuleInfo], items: &[Item<'_>]) -> Value {
    let mut artifacts = BTreeMap::new();
    let results: Vec<Value> = items
        .iter()
        .map(|(f, state)| {
            let index = rules.iter().position(|r| r.id == f.rule);
            result(f, index, *state, &mut artifacts)
        })
        .collect();
    log(tool, version, rules, artifact_list(artifacts), results)
}

/// The artifacts the results name (as [`result`] records them), without building the
/// results.
fn artifacts_of<'a>(findings: impl Iterator<Item = &'a Finding>) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    let mut artifacts = BTreeMap::new();
    for f in findings {
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
fn log(
    tool: &str,
    version: &str,
    rules: &[RuleInfo],
    artifacts: Vec<Value>,
    results: Vec<Value>,
) -> Value {
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": tool,
                    "version": version,
                    "semanticVersion": version,
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
        assert_eq!(digest(&["a", "b"]), digest(&["a", "b"]));
        assert_ne!(digest(&["ab", ""]), digest(&["a", "b"]));
    }
}
