//! Request bodies: the content type must be one the operation documents; JSON, form and
//! multipart bodies are validated against their schema, and (strictly) for properties the
//! schema does not declare.

use std::collections::HashMap;

use bytes::Bytes;
use jsonschema::Validator;
use jsonschema::error::ValidationErrorKind;
use portcullis_spec::{Catalog, RequestBody};
use serde_json::{Map, Value};

use super::params::{Scalar, Shape, scalar, shape_of};
use super::schema::{SchemaError, compile, strict_implies_loose};
use super::{Policy, Violation};

/// How a body of a media type is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// `application/json`, `*/*+json`.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `multipart/form-data`.
    Multipart,
    /// Anything else: only the content type is checked.
    Other,
}

/// One documented media type.
#[derive(Debug)]
pub struct MediaCheck {
    /// The documented range, lower-case, parameters dropped (`application/json`, `image/*`).
    pub range: String,
    /// How bodies of it are read.
    pub kind: MediaKind,
    /// The schema as written.
    pub loose: Option<Validator>,
    /// The schema with undeclared properties refused.
    pub strict: Option<Validator>,
    /// A body `strict` accepts is accepted by `loose` too (see
    /// [`super::schema::strict_implies_loose`]): the loose check is then skipped.
    pub strict_implies_loose: bool,
    /// Types of the top-level properties (form and multipart fields arrive as strings).
    pub fields: HashMap<String, Shape>,
}

/// The request body of one operation.
#[derive(Debug)]
pub struct BodyCheck {
    /// A body must be sent.
    pub required: bool,
    /// The documented media types, in document order.
    pub media: Vec<MediaCheck>,
}

fn kind_of(range: &str) -> MediaKind {
    if range == "application/json" || range.ends_with("+json") {
        MediaKind::Json
    } else if range == "application/x-www-form-urlencoded" {
        MediaKind::Form
    } else if range == "multipart/form-data" {
        MediaKind::Multipart
    } else {
        MediaKind::Other
    }
}

impl BodyCheck {
    /// Compiles the media types of a request body.
    pub fn new(catalog: &Catalog, body: &RequestBody) -> Result<BodyCheck, SchemaError> {
        let mut media = Vec::new();
        for (range, m) in &body.content {
            let range = range
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            let kind = kind_of(&range);
            let (loose, strict, strict_implies_loose, fields) = match (&m.schema, kind) {
                (Some(schema), MediaKind::Json | MediaKind::Form | MediaKind::Multipart) => {
                    let root = catalog.deref_schema(&schema.value);
                    let fields = root
                        .get("properties")
                        .and_then(Value::as_object)
                        .map(|props| {
                            props
                                .iter()
                                .map(|(k, v)| (k.clone(), shape_of(catalog, v)))
                                .collect()
                        })
                        .unwrap_or_default();
                    (
                        Some(compile(catalog, schema, false)?),
                        Some(compile(catalog, schema, true)?),
                        strict_implies_loose(catalog, &schema.value),
                        fields,
                    )
                }
                _ => (None, None, false, HashMap::new()),
            };
            media.push(MediaCheck {
                range,
                kind,
                loose,
                strict,
                strict_implies_loose,
                fields,
            });
        }
        Ok(BodyCheck {
            required: body.required,
            media,
        })
    }

    /// The documented media type a `Content-Type` falls under, most specific first.
    pub fn media_for(&self, content_type: &str) -> Option<&MediaCheck> {
        // Compared without allocating: this runs for every request with a body. Most clients
        // send a documented type as written, without parameters: one comparison finds it.
        if let Some(m) = self.media.iter().find(|m| m.range == content_type) {
            return Some(m);
        }
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        let (top, _) = essence.split_once('/')?;
        let is_top_wildcard = |range: &str| {
            range.len() == top.len() + 2
                && range.ends_with("/*")
                && range
                    .get(..top.len())
                    .is_some_and(|t| t.eq_ignore_ascii_case(top))
        };
        self.media
            .iter()
            .find(|m| m.range.eq_ignore_ascii_case(essence))
            .or_else(|| self.media.iter().find(|m| is_top_wildcard(&m.range)))
            .or_else(|| self.media.iter().find(|m| m.range == "*/*"))
    }

    /// Checks a body received with `content_type` (`None`: no header). `unknown_fields` and
    /// `validate` say which checks run (`false`: skipped). Returns every violation to act on.
    pub async fn check(
        &self,
        content_type: Option<&str>,
        body: &Bytes,
        max_depth: usize,
        validate: bool,
        unknown_fields: bool,
    ) -> Vec<Violation> {
        self.check_keeping(content_type, body, max_depth, validate, unknown_fields)
            .await
            .0
    }

