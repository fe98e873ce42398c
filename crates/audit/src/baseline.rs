//! Baselines: a JSON report written earlier (`portcullis audit --format json`) whose findings
//! are accepted for now, so that a run reports only what is new.
//!
//! A finding matches a baseline entry of the same rule at the same place, by its
//! [`Finding::fingerprint`](portcullis_report::Finding::fingerprint) (see
//! [`crate::fingerprint`]: no line numbers, parameters by name), and in the same file. When
//! both the baseline and this run examined exactly one document, file names are not compared,
//! so a baseline still applies to a document that moved or was renamed. Entries are counted:
//! two findings at one place need two entries. An entry without a fingerprint (a report of an
//! older version) matches on rule and pointer.
//!
//! Baseline entries that match nothing are *fixed*, counted only for rules that ran in this run
//! and files it examined (a profile or rules file that turns a rule off, or a run over fewer
//! documents, fixes nothing).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use portcullis_report::{Baseline, Finding, Report};

/// Largest baseline file read (a JSON report of the whole corpus is about 180 MB).
pub const MAX_BYTES: u64 = 1024 * 1024 * 1024;

/// Why a baseline could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BaselineError {
    /// The file could not be read.
    #[error("{}: cannot read the baseline: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_BYTES`].
    #[error("{}: the baseline is {bytes} bytes, more than the {MAX_BYTES} bytes read", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
    },
    /// The file is not a JSON report.
    #[error("{}:{line}:{column}: not a JSON report of `portcullis audit --format json`: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

