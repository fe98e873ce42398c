//! `gateway_params` and `gateway_body`: requests against `tests/data/fuzz/spec.yaml`.

use super::*;

pub(crate) struct Api {
    pub(crate) router: Router,
    /// The checks of each operation, by index in the catalog.
    pub(crate) checks: Vec<RequestCheck>,
}

pub(crate) static API: LazyLock<Api> = LazyLock::new(|| {
    let catalog: Catalog = load_str("spec.yaml", SPEC).unwrap();
    let (router, warnings) = Router::new(&catalog, &RouterOptions::default());
    assert!(warnings.is_empty(), "{warnings:?}");
    let checks = catalog
        .operations
        .iter()
        .map(|op| RequestCheck::new(&catalog, op).unwrap())
        .collect();
    Api { router, checks }
});

/// A path each operation routes, with its method.
pub(crate) const EXAMPLE_ROUTES: [(&str, &str); 5] = [
    ("GET", "/items/1"),
    ("PUT", "/items/1"),
    ("GET", "/items/a/.1/;k=1"),
    ("POST", "/uploads"),
    ("POST", "/batch"),
];

/// The operation a request goes to, and its path parameters. A request that routes nowhere
/// (or whose path is refused) still goes through the checks of one operation, picked by its
/// path's length, with the path parameters of an example path of that operation: the
/// checks of its query, headers and body must cope with anything.
pub(crate) fn operation<'a>(
    req: &'a Request,
    normalized: &'a Option<String>,
) -> (usize, PathParams<'a, 'a>) {
    if let Some(path) = normalized
        && let Route::Matched { operation, params } = API.router.route(&req.method, path)
    {
        return (operation, params);
    }
    let (method, path) = EXAMPLE_ROUTES[req.path.len() % EXAMPLE_ROUTES.len()];
    match API.router.route(method, path) {
        Route::Matched { operation, params } => (operation, params),
        other => panic!("{method} {path}: {other:?}"),
    }
}

/// The params target: never a panic; a refusal is a 400 `request.parameter` that names the
/// parameter. The cookie jar's keys and values hold no `;`, keys no `=` and are trimmed,
/// values are unquoted (what was inside the quotes is kept as sent, spaces included).
pub(crate) fn check_params(data: &[u8]) -> Result<(), TestCaseError> {
    let req = read_request(data);
    let normalized = normalize_path(&req.path)
        .ok()
        .map(|p| p.as_str().to_owned());
    let (op, path_params) = operation(&req, &normalized);
    if let Some(v) = API.checks[op].check_params(&path_params, &req.query, &req.headers) {
        prop_assert_eq!(v.rule, "request.parameter");
        prop_assert_eq!(v.status, 400);
        prop_assert_eq!(v.policy, Policy::Validate);
        prop_assert!(v.reason.contains(" parameter \""), "{}", v.reason);
    }
    for cookie in req.headers.get_all(http::header::COOKIE) {
        let Ok(text) = cookie.to_str() else { continue };
        for (k, v) in params::cookies(text) {
            prop_assert!(
                !k.contains(';') && !k.contains('=') && k.trim() == k,
                "{k:?}"
            );
            prop_assert!(
                !v.contains(';') && !v.starts_with('"') && !v.ends_with('"'),
                "{v:?}"
            );
        }
    }
    for (_, v) in &req.query {
        scalar_round_trips(v)?;
    }
    Ok(())
}

/// A raw value read as each scalar type is that type's reading of it, or the text unchanged.
pub(crate) fn scalar_round_trips(raw: &str) -> Result<(), TestCaseError> {
    for (shape, fits) in [
        (Scalar::Integer, raw.parse::<i64>().is_ok()),
        (Scalar::Number, raw.parse::<f64>().is_ok_and(f64::is_finite)),
        (Scalar::Boolean, raw == "true" || raw == "false"),
        (Scalar::String, false),
    ] {
        match params::scalar(raw, shape) {
            Value::String(s) => prop_assert!(s == raw && !fits, "{raw:?} {shape:?}"),
            other => prop_assert!(fits, "{raw:?} {shape:?} -> {other}"),
        }
    }
    Ok(())
}

