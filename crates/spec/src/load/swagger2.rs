//! Swagger 2.0 into the same catalog as 3.x: `host`/`basePath`/`schemes` become servers,
//! `consumes`/`produces` become media types, `in: body` and `in: formData` parameters become
//! a request body, inline parameter types become schemas, `collectionFormat` becomes
//! `style`/`explode`.

use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use crate::error::Error;
use crate::model::{MediaType, Parameter, ParameterIn, RequestBody, Response, Schema, Server};

use super::node::{At, Builder};
use super::operations::{ParamKey, Parts};
use super::parts::default_style;

/// Keywords of a 2.0 non-body parameter (or header, or `items`) that describe its value.
const SCHEMA_KEYWORDS: &[&str] = &[
    "type",
    "format",
    "items",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "enum",
    "multipleOf",
    "x-nullable",
    "$ref",
];

const FORM: &str = "application/x-www-form-urlencoded";
const MULTIPART: &str = "multipart/form-data";
const JSON: &str = "application/json";

impl<'a> Builder<'a> {
    /// Servers from `host`, `basePath` and `schemes` (those of `op` when it declares any).
    pub fn swagger2_servers(&mut self, root: &At<'a>, op: Option<&At<'a>>) -> Vec<Server> {
        let host = self.text(root, "host");
        let base = self.text(root, "basePath").unwrap_or_default();
        let base = base.trim_end_matches('/');
        let base = if base.is_empty() || base.starts_with('/') {
            base.to_owned()
        } else {
            format!("/{base}")
        };
        let (schemes, schemes_at) = match op.filter(|op| op.get_present("schemes").is_some()) {
            Some(op) => (self.strings(op, "schemes"), op.location_of("schemes")),
            None => (self.strings(root, "schemes"), root.location_of("schemes")),
        };
        let Some(host) = host else {
            let url = if base.is_empty() {
                "/".to_owned()
            } else {
                base.clone()
            };
            return vec![Server {
                resolved_url: url.clone(),
                url,
                base_path: base,
                description: None,
                location: root.location_of("basePath"),
            }];
        };
        let location = if schemes.is_empty() {
            root.location_of("host")
        } else {
            schemes_at
        };
        let prefixes: Vec<String> = if schemes.is_empty() {
            // No scheme: the one the document was fetched with (a scheme-relative URL).
            vec!["//".to_owned()]
        } else {
            schemes
                .iter()
                .map(|s| format!("{}://", s.to_ascii_lowercase()))
                .collect()
        };
        prefixes
            .into_iter()
            .map(|prefix| {
                let url = format!("{prefix}{host}{base}");
                Server {
                    resolved_url: url.clone(),
                    url,
                    base_path: base.clone(),
                    description: None,
                    location: location.clone(),
                }
            })
            .collect()
    }