/// Reads a JSON report to use as a baseline.
pub fn load(path: &Path) -> Result<Report, BaselineError> {
    let read = |source| BaselineError::Read {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::metadata(path).map_err(read)?.len();
    if bytes > MAX_BYTES {
        return Err(BaselineError::TooLarge {
            path: path.to_path_buf(),
            bytes,
        });
    }
    let text = std::fs::read(path).map_err(read)?;
    serde_json::from_slice(&text).map_err(|e| BaselineError::Parse {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

/// A file name as compared: forward slashes, no leading `./`.
fn normalize(file: &str) -> String {
    let forward = file.replace('\\', "/");
    let mut rest = forward.as_str();
    while let Some(r) = rest.strip_prefix("./") {
        rest = r;
    }
    rest.to_owned()
}

/// What identifies a finding for matching: file (empty when files are not compared), rule,
/// and the fingerprint (or the pointer, for entries without one).
type Key = (String, String, String);

fn key(f: &Finding, by_file: bool, by_fingerprint: bool) -> Key {
    let file = if by_file {
        f.location
            .file
            .as_deref()
            .map(normalize)
            .unwrap_or_default()
    } else {
        String::new()
    };
    let place = match (&f.fingerprint, by_fingerprint) {
        (Some(fp), true) => format!("fp:{fp}"),
        _ => format!("ptr:{}", f.location.pointer.as_deref().unwrap_or("")),
    };
    (file, f.rule.clone(), place)
}

/// Compares `report` (already finished) with `baseline`: `report.findings` keeps only the new
/// findings, and `report.baseline` says how many were baselined and how many entries were
/// fixed. `name` is how the baseline is named in output.
pub fn apply(report: &mut Report, baseline: Report, name: &str) {
    let by_file = !(baseline.artifacts.len() == 1 && report.artifacts.len() == 1);
    let mut entries: HashMap<Key, Vec<usize>> = HashMap::new();
    for (i, f) in baseline.findings.iter().enumerate() {
        let with_fp = f.fingerprint.is_some();
        entries.entry(key(f, by_file, with_fp)).or_default().push(i);
    }
    let mut matched = vec![false; baseline.findings.len()];
    let mut new = Vec::new();
    let mut unchanged = Vec::new();
    for f in std::mem::take(&mut report.findings) {
        let hit = [true, false]
            .into_iter()
            .find_map(|by_fp| entries.get_mut(&key(&f, by_file, by_fp)).and_then(Vec::pop));
        match hit {
            Some(i) => {
                if let Some(m) = matched.get_mut(i) {
                    *m = true;
                }
                unchanged.push(f);
            }
            None => new.push(f),
        }
    }
    let ran: HashSet<&str> = report.rules.iter().map(|r| r.id.as_str()).collect();
    let examined: HashSet<String> = report.artifacts.iter().map(|a| normalize(a)).collect();
    let baseline_roots: HashSet<String> = baseline.artifacts.iter().map(|a| normalize(a)).collect();
    let absent: Vec<Finding> = baseline
        .findings
        .into_iter()
        .zip(matched)
        .filter(|(_, m)| !m)
        .map(|(f, _)| f)
        .filter(|f| ran.is_empty() || ran.contains(f.rule.as_str()))
        .filter(|f| {
            // A file the run examined, or a file reached from one (external `$ref`s are not
            // artifacts): counted unless the baseline's root documents and this run's differ.
            !by_file
                || f.location
                    .file
                    .as_deref()
                    .is_some_and(|file| examined.contains(&normalize(file)))
                || baseline_roots.is_subset(&examined)
        })
        .collect();
    report.findings = new;
    report.baseline = Some(Baseline {
        file: name.to_owned(),
        baselined: unchanged.len(),
        fixed: absent.len(),
        unchanged,
        absent,
    });
    report.finish();
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_report::{Location, RuleInfo, Severity};

    fn rule(id: &str) -> RuleInfo {
        RuleInfo {
            id: id.into(),
            title: id.into(),
            severity: Severity::High,
            owasp: None,
            cwe: None,
            rationale: "r".into(),
            remediation: "f".into(),
            help_uri: None,
        }
    }

    fn finding(rule_id: &str, file: &str, pointer: &str, fp: Option<&str>) -> Finding {
        let mut f = Finding::new(
            &rule(rule_id),
            Location {
                file: Some(file.into()),
                pointer: Some(pointer.into()),
                ..Location::default()
            },
            "m",
        );
        f.fingerprint = fp.map(str::to_owned);
        f
    }

    fn report(files: &[&str], findings: Vec<Finding>) -> Report {
        let mut r = Report::new("portcullis", "t");
        r.artifacts = files.iter().map(|f| (*f).to_owned()).collect();
        r.findings = findings;
        r.rules = vec![rule("A"), rule("B")];
        r.finish();
        r
    }

    #[test]
    fn new_baselined_and_fixed() {
        let base = report(
            &["a.yaml", "b.yaml"],
            vec![
                finding("A", "a.yaml", "/x", Some("1")),
                finding("A", "./a.yaml", "/y", Some("2")),
                finding("B", "b.yaml", "/z", Some("3")),
                // A rule that does not run now: never counted as fixed.
                finding("C", "a.yaml", "/w", Some("4")),
            ],
        );
        let mut now = report(
            &["a.yaml", "b.yaml"],
            vec![
                finding("A", "a.yaml", "/x-moved", Some("1")),
                finding("A", "a.yaml", "/y", Some("2")),
                // Same fingerprint, other file: new.
                finding("A", "b.yaml", "/x", Some("1")),
            ],
        );
        apply(&mut now, base, "base.json");
        let b = now.baseline.as_ref().unwrap();
        assert_eq!((b.baselined, b.fixed), (2, 1));
        assert_eq!(b.absent.first().map(|f| f.rule.as_str()), Some("B"));
        assert_eq!(now.findings.len(), 1);
        assert_eq!(now.summary.total, 1);
    }

    #[test]
    fn one_document_renamed_and_entries_counted() {
        let base = report(
            &["old/api.yaml"],
            vec![
                finding("A", "old/api.yaml", "/x", Some("1")),
                finding("A", "old/api.yaml", "/x", Some("1")),
            ],
        );
        let mut now = report(
            &["new/api.json"],
            vec![
                finding("A", "new/api.json", "/x", Some("1")),
                finding("A", "new/api.json", "/x", Some("1")),
                finding("A", "new/api.json", "/x", Some("1")),
            ],
        );
        apply(&mut now, base, "b.json");
        assert_eq!(now.baseline.as_ref().unwrap().baselined, 2);
        assert_eq!(now.findings.len(), 1);
    }

    #[test]
    fn entries_without_fingerprints_match_on_pointer() {
        let base = report(&["a.yaml"], vec![finding("A", "a.yaml", "/x", None)]);
        let mut now = report(&["a.yaml"], vec![finding("A", "a.yaml", "/x", Some("9"))]);
        apply(&mut now, base, "b.json");
        assert!(now.findings.is_empty());
    }

    #[test]
    fn unreadable_baselines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        std::fs::write(&path, "{\"tool\": 1}").unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(
            err.contains("b.json:1:") && err.contains("not a JSON report"),
            "{err}"
        );
        let err = load(&dir.path().join("nope.json")).unwrap_err().to_string();
        assert!(err.contains("nope.json: cannot read the baseline"), "{err}");
    }
}