    /// [`BodyCheck::check`], and the body as parsed JSON when it was JSON (with
    /// `parse_strict` and `max_depth`), so that later stages need not parse it again.
    pub async fn check_keeping(
        &self,
        content_type: Option<&str>,
        body: &Bytes,
        max_depth: usize,
        validate: bool,
        unknown_fields: bool,
    ) -> (Vec<Violation>, Option<Value>) {
        if body.is_empty() {
            if self.required && validate {
                let v = Violation::new(
                    crate::rules::REQUEST_BODY,
                    400,
                    "the request body is required".to_owned(),
                );
                return (vec![v], None);
            }
            return (Vec::new(), None);
        }
        let Some(content_type) = content_type else {
            let v = Violation::new(
                crate::rules::REQUEST_CONTENT_TYPE,
                415,
                "a request body without a Content-Type header".to_owned(),
            );
            return (vec![v], None);
        };
        let Some(media) = self.media_for(content_type) else {
            let documented: Vec<&str> = self.media.iter().map(|m| m.range.as_str()).collect();
            let v = Violation::new(
                crate::rules::REQUEST_CONTENT_TYPE,
                415,
                format!(
                    "Content-Type {content_type:?} is not documented for this operation (expected {})",
                    documented.join(", ")
                ),
            );
            return (vec![v], None);
        };
        let instance = match media.kind {
            MediaKind::Json => match super::json::parse_strict(body, max_depth) {
                Ok(v) => v,
                Err(e) => {
                    let v = Violation::new(
                        crate::rules::REQUEST_JSON,
                        400,
                        format!("the body is not acceptable JSON: {e}"),
                    );
                    return (vec![v], None);
                }
            },
            MediaKind::Form => form(body, &media.fields),
            MediaKind::Multipart => {
                match multipart(content_type, body.clone(), &media.fields).await {
                    Ok(v) => v,
                    Err(e) => {
                        let v = Violation::new(
                            crate::rules::REQUEST_BODY,
                            400,
                            format!("the multipart body cannot be read: {e}"),
                        );
                        return (vec![v], None);
                    }
                }
            }
            MediaKind::Other => return (Vec::new(), None),
        };
        let violations = validate_instance(media, &instance, validate, unknown_fields);
        let parsed = (media.kind == MediaKind::Json).then_some(instance);
        (violations, parsed)
    }
}

/// Validates a parsed body with the loose and/or strict schema.
fn validate_instance(
    media: &MediaCheck,
    instance: &Value,
    validate: bool,
    unknown_fields: bool,
) -> Vec<Violation> {
    let mut out = Vec::new();
    let describe = |e: &jsonschema::ValidationError<'_>| {
        let at = e.instance_path().to_string();
        if at.is_empty() {
            format!("body: {e}")
        } else {
            format!("body {at}: {e}")
        }
    };
    let is_unknown = |e: &jsonschema::ValidationError<'_>| {
        matches!(
            e.kind(),
            ValidationErrorKind::UnevaluatedProperties { .. }
                | ValidationErrorKind::AdditionalProperties { .. }
        )
    };
    // `is_valid` first: most bodies are valid, and it is much cheaper than collecting errors.
    let strict = media.strict.as_ref().filter(|_| unknown_fields);
    let strictly_valid = strict.is_some_and(|s| s.is_valid(instance));
    if let Some(strict) = strict
        && !strictly_valid
    {
        for e in strict.iter_errors(instance) {
            if is_unknown(&e) {
                out.push(Violation {
                    rule: crate::rules::REQUEST_UNKNOWN_FIELD,
                    status: 400,
                    reason: describe(&e),
                    policy: Policy::UnknownFields,
                });
                break;
            }
        }
    }
    if validate
        && !(strictly_valid && media.strict_implies_loose)
        && let Some(loose) = &media.loose
        && !loose.is_valid(instance)
        && let Some(e) = loose.iter_errors(instance).next()
    {
        out.push(Violation::new(
            crate::rules::REQUEST_BODY,
            400,
            describe(&e),
        ));
    }
    out
}

/// A form body as an object, fields typed by the schema's properties.
fn form(body: &Bytes, fields: &HashMap<String, Shape>) -> Value {
    let mut grouped: Map<String, Value> = Map::new();
    let mut raw: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        raw.push((k.into_owned(), v.into_owned()));
    }
    for (k, v) in &raw {
        let value = typed(fields.get(k), v);
        match (grouped.get_mut(k), fields.get(k)) {
            (Some(Value::Array(items)), Some(Shape::Array(_))) => {
                if let Value::Array(more) = value {
                    items.extend(more);
                }
            }
            (Some(existing), _) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            (None, _) => {
                grouped.insert(k.clone(), value);
            }
        }
    }
    Value::Object(grouped)
}

fn typed(shape: Option<&Shape>, raw: &str) -> Value {
    match shape {
        Some(Shape::Integer) => scalar(raw, Scalar::Integer),
        Some(Shape::Number) => scalar(raw, Scalar::Number),
        Some(Shape::Boolean) => scalar(raw, Scalar::Boolean),
        Some(Shape::Array(item)) => Value::Array(vec![scalar(raw, *item)]),
        _ => Value::String(raw.to_owned()),
    }
}

/// A multipart body as an object of its fields (file parts as their text, lossily).
async fn multipart(
    content_type: &str,
    body: Bytes,
    fields: &HashMap<String, Shape>,
) -> Result<Value, String> {
    let boundary = multer::parse_boundary(content_type).map_err(|e| e.to_string())?;
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut parts = multer::Multipart::new(stream, boundary);
    let mut map = Map::new();
    let mut count = 0usize;
    while let Some(field) = parts.next_field().await.map_err(|e| e.to_string())? {
        count += 1;
        if count > 1000 {
            return Err("more than 1000 parts".to_owned());
        }
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&bytes);
        let value = typed(fields.get(&name), &text);
        match map.get_mut(&name) {
            Some(Value::Array(items)) => {
                if let Value::Array(more) = value {
                    items.extend(more);
                } else {
                    items.push(value);
                }
            }
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                map.insert(name, value);
            }
        }
    }
    Ok(Value::Object(map))
}
