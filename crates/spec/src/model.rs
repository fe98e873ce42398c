//! The catalog: one parsed, version-neutral view of an API description.
//!
//! Swagger 2.0, OpenAPI 3.0 and OpenAPI 3.1 documents all load into these types, so no consumer
//! ever needs to know which version a document was written in. Every item keeps its
//! [`Location`] in the source so findings and errors can point at the exact line.

use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

/// Where something sits in the source: file, JSON pointer, and 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Location {
    /// The file as it was given (root document) or resolved (external `$ref` targets).
    pub file: Arc<str>,
    /// RFC 6901 JSON pointer into that file, `""` for the document root.
    pub pointer: String,
    /// 1-based line of the node (0 when unknown).
    pub line: u32,
    /// 1-based column of the node (0 when unknown).
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "#"
        } else {
            &self.pointer
        };
        if self.line > 0 {
            write!(f, "{}:{}:{} ({pointer})", self.file, self.line, self.column)
        } else {
            write!(f, "{} ({pointer})", self.file)
        }
    }
}

/// The OpenAPI family a document declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum SpecVersion {
    /// Swagger / OpenAPI 2.0 (converted on load).
    Swagger2,
    /// OpenAPI 3.0.x.
    OpenApi30,
    /// OpenAPI 3.1.x.
    OpenApi31,
}

impl fmt::Display for SpecVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SpecVersion::Swagger2 => "2.0",
            SpecVersion::OpenApi30 => "3.0",
            SpecVersion::OpenApi31 => "3.1",
        })
    }
}

/// An HTTP method an operation can be declared for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// GET
    Get,
    /// PUT
    Put,
    /// POST
    Post,
    /// DELETE
    Delete,
    /// OPTIONS
    Options,
    /// HEAD
    Head,
    /// PATCH
    Patch,
    /// TRACE
    Trace,
}

impl Method {
    /// All methods, in the order OpenAPI lists them in a path item.
    pub const ALL: [Method; 8] = [
        Method::Get,
        Method::Put,
        Method::Post,
        Method::Delete,
        Method::Options,
        Method::Head,
        Method::Patch,
        Method::Trace,
    ];

    /// The lower-case key used in a path item (`get`, `post`, ...).
    pub fn key(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Put => "put",
            Method::Post => "post",
            Method::Delete => "delete",
            Method::Options => "options",
            Method::Head => "head",
            Method::Patch => "patch",
            Method::Trace => "trace",
        }
    }

    /// The upper-case token used on the wire (`GET`, `POST`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Head => "HEAD",
            Method::Patch => "PATCH",
            Method::Trace => "TRACE",
        }
    }

    /// Parses a method token, case-insensitively. Unknown methods give `None`.
    pub fn parse(token: &str) -> Option<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(token))
    }

    /// True for methods that change state (POST, PUT, PATCH, DELETE).
    pub fn is_mutating(self) -> bool {
        matches!(
            self,
            Method::Post | Method::Put | Method::Patch | Method::Delete
        )
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Vendor extensions (`x-...` keys) of an object, in document order.
pub type Extensions = IndexMap<String, Value>;

/// A whole API description, loaded, resolved and normalized.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    /// Which family the document declared.
    pub version: SpecVersion,
    /// The version string exactly as declared (`"3.0.3"`, `"2.0"`...).
    pub declared_version: String,
    /// The root document's file.
    pub root_file: Arc<str>,
    /// `info` of the root document.
    pub info: Info,
    /// Effective servers of the document (2.0 `host`/`basePath`/`schemes` are converted).
    pub servers: Vec<Server>,
    /// Every operation, in document order (path order, then method order of [`Method::ALL`]).
    pub operations: Vec<Operation>,
    /// Security schemes by name (2.0 `securityDefinitions` are converted).
    pub security_schemes: IndexMap<String, SecurityScheme>,
    /// Top-level `security`; `None` when the document has none.
    pub global_security: Option<Vec<SecurityRequirement>>,
    /// Where the top-level `security` is, when present.
    pub global_security_location: Option<Location>,
    /// Every schema that a `$ref` inside a catalog schema points at, converted to JSON Schema
    /// 2020-12, keyed by [`SchemaRef`] key. `$ref`s in all catalog schemas are rewritten to
    /// `#/$defs/<key>` (key escaped per RFC 6901), so this map is a ready `$defs` bundle.
    pub schemas: IndexMap<String, Schema>,
    /// Declared tags (name -> description), in document order.
    pub tags: IndexMap<String, Option<String>>,
    /// `x-` extensions of the root document.
    pub extensions: Extensions,
    /// Non-fatal problems found while loading (kept for audits and `check`).
    pub warnings: Vec<Warning>,
    /// `$ref`s that could not be resolved, each once, in the order met. Always empty from a
    /// strict load (the default, which refuses such a document); a tolerant load
    /// ([`crate::LoadOptions::tolerant`]) lists them here and reads what they name as unknown:
    /// an empty schema, or an absent parameter, response, header or operation.
    pub unresolved_refs: Vec<UnresolvedRef>,
    /// Every file that was read (root first), parsed, with the position of every node:
    /// [`crate::source::SourceMap::locate`] turns any pointer into a line and column.
    #[serde(skip)]
    pub sources: Arc<crate::source::SourceMap>,
}

