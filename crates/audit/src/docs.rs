//! Text about the rules: `--list-rules`, `--explain`, and the generated docs/rules.md.

use std::fmt::Write as _;

use crate::profile::{NOT_RECOMMENDED, Profile};
use crate::rule::Meta;
use crate::rules;

/// Each rule of the Spectral OWASP ruleset (2.x) and the Portcullis rules that cover it.
pub const SPECTRAL_OWASP: &[(&str, &str)] = &[
    ("owasp:api1:2023-no-numeric-ids", "PC-AUTHZ-001"),
    ("owasp:api2:2023-no-http-basic", "PC-AUTH-004"),
    ("owasp:api2:2023-no-api-keys-in-url", "PC-AUTH-005"),
    ("owasp:api2:2023-no-credentials-in-url", "PC-AUTH-016"),
    ("owasp:api2:2023-auth-insecure-schemes", "PC-AUTH-010"),
    ("owasp:api2:2023-jwt-best-practices", "PC-AUTH-011"),
    ("owasp:api2:2023-short-lived-access-tokens", "PC-AUTH-019"),
    ("owasp:api2:2023-write-restricted", "PC-AUTH-001"),
    (
        "owasp:api2:2023-read-restricted",
        "PC-AUTH-002, PC-AUTH-003",
    ),
    ("owasp:api3:2023-no-additionalProperties", "PC-INPUT-007"),
    (
        "owasp:api3:2023-constrained-additionalProperties",
        "PC-INPUT-008",
    ),
    ("owasp:api3:2023-no-unevaluatedProperties", "PC-INPUT-007"),
    (
        "owasp:api3:2023-constrained-unevaluatedProperties",
        "PC-INPUT-008",
    ),
    ("owasp:api4:2023-rate-limit", "PC-LIMIT-002"),
    ("owasp:api4:2023-rate-limit-retry-after", "PC-LIMIT-003"),
    ("owasp:api4:2023-rate-limit-responses-429", "PC-LIMIT-001"),
    ("owasp:api4:2023-array-limit", "PC-INPUT-003"),
    ("owasp:api4:2023-string-limit", "PC-INPUT-001"),
    ("owasp:api4:2023-string-restricted", "PC-INPUT-002"),
    ("owasp:api4:2023-integer-limit", "PC-INPUT-004"),
    ("owasp:api4:2023-integer-limit-legacy", "PC-INPUT-004"),
    ("owasp:api4:2023-integer-format", "PC-INPUT-005"),
    ("owasp:api5:2023-admin-security-unique", "PC-AUTHZ-002"),
    (
        "owasp:api7:2023-concerning-url-parameter",
        "PC-SSRF-001, PC-SSRF-003",
    ),
    ("owasp:api8:2023-define-cors-origin", "PC-CONF-003"),
    ("owasp:api8:2023-no-scheme-http", "PC-TLS-001"),
    ("owasp:api8:2023-no-server-http", "PC-TLS-001"),
    ("owasp:api8:2023-define-error-validation", "PC-INPUT-011"),
    ("owasp:api8:2023-define-error-responses-401", "PC-CONF-001"),
    ("owasp:api8:2023-define-error-responses-500", "PC-CONF-002"),
    ("owasp:api9:2023-inventory-access", "PC-INV-004"),
    ("owasp:api9:2023-inventory-environment", "PC-INV-005"),
];

