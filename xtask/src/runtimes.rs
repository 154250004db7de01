//! `cargo xtask no-tokio-runtime`: the smol and blocking builds compile no tokio runtime.
//!
//! hyper 1.x depends on the `tokio` crate unconditionally (feature `sync`, for its internal
//! channels) and `h2` on `tokio` with `io-util` (for the `AsyncRead`/`AsyncWrite` traits), so the
//! *crate* `tokio` is in every hyper-based graph. What the smol and blocking builds must not
//! contain is anything that runs tokio: the features `rt`, `net`, `time`, `macros`, …, the `mio`
//! reactor, `tokio-rustls`, or hyper-util's tokio glue (its `tokio`, `client-legacy` — which pulls
//! `tokio/net` — `server-graceful` and `full` features; its proxy matcher, `client-proxy`, is
//! fine and used). Nor should they bring the `smol` umbrella crate, whose async-process, async-fs
//! and async-signal nothing uses. This checks the resolved graphs with `cargo tree`, and that the
//! same check flags the tokio builds (so it can fail).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Package name → enabled features, for the normal and build dependencies of `package` built
/// with only `features`.
fn graph(package: &str, features: &str) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--locked", "-p", package])
        .args(["--no-default-features", "--features", features])
        .args([
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}|{f}",
        ])
        .output()
        .map_err(|err| format!("running cargo tree: {err}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo tree -p {package} --features {features} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let (pkg, feats) = line.split_once('|').unwrap_or((line, ""));
        let name = pkg.split_whitespace().next().unwrap_or_default().to_owned();
        let feats = feats.trim_end_matches(" (*)");
        map.entry(name).or_default().extend(
            feats
                .split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_owned),
        );
    }
    Ok(map)
}

const RUNTIME_FEATURES: &[&str] = &[
    "rt",
    "rt-multi-thread",
    "net",
    "time",
    "macros",
    "fs",
    "process",
    "signal",
    "io-std",
    "full",
];
const RUNTIME_CRATES: &[&str] = &["mio", "tokio-macros", "tokio-rustls"];
/// hyper-util features that bring tokio's runtime (or its sockets) in.
const HYPER_UTIL_RUNTIME_FEATURES: &[&str] = &["tokio", "client-legacy", "server-graceful", "full"];
/// What the `smol` umbrella crate would add.
const UMBRELLA_CRATES: &[&str] = &["smol", "async-process", "async-fs", "async-signal"];
/// The only tokio features a build without a tokio runtime may have: hyper's and h2's.
const LIBRARY_FEATURES: &[&str] = &["default", "bytes", "io-util", "sync"];

/// Everything in `g` that would run tokio.
fn tokio_runtime_parts(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut found: Vec<String> = RUNTIME_CRATES
        .iter()
        .filter(|c| g.contains_key(**c))
        .map(|c| c.to_string())
        .collect();
    if let Some(features) = g.get("tokio") {
        found.extend(
            features
                .iter()
                .filter(|f| {
                    RUNTIME_FEATURES.contains(&f.as_str())
                        || !LIBRARY_FEATURES.contains(&f.as_str())
                })
                .map(|f| format!("tokio/{f}")),
        );
    }
    if let Some(features) = g.get("hyper-util") {
        found.extend(
            features
                .iter()
                .filter(|f| HYPER_UTIL_RUNTIME_FEATURES.contains(&f.as_str()))
                .map(|f| format!("hyper-util/{f}")),
        );
    }
    found.extend(
        UMBRELLA_CRATES
            .iter()
            .filter(|c| g.contains_key(**c))
            .map(|c| c.to_string()),
    );
    found
}

pub fn run(_args: &[String]) -> Result<bool, String> {
    let mut failed = 0;
    let mut passed = 0;
    let without = [
        ("gemini-transport", "smol"),
        ("gemini-transport", "smol,test-util,platform-roots"),
        ("gemini", "smol"),
        ("gemini", "blocking"),
        ("gemini", "blocking,test-util"),
    ];
    for (package, features) in without {
        let g = graph(package, features)?;
        let parts = tokio_runtime_parts(&g);
        let matcher = g
            .get("hyper-util")
            .is_some_and(|f| f.contains("client-proxy"));
        if !g.contains_key("hyper") || !g.contains_key("rustls") || !g.contains_key("async-io") {
            println!("FAIL {package} [{features}]: no hyper + rustls transport on async-io");
            failed += 1;
        } else if !matcher {
            println!("FAIL {package} [{features}]: hyper-util's proxy matcher is missing");
            failed += 1;
        } else if parts.is_empty() {
            println!("ok   {package} [{features}]: no tokio runtime");
            passed += 1;
        } else {
            println!("FAIL {package} [{features}]: {}", parts.join(", "));
            failed += 1;
        }
    }
    // The check must flag the tokio builds.
    for package in ["gemini-transport", "gemini"] {
        let parts = tokio_runtime_parts(&graph(package, "tokio")?);
        let missing: Vec<&str> = [
            "hyper-util/tokio",
            "mio",
            "tokio-rustls",
            "tokio/net",
            "tokio/rt",
        ]
        .into_iter()
        .filter(|expected| !parts.iter().any(|p| p == expected))
        .collect();
        if missing.is_empty() {
            println!("ok   {package} [tokio]: the check sees its runtime");
            passed += 1;
        } else {
            println!(
                "FAIL {package} [tokio]: the check misses {}",
                missing.join(", ")
            );
            failed += 1;
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(failed == 0)
}
