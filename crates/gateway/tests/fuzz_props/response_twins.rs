//! The twins of `gateway_response`, `gateway_decompress` and `gateway_admin_query`: the
//! properties of `answers.rs` and `admin.rs` on random bytes, on generated answers and
//! queries, and on the targets' committed seeds (`fuzz/seeds/<target>/`) with random edits.

use super::*;

/// `fuzz/seeds/gateway_response/`.
const RESPONSE_SEEDS: [&[u8]; 8] = [
    include_bytes!("../../../../fuzz/seeds/gateway_response/account.txt"),
    include_bytes!("../../../../fuzz/seeds/gateway_response/list.txt"),
    include_bytes!("../../../../fuzz/seeds/gateway_response/trace.txt"),
    include_bytes!("../../../../fuzz/seeds/gateway_response/problem.txt"),
    include_bytes!("../../../../fuzz/seeds/gateway_response/tree.txt"),
    include_bytes!("../../../../fuzz/seeds/gateway_response/text.txt"),
    include_bytes!("../../../../fuzz/seeds/gateway_response/gzip.txt"),
    include_bytes!("../../../../fuzz/seeds/gateway_response/declared.txt"),
];

/// `fuzz/seeds/gateway_decompress/`.
const DECOMPRESS_SEEDS: [&[u8]; 11] = [
    include_bytes!("../../../../fuzz/seeds/gateway_decompress/gzip-raw.bin"),
    include_bytes!("../../../../fuzz/seeds/gateway_decompress/zlib-raw.bin"),
    include_bytes!("../../../../fuzz/seeds/gateway_decompress/deflate-raw.bin"),
    include_bytes!("../../../../fuzz/seeds/gateway_decompress/identity.bin"),
    include_bytes!("../../../../fuzz/seeds/gateway_decompress/two-codings.bin"),
    include_bytes!("../../../../fuzz/seeds/gateway_decompress/compress-gzip.bin"),
    include_bytes!("../../../../fuzz/seeds/gateway_decompress/compress-zlib.bin"),
    include_bytes!("../../../../fuzz/seeds/gateway_decompress/compress-deflate.bin"),
    include_bytes!("../../../../fuzz/seeds/gateway_decompress/bomb.bin"),
    include_bytes!("../../../../fuzz/seeds/gateway_decompress/bomb-small-cap.bin"),
    include_bytes!("../../../../fuzz/seeds/gateway_decompress/br-bytes.bin"),
];

const OPERATIONS: [&str; 4] = ["getAccount", "listAccounts", "getTree", "none"];
const STATUSES: [u16; 7] = [200, 201, 204, 404, 500, 302, 999];
const MEDIA: [&str; 8] = [
    "application/json",
    "application/problem+json; charset=utf-8",
    "application/vnd.tree+json",
    "text/plain",
    "text/html",
    "APPLICATION/JSON",
    "image/png",
    "",
];
const PROPS: [&str; 12] = [
    "id", "owner", "name", "email", "iban", "kind", "balance", "tags", "meta", "items", "children",
    "password",
];
const STRINGS: [&str; 9] = [
    "4111 1111 1111 1111",
    "DE89370400440532013000",
    "078-05-1120",
    "bob@example.com",
    "+1 415 555 0100",
    "java.lang.IllegalStateException",
    "/var/www/app",
    "checking",
    "é\u{0}\"",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        (0..STRINGS.len()).prop_map(|i| json!(STRINGS[i])),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((0..PROPS.len(), inner), 0..6).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (PROPS[k].to_owned(), v))
                        .collect(),
                )
            }),
        ]
    })
}

fn generated_answer() -> impl Strategy<Value = Vec<u8>> {
    (
        0..STATUSES.len(),
        0..OPERATIONS.len(),
        0..MEDIA.len(),
        any::<bool>(),
        json_value(),
    )
        .prop_map(|(s, o, m, gzip, body)| {
            let mut head = format!(
                "{} {}\ncontent-type: {}\n",
                STATUSES[s], OPERATIONS[o], MEDIA[m]
            );
            let mut body = body.to_string().into_bytes();
            if gzip {
                head.push_str("content-encoding: gzip\n");
                body = answers::compress(0, &body).1;
            }
            let mut out = head.into_bytes();
            out.push(b'\n');
            out.extend(body);
            out
        })
}

fn generated_query() -> impl Strategy<Value = String> {
    let pair = prop_oneof![
        Just("api=bank".to_owned()),
        Just("decision=block".to_owned()),
        Just("rule=threat.*".to_owned()),
        Just("client=10.0.0.2".to_owned()),
        (0..70u32).prop_map(|n| format!("limit={n}")),
        (0..70u32).prop_map(|n| format!("offset={n}")),
        (0..70u32).prop_map(|n| format!("before=req-{n:02}")),
        (0..60u64).prop_map(|n| format!("since={}", 1_796_605_200_000 + n * 1000)),
        (0..60u32).prop_map(|n| format!("until=2026-12-07T01:00:{n:02}Z")),
        "[a-z]{1,8}=[ -~]{0,12}",
    ];
    prop::collection::vec(pair, 0..6).prop_map(|p| p.join("&"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn response_of_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        answers::check_response(&bytes);
    }

    #[test]
    fn response_of_generated_answers(bytes in generated_answer()) {
        answers::check_response(&bytes);
    }

    #[test]
    fn response_of_mutated_seeds(which in 0..RESPONSE_SEEDS.len(), edits in edits()) {
        answers::check_response(&mutate(RESPONSE_SEEDS[which], &edits));
    }

    #[test]
    fn decompress_of_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        answers::check_decompress(&bytes);
    }

    #[test]
    fn decompress_of_mutated_seeds(which in 0..DECOMPRESS_SEEDS.len(), edits in edits()) {
        answers::check_decompress(&mutate(DECOMPRESS_SEEDS[which], &edits));
    }

    #[test]
    fn decompress_of_compressed_text(a in any::<u8>(), b in any::<u8>(), text in "[ -~]{0,200}") {
        // Mode 1 (compressed) or 2 (compressed repeated, at most 3001 times).
        let mode = if a & 0x80 == 0 { 0x10 } else { 0x20 };
        let mut input = vec![mode | (a & 0x03), b];
        input.extend(text.as_bytes());
        answers::check_decompress(&input);
    }

    #[test]
    fn admin_of_random_text(text in any_text()) {
        admin::check_admin_query(text.as_bytes());
    }

    #[test]
    fn admin_of_generated_queries(query in generated_query()) {
        admin::check_admin_query(query.as_bytes());
    }
}

#[test]
fn response_seeds_hold() {
    for seed in RESPONSE_SEEDS {
        answers::check_response(seed);
    }
    for seed in DECOMPRESS_SEEDS {
        answers::check_decompress(seed);
    }
}