/// The body target. The body check never panics; each violation is one the pipeline knows,
/// with a reason; a JSON body the strict reader refuses is exactly one `request.json`, an
/// empty body of a required body is exactly one `request.body`. The strict reader agrees
/// with serde_json: what it accepts serde_json reads the same, nested at most
/// `X-Max-Depth` (default 32) deep; what it refuses that serde_json reads is nested deeper
/// or has a duplicate key.
pub(crate) fn check_body(data: &[u8]) -> Result<(), TestCaseError> {
    let req = read_request(data);
    let depth = req
        .headers
        .get("x-max-depth")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(32);
    strict_json_agrees(&req.body, depth)?;
    let normalized = normalize_path(&req.path)
        .ok()
        .map(|p| p.as_str().to_owned());
    let (op, _) = operation(&req, &normalized);
    let Some(check) = &API.checks[op].body else {
        return Ok(());
    };
    let content_type = req
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let violations = block_on(check.check(content_type, &req.body, depth, true, true));
    for v in &violations {
        let known = matches!(
            (v.rule, v.status, v.policy),
            ("request.body" | "request.json", 400, Policy::Validate)
                | ("request.content-type", 415, Policy::Validate)
                | ("request.unknown-field", 400, Policy::UnknownFields)
        );
        prop_assert!(known && !v.reason.is_empty(), "{v:?}");
    }
    if req.body.is_empty() {
        let expected = usize::from(check.required);
        prop_assert_eq!(violations.len(), expected, "{:?}", violations);
        return Ok(());
    }
    let kind = content_type
        .and_then(|ct| check.media_for(ct))
        .map(|m| m.kind);
    let refused_json = violations.iter().any(|v| v.rule == "request.json");
    match kind {
        Some(MediaKind::Json) => {
            let parsed = json::parse_strict(&req.body, depth);
            prop_assert_eq!(parsed.is_err(), refused_json, "{:?}", violations);
            if refused_json {
                prop_assert_eq!(violations.len(), 1, "{:?}", violations);
            }
        }
        _ => prop_assert!(!refused_json, "{:?}", violations),
    }
    let unknown = violations
        .iter()
        .filter(|v| v.rule == "request.unknown-field")
        .count();
    prop_assert!(unknown <= 1, "{:?}", violations);
    // The same body with both checks off: nothing to say but a missing or wrong content type
    // (or an unreadable multipart body).
    for v in block_on(check.check(content_type, &req.body, depth, false, false)) {
        prop_assert!(
            matches!(
                v.rule,
                "request.content-type" | "request.json" | "request.body"
            ),
            "{v:?}"
        );
    }
    Ok(())
}

pub(crate) fn nesting(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(nesting).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(nesting).max().unwrap_or(0),
        _ => 0,
    }
}

pub(crate) fn strict_json_agrees(body: &[u8], depth: usize) -> Result<(), TestCaseError> {
    let loose = serde_json::from_slice::<Value>(body);
    match (json::parse_strict(body, depth), loose) {
        (Ok(strict), Ok(loose)) => {
            prop_assert!(nesting(&strict) <= depth);
            prop_assert_eq!(strict, loose);
        }
        (Ok(strict), Err(e)) => prop_assert!(false, "{strict} accepted, serde_json: {e}"),
        (Err(e), Ok(loose)) => prop_assert!(
            (e.contains("deeper than the limit") && nesting(&loose) > depth)
                || e.contains("duplicate key"),
            "{e} for {loose}"
        ),
        (Err(e), Err(_)) => prop_assert!(!e.is_empty()),
    }
    Ok(())
}

/// Valid requests of the fixture, mutated by the tests and written as seeds.
pub(crate) const PARAM_REQUESTS: [&str; 6] = [
    "GET /items/5?limit=10&ratio=1.5&verbose=true&q=abc%20d&tags=a&tags=b&ids=1,2,3\nX-Trace: 0123abcd\n",
    "GET /items/7?near=1.5%202.5&flags=true|false&filter[color]=red&filter[size]=10&point=x,1,y,2&kind=x-bird&maybe=3&when=2027-01-01T00:00:00Z\nX-Trace: deadbeef\nX-Ids: 1,2,3\nX-Meta: a,b\nX-Flag: false\nCookie: session=abcdef; count=3; prefs=a,b\n",
    "GET /items/7?kind=cat&maybe=null\nX-Trace: 0000ffff\nCookie: session=\"quoted1\"\ncookie: count=x\n",
    "GET /items/abc/.1,2.5/;k=3?mode=fast&legacy=\nX-Trace: 01234567\n",
    "GET /items/0?limit=101&tags=z\nx-trace: nothex!!\n",
    "DELETE /items/1\n",
];

pub(crate) const BODY_REQUESTS: [&str; 10] = [
    "PUT /items/5\nContent-Type: application/json\n\n{\"name\":\"pen\",\"price\":1.5,\"count\":2,\"active\":true,\"tags\":[\"a\"],\"owner\":{\"id\":\"0b9e7a34-5c1f-4f4e-8d7e-1a2b3c4d5e6f\"},\"children\":[{\"name\":\"cap\",\"children\":[]}]}",
    "PUT /items/5\nContent-Type: application/json; charset=utf-8\n\n{\"name\":\"pen\",\"role\":\"admin\",\"name\":\"x\"}",
    "PUT /items/5\nContent-Type: application/merge-patch+json\nX-Max-Depth: 3\n\n{\"a\":null,\"b\":[[[1]]]}",
    "PUT /items/5\nContent-Type: application/x-www-form-urlencoded\n\nname=pen&price=2.5&count=x&active=true&tags=a&tags=b&extra=1",
    "PUT /items/5\nContent-Type: multipart/form-data; boundary=XyZ\n\n--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\npen\r\n--XyZ\r\nContent-Disposition: form-data; name=\"count\"\r\n\r\n3\r\n--XyZ--\r\n",
    "POST /uploads\nContent-Type: multipart/form-data; boundary=b\n\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\x7f\r\n--b\r\nContent-Disposition: form-data; name=\"parts\"\r\n\r\n1\r\n--b\r\nContent-Disposition: form-data; name=\"parts\"\r\n\r\n2\r\n--b--\r\n",
    "POST /uploads\nContent-Type: image/png\n\n\u{89}PNG",
    "POST /uploads\nContent-Type: text/plain\n\nhello",
    "POST /batch\nContent-Type: application/json\n\n[{\"name\":\"a\"},{\"name\":\"b\",\"price\":null}]",
    "POST /batch\nContent-Type: application/x-www-form-urlencoded\n\nn=1&x=2.5&ok=false&list=1&list=2.5&list=x&other=1",
];

