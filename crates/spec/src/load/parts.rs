//! OpenAPI 3.x parameters, request bodies, responses, media types and headers.

use indexmap::IndexMap;
use serde_json::Value;

use crate::error::Error;
use crate::model::{MediaType, Parameter, ParameterIn, RequestBody, Response, Schema, Server};

use super::node::{At, Builder, kind_of};
use super::operations::{ParamKey, Parts};

/// The parameter locations of 3.x.
pub(crate) fn parameter_in(keyword: &str) -> Option<ParameterIn> {
    match keyword {
        "path" => Some(ParameterIn::Path),
        "query" => Some(ParameterIn::Query),
        "header" => Some(ParameterIn::Header),
        "cookie" => Some(ParameterIn::Cookie),
        _ => None,
    }
}

/// The default `style` of a location: `form` for query and cookie, `simple` for path and header.
pub(crate) fn default_style(location_in: ParameterIn) -> &'static str {
    match location_in {
        ParameterIn::Query | ParameterIn::Cookie => "form",
        ParameterIn::Path | ParameterIn::Header => "simple",
    }
}

impl<'a> Builder<'a> {
    /// Parameters, body, responses and servers of a 3.x operation.
    pub fn parts_3(
        &mut self,
        op: &At<'a>,
        params: &[(ParamKey, At<'a>)],
        servers: Vec<Server>,
    ) -> Result<Parts, Error> {
        let mut parameters = Vec::with_capacity(params.len());
        for ((location_in, name), at) in params {
            let Some(location_in) = parameter_in(location_in) else {
                self.warn(
                    at.location_of("in"),
                    format!("the parameter {name:?} has `in: {location_in}`, which is not path, query, header or cookie; skipped"),
                );
                continue;
            };
            parameters.push(self.parameter_3(at, name, location_in)?);
        }
        let request_body = match op.get_present("requestBody") {
            Some(body) => self.request_body(body)?,
            None => None,
        };
        Ok(Parts {
            parameters,
            request_body,
            responses: self.responses_3(op)?,
            servers,
        })
    }

    fn parameter_3(
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
        let schema = match (at.get_present("schema"), at.get_present("content")) {
            (Some(schema), _) => Some(self.schema(&schema)?),
            (None, Some(content)) => self
                .content(&content)?
                .into_values()
                .next()
                .and_then(|m| m.schema),
            (None, None) => None,
        };
        let style = match at.value.get("style") {
            Some(Value::String(s)) => s.clone(),
            _ => default_style(location_in).to_owned(),
        };
        let explode_default = style == "form";
        Ok(Parameter {
            name: name.to_owned(),
            location_in,
            required,
            deprecated: self.flag(at, "deprecated", false),
            description: self.description(at),
            schema,
            explode: self.flag(at, "explode", explode_default),
            style,
            allow_empty_value: self.flag(at, "allowEmptyValue", false),
            extensions: at.extensions(),
            location: at.location(),
        })
    }

    /// A request body (`None` when a tolerant load cannot resolve its `$ref`).
    fn request_body(&mut self, at: At<'a>) -> Result<Option<RequestBody>, Error> {
        let Some(at) = self.deref(at)? else {
            return Ok(None);
        };
        at.expect_object("a request body")?;
        let content = match at.get_present("content") {
            Some(content) => self.content(&content)?,
            None => IndexMap::new(),
        };
        Ok(Some(RequestBody {
            required: self.flag(&at, "required", false),
            description: self.description(&at),
            content,
            extensions: at.extensions(),
            location: at.location(),
        }))
    }

    fn responses_3(&mut self, op: &At<'a>) -> Result<IndexMap<String, Response>, Error> {
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
            let content = match at.get_present("content") {
                Some(content) => self.content(&content)?,
                None => IndexMap::new(),
            };
            let mut headers = IndexMap::new();
            if let Some(declared) = at.get_present("headers")
                && let Some(declared) = self.deref(declared)?
            {
                declared.expect_object("`headers`")?;
                for (name, header) in declared.members() {
                    let schema = match self.deref(header)? {
                        Some(header) => self.header_schema_3(&header)?,
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

    /// The schema of a 3.x header object: `schema`, else that of its single `content` entry.
    fn header_schema_3(&mut self, at: &At<'a>) -> Result<Option<Schema>, Error> {
        if !at.value.is_object() {
            let found = kind_of(at.value);
            self.warn(
                at.location(),
                format!("a header should be a mapping, found {found}; ignored"),
            );
            return Ok(None);
        }
        Ok(
            match (at.get_present("schema"), at.get_present("content")) {
                (Some(schema), _) => Some(self.schema(&schema)?),
                (None, Some(content)) => self
                    .content(&content)?
                    .into_values()
                    .next()
                    .and_then(|m| m.schema),
                (None, None) => None,
            },
        )
    }

    /// Warns about a response key that is not a status code, a range (`2XX`) or `default`.
    pub fn check_status(&mut self, status: &str, at: &At<'a>) {
        let bytes = status.as_bytes();
        let valid = status == "default"
            || (bytes.len() == 3
                && matches!(bytes.first(), Some(b'1'..=b'5'))
                && (bytes.iter().all(u8::is_ascii_digit)
                    || bytes.get(1..) == Some(b"XX".as_slice())));
        if !valid {
            self.warn(
                at.location(),
                format!("the response key {status:?} is not a status code, a range such as `2XX`, or `default`"),
            );
        }
    }

    /// A `content` mapping: media type -> schema.
    pub fn content(&mut self, at: &At<'a>) -> Result<IndexMap<String, MediaType>, Error> {
        let mut out = IndexMap::new();
        let Some(at) = self.deref(at.clone())? else {
            return Ok(out);
        };
        at.expect_object("`content`")?;
        for (media_type, entry) in at.members() {
            self.check_media_type(media_type, &entry);
            let Some(entry) = self.deref(entry.clone())? else {
                let location = entry.location();
                out.insert(
                    media_type.to_owned(),
                    MediaType {
                        schema: None,
                        location,
                    },
                );
                continue;
            };
            if !entry.value.is_object() && !entry.value.is_null() {
                let found = kind_of(entry.value);
                return Err(entry.invalid(format!(
                    "a media type object must be a mapping, found {found}"
                )));
            }
            let schema = match entry.get_present("schema") {
                Some(schema) => Some(self.schema(&schema)?),
                None => None,
            };
            out.insert(
                media_type.to_owned(),
                MediaType {
                    schema,
                    location: entry.location(),
                },
            );
        }
        Ok(out)
    }

    /// Warns about a media-type key that is not `type/subtype` (ranges like `*/*` are fine).
    pub fn check_media_type(&mut self, media_type: &str, at: &At<'a>) {
        let essence = media_type.split(';').next().unwrap_or("").trim();
        let valid = essence.split_once('/').is_some_and(|(t, s)| {
            let token = |x: &str| {
                !x.is_empty()
                    && x.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
            };
            token(t) && token(s)
        });
        if !valid {
            self.warn(
                at.location(),
                format!("{media_type:?} is not a media type of the form `type/subtype`"),
            );
        }
    }
}
