//! The rules of `docs/architecture.md`, checked against the tree as it is: the crate graph as
//! Cargo resolves it (`cargo metadata`), and the source files as text.
//!
//! - sources depend on the source SDK (and the protocol model) only, never on the engine, the
//!   Elasticsearch client or the queue;
//! - the SDK depends on the protocol model and the extractor only; those on no crate of ours;
//! - nothing below `functions/` knows a Lambda type;
//! - the engine reaches Elasticsearch through es-client only (no HTTP crate of its own, no raw
//!   request), and es-client keeps its raw request builder private;
//! - the AWS adapters do not depend on the local service, the sources or the composition root;
//! - the test server (es-sim) is in neither Lambda function's build;
//! - no production source file is over 800 lines, and no two modules of a crate import each
//!   other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

struct Graph {
    /// Workspace crate name -> its manifest's folder, relative to the root.
    members: BTreeMap<String, PathBuf>,
    /// Package name -> names of its normal (non-dev, non-build) dependencies, as resolved.
    normal: BTreeMap<String, BTreeSet<String>>,
}

fn graph() -> Graph {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            // The Lambda and CI platform: without a filter, cargo wants every platform's crates.
            "--filter-platform",
            "x86_64-unknown-linux-gnu",
        ])
        .current_dir(ROOT)
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let root = Path::new(meta["workspace_root"].as_str().unwrap_or_default()).to_path_buf();
    let mut names = BTreeMap::new();
    let mut members = BTreeMap::new();
    let member_ids: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for p in meta["packages"].as_array().into_iter().flatten() {
        let id = p["id"].as_str().unwrap_or_default();
        let name = p["name"].as_str().unwrap_or_default().to_string();
        names.insert(id.to_string(), name.clone());
        if member_ids.contains(id) {
            let manifest = Path::new(p["manifest_path"].as_str().unwrap_or_default());
            let dir = manifest.parent().unwrap_or(Path::new(""));
            members.insert(name, dir.strip_prefix(&root).unwrap_or(dir).to_path_buf());
        }
    }
    let mut normal: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().into_iter().flatten() {
        let from = names[node["id"].as_str().unwrap_or_default()].clone();
        let deps = normal.entry(from).or_default();
        for dep in node["deps"].as_array().into_iter().flatten() {
            let is_normal = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null());
            if is_normal {
                deps.insert(names[dep["pkg"].as_str().unwrap_or_default()].clone());
            }
        }
    }
    Graph { members, normal }
}

impl Graph {
    /// The workspace crates `name` depends on directly (normal dependencies).
    fn ours(&self, name: &str) -> BTreeSet<String> {
        self.normal[name]
            .iter()
            .filter(|d| self.members.contains_key(*d))
            .cloned()
            .collect()
    }

    /// Every package in `name`'s normal build, itself excluded.
    fn closure(&self, name: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![name.to_string()];
        while let Some(n) = todo.pop() {
            for d in self.normal.get(&n).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    todo.push(d.clone());
                }
            }
        }
        seen
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn sources_see_only_the_sdk() {
    let g = graph();
    let allowed = set(&["connectors-sdk", "connectors-protocol"]);
    let ours = g.ours("connectors-sources");
    assert!(
        ours.is_subset(&allowed),
        "connectors-sources depends on {ours:?}; sources may use only {allowed:?}"
    );
    let sdk = g.ours("connectors-sdk");
    assert_eq!(
        sdk,
        set(&["connectors-protocol", "connectors-extract"]),
        "the SDK builds on the protocol model and the text extractor only"
    );
    assert!(g.ours("connectors-protocol").is_empty());
    assert!(
        g.ours("connectors-extract").is_empty(),
        "the extractor stands alone"
    );
    // Nor through anything else: no HTTP client, no queue, no Elasticsearch client.
    let closure = g.closure("connectors-sdk");
    for banned in [
        "es-client",
        "connectors-engine",
        "reqwest",
        "hyper",
        "tokio",
    ] {
        assert!(
            !closure.contains(banned),
            "the SDK's build includes {banned}"
        );
    }
}