/// Each Checkov OpenAPI check (3.x) and the Portcullis rules that cover it.
pub const CHECKOV: &[(&str, &str, &str)] = &[
    (
        "CKV_OPENAPI_1",
        "securityDefinitions is defined and not empty (2.0)",
        "PC-AUTH-013",
    ),
    (
        "CKV_OPENAPI_2",
        "non-oauth2 security requirements list no scopes (2.0)",
        "PC-AUTH-021",
    ),
    (
        "CKV_OPENAPI_3",
        "no cleartext credentials over an unencrypted channel (3.x)",
        "PC-AUTH-004, PC-AUTH-009",
    ),
    (
        "CKV_OPENAPI_4",
        "the global security field has rules defined",
        "PC-AUTH-020",
    ),
    (
        "CKV_OPENAPI_5",
        "operation security is not empty",
        "PC-AUTH-001, PC-AUTH-003",
    ),
    (
        "CKV_OPENAPI_6",
        "security requirements are defined in securityDefinitions (2.0)",
        "PC-AUTH-012",
    ),
    (
        "CKV_OPENAPI_7",
        "path schemes do not allow unencrypted HTTP (2.0)",
        "PC-TLS-001",
    ),
    (
        "CKV_OPENAPI_8",
        "security does not use the OAuth2 password flow (2.0)",
        "PC-AUTH-008",
    ),
    (
        "CKV_OPENAPI_9",
        "operation scopes are defined in securityDefinitions (2.0)",
        "PC-AUTH-014",
    ),
    (
        "CKV_OPENAPI_10",
        "operations do not use the OAuth2 password flow (2.0)",
        "PC-AUTH-008",
    ),
    (
        "CKV_OPENAPI_11",
        "securityDefinitions do not use the OAuth2 password flow (2.0)",
        "PC-AUTH-008",
    ),
    (
        "CKV_OPENAPI_12",
        "securityDefinitions do not use the implicit flow (2.0)",
        "PC-AUTH-007",
    ),
    (
        "CKV_OPENAPI_13",
        "securityDefinitions do not use basic auth (2.0)",
        "PC-AUTH-004",
    ),
    (
        "CKV_OPENAPI_14",
        "operations do not use the implicit flow (2.0)",
        "PC-AUTH-007",
    ),
    (
        "CKV_OPENAPI_15",
        "operations do not use basic auth (2.0)",
        "PC-AUTH-004",
    ),
    (
        "CKV_OPENAPI_16",
        "GET operations declare `produces` (2.0)",
        "PC-CONF-004",
    ),
    (
        "CKV_OPENAPI_17",
        "PUT, POST and PATCH operations declare `consumes` (2.0)",
        "PC-CONF-004",
    ),
    (
        "CKV_OPENAPI_18",
        "global schemes use https (2.0)",
        "PC-TLS-001",
    ),
    (
        "CKV_OPENAPI_19",
        "global security scopes are defined in securityDefinitions (2.0)",
        "PC-AUTH-014",
    ),
    (
        "CKV_OPENAPI_20",
        "API keys are not sent over cleartext",
        "PC-AUTH-009",
    ),
    (
        "CKV_OPENAPI_21",
        "arrays have a maximum number of items",
        "PC-INPUT-003",
    ),
];

/// The profile a rule belongs to: `recommended` (and so `strict`), or `strict` only.
fn profile_of(id: &str) -> &'static str {
    if Profile::Recommended.includes(id) {
        "recommended"
    } else {
        "strict"
    }
}

/// `--list-rules`: one line per rule, with the smallest profile that runs it.
pub fn list() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<13} {:<8} {:<10} {:<8} {:<11} title",
        "id", "severity", "OWASP", "CWE", "profile"
    );
    for r in rules::all() {
        let m = r.meta();
        let _ = writeln!(
            out,
            "{:<13} {:<8} {:<10} {:<8} {:<11} {}",
            m.id,
            m.severity.as_str(),
            m.owasp.id(),
            format!("CWE-{}", m.cwe),
            profile_of(m.id),
            m.title
        );
    }
    let strict_only = rules::all()
        .iter()
        .filter(|r| !Profile::Recommended.includes(r.meta().id))
        .count();
    let _ = writeln!(
        out,
        "{} rules: {} in the recommended profile (the default), all {} in strict (--profile strict)",
        rules::all().len(),
        rules::all().len() - strict_only,
        rules::all().len()
    );
    out
}

/// `--explain ID`: everything about one rule, or `None` for an unknown id.
pub fn explain(id: &str) -> Option<String> {
    let m = rules::find(id)?.meta();
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", m.id, m.title);
    let _ = writeln!(out, "severity:    {}", m.severity.as_str());
    let _ = writeln!(out, "OWASP:       {} {}", m.owasp.id(), m.owasp.title());
    let _ = writeln!(out, "CWE:         CWE-{}{}", m.cwe, cwe_name(m));
    let _ = writeln!(out, "profile:     {}", profile_of(m.id));
    let _ = writeln!(out, "\nWhy:  {}", m.rationale);
    let _ = writeln!(out, "\nFix:  {}", m.remediation);
    let peers: Vec<&str> = SPECTRAL_OWASP
        .iter()
        .filter(|(_, ours)| ours.split(", ").any(|o| o == m.id))
        .map(|(theirs, _)| *theirs)
        .chain(
            CHECKOV
                .iter()
                .filter(|(_, _, ours)| ours.split(", ").any(|o| o == m.id))
                .map(|(c, _, _)| *c),
        )
        .collect();
    if !peers.is_empty() {
        let _ = writeln!(out, "\nCovers:  {}", peers.join(", "));
    }
    let _ = writeln!(
        out,
        "\nSilence one place with `x-portcullis-ignore: [{{rule: {}, reason: \"...\"}}]` on the object, or everywhere with a --rules file (`rules: {{{}: off}}`).",
        m.id, m.id
    );
    Some(out)
}

fn cwe_name(m: &Meta) -> String {
    portcullis_report::Cwe(m.cwe)
        .name()
        .map(|n| format!(" {n}"))
        .unwrap_or_default()
}

