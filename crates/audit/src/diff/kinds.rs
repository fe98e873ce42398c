//! The kinds of security change `audit diff` reports, each with a stable id, a default
//! severity, an OWASP category and a CWE (shown by SARIF and docs/rules.md like a rule's).

use portcullis_report::{Owasp, Severity};

use crate::rule::Meta;

macro_rules! kind {
    ($name:ident, $id:literal, $title:literal, $sev:ident, $owasp:ident, $cwe:literal, $why:literal, $fix:literal) => {
        #[doc = $title]
        pub const $name: Meta = Meta {
            id: $id,
            title: $title,
            severity: Severity::$sev,
            owasp: Owasp::$owasp,
            cwe: $cwe,
            rationale: $why,
            remediation: $fix,
        };
    };
}

kind!(
    SECURITY_REMOVED,
    "security-removed",
    "Operation made public",
    Critical,
    Api2,
    306,
    "An operation that required credentials no longer does: its security was removed, set to `security: []`, or given an anonymous alternative `{}`. Critical for operations that change data, high for reads.",
    "Restore the security requirement, or confirm that the operation is meant to be public and suppress the finding it causes."
);
kind!(
    OPERATION_ADDED_PUBLIC,
    "operation-added-without-security",
    "Operation added without security",
    High,
    Api2,
    306,
    "A new operation that anyone can call. High for operations that change data, medium for reads.",
    "Declare a security requirement on the new operation (or at the top level)."
);
kind!(
    SECURITY_WEAKENED,
    "security-weakened",
    "Security requirement weakened",
    High,
    Api2,
    287,
    "An operation now accepts weaker credentials: a scheme was swapped for a weaker one (OAuth2 for an API key, a bearer token for basic authentication, a header key for a query key), a weaker alternative was added, or one of several schemes required together was dropped.",
    "Keep the stronger requirement, or make the weaker alternative an explicit, reviewed decision."
);
kind!(
    SCOPES_REDUCED,
    "scopes-reduced",
    "Fewer scopes required",
    Medium,
    Api5,
    285,
    "An operation requires fewer OAuth2 scopes (or roles) than before, so tokens issued for less can call it.",
    "Restore the scopes, or confirm that every token with the remaining scopes may call the operation."
);
kind!(
    SCHEME_WEAKENED,
    "scheme-weakened",
    "Security scheme weakened",
    High,
    Api2,
    287,
    "A security scheme kept its name but became weaker (e.g. `oauth2` became `apiKey`, an API key moved from a header to the query string, an implicit or password flow was added); every operation that uses it is affected.",
    "Keep the scheme's definition, or give the weaker scheme a new name so each operation's use of it is reviewed."
);
kind!(
    SERVER_CLEARTEXT,
    "server-cleartext",
    "Server moved to cleartext HTTP",
    High,
    Api8,
    319,
    "A server that was served over `https://` is now `http://`, or a new `http://` server was added. Low for loopback and internal hosts.",
    "Serve the API over `https://` only."
);
kind!(
    LIMIT_REMOVED,
    "limit-removed",
    "Input limit removed",
    Medium,
    Api4,
    770,
    "A `maxLength`, `maxItems`, `maxProperties` or `maximum` of a schema the API accepts as input was removed.",
    "Restore the limit, or bound the value elsewhere (gateway body limits) and document it."
);
kind!(
    LIMIT_RAISED,
    "limit-raised",
    "Input limit raised",
    Low,
    Api4,
    770,
    "A `maxLength`, `maxItems`, `maxProperties` or `maximum` of an input schema was raised.",
    "Check that the new bound is still one the server can afford."
);
kind!(
    RESPONSE_FIELD_ADDED,
    "response-field-added",
    "Field added to a response",
    Low,
    Api3,
    213,
    "A response schema gained a property: more data leaves the API. Medium when its name looks like a secret, a credential or sensitive personal data.",
    "Check that every client allowed to call the operation may see the new field."
);
kind!(
    OPERATION_ADDED,
    "operation-added",
    "Operation added",
    Low,
    Api9,
    1059,
    "A new operation with a security requirement: more attack surface to review.",
    "Review the new operation's security requirement, inputs and responses."
);
kind!(
    PARAMETER_ADDED,
    "parameter-added",
    "Parameter added",
    Low,
    Api9,
    1059,
    "An existing operation accepts a new parameter: new input to validate.",
    "Give the new parameter a schema with limits."
);
kind!(
    OPERATION_UNDEPRECATED,
    "operation-undeprecated",
    "Operation no longer deprecated",
    Low,
    Api9,
    1059,
    "An operation that was deprecated no longer is: an old version stays in service.",
    "Confirm that the operation is meant to stay."
);
kind!(
    DEPRECATED_REMOVED,
    "deprecated-operation-removed",
    "Deprecated operation removed",
    Info,
    Api9,
    1059,
    "A deprecated operation was removed from the document. Check that the server stopped serving it too, or it becomes a zombie endpoint.",
    "Retire the operation on the server and in the gateway as well."
);
kind!(
    OPERATION_REMOVED,
    "operation-removed",
    "Operation removed",
    Info,
    Api9,
    1059,
    "An operation was removed from the document. Check that the server stopped serving it too, or it becomes a shadow endpoint.",
    "Retire the operation on the server and in the gateway as well."
);

/// Every kind of change, most severe first.
pub const ALL: &[&Meta] = &[
    &SECURITY_REMOVED,
    &OPERATION_ADDED_PUBLIC,
    &SECURITY_WEAKENED,
    &SCHEME_WEAKENED,
    &SERVER_CLEARTEXT,
    &SCOPES_REDUCED,
    &LIMIT_REMOVED,
    &RESPONSE_FIELD_ADDED,
    &LIMIT_RAISED,
    &OPERATION_ADDED,
    &PARAMETER_ADDED,
    &OPERATION_UNDEPRECATED,
    &DEPRECATED_REMOVED,
    &OPERATION_REMOVED,
];
