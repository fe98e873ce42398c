//! Tests of [`normalize_path`]: a table of tricky paths with their exact result, and
//! properties over random input.

use proptest::prelude::*;

use super::*;

/// `Ok(canonical)` or the exact error.
type Expected = Result<&'static str, PathError>;

fn ok(s: &'static str) -> Expected {
    Ok(s)
}

const CASES: &[(&str, Expected)] = &[
    // Form of the request-target.
    ("", Err(PathError::Empty { offset: 0 })),
    ("*", Err(PathError::AsteriskForm { offset: 0 })),
    (
        "http://evil.example/a",
        Err(PathError::AbsoluteForm { offset: 0 }),
    ),
    ("https:/a", Err(PathError::AbsoluteForm { offset: 0 })),
    (
        "example.com:443",
        Err(PathError::AbsoluteForm { offset: 0 }),
    ),
    ("pets/1", Err(PathError::MissingLeadingSlash { offset: 0 })),
    ("%2Fpets", Err(PathError::MissingLeadingSlash { offset: 0 })),
    // Already canonical.
    ("/", Ok("/")),
    ("/pets", Ok("/pets")),
    ("/pets/42", Ok("/pets/42")),
    ("/a%20b", Ok("/a%20b")),
    ("/caf%C3%A9", Ok("/caf%C3%A9")),
    ("/a;b=c,d/e", Ok("/a;b=c,d/e")),
    ("/~user/!$&'()*+,;=:@-._", Ok("/~user/!$&'()*+,;=:@-._")),
    // Slashes.
    ("//", Ok("/")),
    ("//a///b", Ok("/a/b")),
    ("/pets/", Ok("/pets")),
    ("/pets//", Ok("/pets")),
    ("///", Ok("/")),
    // Percent-decoding and canonical re-encoding.
    ("/%41%42c", Ok("/ABc")),
    ("/%7e%7E", Ok("/~~")),
    ("/%2a", Ok("/*")),
    ("/%3b", Ok("/;")),
    ("/a%20b", Ok("/a%20b")),
    ("/a%2fb", Err(PathError::EncodedSlash { offset: 2 })),
    ("/a%2Fb", Err(PathError::EncodedSlash { offset: 2 })),
    ("/a%3fb", Ok("/a%3Fb")),
    ("/a%23b", Ok("/a%23b")),
    ("/100%25", Ok("/100%25")),
    ("/%2525", Ok("/%2525")),
    ("/caf%c3%a9", Ok("/caf%C3%A9")),
    ("/a b", Ok("/a%20b")),
    ("/a\"<>`{|}^[]", Ok("/a%22%3C%3E%60%7B%7C%7D%5E%5B%5D")),
    ("/café", Ok("/caf%C3%A9")),
    ("/日本", Ok("/%E6%97%A5%E6%9C%AC")),
    ("/%F0%9F%98%80", Ok("/%F0%9F%98%80")),
    ("/a+b", Ok("/a+b")),
    ("/a%2Bb", Ok("/a+b")),
    // Invalid escapes.
    ("/%G1", Err(PathError::InvalidEscape { offset: 1 })),
    ("/%4", Err(PathError::InvalidEscape { offset: 1 })),
    ("/%", Err(PathError::InvalidEscape { offset: 1 })),
    ("/a/b%", Err(PathError::InvalidEscape { offset: 4 })),
    ("/%%41", Err(PathError::InvalidEscape { offset: 1 })),
    ("/%C3%G1", Err(PathError::InvalidEscape { offset: 4 })),
    // Invalid UTF-8 after decoding.
    ("/%C0%AF", Err(PathError::InvalidUtf8 { offset: 1 })),
    ("/%ED%A0%80", Err(PathError::InvalidUtf8 { offset: 1 })),
    ("/%C3", Err(PathError::InvalidUtf8 { offset: 1 })),
    ("/%C3/b", Err(PathError::InvalidUtf8 { offset: 1 })),
    ("/ab%80", Err(PathError::InvalidUtf8 { offset: 3 })),
    ("/%F4%90%80%80", Err(PathError::InvalidUtf8 { offset: 1 })),
    ("/%FF", Err(PathError::InvalidUtf8 { offset: 1 })),
    ("/%C3é", Err(PathError::InvalidUtf8 { offset: 1 })),
    // Control characters, raw or encoded.
    (
        "/a\0b",
        Err(PathError::ControlCharacter { offset: 2, byte: 0 }),
    ),
    (
        "/a%00",
        Err(PathError::ControlCharacter { offset: 2, byte: 0 }),
    ),
    (
        "/a%0d%0aSet-Cookie:x",
        Err(PathError::ControlCharacter {
            offset: 2,
            byte: 0x0D,
        }),
    ),
    (
        "/a\tb",
        Err(PathError::ControlCharacter {
            offset: 2,
            byte: 0x09,
        }),
    ),
    (
        "/%7F",
        Err(PathError::ControlCharacter {
            offset: 1,
            byte: 0x7F,
        }),
    ),
    (
        "/%1f",
        Err(PathError::ControlCharacter {
            offset: 1,
            byte: 0x1F,
        }),
    ),
    // First problem by position wins.
    (
        "/%00%C0",
        Err(PathError::ControlCharacter { offset: 1, byte: 0 }),
    ),
    ("/%C0%00", Err(PathError::InvalidUtf8 { offset: 1 })),
    (
        "/%00%G1",
        Err(PathError::ControlCharacter { offset: 1, byte: 0 }),
    ),
    ("/a/%G1/%00", Err(PathError::InvalidEscape { offset: 3 })),
    // Backslash and delimiters.
    ("/a\\b", Err(PathError::Backslash { offset: 2 })),
    ("/a%5cb", Err(PathError::Backslash { offset: 2 })),
    ("/..\\..\\etc", Err(PathError::Backslash { offset: 3 })),
    (
        "/a?b",
        Err(PathError::Delimiter {
            offset: 2,
            byte: b'?',
        }),
    ),
    (
        "/a#frag",
        Err(PathError::Delimiter {
            offset: 2,
            byte: b'#',
        }),
    ),
    // Dot segments.
    ("/.", Ok("/")),
    ("/a/.", Ok("/a")),
    ("/a/./b", Ok("/a/b")),
    ("/a/b/..", Ok("/a")),
    ("/a/..", Ok("/")),
    ("/a/b/../c", Ok("/a/c")),
    ("/a/%2e/b", Ok("/a/b")),
    ("/a/b/%2e%2E/c", Ok("/a/c")),
    ("/a/b/.%2e", Ok("/a")),
    ("/a//../b", Ok("/b")),
    ("/..", Err(PathError::Traversal { offset: 1 })),
    ("/a/../..", Err(PathError::Traversal { offset: 6 })),
    (
        "/%2e%2e/etc/passwd",
        Err(PathError::Traversal { offset: 1 }),
    ),
    ("/a/./../../b", Err(PathError::Traversal { offset: 8 })),
    ("/...", Ok("/...")),
    ("/.a/..b/b..", Ok("/.a/..b/b..")),
    ("/.well-known/x", Ok("/.well-known/x")),
    // Matrix parameters.
    ("/admin;x=1", Ok("/admin;x=1")),
    ("/admin;", Ok("/admin;")),
    (
        "/a/..;/admin",
        Err(PathError::DotSegmentWithParameters { offset: 3 }),
    ),
    (
        "/a/.;x/b",
        Err(PathError::DotSegmentWithParameters { offset: 3 }),
    ),
    (
        "/a/%2e%2e;x/b",
        Err(PathError::DotSegmentWithParameters { offset: 3 }),
    ),
    (
        "/a/..%3B/b",
        Err(PathError::DotSegmentWithParameters { offset: 3 }),
    ),
    // Case.
    ("/Pets/ID", Ok("/Pets/ID")),
    // Classic filter-bypass payloads.
    (
        "/%u002e%u002e/etc",
        Err(PathError::InvalidEscape { offset: 1 }),
    ),
    ("/%252e%252e/etc", Ok("/%252e%252e/etc")),
    ("/..%c0%af/etc", Err(PathError::InvalidUtf8 { offset: 3 })),
    ("/%2e%2e%2f/etc", Err(PathError::EncodedSlash { offset: 7 })),
    ("/a/..%255c..%255c", Ok("/a/..%255c..%255c")),
    ("/\u{FF0E}\u{FF0E}/etc", Ok("/%EF%BC%8E%EF%BC%8E/etc")),
    ("//evil.example/x", Ok("/evil.example/x")),
    ("/;/admin", Ok("/;/admin")),
    ("/admin;.css", Ok("/admin;.css")),
    ("/admin%20", Ok("/admin%20")),
    (
        "/admin/%09",
        Err(PathError::ControlCharacter { offset: 7, byte: 9 }),
    ),
];