/// A non-fatal problem found while loading: the document is usable but not quite right.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Where it is.
    pub location: Location,
    /// What is wrong, in one sentence.
    pub message: String,
}

/// A `$ref` that a tolerant load could not resolve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnresolvedRef {
    /// Where the `$ref` is written (its `$ref` member: file, pointer, line and column).
    pub location: Location,
    /// The reference as written.
    pub reference: String,
    /// Why it cannot be resolved, naming the chain of references followed.
    pub message: String,
}

/// The `info` object.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Info {
    /// `info.title`.
    pub title: Option<String>,
    /// `info.version` (the API's own version).
    pub version: Option<String>,
    /// `info.description`.
    pub description: Option<String>,
    /// `info.contact`, as written.
    pub contact: Option<Value>,
    /// `info.license`, as written.
    pub license: Option<Value>,
    /// Where `info` is (the root when absent).
    pub location: Option<Location>,
}

/// A server the API is served from.
#[derive(Debug, Clone, Serialize)]
pub struct Server {
    /// The URL as declared, variables not substituted (`https://{region}.example.com/v1`).
    pub url: String,
    /// The URL with every variable replaced by its default.
    pub resolved_url: String,
    /// The path part of the resolved URL without a trailing slash (`/v1`, or `""` for the root).
    pub base_path: String,
    /// `description`.
    pub description: Option<String>,
    /// Where it is declared.
    pub location: Location,
}

/// One operation: a method on a path template.
#[derive(Debug, Clone, Serialize)]
pub struct Operation {
    /// A stable id: the `operationId` when present and unique, otherwise generated from the
    /// method and path (`get_/pets/{petId}` -> `get_pets_petId`).
    pub id: String,
    /// The `operationId` as declared.
    pub operation_id: Option<String>,
    /// HTTP method.
    pub method: Method,
    /// Path template as declared under `paths` (`/pets/{petId}`).
    pub path: String,
    /// `summary`.
    pub summary: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `deprecated: true`.
    pub deprecated: bool,
    /// Parameters: path-level merged with operation-level (operation wins on `in`+`name`).
    pub parameters: Vec<Parameter>,
    /// Request body (2.0 `in: body` and `in: formData` parameters are converted into this).
    pub request_body: Option<RequestBody>,
    /// Responses by status key as declared: `"200"`, `"2XX"`, `"default"`.
    pub responses: IndexMap<String, Response>,
    /// Effective security requirements (OR of ANDs). Empty means public.
    pub security: Vec<SecurityRequirement>,
    /// Where the effective security came from.
    pub security_origin: SecurityOrigin,
    /// Effective servers (operation, then path item, then document level).
    pub servers: Vec<Server>,
    /// `x-` extensions of the path item and the operation (operation wins).
    pub extensions: Extensions,
    /// Where the operation object is.
    pub location: Location,
}

