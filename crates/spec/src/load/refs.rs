//! `$ref` resolution: reading every file a document refers to (once each, by canonical path),
//! then turning a reference written in one file into the node it names.
//!
//! Files are all read up front ([`Files::read_all`]), so the catalog builder works over an
//! immutable set of parsed files and can hold plain borrows into them. A file that cannot be
//! read or parsed does not stop the load there: the failure is kept and reported, with the
//! chain of references, only if the builder actually follows a reference into it.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use serde_json::Value;

use crate::error::Error;
use crate::model::Location;
use crate::source::SourceFile;

use super::node::At;

/// Longest chain of references followed before giving up (a chain of `$ref`s to `$ref`s).
const MAX_CHAIN: usize = 64;

/// Where the file part of a reference leads.
#[derive(Debug)]
enum Link {
    /// The file at this index.
    File(usize),
    /// The file could not be read or parsed (the reason, with its place).
    Failed(String),
}

/// Parses one file, given its path and display name.
pub(crate) type ReadFile<'r> = dyn FnMut(&Path, Arc<str>) -> Result<SourceFile, Error> + 'r;

/// How much [`Files::read_all`] may read.
pub(crate) struct ReadLimits {
    /// Most files read in all, the root included.
    pub max_files: usize,
    /// Most bytes read in all, the root included.
    pub max_total_bytes: u64,
    /// When set (a canonical path), files outside this folder are not read.
    pub confine_to: Option<PathBuf>,
}

/// Every parsed file of one document, root first, and where each external reference leads.
#[derive(Debug, Default)]
pub(crate) struct Files {
    files: Vec<Arc<SourceFile>>,
    /// `(referring file, file part of the reference as written)` -> target.
    links: HashMap<(usize, String), Link>,
    /// Loaded from a string: no other file can be read.
    in_memory: bool,
}

impl Files {
    /// A document loaded from a string: external references lead nowhere.
    pub fn in_memory(root: SourceFile) -> Files {
        Files {
            files: vec![Arc::new(root)],
            links: HashMap::new(),
            in_memory: true,
        }
    }

    /// Reads `root` and, transitively, every file its relative `$ref`s name. `read` parses one
    /// file given its path and display name. Exceeding `limits` is fatal; a file that cannot
    /// be read or parsed is only reported if a reference into it is followed.
    pub fn read_all(
        root: SourceFile,
        limits: &ReadLimits,
        read: &mut ReadFile<'_>,
    ) -> Result<Files, Error> {
        let mut total = root.bytes;
        if total > limits.max_total_bytes {
            return Err(Error::TooLarge {
                path: root.path.clone(),
                size: total,
                limit: limits.max_total_bytes,
            });
        }
        let mut by_path: HashMap<PathBuf, usize> = HashMap::new();
        if let Ok(canonical) = std::fs::canonicalize(&root.path) {
            by_path.insert(canonical, 0);
        }
        let mut files = Files {
            files: vec![Arc::new(root)],
            links: HashMap::new(),
            in_memory: false,
        };
        let mut next = 0;
        while let Some(file) = files.files.get(next).cloned() {
            let fid = next;
            next += 1;
            let mut external = Vec::new();
            collect_external_refs(&file.value, &mut external);
            for part in external {
                if files.links.contains_key(&(fid, part.clone())) {
                    continue;
                }
                let link = files.read_link(&file, &part, &mut by_path, &mut total, limits, read)?;
                files.links.insert((fid, part), link);
            }
        }
        Ok(files)
    }