#[test]
fn table_of_tricky_paths() {
    assert!(CASES.len() >= 40);
    for (input, expected) in CASES {
        let got = normalize_path(input);
        let got = got.as_ref().map(NormalizedPath::as_str).map_err(|e| *e);
        assert_eq!(got, *expected, "input {input:?}");
    }
}

#[test]
fn canonical_input_is_borrowed() {
    for (input, expected) in CASES {
        if let Ok(expected) = expected {
            let once = normalize_path(input).unwrap();
            assert_eq!(once.is_unchanged(), input == expected, "input {input:?}");
            let twice = normalize_path(expected).unwrap();
            assert!(twice.is_unchanged(), "output {expected:?} not canonical");
        }
    }
    let _ = ok("/");
}

#[test]
fn length_limit() {
    let exact = format!("/{}", "a".repeat(MAX_PATH_LEN - 1));
    assert!(normalize_path(&exact).unwrap().is_unchanged());
    let over = format!("/{}", "a".repeat(MAX_PATH_LEN));
    assert_eq!(
        normalize_path(&over),
        Err(PathError::TooLong {
            offset: MAX_PATH_LEN,
            length: MAX_PATH_LEN + 1,
            limit: MAX_PATH_LEN
        })
    );
}

#[test]
fn segment_limit() {
    let exact = "/a".repeat(MAX_SEGMENTS);
    assert!(normalize_path(&exact).unwrap().is_unchanged());
    let over = "/a".repeat(MAX_SEGMENTS + 1);
    assert_eq!(
        normalize_path(&over),
        Err(PathError::TooManySegments {
            offset: 2 * MAX_SEGMENTS + 1,
            limit: MAX_SEGMENTS
        })
    );
    // Dot segments count too, and so does a non-canonical input.
    let dots = format!("{}/", "/.".repeat(MAX_SEGMENTS + 1));
    assert!(matches!(
        normalize_path(&dots),
        Err(PathError::TooManySegments { .. })
    ));
    // Empty segments do not.
    let slashes = "/".repeat(MAX_PATH_LEN);
    assert_eq!(normalize_path(&slashes).unwrap().as_str(), "/");
}

