//! `gateway_params` and `gateway_body`: requests against `tests/data/fuzz/spec.yaml`, valid
//! and generated.

use super::*;

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