    fn read_link(
        &mut self,
        from: &SourceFile,
        part: &str,
        by_path: &mut HashMap<PathBuf, usize>,
        total: &mut u64,
        limits: &ReadLimits,
        read: &mut ReadFile<'_>,
    ) -> Result<Link, Error> {
        let decoded = match percent_decode_str(part).decode_utf8() {
            Ok(d) => d.into_owned(),
            Err(_) => return Ok(Link::Failed(format!("{part:?} is not a valid file name"))),
        };
        let dir = from.path.parent().unwrap_or(Path::new(""));
        let path = dir.join(&decoded);
        let canonical = match std::fs::canonicalize(&path) {
            Ok(c) => c,
            Err(e) => {
                return Ok(Link::Failed(format!("cannot read {}: {e}", path.display())));
            }
        };
        if let Some(&fid) = by_path.get(&canonical) {
            return Ok(Link::File(fid));
        }
        // Devices, pipes and folders could block or never end: only regular files are read.
        if !std::fs::metadata(&canonical).is_ok_and(|m| m.is_file()) {
            return Ok(Link::Failed(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        if let Some(root) = &limits.confine_to
            && !canonical.starts_with(root)
        {
            return Ok(Link::Failed(format!(
                "{} is outside {}, the folder references are confined to",
                path.display(),
                root.display()
            )));
        }
        if self.files.len() >= limits.max_files {
            return Err(Error::Invalid {
                location: from.locate(""),
                message: format!(
                    "the document refers to more than {} files (following {part:?})",
                    limits.max_files
                ),
            });
        }
        let name_dir = Path::new(&*from.name).parent().unwrap_or(Path::new(""));
        let name: Arc<str> = Arc::from(normalize(&name_dir.join(&decoded)).to_string_lossy());
        let file = match read(&path, name) {
            Ok(f) => f,
            Err(e) => return Ok(Link::Failed(e.to_string())),
        };
        *total = total.saturating_add(file.bytes);
        if *total > limits.max_total_bytes {
            return Err(Error::Invalid {
                location: from.locate(""),
                message: format!(
                    "the files reached through $ref exceed {} bytes in all (at {})",
                    limits.max_total_bytes, file.name
                ),
            });
        }
        let fid = self.files.len();
        self.files.push(Arc::new(file));
        by_path.insert(canonical, fid);
        Ok(Link::File(fid))
    }

    /// Every file, root first (for the catalog's source map).
    pub fn into_files(self) -> Vec<Arc<SourceFile>> {
        self.files
    }

    /// The location of `pointer` in the file named `name` (as in a [`Location`]).
    pub fn locate_named(&self, name: &str, pointer: &str) -> Location {
        // Most locations are in the root; the others are found by a scan.
        let root_first = self.files.first().filter(|f| &*f.name == name).map(|_| 0);
        match root_first.or_else(|| self.files.iter().position(|f| &*f.name == name)) {
            Some(fid) => self.locate(fid, pointer),
            None => Location {
                file: Arc::from(name),
                pointer: pointer.to_owned(),
                line: 0,
                column: 0,
            },
        }
    }

    /// The root node of file `fid`.
    pub fn root(&self, fid: usize) -> Option<At<'_>> {
        let file = self.files.get(fid)?;
        Some(At {
            fid,
            file,
            value: &file.value,
            ptr: String::new(),
        })
    }

    /// The node at `pointer` (unescaped RFC 6901, no percent-encoding) of file `fid`.
    pub fn at(&self, fid: usize, pointer: &str) -> Option<At<'_>> {
        let file = self.files.get(fid)?;
        Some(At {
            fid,
            file,
            value: file.value.pointer(pointer)?,
            ptr: pointer.to_owned(),
        })
    }

    /// The location of `pointer` in file `fid`.
    pub fn locate(&self, fid: usize, pointer: &str) -> Location {
        match self.files.get(fid) {
            Some(f) => f.locate(pointer),
            None => Location {
                file: Arc::from(""),
                pointer: pointer.to_owned(),
                line: 0,
                column: 0,
            },
        }
    }

    /// The node `reference` names, written in file `fid`; the reason when it names none.
    pub fn resolve(&self, fid: usize, reference: &str) -> Result<At<'_>, String> {
        let (part, fragment) = match reference.split_once('#') {
            Some((part, fragment)) => (part, fragment),
            None => (reference, ""),
        };
        let target = if part.is_empty() {
            fid
        } else if let Some(scheme) = uri_scheme(part) {
            return Err(
                if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") {
                    "remote references are not fetched".to_owned()
                } else {
                    format!("`{scheme}:` references are not supported")
                },
            );
        } else {
            match self.links.get(&(fid, part.to_owned())) {
                Some(Link::File(target)) => *target,
                Some(Link::Failed(why)) => return Err(why.clone()),
                None if self.in_memory => {
                    return Err(
                        "a document loaded from a string cannot refer to other files".to_owned(),
                    );
                }
                None => return Err(format!("the file {part:?} was not read")),
            }
        };
        let file = self
            .files
            .get(target)
            .ok_or_else(|| format!("the file {part:?} was not read"))?;
        let decoded = percent_decode_str(fragment)
            .decode_utf8()
            .map_err(|_| format!("the fragment {fragment:?} is not valid UTF-8 once decoded"))?;
        if !decoded.is_empty() && !decoded.starts_with('/') {
            return Err(format!(
                "the fragment {fragment:?} is not a JSON pointer (anchors are not supported)"
            ));
        }
        // A fragment should be percent-encoded, but some writers leave `%` as it is.
        let (ptr, value) = match file.value.pointer(&decoded) {
            Some(v) => (decoded.into_owned(), v),
            None => match file.value.pointer(fragment) {
                Some(v) => (fragment.to_owned(), v),
                None => {
                    return Err(format!(
                        "nothing at {} in {}",
                        if decoded.is_empty() { "#" } else { &decoded },
                        file.name
                    ));
                }
            },
        };
        Ok(At {
            fid: target,
            file,
            value,
            ptr,
        })
    }

    /// Follows `$ref`s from `at` until a node that is not a reference (parameters,
    /// responses, path items and every other object that is inlined where it is used).
    /// A dangling reference or a cycle is an [`Error::Ref`] naming the chain.
    pub fn deref<'a>(&'a self, at: At<'a>) -> Result<At<'a>, Error> {
        let Some(first) = ref_of(at.value) else {
            return Ok(at);
        };
        let origin = at.location_of("$ref");
        let mut chain = vec![describe(&at)];
        let mut seen = HashSet::from([(at.fid, at.ptr.clone())]);
        let fail = |chain: &[String], why: String| Error::Ref {
            location: origin.clone(),
            reference: first.to_owned(),
            message: format!("{why} (followed {})", chain.join(" -> ")),
        };
        let mut current = at;
        while let Some(reference) = ref_of(current.value) {
            if chain.len() > MAX_CHAIN {
                return Err(fail(
                    &chain,
                    format!("more than {MAX_CHAIN} references in a row"),
                ));
            }
            let next = match self.resolve(current.fid, reference) {
                Ok(next) => next,
                Err(why) => {
                    let written = current.location_of("$ref");
                    return Err(fail(
                        &chain,
                        format!("{why}; {reference:?} is written at {written}"),
                    ));
                }
            };
            chain.push(describe(&next));
            if !seen.insert((next.fid, next.ptr.clone())) {
                return Err(fail(
                    &chain,
                    "the references form a cycle that never reaches a value".to_owned(),
                ));
            }
            current = next;
        }
        Ok(current)
    }
}

