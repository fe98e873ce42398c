//! Spec-load benchmark: loads every document of the corpus manifest with `portcullis_spec::load`
//! (parse, resolve every `$ref`, convert, build the catalog), one after the other on one thread,
//! and reports documents/s, MB/s (of every file read, external `$ref` targets included) and peak
//! memory. Run it in release: `cargo run --release -p portcullis-bench --bin spec_load`.

use std::time::{Duration, Instant};

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let corpus = portcullis_bench::corpus_dir();
    let documents = portcullis_bench::manifest_documents(&corpus)
        .with_context(|| format!("corpus not found at {}", corpus.display()))?;
    let rounds: u32 = std::env::args()
        .nth(1)
        .map(|r| r.parse())
        .transpose()
        .context("the argument is the number of rounds (default 1)")?
        .unwrap_or(1);

    let mut total = Duration::ZERO;
    let mut bytes = 0u64;
    let mut loaded = 0usize;
    let mut failed = 0usize;
    let mut operations = 0usize;
    let mut slowest: Vec<(Duration, String)> = Vec::new();
    // The document with the most operations: the router benchmark's subject.
    let mut largest: (usize, String) = (0, String::new());
    for _ in 0..rounds {
        for doc in &documents {
            let start = Instant::now();
            let result = portcullis_spec::load(doc);
            let took = start.elapsed();
            total += took;
            let name = doc
                .strip_prefix(&corpus)
                .unwrap_or(doc)
                .display()
                .to_string();
            match result {
                Ok(catalog) => {
                    loaded += 1;
                    operations += catalog.operations.len();
                    if catalog.operations.len() > largest.0 {
                        largest = (catalog.operations.len(), name.clone());
                    }
                    bytes += catalog.sources.files.iter().map(|f| f.bytes).sum::<u64>();
                }
                Err(_) => {
                    failed += 1;
                    bytes += std::fs::metadata(doc).map(|m| m.len()).unwrap_or(0);
                }
            }
            slowest.push((took, name));
        }
    }
    slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
    slowest.truncate(5);

    let secs = total.as_secs_f64().max(f64::MIN_POSITIVE);
    let docs = (loaded + failed) as f64;
    println!("corpus:      {}", corpus.display());
    println!("rounds:      {rounds}");
    println!(
        "documents:   {} loaded, {failed} failed (expected failures included)",
        loaded
    );
    println!("operations:  {operations}");
    println!("most ops:    {} ({} operations)", largest.1, largest.0);
    println!("bytes read:  {:.1} MB", bytes as f64 / 1e6);
    println!("time:        {secs:.3} s (sum of per-document load times, one thread)");
    println!(
        "throughput:  {:.1} documents/s, {:.1} MB/s",
        docs / secs,
        bytes as f64 / 1e6 / secs
    );
    match portcullis_bench::peak_rss_bytes() {
        Some(rss) => println!("peak RSS:    {:.1} MB", rss as f64 / 1e6),
        None => println!("peak RSS:    unknown (no /proc/self/status)"),
    }
    println!("slowest documents:");
    for (took, name) in slowest {
        println!("  {:>8.1} ms  {name}", took.as_secs_f64() * 1e3);
    }
    Ok(())
}