/// Where an operation's effective security requirements were declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SecurityOrigin {
    /// Declared on the operation itself (`security: []` included).
    Operation,
    /// Inherited from the top-level `security`.
    Global,
    /// Declared nowhere: the operation is public by omission.
    None,
}

/// Where a parameter is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParameterIn {
    /// A path template variable.
    Path,
    /// The query string.
    Query,
    /// A request header.
    Header,
    /// A cookie.
    Cookie,
}

impl ParameterIn {
    /// The keyword used in documents (`path`, `query`, `header`, `cookie`).
    pub fn as_str(self) -> &'static str {
        match self {
            ParameterIn::Path => "path",
            ParameterIn::Query => "query",
            ParameterIn::Header => "header",
            ParameterIn::Cookie => "cookie",
        }
    }
}

/// A path, query, header or cookie parameter.
#[derive(Debug, Clone, Serialize)]
pub struct Parameter {
    /// `name`.
    pub name: String,
    /// `in`.
    pub location_in: ParameterIn,
    /// `required` (always true for path parameters).
    pub required: bool,
    /// `deprecated`.
    pub deprecated: bool,
    /// `description`.
    pub description: Option<String>,
    /// The schema (2.0 inline `type`/`format`/`items`... are converted into one).
    pub schema: Option<Schema>,
    /// Serialization style (`form`, `simple`, `matrix`, `label`, `spaceDelimited`,
    /// `pipeDelimited`, `deepObject`); the default for its location when not declared.
    /// 2.0 `collectionFormat` is converted (csv -> simple/form without explode, ...).
    pub style: String,
    /// `explode`; the default for its style when not declared.
    pub explode: bool,
    /// `allowEmptyValue`.
    pub allow_empty_value: bool,
    /// `x-` extensions.
    pub extensions: Extensions,
    /// Where the parameter object is (after `$ref` resolution: where its definition is).
    pub location: Location,
}

/// A request body.
#[derive(Debug, Clone, Serialize)]
pub struct RequestBody {
    /// `required`.
    pub required: bool,
    /// `description`.
    pub description: Option<String>,
    /// Schemas per media type (`application/json`, `multipart/form-data`, ...).
    pub content: IndexMap<String, MediaType>,
    /// `x-` extensions.
    pub extensions: Extensions,
    /// Where it is.
    pub location: Location,
}

/// One media type of a body.
#[derive(Debug, Clone, Serialize)]
pub struct MediaType {
    /// The schema, if any.
    pub schema: Option<Schema>,
    /// Where the media type object is.
    pub location: Location,
}

/// A response.
#[derive(Debug, Clone, Serialize)]
pub struct Response {
    /// `description`.
    pub description: Option<String>,
    /// Schemas per media type.
    pub content: IndexMap<String, MediaType>,
    /// Declared response headers (name -> schema).
    pub headers: IndexMap<String, Option<Schema>>,
    /// `x-` extensions.
    pub extensions: Extensions,
    /// Where it is.
    pub location: Location,
}

impl Response {
    /// A response declared at `location` whose content is unknown (its `$ref` could not be
    /// resolved in a tolerant load): no description, content or headers.
    pub fn unknown(location: Location) -> Response {
        Response {
            description: None,
            content: IndexMap::new(),
            headers: IndexMap::new(),
            extensions: Extensions::new(),
            location,
        }
    }
}

/// A schema, converted to JSON Schema 2020-12, with `$ref`s rewritten to `#/$defs/<key>`
/// into [`Catalog::schemas`].
#[derive(Debug, Clone, Serialize)]
pub struct Schema {
    /// The converted schema.
    pub value: Arc<Value>,
    /// Where it is declared (for a `$ref`, where the reference is written).
    pub location: Location,
}

