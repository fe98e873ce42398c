//! Path traversal: a string parameter whose name or value looks like a file (`file`, `path`,
//! `name`, `doc`..., or a value with an extension or a `/`) is replaced by `../` sequences
//! that lead to `/etc/passwd`. Reported when the answer holds a passwd line (`root:x:0:0:`)
//! the baseline (the request as explored) did not hold, and a control (the same traversal to
//! a file that cannot exist) does not hold it either: the server reads the path it was given,
//! not a page that always shows such a line.

use super::points::{self, Point};
use crate::plan;
use crate::scan::{Scan, Stop};

/// The most parameters tried.
const MAX_POINTS: usize = 40;

/// Ways to climb out of the base directory to `/etc/passwd`.
const PAYLOADS: &[&str] = &[
    "../../../../../../../../etc/passwd",
    "....//....//....//....//....//....//etc/passwd",
    "/etc/passwd",
];

/// Names of parameters that usually hold a file name or path.
const FILE_NAMES: &[&str] = &[
    "file",
    "path",
    "name",
    "doc",
    "document",
    "template",
    "page",
    "folder",
    "dir",
    "attachment",
    "download",
    "filename",
    "report",
    "image",
    "include",
    "view",
    "resource",
    "lang",
];

/// The first line of a Unix passwd file in `text`.
pub fn passwd_line(text: &str) -> Option<String> {
    PASSWD_RE.first()?.find(text).map(|m| m.as_str().to_owned())
}

/// The passwd line's pattern, compiled once.
static PASSWD_RE: std::sync::LazyLock<Vec<regex::Regex>> =
    std::sync::LazyLock::new(|| super::compile_all(&[r"root:[^:\s]*:0:0:[^\n\\]*"]));

fn file_like(name: &str, value: &str) -> bool {
    let n = name.to_ascii_lowercase();
    FILE_NAMES.iter().any(|f| n.contains(f))
        || value.contains('/')
        || value
            .rsplit_once('.')
            .is_some_and(|(stem, ext)| !stem.is_empty() && (1..=5).contains(&ext.len()))
}

/// Runs the check.
pub async fn run(scan: &mut Scan<'_>) -> Result<(), Stop> {
    let work: Vec<_> = points::collect(scan, false)
        .into_iter()
        .filter(|(op, baseline, point)| {
            let template = scan.op(*op).map(|o| o.path.as_str()).unwrap_or("");
            let name = match point {
                Point::Query(n) | Point::Path(n) | Point::Body(n) => n.as_str(),
            };
            points::value(&baseline.request, template, point).is_some_and(|v| file_like(name, &v))
                && passwd_line(&baseline.text()).is_none()
        })
        .take(MAX_POINTS)
        .collect();
    for (op, baseline, point) in work {
        let template = scan.op(op).map(|o| o.path.clone()).unwrap_or_default();
        for payload in PAYLOADS {
            let Some(attack) = points::replace(&baseline.request, &template, &point, payload)
            else {
                break;
            };
            let Some(answer) = scan.send(attack, Some(op)).await? else {
                break;
            };
            let Some(line) = passwd_line(&answer.text()) else {
                continue;
            };
            let missing =
                payload.replace("passwd", &format!("pc-{}-none", scan.generator.unique()));
            let Some(control) = points::replace(&baseline.request, &template, &point, &missing)
            else {
                break;
            };
            let Some(check) = scan.send(control, Some(op)).await? else {
                break;
            };
            if passwd_line(&check.text()).is_none() {
                scan.report(
                    "PC-SCAN-TRAV-001",
                    Some(op),
                    &answer,
                    format!(
                        "{} {}: the {} set to {payload:?} returns /etc/passwd",
                        answer.request.method,
                        plan::path_only(&baseline.request.path),
                        point.describe()
                    ),
                    format!(
                        "the answer holds {line:?}; the baseline ({}) did not, nor did the same traversal to a file that does not exist ({})",
                        baseline.status, check.status
                    ),
                );
            }
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lines_and_file_like_parameters() {
        assert!(passwd_line("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1").is_some());
        assert!(passwd_line("{\"content\": \"root:x:0:0:root:/root:/bin/sh\"}").is_some());
        assert!(passwd_line("root is 0:0").is_none());
        assert!(file_like("name", "x"));
        assert!(file_like("q", "terms.txt"));
        assert!(file_like("q", "a/b"));
        assert!(!file_like("q", "hello"));
        assert!(!file_like("amount", "12"));
    }
}
