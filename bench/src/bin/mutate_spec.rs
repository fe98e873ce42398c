//! `mutate_spec IN OUT`: writes to OUT (JSON) a copy of the OpenAPI document IN with the four
//! security mutations of the `audit diff` tests (a security requirement removed, a maxLength
//! removed, a response field added, an operation added without security), and prints what
//! they must cause. Used by bench/audit_diff.sh.

#[path = "../../../crates/audit/tests/common/mutate.rs"]
#[allow(dead_code)]
mod mutate;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use portcullis_spec::parse::{Format, Limits, parse};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        anyhow::bail!("usage: mutate_spec IN OUT");
    };
    let catalog = portcullis_audit::load(Path::new(input))?;
    let text = std::fs::read_to_string(input).with_context(|| format!("{input}: cannot read"))?;
    let name: Arc<str> = Arc::from(input.as_str());
    let (mut raw, _) = parse(&name, &text, Format::Auto, &Limits::default())?;
    let expected = mutate::mutate(&catalog, &mut raw);
    std::fs::write(output, mutate::shifted_text(&raw))
        .with_context(|| format!("{output}: cannot write"))?;
    for e in &expected {
        println!("{} {}", e.change, e.pointer);
    }
    Ok(())
}