#[test]
fn lambda_types_stay_in_functions() {
    let g = graph();
    for (name, dir) in &g.members {
        if dir.starts_with("functions") {
            continue;
        }
        let closure = g.closure(name);
        for lambda in ["lambda_runtime", "aws_lambda_events"] {
            assert!(
                !closure.contains(lambda),
                "{name} ({}) builds with {lambda}: Lambda types belong in functions/",
                dir.display()
            );
        }
    }
}

#[test]
fn the_lambda_functions_do_not_build_the_test_server() {
    let g = graph();
    for function in ["lambda-worker", "lambda-scheduler"] {
        let closure = g.closure(function);
        assert!(
            !closure.contains("es-sim"),
            "{function} builds es-sim (the test and demo server)"
        );
        assert!(closure.contains("connectors-serverless"));
    }
}

#[test]
fn the_aws_adapters_are_only_adapters() {
    let g = graph();
    let ours = g.ours("connectors-aws");
    assert_eq!(
        ours,
        set(&["connectors-engine"]),
        "connectors-aws adapts the engine's ports to AWS and depends on nothing else of ours"
    );
}

#[test]
fn the_engine_reaches_elasticsearch_through_es_client_only() {
    let g = graph();
    let ours = g.ours("connectors-engine");
    assert_eq!(
        ours,
        set(&[
            "connectors-protocol",
            "connectors-sdk",
            "connectors-extract",
            "es-client"
        ])
    );
    for http in ["reqwest", "hyper", "http"] {
        assert!(
            !g.normal["connectors-engine"].contains(http),
            "the engine depends on {http} directly"
        );
    }
    // No raw request from the engine: es-client's request builder is not public.
    for file in rust_files(&Path::new(ROOT).join("shared/engine/src")) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            !text.contains("send_json") && !text.contains("reqwest"),
            "{} builds a raw Elasticsearch request",
            file.display()
        );
    }
    let client = std::fs::read_to_string(Path::new(ROOT).join("shared/es-client/src/client.rs"))
        .expect("es-client's client.rs");
    assert!(
        !client.contains("pub async fn send_json"),
        "es-client's raw request builder is public"
    );
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The `src` folders of every workspace crate.
fn source_dirs(g: &Graph) -> Vec<(String, PathBuf)> {
    g.members
        .iter()
        .map(|(name, dir)| (name.clone(), Path::new(ROOT).join(dir).join("src")))
        .filter(|(_, src)| src.is_dir())
        .collect()
}

#[test]
fn no_production_file_is_over_800_lines() {
    let g = graph();
    let mut long = Vec::new();
    for (_, src) in source_dirs(&g) {
        for file in rust_files(&src) {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let lines = text.lines().count();
            if lines > 800 {
                long.push(format!("{} ({lines} lines)", file.display()));
            }
        }
    }
    assert!(long.is_empty(), "files over 800 lines: {long:#?}");
}

/// The top-level module a file of `src` belongs to (`lib`/`main` for the crate root).
fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let first = rel
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    first.trim_end_matches(".rs").to_string()
}

#[test]
fn no_two_modules_import_each_other() {
    let g = graph();
    let mut circles = Vec::new();
    for (name, src) in source_dirs(&g) {
        let files = rust_files(&src);
        let modules: BTreeSet<String> = files.iter().map(|f| top_module(&src, f)).collect();
        let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in &files {
            let from = top_module(&src, file);
            let text = std::fs::read_to_string(file).unwrap_or_default();
            for (i, _) in text.match_indices("crate::") {
                let rest = &text[i + "crate::".len()..];
                let target: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if target != from && modules.contains(&target) {
                    uses.entry(from.clone()).or_default().insert(target);
                }
            }
        }
        for (a, targets) in &uses {
            for b in targets {
                if a < b && uses.get(b).is_some_and(|t| t.contains(a)) {
                    circles.push(format!("{name}: {a} <-> {b}"));
                }
            }
        }
    }
    assert!(
        circles.is_empty(),
        "modules importing each other: {circles:#?}"
    );
}
