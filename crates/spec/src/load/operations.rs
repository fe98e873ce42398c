//! Operations: the walk over `paths`, what every version shares (ids, tags, security,
//! extensions, parameter merging, path-template checks), and the dispatch to the 3.x
//! (`parts.rs`) or 2.0 (`swagger2.rs`) builders of parameters, bodies and responses.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use serde_json::Value;

use crate::error::Error;
use crate::model::{
    Method, Operation, Parameter, RequestBody, Response, SecurityOrigin, SecurityRequirement,
    Server, SpecVersion,
};
use crate::pointer;

use super::node::{At, Builder, kind_of};

/// What a version-specific builder makes of one operation.
pub(crate) struct Parts {
    /// Parameters (path, query, header, cookie).
    pub parameters: Vec<Parameter>,
    /// The request body.
    pub request_body: Option<RequestBody>,
    /// Responses by status key.
    pub responses: IndexMap<String, Response>,
    /// Effective servers.
    pub servers: Vec<Server>,
}

impl<'a> Builder<'a> {
    /// Every operation under `paths`, in document order, with unique ids.
    pub fn operations(
        &mut self,
        root: &At<'a>,
        servers: &[Server],
        global_security: Option<&[SecurityRequirement]>,
    ) -> Result<Vec<Operation>, Error> {
        let mut ops = Vec::new();
        let Some(paths) = root.get_present("paths") else {
            return Ok(ops);
        };
        let Some(paths) = self.deref(paths)? else {
            return Ok(ops);
        };
        paths.expect_object("`paths`")?;
        for (template, item) in paths.members() {
            if template.starts_with("x-") {
                continue;
            }
            if !template.starts_with('/') {
                self.warn(
                    item.location(),
                    format!("the path {template:?} does not start with `/`"),
                );
            }
            let Some(item) = self.deref(item)? else {
                continue;
            };
            if item.value.is_null() {
                continue;
            }
            item.expect_object("a path item")?;
            let shared = match item.get_present("parameters") {
                Some(list) => self.parameter_list(&list)?,
                None => Vec::new(),
            };
            let item_servers = match self.version {
                SpecVersion::Swagger2 => None,
                _ => self.servers(&item)?,
            };
            for method in Method::ALL {
                let Some(op) = item.get_present(method.key()) else {
                    continue;
                };
                let Some(op) = self.deref(op)? else {
                    continue;
                };
                op.expect_object("an operation")?;
                let own = match op.get_present("parameters") {
                    Some(list) => self.parameter_list(&list)?,
                    None => Vec::new(),
                };
                let params = merge(shared.clone(), own);
                let parts = match self.version {
                    SpecVersion::Swagger2 => self.swagger2_parts(root, &op, &params, servers)?,
                    _ => {
                        let op_servers = match self.servers(&op)? {
                            Some(s) => s,
                            None => item_servers.clone().unwrap_or_else(|| servers.to_vec()),
                        };
                        self.parts_3(&op, &params, op_servers)?
                    }
                };
                self.check_template(template, &op, &parts.parameters);
                ops.push(self.operation(template, method, &item, &op, parts, global_security)?);
            }
        }
        self.assign_ids(&mut ops);
        Ok(ops)
    }