/// Parameter names of the fixture and a few it does not declare.
pub(crate) const PARAM_NAMES: [&str; 20] = [
    "limit",
    "ratio",
    "verbose",
    "q",
    "when",
    "maybe",
    "tags",
    "ids",
    "near",
    "flags",
    "filter[color]",
    "filter[size]",
    "filter[x]",
    "filter",
    "point",
    "kind",
    "mode",
    "legacy",
    "other",
    "",
];

pub(crate) const PARAM_VALUES: [&str; 24] = [
    "1",
    "0",
    "-1",
    "100",
    "101",
    "1.5",
    "1e3",
    "NaN",
    "inf",
    "true",
    "false",
    "null",
    "a",
    "c",
    "a,b",
    "1,2,x",
    "1 2",
    "true|x",
    "x,1,y",
    "red",
    "cat",
    "x-bird",
    "2027-01-01T00:00:00Z",
    "",
];

pub(crate) const HEADER_NAMES: [&str; 8] = [
    "X-Trace",
    "x-ids",
    "X-Meta",
    "X-Flag",
    "Cookie",
    "cookie",
    "Content-Type",
    "X-Max-Depth",
];

/// Content types documented by the fixture, some with parameters, and some it does not
/// document.
pub(crate) const CONTENT_TYPES: [&str; 14] = [
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/merge-patch+json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=XyZ",
    "multipart/form-data",
    "multipart/form-data; boundary=\"a b\"",
    "text/plain",
    "image/png",
    "image",
    "*/*",
    "application/xml",
    "",
];

/// A request built from the fixture's paths, names and values, in the targets' layout.
pub(crate) fn structured_request() -> impl Strategy<Value = Vec<u8>> {
    let segment = prop_oneof![
        Just("items".to_owned()),
        Just("5".to_owned()),
        Just("0".to_owned()),
        Just(".1,2".to_owned()),
        Just(";k=3".to_owned()),
        Just("uploads".to_owned()),
        Just("batch".to_owned()),
        Just("%2F".to_owned()),
        "[a-z0-9.;,=%]{0,6}",
    ];
    let path = prop_oneof![
        prop::sample::select(vec![
            "/items/5",
            "/items/abc/.1,2.5/;k=3",
            "/uploads",
            "/batch"
        ])
        .prop_map(str::to_owned),
        prop::collection::vec(segment, 0..5).prop_map(|s| format!("/{}", s.join("/"))),
    ];
    let value = prop_oneof![
        prop::sample::select(PARAM_VALUES.to_vec()).prop_map(str::to_owned),
        "[ -~]{0,12}",
        any::<String>(),
    ];
    let pair = (prop::sample::select(PARAM_NAMES.to_vec()), value.clone());
    let header = (prop::sample::select(HEADER_NAMES.to_vec()), value);
    let content_type = prop::option::weighted(
        0.8,
        prop_oneof![
            3 => prop::sample::select(CONTENT_TYPES.to_vec()).prop_map(str::to_owned),
            1 => "[ -~]{0,30}",
        ],
    );
    (
        prop::sample::select(vec!["GET", "PUT", "POST", "DELETE", "get", ""]),
        path,
        prop::collection::vec(pair, 0..8),
        prop::collection::vec(header, 0..6),
        content_type,
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(method, path, pairs, headers, content_type, body)| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in pairs {
                query.append_pair(k, &v);
            }
            let mut out = format!("{method} {path}?{}\n", query.finish());
            for (name, value) in headers {
                out.push_str(&format!("{name}: {value}\n"));
            }
            if let Some(ct) = content_type {
                out.push_str(&format!("Content-Type: {ct}\n"));
            }
            let mut out = out.into_bytes();
            out.push(b'\n');
            out.extend(body);
            out
        })
}

/// Property names of the fixture's schemas and one they do not declare.
pub(crate) const JSON_KEYS: [&str; 11] = [
    "name", "price", "count", "active", "tags", "owner", "children", "id", "email", "a", "extra",
];

/// JSON values near the fixture's schemas: its property names, every type, nested.
pub(crate) fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z0-9@.-]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(8, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(JSON_KEYS.to_vec()), inner), 0..6)
                .prop_map(|kv| Value::Object(
                    kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
        ]
    })
}
