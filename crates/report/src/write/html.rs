//! A report as one self-contained HTML page: inline style, no script, no external asset, so
//! it can be attached to a CI run or mailed as it is. Every text is escaped.

use std::io::{self, Write};

use crate::finding::{Finding, Report};
use crate::taxonomy::Severity;

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#1d1d1f}\
h1{font-size:1.5em}table.sum td{padding:.2em .8em}\
details{border:1px solid #d0d0d7;border-radius:6px;margin:.6em 0;padding:.4em .8em}\
summary{cursor:pointer;font-weight:600}pre{background:#f5f5f7;padding:.6em;overflow:auto;white-space:pre-wrap;word-break:break-all}\
.sev{display:inline-block;min-width:5.5em;text-align:center;border-radius:4px;color:#fff;padding:0 .4em;margin-right:.5em}\
.critical{background:#7a0019}.high{background:#c62828}.medium{background:#e67e00}.low{background:#1565c0}.info{background:#607d8b}\
dt{font-weight:600;margin-top:.4em}";

/// Escapes text for HTML element content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn finding(out: &mut dyn Write, f: &Finding) -> io::Result<()> {
    let sev = f.severity.as_str();
    writeln!(
        out,
        "<details><summary><span class=\"sev {sev}\">{sev}</span>{} <code>{}</code></summary>",
        esc(&f.title),
        esc(&f.rule)
    )?;
    writeln!(out, "<p>{}</p><dl>", esc(&f.message))?;
    let l = &f.location;
    let mut place = Vec::new();
    if let (Some(m), Some(u)) = (&l.method, &l.url) {
        place.push(format!("{m} {u}"));
    }
    if let Some(op) = &l.operation {
        place.push(format!("operation {op}"));
    }
    if let Some(file) = &l.file {
        place.push(match l.line {
            Some(line) => format!("{file}:{line}"),
            None => file.clone(),
        });
    }
    if !place.is_empty() {
        writeln!(out, "<dt>Where</dt><dd>{}</dd>", esc(&place.join(" · ")))?;
    }
    let mut taxonomy = Vec::new();
    if let Some(o) = f.owasp {
        taxonomy.push(format!("{} {}", o.id(), o.title()));
    }
    if let Some(c) = f.cwe {
        taxonomy.push(c.to_string());
    }
    if !taxonomy.is_empty() {
        writeln!(
            out,
            "<dt>Category</dt><dd>{}</dd>",
            esc(&taxonomy.join(" · "))
        )?;
    }
    if let Some(e) = &f.evidence {
        writeln!(out, "<dt>Evidence</dt><dd><pre>{}</pre></dd>", esc(e))?;
    }
    if let Some(x) = &f.exchange {
        writeln!(
            out,
            "<dt>Request</dt><dd><pre>{}</pre></dd><dt>Response</dt><dd><pre>{}</pre></dd>",
            esc(&x.request),
            esc(&x.response)
        )?;
    }
    writeln!(
        out,
        "<dt>Fix</dt><dd>{}</dd></dl></details>",
        esc(&f.remediation)
    )
}

/// Writes the report as a standalone HTML page.
pub fn html(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let summary = report.summarize();
    let subject = report.artifacts.join(", ");
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{} report: {}</title><style>{STYLE}</style></head><body>",
        esc(&report.tool),
        esc(&subject)
    )?;
    writeln!(
        out,
        "<h1>{} {} report</h1><p>{}</p><table class=\"sum\"><tr>",
        esc(&report.tool),
        esc(&report.version),
        esc(&subject)
    )?;
    for s in Severity::DESCENDING {
        writeln!(
            out,
            "<td><span class=\"sev {0}\">{0}</span>{1}</td>",
            s.as_str(),
            summary.count(s)
        )?;
    }
    writeln!(out, "</tr></table>")?;
    if summary.total == 0 {
        writeln!(out, "<p>No findings.</p>")?;
    }
    for s in Severity::DESCENDING {
        for f in report
            .findings
            .iter()
            .filter(|f| f.severity == s && !f.is_suppressed())
        {
            finding(out, f)?;
        }
    }
    writeln!(out, "</body></html>")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::{Exchange, Location, RuleInfo};

    #[test]
    fn the_page_is_self_contained_and_escaped() {
        let rule = RuleInfo {
            id: "PC-SCAN-X".into(),
            title: "T <b>".into(),
            severity: Severity::High,
            owasp: Some(crate::Owasp::Api1),
            cwe: Some(crate::Cwe(639)),
            rationale: "r".into(),
            remediation: "fix".into(),
            help_uri: None,
        };
        let mut report = Report::new("portcullis", "0.1.0");
        let mut f = Finding::new(&rule, Location::default(), "<script>alert(1)</script>");
        f.exchange = Some(Exchange {
            request: "GET /x".into(),
            response: "HTTP 200".into(),
        });
        report.push(f);
        report.finish();
        let mut out = Vec::new();
        html(&report, &mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("src="));
        assert!(page.contains("API1:2023") && page.contains("CWE-639"));
    }
}
