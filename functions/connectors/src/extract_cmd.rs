//! `connectors extract`: the text the workers would index as `body` for local files, to check
//! what a file yields before syncing it, and to measure extraction (`--bench`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use connectors_extract::{Limits, extract};
use serde_json::{Value, json};

#[derive(clap::Args)]
pub struct ExtractArgs {
    /// Files, or folders whose files are read (not recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Characters to keep per file (the attachment processor's `indexed_chars`); 0: no cap.
    #[arg(long, default_value_t = connectors_extract::DEFAULT_MAX_CHARS)]
    max_chars: usize,
    /// Seconds one file may take.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Print `{file name: {"text": ...} | {"error": ...}}` as JSON.
    #[arg(long)]
    json: bool,
    /// Measure: extract every file `--runs` times and print MB/s and files/s per extension.
    #[arg(long)]
    bench: bool,
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

pub fn run(args: ExtractArgs) -> anyhow::Result<bool> {
    let files = expand(&args.paths)?;
    let limits = Limits {
        max_chars: args.max_chars,
        timeout: Duration::from_secs(args.timeout),
        ..Limits::default()
    };
    if args.bench {
        bench(&files, &limits, args.runs.max(1))?;
        return Ok(true);
    }
    let mut all_ok = true;
    let mut report = serde_json::Map::new();
    for path in &files {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let result = extract(&bytes, &name, &limits);
        if args.json {
            let entry = match &result {
                Ok(text) => json!({ "text": text }),
                Err(e) => json!({ "error": e.to_string() }),
            };
            report.insert(name, entry);
            continue;
        }
        match result {
            Ok(text) => println!(
                "==> {} ({} chars)\n{text}\n",
                path.display(),
                text.chars().count()
            ),
            Err(e) => {
                all_ok = false;
                println!("==> {}: no text: {e}\n", path.display());
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&Value::Object(report))?);
    }
    Ok(all_ok)
}

/// The files of `paths`, folders expanded one level, in name order.
fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("listing {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn extension_of(path: &Path) -> String {
    path.extension()
        .map(|e| format!(".{}", e.to_string_lossy().to_ascii_lowercase()))
        .unwrap_or_else(|| "(none)".into())
}

/// Median time per extension over `runs` passes, files read into memory first.
fn bench(files: &[PathBuf], limits: &Limits, runs: usize) -> anyhow::Result<()> {
    let mut by_ext: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    for path in files {
        let bytes = std::fs::read(path)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        by_ext
            .entry(extension_of(path))
            .or_default()
            .push((name, bytes));
    }
    let mut total_bytes = 0usize;
    let mut total_files = 0usize;
    let mut total_secs = 0f64;
    for (ext, group) in &by_ext {
        let bytes: usize = group.iter().map(|(_, b)| b.len()).sum();
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let start = Instant::now();
            for (name, data) in group {
                let _ = std::hint::black_box(extract(data, name, limits));
            }
            times.push(start.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2].max(1e-9);
        total_bytes += bytes;
        total_files += group.len();
        total_secs += median;
        println!(
            "ours {ext:8} {:8.2} MB/s {:9.1} files/s",
            bytes as f64 / 1e6 / median,
            group.len() as f64 / median
        );
    }
    println!(
        "ours overall {:8.2} MB/s {:9.1} files/s ({total_files} files, median of {runs})",
        total_bytes as f64 / 1e6 / total_secs.max(1e-9),
        total_files as f64 / total_secs.max(1e-9)
    );
    Ok(())
}
