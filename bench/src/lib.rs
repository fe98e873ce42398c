//! Shared helpers of the benchmark harnesses: finding the corpus and reading peak memory.

use std::path::PathBuf;

/// The corpus folder: `$PORTCULLIS_CORPUS`, else `../shared/corpus` beside the checkout.
pub fn corpus_dir() -> PathBuf {
    match std::env::var_os("PORTCULLIS_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus")),
    }
}

/// The documents listed in the corpus manifest (first column of MANIFEST.tsv), as paths.
pub fn manifest_documents(corpus: &std::path::Path) -> anyhow::Result<Vec<PathBuf>> {
    let manifest = corpus.join("MANIFEST.tsv");
    let text = std::fs::read_to_string(&manifest).map_err(|e| {
        anyhow::anyhow!(
            "{}: cannot read the corpus manifest: {e}",
            manifest.display()
        )
    })?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|line| line.split('\t').next())
        .filter(|file| !file.is_empty())
        .map(|file| corpus.join(file))
        .collect())
}

/// Peak resident set size of this process in bytes (`VmHWM` of /proc/self/status), when known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
