//! Throughput of the JSON scanner and masker (and of the injection check), one thread.
//!
//! `cargo bench -p portcullis-inspect --bench inspect` prints MB/s for `scan_json` and
//! `mask_json` on generated documents of 10 KB and 1 MB, with nothing to mask and with some
//! masking (a card number, a password hash under a secret name and a JWT every few records),
//! then the cost of `Detector::check` per value of the benign and attack corpora. Results are
//! in BENCHMARKS.md. `BENCH_MS` sets the time per measure (default 2000), `BENCH_ONLY=json`,
//! `check` or `benign` runs a part.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use portcullis_inspect::injection::Detector;
use portcullis_inspect::sensitive::{Options, mask_json, scan_json};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A JSON array of customer records of about `target` bytes; every 7th record carries
/// sensitive data when `sensitive` is set. Deterministic.
fn document(target: usize, sensitive: bool) -> Vec<u8> {
    let names = [
        "Alice O'Brien",
        "Bob D'Angelo",
        "Chloé Martin",
        "Dmitri Ivanov",
        "Eve \"the\" Analyst",
    ];
    let notes = [
        "Prefers email; call after 10am. Allergic to peanuts & shellfish.",
        "Select the express option at checkout, or drop it off at the depot.",
        "Escalated to tier 2 -- see ticket #4412. Refund approved by J. D'Souza.",
        "Line one\nLine two\twith a tab and a unicode \u{e9} character",
    ];
    let mut out = String::from("[");
    let mut i = 0usize;
    while out.len() < target {
        if i > 0 {
            out.push(',');
        }
        let name = names[i % names.len()];
        let note = notes[i % notes.len()];
        let mut rec = serde_json::json!({
            "id": 100000 + i,
            "uuid": format!("550e8400-e29b-41d4-a716-{:012}", i),
            "name": name,
            "email": format!("user{i}@example.com"),
            "phone": "+1 (415) 555-0132",
            "address": {"street": format!("{} Main St., Apt {}", 10 + i % 90, i % 12), "city": "Springfield", "zip": "94043", "country": "US"},
            "balance": (i as f64) * 13.37,
            "active": !i.is_multiple_of(3),
            "tags": ["vip", "newsletter", "beta"],
            "notes": note,
            "created_at": "2024-01-15T09:30:00Z",
            "order_ids": [i * 3, i * 3 + 1, i * 3 + 2],
        });
        if sensitive && i.is_multiple_of(7) {
            rec["card"] = serde_json::json!("4111 1111 1111 1111");
            rec["password_hash"] =
                serde_json::json!("$2b$12$KIXQJKb1v4cZ6Q9m0b8lQe7nQ7u6hQ0eGZQm5JrQm3x1Kq9y8x1aW");
            rec["session"] = serde_json::json!(
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
            );
        }
        out.push_str(&rec.to_string());
        i += 1;
    }
    out.push(']');
    out.into_bytes()
}

/// This thread's CPU time (user + system) in seconds, from /proc (Linux): on a shared machine
/// wall time also counts the time other processes held the core.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().filter_map(|x| x.parse::<f64>().ok()).sum()
    });
    ticks / 100.0
}

/// Runs `f` for about `time` (at least 3 times): MB/s per wall second and per CPU second.
fn mbps(bytes: usize, time: Duration, mut f: impl FnMut()) -> (f64, f64) {
    let start = Instant::now();
    let cpu = cpu_seconds();
    let mut n = 0u64;
    while n < 3 || start.elapsed() < time {
        f();
        n += 1;
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = (cpu_seconds() - cpu).max(0.01);
    let total = bytes as f64 * n as f64 / 1e6;
    (total / wall, total / cpu)
}

fn main() {
    let time = Duration::from_millis(
        std::env::var("BENCH_MS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2000),
    );
    let options = Options::default();
    println!(
        "{:<28} {:>9} {:>18} {:>18}",
        "document", "bytes", "scan MB/s wall/cpu", "mask MB/s wall/cpu"
    );
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let sizes: &[(&str, usize)] = if only == "check" || only == "benign" {
        &[]
    } else {
        &[("10 KB", 10 * 1024), ("1 MB", 1024 * 1024)]
    };
    for &(label, size) in sizes {
        for sensitive in [false, true] {
            let doc = document(size, sensitive);
            let masked = mask_json(&doc, options).unwrap();
            assert_eq!(masked.body.is_some(), sensitive);
            assert_eq!(masked.kinds.is_empty(), !sensitive);
            let scan = mbps(doc.len(), time, || {
                black_box(scan_json(black_box(&doc), options).unwrap());
            });
            let mask = mbps(doc.len(), time, || {
                black_box(mask_json(black_box(&doc), options).unwrap());
            });
            let what = if sensitive {
                "some masking"
            } else {
                "nothing to mask"
            };
            println!(
                "{:<28} {:>9} {:>10.0} /{:>6.0} {:>10.0} /{:>6.0}",
                format!("{label}, {what}"),
                doc.len(),
                scan.0,
                scan.1,
                mask.0,
                mask.1
            );
        }
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus");
    let benign_text = std::fs::read_to_string(format!("{dir}/benign.txt")).unwrap();
    let benign: Vec<&str> = benign_text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("# "))
        .collect();
    let mut attack_text = String::new();
    for kind in ["sqli", "xss", "cmd", "traversal", "ldap", "ssti", "nosql"] {
        attack_text
            .push_str(&std::fs::read_to_string(format!("{dir}/attacks/{kind}.txt")).unwrap());
    }
    let attacks: Vec<&str> = attack_text
        .lines()
        .filter_map(|l| l.split_once('\t').map(|(_, p)| p))
        .collect();
    let levels: &[u8] = if only == "json" { &[] } else { &[1, 2] };
    for &paranoia in levels {
        let detector = Detector::new(paranoia);
        let sets = [("benign.txt", &benign), ("attacks/*.txt", &attacks)];
        for (label, values) in sets
            .into_iter()
            .filter(|(l, _)| only != "benign" || *l == "benign.txt")
        {
            let start = Instant::now();
            let cpu = cpu_seconds();
            let mut n = 0u64;
            while start.elapsed() < time {
                for v in values.iter() {
                    black_box(detector.check(black_box(v)));
                }
                n += values.len() as u64;
            }
            let per_wall = start.elapsed().as_secs_f64() / n as f64;
            let per_cpu = (cpu_seconds() - cpu).max(0.01) / n as f64;
            println!(
                "Detector::check paranoia {paranoia}, {label:<14} {:>6.2} us/value wall, {:>6.2} us/value cpu",
                per_wall * 1e6,
                per_cpu * 1e6
            );
        }
    }
}