/// The `$ref` string of a mapping, if it has one.
pub(crate) fn ref_of(value: &Value) -> Option<&str> {
    value.as_object()?.get("$ref")?.as_str()
}

/// `file#pointer`, for messages.
pub(crate) fn describe(at: &At<'_>) -> String {
    format!("{}#{}", at.file.name, at.ptr)
}

/// The scheme of an absolute URI (`https` in `https://x/y`), if `part` is one. A single
/// letter is a Windows drive, not a scheme.
fn uri_scheme(part: &str) -> Option<&str> {
    let (scheme, _) = part.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (scheme.len() > 1
        && first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

/// The distinct file parts of every relative `$ref` in `value` (iteratively: no recursion on
/// deep documents).
fn collect_external_refs(value: &Value, out: &mut Vec<String>) {
    let mut seen = HashSet::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    let part = r.split_once('#').map_or(r.as_str(), |(p, _)| p);
                    if !part.is_empty() && uri_scheme(part).is_none() && seen.insert(part) {
                        out.push(part.to_owned());
                    }
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
}

/// Removes `.` and folds `name/..` lexically (for display names only; files are identified
/// by canonical path).
fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(c),
            },
            _ => out.push(c),
        }
    }
    out.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Positions;
    use serde_json::json;

    fn files(value: Value) -> Files {
        Files::in_memory(SourceFile {
            name: Arc::from("api.yaml"),
            path: PathBuf::new(),
            value,
            positions: Positions::default(),
            bytes: 0,
        })
    }

    #[test]
    fn resolves_escaped_and_percent_encoded_pointers() {
        let f = files(json!({"paths": {"/a/{id}": {"get": {"x": 1}}}, "d": {"a b~c": 2}}));
        let at = f.resolve(0, "#/paths/~1a~1%7Bid%7D/get").unwrap();
        assert_eq!(at.value, &json!({"x": 1}));
        assert_eq!(at.ptr, "/paths/~1a~1{id}/get");
        assert_eq!(f.resolve(0, "#/d/a%20b~0c").unwrap().value, &json!(2));
        assert_eq!(f.resolve(0, "#").unwrap().ptr, "");
        assert!(
            f.resolve(0, "#/d/none")
                .unwrap_err()
                .contains("nothing at /d/none")
        );
        assert!(f.resolve(0, "#anchor").unwrap_err().contains("anchors"));
        assert_eq!(
            f.resolve(0, "https://example.com/x.yaml#/a").unwrap_err(),
            "remote references are not fetched"
        );
        assert!(
            f.resolve(0, "other.yaml#/a")
                .unwrap_err()
                .contains("from a string")
        );
    }

    #[test]
    fn deref_follows_chains_and_reports_cycles() {
        let f = files(json!({
            "p": {"A": {"$ref": "#/p/B"}, "B": {"$ref": "#/p/C"}, "C": {"name": "c"},
                  "X": {"$ref": "#/p/Y"}, "Y": {"$ref": "#/p/X"}, "D": {"$ref": "#/p/none"}}
        }));
        let a = f.root(0).unwrap().get("p").unwrap().get("A").unwrap();
        assert_eq!(f.deref(a).unwrap().ptr, "/p/C");
        let x = f.root(0).unwrap().get("p").unwrap().get("X").unwrap();
        let err = f.deref(x).unwrap_err().to_string();
        assert!(err.contains("cycle"), "{err}");
        assert!(
            err.contains("api.yaml#/p/X -> api.yaml#/p/Y -> api.yaml#/p/X"),
            "{err}"
        );
        let d = f.root(0).unwrap().get("p").unwrap().get("D").unwrap();
        let err = f.deref(d).unwrap_err().to_string();
        assert!(err.contains("nothing at /p/none"), "{err}");
    }

    #[test]
    fn schemes_and_drive_letters() {
        assert_eq!(uri_scheme("https://x"), Some("https"));
        assert_eq!(uri_scheme("urn:x"), Some("urn"));
        assert_eq!(uri_scheme("C:/x.yaml"), None);
        assert_eq!(uri_scheme("../x.yaml"), None);
        assert_eq!(
            normalize(Path::new("a/./b/../c.yaml")),
            PathBuf::from("a/c.yaml")
        );
        assert_eq!(
            normalize(Path::new("../x/../../y")),
            PathBuf::from("../../y")
        );
    }
}
