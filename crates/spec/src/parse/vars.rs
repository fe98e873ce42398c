//! `${VAR}` substitution in a parsed configuration (the gateway's and the scanner's files):
//! `${VAR}` and `${VAR:-default}` in every string value, `$${` for a literal `${`; an unset
//! variable without a default, or a malformed reference, is an error at its JSON pointer.

use serde_json::Value;

use crate::pointer::escape_token;

/// Substitutes the variables of every string in `value` from `env`; on failure, the JSON
/// pointer of the string and what is wrong.
pub fn substitute_vars(
    value: &mut Value,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), (String, String)> {
    substitute(value, &mut String::new(), env)
}

/// Replaces `${VAR}` and `${VAR:-default}` in every string value; `$${` is a literal `${`.
fn substitute(
    value: &mut Value,
    pointer: &mut String,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), (String, String)> {
    match value {
        Value::String(s) if s.contains('$') => {
            *s = expand_vars(s, env).map_err(|m| (pointer.clone(), m))?;
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                substitute(item, pointer, env)?;
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&escape_token(k));
                substitute(v, pointer, env)?;
                pointer.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Expands the variables of one string (`${VAR}`, `${VAR:-default}`, `$${` for `${`).
pub fn expand_vars(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(rest.get(..i).unwrap_or_default());
        let after = rest.get(i + 1..).unwrap_or_default();
        if let Some(tail) = after.strip_prefix("${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ in {text:?}"))?;
            let inner = body.get(..end).unwrap_or_default();
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            let valid =
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                return Err(format!("${{{inner}}} is not a variable name"));
            }
            match (env(name), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => {
                    return Err(format!(
                        "environment variable {name} is not set (write ${{{name}:-default}} for a default)"
                    ));
                }
            }
            rest = body.get(end + 1..).unwrap_or_default();
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}