    fn operation(
        &mut self,
        template: &str,
        method: Method,
        item: &At<'a>,
        op: &At<'a>,
        parts: Parts,
        global_security: Option<&[SecurityRequirement]>,
    ) -> Result<Operation, Error> {
        let operation_id = match op.value.get("operationId") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(other) => {
                let found = kind_of(other);
                self.warn(
                    op.location_of("operationId"),
                    format!("`operationId` should be a string, found {found}; ignored"),
                );
                None
            }
        };
        let (security, security_origin) = match op.get_present("security") {
            Some(at) => (self.requirements(&at)?, SecurityOrigin::Operation),
            None => match global_security {
                Some(global) => (global.to_vec(), SecurityOrigin::Global),
                None => (Vec::new(), SecurityOrigin::None),
            },
        };
        let mut extensions = item.extensions();
        extensions.extend(op.extensions());
        Ok(Operation {
            id: String::new(),
            operation_id,
            method,
            path: template.to_owned(),
            summary: self.text(op, "summary"),
            description: self.description(op),
            tags: self.strings(op, "tags"),
            deprecated: self.flag(op, "deprecated", false),
            parameters: parts.parameters,
            request_body: parts.request_body,
            responses: parts.responses,
            security,
            security_origin,
            servers: parts.servers,
            extensions,
            location: op.location(),
        })
    }

    /// A `parameters` list, each item dereferenced and keyed by `in` + `name`.
    fn parameter_list(&mut self, list: &At<'a>) -> Result<Vec<(ParamKey, At<'a>)>, Error> {
        list.expect_array("`parameters`")?;
        let mut out = Vec::new();
        for item in list.items() {
            let Some(at) = self.deref(item)? else {
                continue;
            };
            at.expect_object("a parameter")?;
            let name = match at.value.get("name") {
                Some(Value::String(name)) => name.clone(),
                Some(other) => {
                    return Err(at.invalid(format!(
                        "a parameter's `name` must be a string, found {}",
                        kind_of(other)
                    )));
                }
                None => return Err(at.invalid("a parameter has no `name`")),
            };
            let Some(location_in) = at.str("in") else {
                return Err(at.invalid(format!("the parameter {name:?} has no string `in`")));
            };
            out.push(((location_in.to_owned(), name), at));
        }
        Ok(out)
    }

    /// Warns about path template variables without a path parameter, and the reverse.
    fn check_template(&mut self, template: &str, op: &At<'a>, params: &[Parameter]) {
        let vars = template_variables(template);
        let declared: HashSet<&str> = params
            .iter()
            .filter(|p| p.location_in == crate::model::ParameterIn::Path)
            .map(|p| p.name.as_str())
            .collect();
        for var in &vars {
            if !declared.contains(var) {
                self.warn(
                    op.location(),
                    format!("`{{{var}}}` in the path {template:?} has no declared path parameter"),
                );
            }
        }
        for p in params {
            if p.location_in == crate::model::ParameterIn::Path && !vars.contains(&p.name.as_str())
            {
                self.warn(
                    p.location.clone(),
                    format!(
                        "the path parameter {:?} does not appear in the path {template:?}",
                        p.name
                    ),
                );
            }
        }
    }

    /// Gives every operation its id: the `operationId` when unique, else one generated from
    /// method and path; each duplicate `operationId` is warned about.
    fn assign_ids(&mut self, ops: &mut [Operation]) {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for op in ops.iter() {
            if let Some(id) = op.operation_id.as_deref() {
                *counts.entry(id).or_default() += 1;
            }
        }
        let unique: HashSet<String> = counts
            .into_iter()
            .filter(|(id, n)| *n == 1 && !id.is_empty())
            .map(|(id, _)| id.to_owned())
            .collect();
        let mut used: HashSet<String> = unique.clone();
        for op in ops.iter_mut() {
            match op.operation_id.as_deref() {
                Some(id) if unique.contains(id) => op.id = id.to_owned(),
                declared => {
                    let base = generated_id(op.method, &op.path);
                    let mut id = base.clone();
                    let mut n = 2;
                    while used.contains(&id) {
                        id = format!("{base}_{n}");
                        n += 1;
                    }
                    if let Some(declared) = declared {
                        let location = self.files.locate_named(
                            &op.location.file,
                            &pointer::push(&op.location.pointer, "operationId"),
                        );
                        self.warn(
                            location,
                            format!("the operationId {declared:?} is not unique; this operation ({} {}) is named {id:?}", op.method, op.path),
                        );
                    }
                    used.insert(id.clone());
                    op.id = id;
                }
            }
        }
    }
}

/// `in` + `name` of a parameter.
pub(crate) type ParamKey = (String, String);

/// Path-level parameters overridden by operation-level ones with the same `in` + `name`.
fn merge<'a>(
    mut shared: Vec<(ParamKey, At<'a>)>,
    own: Vec<(ParamKey, At<'a>)>,
) -> Vec<(ParamKey, At<'a>)> {
    for (key, at) in own {
        match shared.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = at,
            None => shared.push((key, at)),
        }
    }
    shared
}

/// The `{name}` variables of a path template, in order.
pub(crate) fn template_variables(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = rest.get(start + 1..).unwrap_or("");
        let Some(end) = after.find('}') else { break };
        if let Some(name) = after.get(..end) {
            out.push(name);
        }
        rest = after.get(end + 1..).unwrap_or("");
    }
    out
}

/// `get /pets/{petId}` -> `get_pets_petId`: the method, then the path with every run of
/// characters outside `[A-Za-z0-9]` turned into one `_`.
pub(crate) fn generated_id(method: Method, path: &str) -> String {
    let mut id = method.key().to_owned();
    let mut pending_sep = true;
    for c in path.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_sep {
                id.push('_');
                pending_sep = false;
            }
            id.push(c);
        } else {
            pending_sep = true;
        }
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids() {
        assert_eq!(generated_id(Method::Get, "/pets/{petId}"), "get_pets_petId");
        assert_eq!(generated_id(Method::Post, "/"), "post");
        assert_eq!(
            generated_id(Method::Delete, "/a-b/{c.d}/é"),
            "delete_a_b_c_d"
        );
    }

    #[test]
    fn template_vars() {
        assert_eq!(template_variables("/a/{b}/c{d}.json"), vec!["b", "d"]);
        assert_eq!(template_variables("/a/{b"), Vec::<&str>::new());
        assert_eq!(template_variables("/"), Vec::<&str>::new());
    }
}
