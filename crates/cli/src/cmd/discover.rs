//! `portcullis discover` (an inventory from recorded traffic) and `portcullis inventory`
//! (the inventory of a running gateway, from its admin API).

use std::sync::Arc;

use anyhow::{Context, bail};
use http_body_util::{BodyExt, Empty, Limited};
use portcullis_inventory::route::Routes;
use portcullis_inventory::{ApiSpec, Inventory, Settings, learned, logs};

use super::Outcome;
use crate::args::{DiscoverArgs, InventoryArgs, InventoryFormat};

/// Reads the spec and the traffic file, prints the inventory.
pub fn discover(args: &DiscoverArgs) -> anyhow::Result<Outcome> {
    let catalog = Arc::new(portcullis_spec::load(&args.spec)?);
    let name = args
        .spec
        .file_stem()
        .map_or_else(|| "api".to_owned(), |s| s.to_string_lossy().into_owned());
    let routes = Routes::new(&name, catalog.clone());
    // Offline, "unused" means not called anywhere in the file, and nothing expires.
    let settings = Settings {
        unused_after_ms: u64::MAX / 4,
        retention_ms: u64::MAX / 4,
        ..Settings::default()
    };
    let mut inventory = Inventory::new(vec![ApiSpec { name, catalog }], settings);
    let mut last = 0;
    let read = logs::read(&args.log, |mut s| {
        routes.annotate(&mut s);
        last = last.max(s.ts_ms);
        inventory.record(&s);
        // A HAR file's JSON bodies: the learned spec's schemas (undocumented endpoints).
        if let (Some(bodies), None) = (&s.bodies, &s.operation) {
            let api = s.api.as_deref().unwrap_or_default();
            inventory.learn(api, &s.method, &s.path, s.status, bodies);
        }
    })?;
    let file = args.log.display();
    for (line, reason) in &read.errors {
        eprintln!("portcullis: {file}:{line}: skipped: {reason}");
    }
    if read.malformed > read.errors.len() as u64 {
        eprintln!(
            "portcullis: {file}: {} more malformed lines skipped",
            read.malformed - read.errors.len() as u64
        );
    }
    if read.samples == 0 {
        bail!(
            "{file}: no request could be read ({} malformed lines)",
            read.malformed
        );
    }
    let snapshot = inventory.snapshot(last);
    let text = match args.format {
        InventoryFormat::Openapi => learned::openapi(&snapshot),
        InventoryFormat::Json => {
            let mut json = serde_json::to_value(&snapshot)?;
            if let Some(o) = json.as_object_mut() {
                o.insert("diff".into(), learned::diff(&snapshot, inventory.apis()));
                o.insert("rate_limits".into(), learned::rate_limits(&snapshot).into());
                o.insert(
                    "input".into(),
                    serde_json::json!({
                        "file": file.to_string(),
                        "format": read.format.map(logs::Format::name),
                        "requests": read.samples,
                        "malformed": read.malformed,
                        "errors": read.errors.iter().map(|(l, r)| serde_json::json!({"line": l, "reason": r})).collect::<Vec<_>>(),
                    }),
                );
            }
            json
        }
    };
    super::print(&format!("{}\n", serde_json::to_string_pretty(&text)?))?;
    Ok(Outcome::Clean)
}

/// The most bytes read from the admin API.
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// Reads `/api/inventory` of a running gateway.
pub fn inventory(args: &InventoryArgs) -> anyhow::Result<Outcome> {
    let token = std::env::var("PORTCULLIS_ADMIN_TOKEN")
        .context("PORTCULLIS_ADMIN_TOKEN is not set (the admin API's token)")?;
    let base = args.admin.trim_end_matches('/');
    if !base.starts_with("http://") {
        bail!("--admin {base}: give an http:// URL (the admin listener)");
    }
    let query = match args.format {
        InventoryFormat::Json => "",
        InventoryFormat::Openapi => "?format=openapi",
    };
    let url = format!("{base}/api/inventory{query}");
    let uri: http::Uri = url
        .parse()
        .with_context(|| format!("--admin {base}: not a URL"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let body = runtime.block_on(async {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Empty<bytes::Bytes>>();
        let request = http::Request::get(uri)
            .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Empty::new())?;
        let answer =
            tokio::time::timeout(std::time::Duration::from_secs(30), client.request(request))
                .await
                .with_context(|| format!("{url}: no answer within 30 s"))?
                .with_context(|| format!("{url}: cannot connect"))?;
        let status = answer.status();
        let bytes = Limited::new(answer.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("{url}: {e}"))?
            .to_bytes();
        if !status.is_success() {
            bail!(
                "{url}: {status}: {}",
                String::from_utf8_lossy(&bytes)
                    .chars()
                    .take(300)
                    .collect::<String>()
            );
        }
        Ok::<_, anyhow::Error>(bytes)
    })?;
    let json: serde_json::Value =
        serde_json::from_slice(&body).with_context(|| format!("{url}: not JSON"))?;
    super::print(&format!("{}\n", serde_json::to_string_pretty(&json)?))?;
    Ok(Outcome::Clean)
}