/// The contents of docs/rules.md, generated from the rule table.
pub fn markdown() -> String {
    let mut out = String::new();
    let all = rules::all();
    let _ = writeln!(out, "# `portcullis audit` rules\n");
    let _ = writeln!(
        out,
        "<!-- Generated from crates/audit/src/rules by `UPDATE_DOCS=1 cargo test -p portcullis-audit --test docs`; do not edit by hand. -->\n"
    );
    let _ = writeln!(
        out,
        "{} rules. Each has a stable id, a default severity, an OWASP API Security Top 10 (2023) category and a CWE. `portcullis audit --list-rules` prints this table and `portcullis audit --explain ID` one rule.\n",
        all.len()
    );
    let _ = writeln!(
        out,
        "Disable a rule or change its severity with `--rules FILE`:\n\n```yaml\nrules:\n  PC-INPUT-002: off\n  PC-AUTH-004: critical\n  PC-LIMIT-001: {{ severity: medium }}\n```\n"
    );
    let _ = writeln!(
        out,
        "Silence one place in the document with `x-portcullis-ignore` on the object (it covers everything below it). A reason is required: an entry without one silences nothing and is reported as PC-META-001.\n\n```yaml\nx-portcullis-ignore:\n  - rule: PC-INPUT-001\n    reason: legacy field, bounded by the database column\n```\n"
    );
    let _ = writeln!(
        out,
        "Schema rules read each schema once, at its definition: a weakness in a shared component is one finding at the component, not one per operation that uses it. Input rules (`PC-INPUT-*`) look at schemas reachable from parameters and request bodies; exposure rules (`PC-EXPO-*`) at schemas reachable from responses.\n"
    );
    let _ = writeln!(out, "## Score\n\n{}\n", SCORE_DOC);
    let _ = writeln!(out, "## Profiles\n\n{}\n", PROFILE_DOC);
    let _ = writeln!(out, "| rule left out of `recommended` | why |\n|---|---|");
    for (id, why) in NOT_RECOMMENDED {
        let _ = writeln!(out, "| [{id}](#{}) | {why} |", id.to_ascii_lowercase());
    }
    let _ = writeln!(out, "\n## Baselines\n\n{}\n", BASELINE_DOC);
    let _ = writeln!(
        out,
        "## Rules\n\n| id | severity | OWASP | CWE | profile | title |\n|---|---|---|---|---|---|"
    );
    for r in all {
        let m = r.meta();
        let _ = writeln!(
            out,
            "| [{}](#{}) | {} | {} | CWE-{} | {} | {} |",
            m.id,
            m.id.to_ascii_lowercase(),
            m.severity.as_str(),
            m.owasp.id(),
            m.cwe,
            profile_of(m.id),
            m.title
        );
    }
    for r in all {
        let m = r.meta();
        let _ = writeln!(
            out,
            "\n### {}\n\n**{}**: {}, {} {}, [CWE-{}]({}){}\n\n{}\n\n*Fix:* {}",
            m.id,
            m.title,
            m.severity.as_str(),
            m.owasp.id(),
            m.owasp.title(),
            m.cwe,
            portcullis_report::Cwe(m.cwe).url(),
            cwe_name(m),
            m.rationale,
            m.remediation
        );
    }
    let _ = writeln!(
        out,
        "\n## Security changes (`audit diff`)\n\n{}\n",
        DIFF_DOC
    );
    let _ = writeln!(
        out,
        "| change | severity | OWASP | CWE | title |\n|---|---|---|---|---|"
    );
    for k in crate::diff::kinds::ALL {
        let _ = writeln!(
            out,
            "| [{}](#{}) | {} | {} | CWE-{} | {} |",
            k.id,
            k.id,
            k.severity.as_str(),
            k.owasp.id(),
            k.cwe,
            k.title
        );
    }
    for k in crate::diff::kinds::ALL {
        let _ = writeln!(
            out,
            "\n### {}\n\n**{}**: {}, {} {}, [CWE-{}]({}){}\n\n{}\n\n*Fix:* {}",
            k.id,
            k.title,
            k.severity.as_str(),
            k.owasp.id(),
            k.owasp.title(),
            k.cwe,
            portcullis_report::Cwe(k.cwe).url(),
            cwe_name(k),
            k.rationale,
            k.remediation
        );
    }
    let _ = writeln!(
        out,
        "\n## Spectral OWASP ruleset -> Portcullis\n\nEvery rule of `@stoplight/spectral-owasp-ruleset` 2.0.1 (names read from the installed package by `bench/audit_vs_peers/run.sh lists`). Spectral applies its schema rules to every schema; ours apply to the schemas a client sends (input rules) or receives (exposure rules).\n\n| Spectral rule | Portcullis |\n|---|---|"
    );
    for (theirs, ours) in SPECTRAL_OWASP {
        let _ = writeln!(out, "| `{theirs}` | {ours} |");
    }
    let _ = writeln!(
        out,
        "\n## Checkov OpenAPI checks -> Portcullis\n\nEvery check listed by `checkov --list --framework openapi` (Checkov 3.3.30).\n\n| Checkov check | what it checks | Portcullis |\n|---|---|---|"
    );
    for (id, what, ours) in CHECKOV {
        let _ = writeln!(out, "| `{id}` | {what} | {ours} |");
    }
    out
}