    /// Parameters, body, responses and servers of a 2.0 operation.
    pub fn swagger2_parts(
        &mut self,
        root: &At<'a>,
        op: &At<'a>,
        params: &[(ParamKey, At<'a>)],
        servers: &[Server],
    ) -> Result<Parts, Error> {
        let consumes = self.media_types(root, op, "consumes");
        let produces = self.media_types(root, op, "produces");
        let mut parameters = Vec::new();
        let mut body: Option<&At<'a>> = None;
        let mut form = Vec::new();
        for ((location_in, name), at) in params {
            let location_in = match location_in.as_str() {
                "body" => {
                    if body.is_some() {
                        self.warn(at.location(), "a second `in: body` parameter; ignored");
                    } else {
                        body = Some(at);
                    }
                    continue;
                }
                "formData" => {
                    form.push((name.as_str(), at));
                    continue;
                }
                "path" => ParameterIn::Path,
                "query" => ParameterIn::Query,
                "header" => ParameterIn::Header,
                other => {
                    self.warn(
                        at.location_of("in"),
                        format!("the parameter {name:?} has `in: {other}`, which is not path, query, header, body or formData; skipped"),
                    );
                    continue;
                }
            };
            parameters.push(self.parameter_2(at, name, location_in)?);
        }
        let request_body = match (body, form.is_empty()) {
            (Some(body), _) => {
                if !form.is_empty() {
                    self.warn(body.location(), "an operation with both `in: body` and `in: formData` parameters; the form fields are ignored");
                }
                Some(self.body_2(body, &consumes)?)
            }
            (None, false) => Some(self.form_2(op, &form, &consumes)?),
            (None, true) => None,
        };
        let servers = if op.get_present("schemes").is_some() {
            self.swagger2_servers(root, Some(op))
        } else {
            servers.to_vec()
        };
        Ok(Parts {
            parameters,
            request_body,
            responses: self.responses_2(op, &produces)?,
            servers,
        })
    }

    /// `consumes` or `produces` of the operation, else of the document, else JSON.
    fn media_types(&mut self, root: &At<'a>, op: &At<'a>, key: &str) -> Vec<String> {
        let declared = if op.get_present(key).is_some() {
            self.strings(op, key)
        } else {
            self.strings(root, key)
        };
        let mut out: Vec<String> = Vec::new();
        for media_type in declared {
            if !out.contains(&media_type) {
                out.push(media_type);
            }
        }
        if out.is_empty() {
            out.push(JSON.to_owned());
        }
        out
    }

    fn parameter_2(
        &mut self,
        at: &At<'a>,
        name: &str,
        location_in: ParameterIn,
    ) -> Result<Parameter, Error> {
        let mut required = self.flag(at, "required", false);
        if location_in == ParameterIn::Path && !required {
            self.warn(
                at.location(),
                format!("the path parameter {name:?} is not marked `required: true` (path parameters always are)"),
            );
            required = true;
        }
        let default = default_style(location_in);
        let (style, explode) = if at.str("type") == Some("array") {
            match at.str("collectionFormat") {
                None | Some("csv") => (default, false),
                Some("multi") => ("form", true),
                Some("ssv") => ("spaceDelimited", false),
                Some("pipes") => ("pipeDelimited", false),
                Some(other) => {
                    let why = if other == "tsv" {
                        "`collectionFormat: tsv` has no OpenAPI 3 style; read as csv".to_owned()
                    } else {
                        format!("unknown `collectionFormat: {other}`; read as csv")
                    };
                    self.warn(at.location_of("collectionFormat"), why);
                    (default, false)
                }
            }
        } else {
            (default, default == "form")
        };
        Ok(Parameter {
            name: name.to_owned(),
            location_in,
            required,
            deprecated: self.flag(at, "deprecated", false),
            description: self.description(at),
            schema: self.inline_schema(at)?,
            style: style.to_owned(),
            explode,
            allow_empty_value: self.flag(at, "allowEmptyValue", false),
            extensions: at.extensions(),
            location: at.location(),
        })
    }

    /// The schema of a 2.0 parameter, header or `items` written inline (`type`, `format`...).
    fn inline_schema(&mut self, at: &At<'a>) -> Result<Option<Schema>, Error> {
        if at.value.get("type").is_none()
            && let Some(schema) = at.get_present("schema")
        {
            // Not 2.0, but seen: a non-body parameter with a `schema`.
            return Ok(Some(self.schema(&schema)?));
        }
        let value = inline_keywords(at.value, 0);
        if value.as_object().is_some_and(Map::is_empty) {
            return Ok(None);
        }
        let converted = self.convert(at.fid, &value, &at.ptr, 0)?;
        Ok(Some(Schema {
            value: Arc::new(converted),
            location: at.location(),
        }))
    }

    fn body_2(&mut self, body: &At<'a>, consumes: &[String]) -> Result<RequestBody, Error> {
        let schema_at = body.get_present("schema");
        let schema = match &schema_at {
            Some(at) => Some(self.schema(at)?),
            None => {
                self.warn(body.location(), "an `in: body` parameter without `schema`");
                None
            }
        };
        let location = schema_at.map_or_else(|| body.location(), |at| at.location());
        let content = consumes
            .iter()
            .map(|mt| {
                let media = MediaType {
                    schema: schema.clone(),
                    location: location.clone(),
                };
                (mt.clone(), media)
            })
            .collect();
        Ok(RequestBody {
            required: self.flag(body, "required", false),
            description: self.description(body),
            content,
            extensions: body.extensions(),
            location: body.location(),
        })
    }

    /// `in: formData` parameters: one object schema with a property per field.
    fn form_2(
        &mut self,
        op: &At<'a>,
        fields: &[(&str, &At<'a>)],
        consumes: &[String],
    ) -> Result<RequestBody, Error> {
        let mut properties = Map::new();
        let mut required = Vec::new();
        let mut has_file = false;
        for (name, at) in fields {
            has_file |= at.str("type") == Some("file");
            if self.flag(at, "required", false) {
                required.push(Value::String((*name).to_owned()));
            }
            let mut field = match self.inline_schema(at)? {
                Some(schema) => (*schema.value).clone(),
                None => json!({}),
            };
            if let (Some(text), Value::Object(map)) = (self.description(at), &mut field) {
                map.entry("description").or_insert(Value::String(text));
            }
            properties.insert((*name).to_owned(), field);
        }
        let mut schema = Map::new();
        schema.insert("type".to_owned(), json!("object"));
        schema.insert("properties".to_owned(), Value::Object(properties));
        if !required.is_empty() {
            schema.insert("required".to_owned(), Value::Array(required.clone()));
        }
        let mut types: Vec<String> = consumes
            .iter()
            .filter(|mt| mt.starts_with(FORM) || mt.starts_with(MULTIPART))
            .cloned()
            .collect();
        if has_file && !types.iter().any(|mt| mt.starts_with(MULTIPART)) {
            types = vec![MULTIPART.to_owned()];
        }
        if types.is_empty() {
            types.push(FORM.to_owned());
        }
        let first = fields.first().map(|(_, at)| *at);
        let location = first.unwrap_or(op).location();
        let schema = Schema {
            value: Arc::new(Value::Object(schema)),
            location: location.clone(),
        };
        let content = types
            .into_iter()
            .map(|mt| {
                let media = MediaType {
                    schema: Some(schema.clone()),
                    location: location.clone(),
                };
                (mt, media)
            })
            .collect();
        Ok(RequestBody {
            required: !required.is_empty(),
            description: None,
            content,
            extensions: first.map(At::extensions).unwrap_or_default(),
            location,
        })
    }

    fn responses_2(
        &mut self,
        op: &At<'a>,
        produces: &[String],
    ) -> Result<IndexMap<String, Response>, Error> {
        let mut out = IndexMap::new();
        let Some(responses) = op.get_present("responses") else {
            return Ok(out);
        };
        let Some(responses) = self.deref(responses)? else {
            return Ok(out);
        };
        responses.expect_object("`responses`")?;
        for (status, at) in responses.members() {
            if status.starts_with("x-") {
                continue;
            }
            self.check_status(status, &at);
            let Some(at) = self.deref(at.clone())? else {
                // Declared, but what it says is unknown.
                out.insert(status.to_owned(), Response::unknown(at.location()));
                continue;
            };
            at.expect_object("a response")?;
            let mut content = IndexMap::new();
            if let Some(schema_at) = at.get_present("schema") {
                let schema = self.schema(&schema_at)?;
                for mt in produces {
                    let media = MediaType {
                        schema: Some(schema.clone()),
                        location: schema_at.location(),
                    };
                    content.insert(mt.clone(), media);
                }
            }
            let mut headers = IndexMap::new();
            if let Some(declared) = at.get_present("headers")
                && let Some(declared) = self.deref(declared)?
            {
                declared.expect_object("`headers`")?;
                for (name, header) in declared.members() {
                    let schema = match self.deref(header)? {
                        Some(header) => self.inline_schema(&header)?,
                        None => None,
                    };
                    headers.insert(name.to_owned(), schema);
                }
            }
            let response = Response {
                description: self.description(&at),
                content,
                headers,
                extensions: at.extensions(),
                location: at.location(),
            };
            out.insert(status.to_owned(), response);
        }
        Ok(out)
    }
}

/// The value-describing keywords of a 2.0 parameter/header/items object, `items` included
/// (depth-limited; the parser already bounds nesting).
fn inline_keywords(value: &Value, depth: usize) -> Value {
    let mut out = Map::new();
    if let Value::Object(map) = value {
        for (key, v) in map {
            if !SCHEMA_KEYWORDS.contains(&key.as_str()) {
                continue;
            }
            if key == "items" && depth < 32 && v.is_object() {
                out.insert(key.clone(), inline_keywords(v, depth + 1));
            } else {
                out.insert(key.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}
