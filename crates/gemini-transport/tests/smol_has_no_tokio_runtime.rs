//! The smol build must not compile tokio's runtime, reactor, timer or sockets.
//!
//! hyper 1.x itself depends on the `tokio` crate unconditionally (feature `sync`, for its
//! internal channels) and `h2` on `tokio` with `io-util` plus `tokio-util/codec` (for the
//! `AsyncRead`/`AsyncWrite` traits), so the *crate* `tokio` is in every hyper-based graph.
//! What the smol build must not contain is anything that runs tokio: the features `rt`,
//! `net`, `time`, `macros`, …, the `mio` reactor, `hyper-util`'s runtime glue (its features
//! `tokio`, and `client-legacy`, which pulls `tokio/net`) or `tokio-rustls`. `hyper-util` itself
//! is there for its proxy matcher (`client-proxy`, which needs no tokio). This test checks the
//! resolved graph with `cargo tree`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Package name → enabled features, for the normal and build dependencies of this crate.
fn graph(features: &str) -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "--manifest-path",
            manifest,
            "-p",
            "gemini-transport",
        ])
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
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
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
    map
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

/// Everything in `g` that would run tokio.
fn tokio_runtime_parts(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut found: Vec<String> = RUNTIME_CRATES
        .iter()
        .filter(|c| g.contains_key(**c))
        .map(|c| c.to_string())
        .collect();
    if let Some(f) = g.get("tokio") {
        found.extend(
            f.iter()
                .filter(|f| RUNTIME_FEATURES.contains(&f.as_str()))
                .map(|f| format!("tokio/{f}")),
        );
    }
    if let Some(f) = g.get("hyper-util") {
        found.extend(
            f.iter()
                .filter(|f| HYPER_UTIL_RUNTIME_FEATURES.contains(&f.as_str()))
                .map(|f| format!("hyper-util/{f}")),
        );
    }
    found
}

#[test]
fn smol_build_has_no_tokio_runtime() {
    let g = graph("smol");
    assert!(
        g.contains_key("hyper") && g.contains_key("async-io") && g.contains_key("rustls"),
        "unexpected graph: {g:?}"
    );
    assert_eq!(
        tokio_runtime_parts(&g),
        Vec::<String>::new(),
        "tokio runtime parts in the smol build"
    );
    // The only tokio features left are the library ones hyper and h2 ask for.
    let allowed: BTreeSet<&str> = ["default", "bytes", "io-util", "sync"].into();
    for f in g.get("tokio").into_iter().flatten() {
        assert!(
            allowed.contains(f.as_str()),
            "unexpected tokio feature `{f}` in the smol build"
        );
    }
    // The proxy matcher is hyper-util's.
    assert!(
        g.get("hyper-util")
            .is_some_and(|f| f.contains("client-proxy")),
        "{:?}",
        g.get("hyper-util")
    );
    // Test utilities and platform roots do not change that.
    assert_eq!(
        tokio_runtime_parts(&graph("smol,test-util,platform-roots")),
        Vec::<String>::new()
    );
}

#[test]
fn smol_build_uses_smol_parts_not_the_umbrella_crate() {
    // `smol` itself would also bring async-process, async-fs and async-signal.
    let g = graph("smol");
    for unwanted in ["smol", "async-process", "async-fs", "async-signal"] {
        assert!(!g.contains_key(unwanted), "{unwanted} in the smol build");
    }
}

#[test]
fn the_check_detects_the_tokio_build() {
    // The same check flags the tokio build, so the test above can fail.
    let parts = tokio_runtime_parts(&graph("tokio"));
    for expected in [
        "hyper-util/tokio",
        "mio",
        "tokio-rustls",
        "tokio/net",
        "tokio/rt",
        "tokio/time",
    ] {
        assert!(
            parts.iter().any(|p| p == expected),
            "{expected} missing from {parts:?}"
        );
    }
}