/// One alternative of a security requirement: all of these schemes together (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SecurityRequirement {
    /// Scheme name -> required scopes (or roles), in document order.
    pub schemes: IndexMap<String, Vec<String>>,
}

impl SecurityRequirement {
    /// True for `{}`: an alternative that needs nothing (anonymous access allowed).
    pub fn is_anonymous(&self) -> bool {
        self.schemes.is_empty()
    }
}

/// A security scheme.
#[derive(Debug, Clone, Serialize)]
pub struct SecurityScheme {
    /// What kind of scheme it is.
    pub kind: SecuritySchemeKind,
    /// `description`.
    pub description: Option<String>,
    /// `x-` extensions.
    pub extensions: Extensions,
    /// Where it is declared.
    pub location: Location,
}

/// The kinds of security scheme, with their settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum SecuritySchemeKind {
    /// `type: apiKey` (2.0 and 3.x).
    ApiKey {
        /// Header, query or cookie name.
        name: String,
        /// Where the key is carried.
        location_in: ParameterIn,
    },
    /// `type: http` (3.x; 2.0 `basic` becomes `scheme: basic`).
    Http {
        /// `basic`, `bearer`, `digest`... lower-cased.
        scheme: String,
        /// `bearerFormat`.
        bearer_format: Option<String>,
    },
    /// `type: oauth2`.
    OAuth2 {
        /// The declared flows.
        flows: Vec<OAuthFlow>,
    },
    /// `type: openIdConnect`.
    OpenIdConnect {
        /// `openIdConnectUrl`.
        url: String,
    },
    /// `type: mutualTLS` (3.1).
    MutualTls,
    /// A type this version does not know; kept so audits can report it.
    Unknown {
        /// The declared `type`.
        declared: String,
    },
}

/// Which OAuth2 flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OAuthFlowKind {
    /// Implicit (2.0 `implicit`).
    Implicit,
    /// Resource owner password (2.0 `password`).
    Password,
    /// Client credentials (2.0 `application`).
    ClientCredentials,
    /// Authorization code (2.0 `accessCode`).
    AuthorizationCode,
}

/// One OAuth2 flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OAuthFlow {
    /// The flow.
    pub kind: OAuthFlowKind,
    /// `authorizationUrl`.
    pub authorization_url: Option<String>,
    /// `tokenUrl`.
    pub token_url: Option<String>,
    /// `refreshUrl`.
    pub refresh_url: Option<String>,
    /// Declared scopes (name -> description).
    pub scopes: IndexMap<String, String>,
}

impl Catalog {
    /// Looks up the schema behind a `#/$defs/<key>` reference written in a catalog schema.
    pub fn resolve_ref(&self, reference: &str) -> Option<&Schema> {
        let key = reference.strip_prefix("#/$defs/")?;
        let key = crate::pointer::unescape_token(key);
        self.schemas.get(key.as_ref())
    }

    /// Follows `$ref` chains from `schema` until a schema that is not a bare reference.
    /// Stops (returning the last schema reached) on a cycle or a missing target.
    pub fn deref_schema<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut current = schema;
        for _ in 0..64 {
            match current.get("$ref").and_then(Value::as_str) {
                Some(r) => match self.resolve_ref(r) {
                    Some(next) => current = &next.value,
                    None => return current,
                },
                None => return current,
            }
        }
        current
    }

    /// The location of `pointer` in the file `file` (nearest existing ancestor's line when
    /// the exact node does not exist, e.g. for a keyword a rule finds missing).
    pub fn locate(&self, file: &str, pointer: &str) -> Location {
        self.sources.locate(file, pointer)
    }

    /// Finds an operation by its [`Operation::id`].
    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|op| op.id == id)
    }
}