#[test]
fn raw_escaped_output_grows_within_bounds() {
    let input = format!("/{}", "é".repeat((MAX_PATH_LEN - 1) / 2));
    let out = normalize_path(&input).unwrap();
    assert_eq!(out.as_str().len(), 1 + 6 * ((MAX_PATH_LEN - 1) / 2));
}

#[test]
fn errors_have_reasons_and_messages() {
    let e = normalize_path("/a/%2F").unwrap_err();
    assert_eq!(e.reason(), "encoded_slash");
    assert_eq!(e.offset(), 3);
    assert_eq!(e.to_string(), "encoded slash `%2F` at byte 3");
    let e = normalize_path("/%01").unwrap_err();
    assert_eq!(e.to_string(), "control character 0x01 at byte 1");
    let e = normalize_path("/a?").unwrap_err();
    assert_eq!(e.to_string(), "raw delimiter '?' at byte 2");
}

#[test]
fn segments_and_decoded_segments() {
    let p = normalize_path("/a%20b/c%C3%A9/d").unwrap();
    assert_eq!(p.segments().collect::<Vec<_>>(), ["a%20b", "c%C3%A9", "d"]);
    assert_eq!(p.decoded_segments().collect::<Vec<_>>(), ["a b", "cé", "d"]);
    assert_eq!(normalize_path("/").unwrap().segments().count(), 0);
    assert_eq!(String::from(p.clone().into_owned()), "/a%20b/c%C3%A9/d");
    assert_eq!(p, "/a%20b/c%C3%A9/d");
}

