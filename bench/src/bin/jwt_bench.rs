//! RS256 material for bench/gateway, and the JWT verifier with and without its cache.
//!
//! * `jwt_bench gen DIR N`: makes a fresh 2048-bit RSA key (the demo identity provider's
//!   code), writes `DIR/jwks.json`, and `DIR/tokens.txt` with N distinct RS256 tokens valid
//!   for two hours (issuer `https://bench.issuer/`, audience `bank`), one per line. The gateway
//!   benchmark replays the first token for "cache on", and cycles through all of them (more
//!   than the verified-token cache holds) for "cache off".
//! * `jwt_bench verify DIR [SECONDS]`: drives `Verifier` directly on one thread: the same
//!   token again and again with the cache (a lookup), then with `Verifier::without_cache`
//!   (a full RS256 check every time), and prints verifications/s and microseconds each.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use portcullis_demo::idp::Idp;
use portcullis_gateway::identity::jwks::{KeySource, parse};
use portcullis_gateway::identity::jwt::{Issuer, Verifier};

const ISSUER: &str = "https://bench.issuer/";

fn generate(dir: &Path, count: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let idp = Arc::new(Idp::generate(ISSUER)?);
    std::fs::write(dir.join("jwks.json"), idp.jwks().to_string())?;
    // RSA signing is slow: sign on every core.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per = count.div_ceil(workers);
    let parts: Vec<anyhow::Result<Vec<String>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let idp = Arc::clone(&idp);
                s.spawn(move || {
                    (w * per..((w + 1) * per).min(count))
                        .map(|i| Ok(idp.sign(&format!("user-{i}"), &["items:read"], 7200)?))
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a signer panicked")))
            })
            .collect()
    });
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("tokens.txt"))?);
    for part in parts {
        for token in part? {
            writeln!(out, "{token}")?;
        }
    }
    out.flush()?;
    println!("{count} RS256 tokens and jwks.json in {}", dir.display());
    Ok(())
}

fn verifier(dir: &Path) -> anyhow::Result<Verifier> {
    let path = dir.join("jwks.json");
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let keys = parse(&path.display().to_string(), &bytes)?;
    let issuer = Issuer {
        issuer: ISSUER.to_owned(),
        audiences: vec!["bank".to_owned()],
        algorithms: vec![jsonwebtoken::Algorithm::RS256],
        leeway: 30,
        keys: KeySource::Static(Arc::new(keys)),
        secret: None,
        roles_claim: "roles".to_owned(),
    };
    let clock = Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    Ok(Verifier::new(vec![issuer], Default::default(), clock))
}

async fn measure(
    name: &str,
    verifier: &Verifier,
    token: &str,
    seconds: u64,
) -> anyhow::Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut n = 0u64;
    while Instant::now() < deadline {
        for _ in 0..100 {
            verifier
                .verify(token)
                .await
                .map_err(|e| anyhow::anyhow!("the token does not verify: {e:?}"))?;
        }
        n += 100;
    }
    let per_second = n as f64 / started.elapsed().as_secs_f64();
    println!(
        "{name}: {per_second:.0} verifications/s on one thread = {:.2} us each",
        1e6 / per_second
    );
    Ok(per_second)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["gen", dir, count] => generate(Path::new(dir), count.parse()?),
        ["verify", dir, rest @ ..] => {
            let seconds: u64 = rest.first().map(|s| s.parse()).transpose()?.unwrap_or(3);
            let dir = Path::new(dir);
            let tokens = std::fs::read_to_string(dir.join("tokens.txt"))?;
            let token = tokens
                .lines()
                .next()
                .context("tokens.txt is empty")?
                .to_owned();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let cached = measure("cache on", &verifier(dir)?, &token, seconds).await?;
                let full = measure(
                    "cache off",
                    &verifier(dir)?.without_cache(),
                    &token,
                    seconds,
                )
                .await?;
                println!("cache speed-up: {:.0}x", cached / full);
                Ok(())
            })
        }
        _ => bail!("usage: jwt_bench gen DIR N | jwt_bench verify DIR [SECONDS]"),
    }
}
