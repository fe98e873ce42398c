//! Writing a large list of findings inside a JSON document without holding it in memory: the
//! document is serialized with an empty list, and the items are spliced in where it stands,
//! (findings, SARIF results) rendered block by block on every core and written in order. The bytes are exactly those
//! `serde_json`'s pretty printer writes for the whole document.

use std::io::{self, Write};

/// Findings rendered per thread in one block.
pub(crate) const BLOCK: usize = 4096;

/// Writes `shell` (a pretty-printed document whose list `key`, at `depth` levels of two
/// spaces, is empty) with that list replaced by the items `render` makes of `findings`.
pub(crate) fn splice<T, F>(
    out: &mut dyn Write,
    shell: &[u8],
    key: &str,
    depth: usize,
    findings: &[T],
    render: F,
) -> io::Result<()>
where
    T: Sync,
    F: Fn(&T, &mut Vec<u8>) -> io::Result<()> + Sync,
{
    // No string holds a raw newline (JSON escapes it), so the first newline, indentation and
    // `"key": []` is the member itself.
    let outer = " ".repeat(depth * 2);
    let marker = format!("\n{outer}\"{key}\": []");
    let at = shell
        .windows(marker.len())
        .position(|w| w == marker.as_bytes())
        .ok_or_else(|| io::Error::other(format!("no empty `{key}` list to fill")))?;
    let (head, tail) = shell.split_at(at);
    let tail = tail.get(marker.len()..).unwrap_or_default();
    out.write_all(head)?;
    write!(out, "\n{outer}\"{key}\": [\n")?;
    let indent = " ".repeat(depth * 2 + 2);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let mut first = true;
    for block in findings.chunks(BLOCK * threads) {
        let per = block.len().div_ceil(threads).max(1);
        let parts: Vec<io::Result<Vec<u8>>> = std::thread::scope(|s| {
            let handles: Vec<_> = block
                .chunks(per)
                .map(|slice| {
                    let (render, indent) = (&render, indent.as_str());
                    s.spawn(move || render_slice(slice, indent, render))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(io::Error::other("a writer thread panicked")))
                })
                .collect()
        });
        for part in parts {
            if !first {
                out.write_all(b",\n")?;
            }
            first = false;
            out.write_all(&part?)?;
        }
    }
    write!(out, "\n{outer}]")?;
    out.write_all(tail)
}

/// The items of `findings`, each re-indented by `indent`, joined by `,\n`.
fn render_slice<T, F>(findings: &[T], indent: &str, render: &F) -> io::Result<Vec<u8>>
where
    F: Fn(&T, &mut Vec<u8>) -> io::Result<()>,
{
    let mut out = Vec::with_capacity(findings.len() * 700);
    let mut one = Vec::with_capacity(1024);
    for (i, f) in findings.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b",\n");
        }
        one.clear();
        render(f, &mut one)?;
        out.extend_from_slice(indent.as_bytes());
        for line in one.split_inclusive(|b| *b == b'\n') {
            out.extend_from_slice(line);
            if line.ends_with(b"\n") {
                out.extend_from_slice(indent.as_bytes());
            }
        }
    }
    Ok(out)
}