/// Path-like strings mixing the characters that matter.
fn arb_path() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-zA-Z0-9]{1,3}",
        2 => Just("/".to_owned()),
        1 => Just(".".to_owned()),
        1 => Just("..".to_owned()),
        1 => Just(";".to_owned()),
        1 => Just("%2e".to_owned()),
        1 => Just("%2E".to_owned()),
        1 => Just("%41".to_owned()),
        1 => Just("%20".to_owned()),
        1 => Just("%25".to_owned()),
        1 => Just("%7e".to_owned()),
        1 => Just("%C3%A9".to_owned()),
        1 => Just("%c3".to_owned()),
        1 => Just("é".to_owned()),
        1 => Just(" ".to_owned()),
        1 => Just("%".to_owned()),
        1 => Just("%2F".to_owned()),
        1 => Just("%00".to_owned()),
        1 => Just("~*+:@".to_owned()),
        1 => "%[0-9a-fA-F]{2}",
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| format!("/{}", v.concat()))
}

/// Decodes a canonical path into its segments, for comparison.
fn decoded(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .unwrap()
                .into_owned()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn normalization_is_idempotent_and_canonical(input in arb_path()) {
        let Ok(out) = normalize_path(&input) else { return Ok(()) };
        let out = out.as_str();
        prop_assert!(out.starts_with('/'));
        prop_assert!(!out.contains("//"));
        prop_assert!(out == "/" || !out.ends_with('/'));
        for seg in out.split('/').skip(1) {
            prop_assert!(seg != "." && seg != "..", "dot segment in {out:?}");
        }
        // Only canonical escapes: upper-case hex of a byte that is not a pchar.
        let bytes = out.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'%' {
                let hex = &out[i + 1..i + 3];
                prop_assert!(hex.bytes().all(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(&h)));
                let v = u8::from_str_radix(hex, 16).unwrap();
                prop_assert!(!segment::is_pchar(v), "needless escape in {out:?}");
            } else {
                prop_assert!(b == b'/' || segment::is_pchar(b), "raw byte {b:#x} in {out:?}");
            }
        }
        let again = normalize_path(out).unwrap();
        prop_assert!(again.is_unchanged());
        prop_assert_eq!(again.as_str(), out);
    }

    #[test]
    fn output_decodes_to_the_input_segments(input in arb_path()) {
        let Ok(out) = normalize_path(&input) else { return Ok(()) };
        // Reference: decode every input segment independently, then apply dot removal.
        let mut expected: Vec<String> = Vec::new();
        for seg in input.split('/').filter(|s| !s.is_empty()) {
            let seg = percent_encoding::percent_decode_str(seg).decode_utf8().unwrap();
            match seg.as_ref() {
                "." => {}
                ".." => { expected.pop().unwrap(); }
                s => expected.push(s.to_owned()),
            }
        }
        let got = decoded(out.as_str());
        prop_assert_eq!(&got, &expected);
        prop_assert_eq!(out.decoded_segments().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn fast_path_agrees_with_slow_path(input in arb_path()) {
        if check_form(&input).is_ok() && is_canonical(&input) {
            prop_assert_eq!(normalize_slow(&input).unwrap(), input);
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(input in any::<String>()) {
        if let Ok(out) = normalize_path(&input) {
            prop_assert!(normalize_path(out.as_str()).unwrap().is_unchanged());
        }
    }
}