/// Profiles, as documented in docs/rules.md.
const PROFILE_DOC: &str = "`--profile recommended` (the default) runs what a security reviewer acts on first: every rule but the schema-hygiene and documentation rules below, which fire on most properties or operations of real documents and rarely point at an exploitable weakness on their own (over the corpus of 325 real documents, PC-INPUT-001 and PC-INPUT-002 alone are 129 236 of 310 048 findings; the rules below make 258 875 of them, `recommended` reports the other 51 173). `--profile strict` runs every rule. A `--rules` file applies over the profile: a rule it names runs at the severity it gives, whatever the profile (`PC-INPUT-001: medium` turns it back on). `portcullis audit --list-rules` prints each rule's profile.";

/// Baselines, as documented in docs/rules.md.
const BASELINE_DOC: &str = "`portcullis audit --baseline previous.json SPEC...` reports only the findings that are not in `previous.json`, a report written earlier by `portcullis audit --format json`; `--fail-on` applies to the new findings only, and the summary says how many findings were baselined and how many baseline entries no longer occur (fixed). SARIF output carries every result with its `baselineState`: `new`, `unchanged`, or `absent` (a fixed entry, written with `kind: pass` and `level: none`).\n\nA finding matches a baseline entry of the same rule by its `fingerprint` (in the JSON finding, and in SARIF as `partialFingerprints.portcullisFinding/v2`): a digest of the rule, the file relative to the root document, and the JSON pointer with parameters, servers and security requirements named instead of numbered and path template variables blanked (`/paths/~1users~1{}/get/parameters/[query:limit]`). Reordering keys or parameters, editing descriptions or comments, and moving lines change no fingerprint; renaming a schema or moving an operation to another path does. Findings are matched within the same file; when the baseline and the run each cover exactly one document, file names are not compared, so a renamed document keeps its baseline. Refresh the baseline with a plain `--format json` run when the accepted findings change.";

/// `audit diff`, as documented in docs/rules.md.
const DIFF_DOC: &str = "`portcullis audit diff OLD NEW` compares two versions of a document, each a file or a git revision of one (`main:openapi.yaml`, read with `git show` in the repository of the current directory). Operations are matched by method and path template (variables blanked), schema objects at their definitions (a shared component once, not per operation), parameters by `in` and name. It reports the changes below and the findings that are new in NEW or fixed since OLD (the same fingerprints as baselines). `--fail-on SEV` (default `high`) exits 1 when a change or a new finding is at or above it. Formats: `text`, `json`, `sarif` (changes and new findings `baselineState: new`, fixed findings `absent`) and `markdown` for a pull-request comment.";

/// The scoring formula, as documented in docs/rules.md.
const SCORE_DOC: &str = "Each document gets a score from 0 to 100. Every rule with at least one finding that is not suppressed costs points: the weight of its severity (critical 25, high 10, medium 4, low 1, info 0) times `1 + log2(n)` for its `n` findings, capped at 3 times the weight. The score is 100 minus the sum, floored at 0 and rounded.\n\n```\nscore = max(0, round(100 - sum over rules r of min(3 * w(r), w(r) * (1 + log2 n(r)))))\n```\n\nOne high finding costs 10 points, two of the same rule 20, eight or more 30 (the cap): repeating one problem never outweighs a different, more severe one. A run over several documents reports the lowest document score. Severity changes from `--rules` change the weights; disabled rules and suppressed findings cost nothing.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_name_existing_rules() {
        for ours in SPECTRAL_OWASP
            .iter()
            .map(|(_, o)| *o)
            .chain(CHECKOV.iter().map(|(_, _, o)| *o))
        {
            for id in ours.split(", ") {
                assert!(rules::find(id).is_some(), "{id}");
            }
        }
    }

    #[test]
    fn explains_known_rules_only() {
        let text = explain("pc-auth-001").unwrap();
        assert!(text.starts_with("PC-AUTH-001: Write operation without security"));
        assert!(text.contains("owasp:api2:2023-write-restricted"));
        assert!(explain("PC-NOPE-001").is_none());
        assert!(list().lines().count() > 45);
    }
}
