use indexmap::IndexMap;

use super::*;
use crate::identity::apikeys::{NewKey, generate};

const NOW: u64 = 1_800_000_000;

fn keys() -> (ApiKeys, String, String, String) {
    let make = |id: &str| {
        generate(&NewKey {
            id: id.to_owned(),
            owner: "alice".to_owned(),
            scopes: vec!["read".to_owned()],
            ..NewKey::default()
        })
        .expect("generate")
    };
    let good = make("good");
    let off = make("off");
    let old = make("old");
    let text = format!(
        "keys:\n{}{}    disabled: true\n{}    expires: \"2020-01-01T00:00:00Z\"\n",
        good.yaml, off.yaml, old.yaml
    );
    let keys = ApiKeys::from_str_named("k.yaml", &text, &IndexMap::new()).expect("keys");
    (keys, good.presented, off.presented, old.presented)
}

fn place(location: ParameterIn, name: &'static str) -> KeyPlace<'static> {
    KeyPlace {
        scheme: "key",
        name,
        location,
        fallback_header: Some("x-fallback"),
    }
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, v.parse().expect("header value"));
    }
    h
}

fn rule(r: Result<Arc<Principal>, (Denial, &'static str)>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err((d, _)) => {
            assert_eq!(d.status, 401);
            assert!(
                d.headers.iter().any(|(n, _)| n == header::WWW_AUTHENTICATE),
                "a 401 carries a challenge"
            );
            d.rule
        }
    }
}

#[test]
fn finds_the_key_where_the_scheme_says() {
    let (keys, good, _, _) = keys();
    let cookie = format!("theme=dark; k={good}");
    let cases: Vec<(KeyPlace<'static>, HeaderMap, Option<String>, &str)> = vec![
        (
            place(ParameterIn::Header, "x-api-key"),
            headers(&[("x-api-key", &good)]),
            None,
            "ok",
        ),
        (
            place(ParameterIn::Query, "api_key"),
            HeaderMap::new(),
            Some(format!("a=1&api_key={good}")),
            "ok",
        ),
        (
            place(ParameterIn::Cookie, "k"),
            headers(&[("cookie", &cookie)]),
            None,
            "ok",
        ),
        (
            place(ParameterIn::Header, "x-api-key"),
            headers(&[("x-fallback", &good)]),
            None,
            "ok",
        ),
        (
            place(ParameterIn::Header, "x-api-key"),
            headers(&[("x-other", &good)]),
            None,
            "auth.invalid",
        ),
        (
            place(ParameterIn::Query, "api_key"),
            headers(&[("x-api-key", &good)]),
            None,
            "auth.invalid",
        ),
    ];
    for (i, (p, h, q, want)) in cases.into_iter().enumerate() {
        let presented = Presented {
            headers: &h,
            query: q.as_deref(),
        };
        assert_eq!(
            rule(verify(Some(&keys), &p, &presented, NOW)),
            want,
            "case {i}"
        );
    }
}

#[test]
fn refusals_keep_their_own_rule_and_never_the_key() {
    let (keys, good, off, old) = keys();
    let wrong = format!("{good}x");
    let unknown = good.replacen("pc_good_", "pc_nobody_", 1);
    let p = place(ParameterIn::Header, "x-api-key");
    for (key, want, code) in [
        (off.as_str(), "auth.key-disabled", "key_disabled"),
        (old.as_str(), "auth.key-expired", "key_expired"),
        (wrong.as_str(), "auth.key-invalid", "key_invalid"),
        (unknown.as_str(), "auth.key-unknown", "key_unknown"),
        ("not-a-key", "auth.key-malformed", "key_malformed"),
    ] {
        let h = headers(&[("x-api-key", key)]);
        let presented = Presented {
            headers: &h,
            query: None,
        };
        let Err((d, c)) = verify(Some(&keys), &p, &presented, NOW) else {
            panic!("{want}: accepted");
        };
        assert_eq!((d.rule, c), (want, code));
        assert!(
            !d.reason.contains(key) && !d.detail.contains(key),
            "{}",
            d.reason
        );
    }
}

#[test]
fn without_a_key_file_a_key_is_refused() {
    let (_, good, _, _) = keys();
    let h = headers(&[("x-api-key", &good)]);
    let presented = Presented {
        headers: &h,
        query: None,
    };
    let p = place(ParameterIn::Header, "x-api-key");
    let Err((d, code)) = verify(None, &p, &presented, NOW) else {
        panic!("accepted without keys");
    };
    assert_eq!((d.status, code), (401, "key_unconfigured"));
}
