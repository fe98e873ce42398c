//! Findings about the document itself: references that lead nowhere, and a version read with
//! the rules of an older one. The audit loads documents tolerantly
//! ([`portcullis_spec::LoadOptions::tolerant`]), so such a document is audited instead of
//! refused, and these rules say what could not be read.

use crate::rule::rule;

rule! {
    /// `$ref`s that cannot be resolved.
    UnresolvedRef {
        id: "PC-DOC-001",
        title: "Reference that cannot be resolved",
        severity: Medium,
        owasp: Api8,
        cwe: 20,
        rationale: "A `$ref` that names nothing (a missing component, a file that was never bundled, a cycle of references) leaves that part of the contract undefined: a validator or gateway built from the document either refuses it or lets anything through there, and the audit reads the part as unknown (an empty schema, an absent parameter or response), so its weaknesses go unseen.",
        remediation: "Point the `$ref` at a definition that exists (check the component name and the file path relative to the file the reference is written in), or bundle the document with its files before publishing it.",
    }
    fn check(cx, sink) {
        for u in &cx.catalog.unresolved_refs {
            sink.report_with(
                &u.location.file,
                u.location.pointer.clone(),
                format!("$ref {:?} cannot be resolved: {}", u.reference, u.message),
                u.reference.clone(),
            );
        }
    }
}

rule! {
    /// OpenAPI 3.2 documents, audited with the 3.1 rules.
    Version32 {
        id: "PC-DOC-002",
        title: "OpenAPI 3.2 audited with the 3.1 rules",
        severity: Info,
        owasp: Api9,
        cwe: 1059,
        rationale: "OpenAPI 3.2 extends 3.1 without changing what 3.1 means, so the audit reads a 3.2 document as 3.1; what 3.2 adds (the `query` method, `additionalOperations`, richer tags, streaming media types) is not read, so operations declared only through those are not audited.",
        remediation: "Nothing to change in the document; know that operations under `query` or `additionalOperations` were not audited, and review them by hand.",
    }
    fn check(cx, sink) {
        let declared = cx.catalog.declared_version.as_str();
        if declared == "3.2" || declared.starts_with("3.2.") {
            sink.report_with(
                cx.root_file(),
                "/openapi",
                format!("OpenAPI {declared} is audited with the OpenAPI 3.1 rules; what 3.2 adds is not read"),
                declared,
            );
        }
    }
}
