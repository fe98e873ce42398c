//! OpenAPI 3.x `servers` (root, path item, operation), with variables substituted.

use serde_json::Value;

use crate::error::Error;
use crate::model::Server;

use super::node::{At, Builder, kind_of};

impl<'a> Builder<'a> {
    /// The `servers` of `at`, or `None` when absent or empty (the level above applies).
    pub fn servers(&mut self, at: &At<'a>) -> Result<Option<Vec<Server>>, Error> {
        let Some(list) = at.get_present("servers") else {
            return Ok(None);
        };
        list.expect_array("`servers`")?;
        let mut out = Vec::new();
        for item in list.items() {
            if let Some(item) = self.deref(item)? {
                out.push(self.server(&item)?);
            }
        }
        Ok((!out.is_empty()).then_some(out))
    }

    /// The root `servers`, or the single server `/` when there are none.
    pub fn servers_or_default(&mut self, root: &At<'a>) -> Result<Vec<Server>, Error> {
        Ok(match self.servers(root)? {
            Some(servers) => servers,
            None => vec![Server {
                url: "/".to_owned(),
                resolved_url: "/".to_owned(),
                base_path: String::new(),
                description: None,
                location: root.location_of("servers"),
            }],
        })
    }

    fn server(&mut self, at: &At<'a>) -> Result<Server, Error> {
        at.expect_object("a server")?;
        let url = match at.value.get("url") {
            Some(Value::String(url)) => url.clone(),
            Some(other) => {
                return Err(at.invalid(format!(
                    "a server's `url` must be a string, found {}",
                    kind_of(other)
                )));
            }
            None => return Err(at.invalid("a server has no `url`")),
        };
        let mut resolved = url.clone();
        if let Some(vars) = at.get_present("variables") {
            for (name, var) in vars.members() {
                let default = match var.value.get("default") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    _ => {
                        self.warn(
                            var.location(),
                            format!("server variable {name:?} has no string `default`"),
                        );
                        continue;
                    }
                };
                resolved = resolved.replace(&format!("{{{name}}}"), &default);
            }
        }
        if resolved.contains('{') {
            self.warn(
                at.location_of("url"),
                format!(
                    "the server URL {url:?} uses a variable that is not declared with a default"
                ),
            );
        }
        Ok(Server {
            base_path: base_path(&resolved),
            resolved_url: resolved,
            url,
            description: self.text(at, "description"),
            location: at.location(),
        })
    }
}

/// The path of a server URL without a trailing slash: `https://h/v1/` -> `/v1`,
/// `https://h` -> ``, `/api` -> `/api`, `//h/x` -> `/x`.
pub(crate) fn base_path(url: &str) -> String {
    let without_scheme = match url.find("://") {
        Some(i) if url.get(..i).is_some_and(|s| !s.contains(['/', '?', '#'])) => {
            url.get(i + 3..).unwrap_or("")
        }
        _ => url,
    };
    let path = if url.len() != without_scheme.len() {
        // After `scheme://` comes the authority, then the path.
        without_scheme
            .find('/')
            .and_then(|i| without_scheme.get(i..))
            .unwrap_or("")
    } else if let Some(rest) = url.strip_prefix("//") {
        rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("")
    } else {
        url
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let path = path.trim_end_matches('/');
    if path.is_empty() || path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::base_path;

    #[test]
    fn base_paths() {
        assert_eq!(base_path("https://api.example.com"), "");
        assert_eq!(base_path("https://api.example.com/"), "");
        assert_eq!(base_path("https://api.example.com/v1/"), "/v1");
        assert_eq!(base_path("http://h:8080/a/b?x=1"), "/a/b");
        assert_eq!(base_path("/"), "");
        assert_eq!(base_path("/api/v2"), "/api/v2");
        assert_eq!(base_path("//h/x/"), "/x");
        assert_eq!(base_path("v1"), "/v1");
        assert_eq!(base_path(""), "");
    }
}
