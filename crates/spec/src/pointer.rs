//! RFC 6901 JSON pointer helpers: escaping of reference tokens and building pointers.

use std::borrow::Cow;

/// Escapes one reference token: `~` becomes `~0`, `/` becomes `~1`.
pub fn escape_token(token: &str) -> Cow<'_, str> {
    if token.contains(['~', '/']) {
        Cow::Owned(token.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(token)
    }
}

/// Unescapes one reference token: `~1` becomes `/`, `~0` becomes `~` (in that order).
pub fn unescape_token(token: &str) -> Cow<'_, str> {
    if token.contains('~') {
        Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(token)
    }
}

/// Appends one (unescaped) token to a pointer.
pub fn push(pointer: &str, token: &str) -> String {
    let token = escape_token(token);
    let mut out = String::with_capacity(pointer.len() + token.len() + 1);
    out.push_str(pointer);
    out.push('/');
    out.push_str(&token);
    out
}

/// Splits a pointer into its unescaped tokens. `""` gives no tokens; a pointer that does not
/// start with `/` gives `None`.
pub fn tokens(pointer: &str) -> Option<Vec<Cow<'_, str>>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    let rest = pointer.strip_prefix('/')?;
    Some(rest.split('/').map(unescape_token).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_in_the_right_order() {
        assert_eq!(escape_token("a/b~c"), "a~1b~0c");
        assert_eq!(unescape_token("a~1b~0c"), "a/b~c");
        // `~01` is `~` followed by `1`, never `/`.
        assert_eq!(unescape_token("~01"), "~1");
        assert_eq!(push("/paths", "/pets/{id}"), "/paths/~1pets~1{id}");
        assert_eq!(
            tokens("/paths/~1pets/get").unwrap(),
            vec!["paths", "/pets", "get"]
        );
        assert_eq!(tokens(""), Some(vec![]));
        assert_eq!(tokens("paths"), None);
    }

    proptest! {
        #[test]
        fn escape_round_trips(token in ".*") {
            let escaped = escape_token(&token);
            prop_assert_eq!(unescape_token(&escaped), token.as_str());
        }

        #[test]
        fn push_then_split_round_trips(a in ".*", b in ".*") {
            let p = push(&push("", &a), &b);
            let parts: Vec<String> = tokens(&p).unwrap().into_iter().map(|c| c.into_owned()).collect();
            prop_assert_eq!(parts, vec![a, b]);
        }
    }
}
