//! Building a [`Router`] from a catalog: base paths, templates, nodes, warnings.

use std::collections::HashMap;

use super::template::{Template, TemplateError};
use super::tree::Tree;
use super::{
    Endpoint, Node, RouteProblem, RouteWarning, Router, RouterOptions, method_index, warning,
};
use crate::model::{Catalog, Operation, Server};
use crate::normalize::{MAX_SEGMENTS, normalize_path};

impl Router {
    /// Builds the router for every operation of `catalog`.
    ///
    /// Returns the router and the routes it could not add, each naming the operation and
    /// why (an invalid template, an invalid base path, a duplicate method on an equivalent
    /// template). Building never fails: a document with problems still routes the rest.
    pub fn new(catalog: &Catalog, options: &RouterOptions) -> (Router, Vec<RouteWarning>) {
        let mut builder = Builder::default();
        let fixed = options
            .base_paths
            .as_ref()
            .map(|list| builder.bases(list.iter().map(String::as_str)));
        for (index, op) in catalog.operations.iter().enumerate() {
            let bases = match &fixed {
                Some(bases) => bases.clone(),
                None => {
                    let servers: &[Server] = if op.servers.is_empty() {
                        &catalog.servers
                    } else {
                        &op.servers
                    };
                    builder.bases(servers.iter().map(|s| s.base_path.as_str()))
                }
            };
            builder.add(index, op, &bases, catalog);
        }
        let Builder {
            tree,
            nodes,
            warnings,
            ..
        } = builder;
        (Router { tree, nodes }, warnings)
    }
}

/// Build state.
#[derive(Default)]
struct Builder {
    tree: Tree,
    nodes: Vec<Node>,
    warnings: Vec<RouteWarning>,
    /// Node index by shape key.
    by_key: HashMap<String, usize>,
    /// Normalized base paths by the text declared (`None` when invalid, warned once).
    base_cache: HashMap<String, Option<usize>>,
    /// Distinct normalized base paths, as literal templates.
    base_list: Vec<Template>,
}

impl Builder {
    /// The distinct, normalized base paths among `declared` (indexes into `base_list`),
    /// or the root when there is none. Invalid ones are warned about once and skipped.
    fn bases<'a>(&mut self, declared: impl Iterator<Item = &'a str>) -> Vec<usize> {
        let mut out = Vec::new();
        let mut any = false;
        for text in declared {
            any = true;
            match self.base(text) {
                Some(base) if !out.contains(&base) => out.push(base),
                _ => {}
            }
        }
        if !any {
            out.extend(self.base(""));
        }
        out
    }

    /// One base path, normalized and cached.
    fn base(&mut self, text: &str) -> Option<usize> {
        if let Some(cached) = self.base_cache.get(text) {
            return *cached;
        }
        let normalized = if text.is_empty() {
            Ok(Template::literal(""))
        } else {
            normalize_path(text).map(|p| Template::literal(p.as_str()))
        };
        let slot = match normalized {
            Ok(template) => match self.base_list.iter().position(|b| *b == template) {
                Some(existing) => Some(existing),
                None => {
                    self.base_list.push(template);
                    Some(self.base_list.len() - 1)
                }
            },
            Err(error) => {
                self.warnings.push(RouteWarning {
                    operation: None,
                    operation_id: None,
                    method: None,
                    path: text.to_owned(),
                    problem: RouteProblem::BasePath(error),
                });
                None
            }
        };
        self.base_cache.insert(text.to_owned(), slot);
        slot
    }

    /// Adds one operation under each of its base paths.
    fn add(&mut self, index: usize, op: &Operation, bases: &[usize], catalog: &Catalog) {
        let template = match Template::parse(&op.path) {
            Ok(t) => t,
            Err(e) => {
                self.warnings.push(warning(index, op, e.into()));
                return;
            }
        };
        let names = template.param_names().into_boxed_slice();
        let mut duplicate_of = None;
        let mut too_long = false;
        for &base in bases {
            let Some(base) = self.base_list.get(base) else {
                continue;
            };
            let full = template.under(base);
            if full.segments.len() > MAX_SEGMENTS {
                too_long = true;
                continue;
            }
            let node = self.node(full);
            let Some(slot) = self
                .nodes
                .get_mut(node)
                .and_then(|n| n.endpoints.get_mut(method_index(op.method)))
            else {
                continue;
            };
            match slot {
                Some(existing) if existing.operation != index => {
                    duplicate_of.get_or_insert(existing.operation);
                }
                Some(_) => {}
                None => {
                    *slot = Some(Endpoint {
                        operation: index,
                        names: names.clone(),
                    });
                }
            }
        }
        if too_long {
            let problem = TemplateError::TooManySegments {
                limit: MAX_SEGMENTS,
            };
            self.warnings.push(warning(index, op, problem.into()));
        }
        if let Some(other) = duplicate_of {
            let other = catalog
                .operations
                .get(other)
                .map_or_else(|| other.to_string(), |o| o.id.clone());
            self.warnings
                .push(warning(index, op, RouteProblem::Duplicate { other }));
        }
    }

    /// The node for a full template (base path + template), created on first use.
    fn node(&mut self, full: Template) -> usize {
        let key = full.key();
        if let Some(&existing) = self.by_key.get(&key) {
            return existing;
        }
        let index = self.tree.insert(&full, self.nodes.len());
        if index == self.nodes.len() {
            self.nodes.push(Node {
                key: key.clone(),
                endpoints: Default::default(),
            });
        }
        self.by_key.insert(key, index);
        index
    }
}
