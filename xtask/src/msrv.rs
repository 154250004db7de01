//! `cargo xtask msrv`: every dependency's `rust-version` must be at most the workspace's.

use std::collections::{HashMap, HashSet};
use std::process::Command;

use serde_json::Value;

fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.trim().split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let patch = parts.next().flatten().unwrap_or(0);
    Some((major, minor, patch))
}

/// `cargo metadata` of the workspace.
pub fn load_metadata() -> Result<Value, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .output()
        .map_err(|err| format!("running cargo metadata: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|err| format!("cargo metadata output: {err}"))
}

/// The packages reachable from `roots` through normal and build dependencies (not dev-dependencies),
/// roots included, as package JSON objects.
pub fn runtime_closure<'a>(metadata: &'a Value, roots: &[&str]) -> Vec<&'a Value> {
    let packages = metadata["packages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let by_id: HashMap<&str, &Value> = packages
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let nodes: HashMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .map(|nodes| {
            nodes
                .iter()
                .filter_map(|n| Some((n["id"].as_str()?, n)))
                .collect()
        })
        .unwrap_or_default();
    let mut queue: Vec<&str> = by_id
        .iter()
        .filter(|(_, p)| p["name"].as_str().is_some_and(|name| roots.contains(&name)))
        .map(|(id, _)| *id)
        .collect();
    let mut seen: HashSet<&str> = queue.iter().copied().collect();
    while let Some(id) = queue.pop() {
        let Some(node) = nodes.get(id) else { continue };
        for dep in node["deps"].as_array().into_iter().flatten() {
            let runtime = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null() || k["kind"] == "build");
            if let Some(dep_id) = dep["pkg"].as_str()
                && runtime
                && seen.insert(dep_id)
            {
                queue.push(dep_id);
            }
        }
    }
    let mut out: Vec<&Value> = seen
        .iter()
        .filter_map(|id| by_id.get(id).copied())
        .collect();
    out.sort_by_key(|p| p["name"].as_str().unwrap_or_default().to_owned());
    out
}

/// The published library crates of the workspace.
pub fn published_members(metadata: &Value) -> Vec<String> {
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .map(|m| m.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| members.contains(&p["id"].as_str().unwrap_or_default()))
        .filter(|p| {
            p["publish"]
                .as_array()
                .is_none_or(|registries| !registries.is_empty())
        })
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect()
}

pub fn run(_args: &[String]) -> Result<bool, String> {
    let metadata = load_metadata()?;
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let msrv = packages
        .iter()
        .find(|p| p["name"] == "gemini-proto")
        .and_then(|p| p["rust_version"].as_str())
        .and_then(parse_version)
        .ok_or("gemini-proto declares no rust-version")?;
    let members: Vec<String> = published_members(&metadata);
    let roots: Vec<&str> = members.iter().map(String::as_str).collect();
    let mut too_new = Vec::new();
    let mut checked = 0;
    for package in runtime_closure(&metadata, &roots) {
        if roots.contains(&package["name"].as_str().unwrap_or_default()) {
            continue;
        }
        checked += 1;
        if let Some(needs) = package["rust_version"].as_str().and_then(parse_version)
            && needs > msrv
        {
            too_new.push(format!(
                "{} {} needs Rust {}.{}.{}",
                package["name"].as_str().unwrap_or("?"),
                package["version"].as_str().unwrap_or("?"),
                needs.0,
                needs.1,
                needs.2
            ));
        }
    }
    for line in &too_new {
        println!("FAIL {line}");
    }
    println!(
        "MSRV {}.{}: {} dependencies of {} checked, {} too new",
        msrv.0,
        msrv.1,
        checked,
        roots.join(", "),
        too_new.len()
    );
    Ok(too_new.is_empty())
}

/// Crates that do I/O, spawn tasks or bring an async runtime: never in the sans-IO core.
const NOT_SANS_IO: [&str; 12] = [
    "tokio",
    "futures",
    "futures-util",
    "futures-core",
    "futures-io",
    "hyper",
    "http-body",
    "async-io",
    "mio",
    "smol",
    "async-std",
    "socket2",
];

/// `cargo xtask sans-io`: gemini-proto's runtime dependency graph holds no I/O or async crate.
pub fn run_sans_io(_args: &[String]) -> Result<bool, String> {
    let metadata = load_metadata()?;
    let closure = runtime_closure(&metadata, &["gemini-proto"]);
    let names: Vec<&str> = closure.iter().filter_map(|p| p["name"].as_str()).collect();
    let bad: Vec<&&str> = names.iter().filter(|n| NOT_SANS_IO.contains(n)).collect();
    for name in &bad {
        println!("FAIL gemini-proto depends on {name}");
    }
    println!("gemini-proto runtime dependencies: {}", names.join(", "));
    println!(
        "{} passed, {} failed",
        usize::from(bad.is_empty()),
        bad.len()
    );
    Ok(bad.is_empty())
}
