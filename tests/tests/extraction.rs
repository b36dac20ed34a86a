//! Content extraction end to end: a corpus made by the usual writers (python-docx, python-pptx,
//! openpyxl, xlwt, fpdf2, odfpy; `tests/extraction/corpus.py`) plus corrupt and hostile files,
//! synced by `connectors sync` of a `dir` connector into es-sim twice: extracted in-process,
//! and sent as `_attachment` for es-sim's attachment processor. Both give the same `body`,
//! which holds each file's phrases; hostile files give no body and never stop the sync; the
//! character cap, U+FFFD removal and the file size limit apply.
//!
//! Without the corpus writers installed (`bash tests/tools.sh`), the test is skipped, saying
//! so, unless `CI` is set: then it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use connectors_protocol::ConnectorStatus;
use connectors_tests::*;
use serde_json::{Map, Value, json};

fn python() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let ok = venv.exists()
        && Command::new(&venv)
            .args(["-c", "import docx, openpyxl, pptx, fpdf, odf, xlwt"])
            .status()
            .is_ok_and(|s| s.success());
    if ok {
        return Some(venv);
    }
    if std::env::var_os("CI").is_some() {
        panic!("the corpus writers are missing and CI is set: run `bash tests/tools.sh`");
    }
    eprintln!("SKIPPED: the corpus writers are missing (run `bash tests/tools.sh`)");
    None
}

/// Writes the corpus into `dir`; its manifest: file name -> phrases its body must hold.
fn corpus(python: &Path, dir: &Path) -> Map<String, Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("extraction/corpus.py");
    let out = Command::new(python)
        .arg(script)
        .arg(dir)
        .args(["--bomb-mb", "64"])
        .output()
        .expect("corpus.py runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    match serde_json::from_slice(&out.stdout).expect("a JSON manifest") {
        Value::Object(m) => m,
        other => panic!("manifest: {other}"),
    }
}

async fn sync_dir(sim: &Sim, id: &str, root: &Path, env: &[(&str, &str)]) -> Map<String, Value> {
    let index = format!("search-{id}");
    sim.create_connector(id, &index, "dir").await;
    let (ok, _, err) = sim.run(&["tick"], &[("CONNECTOR_IDS", id)]).await;
    assert!(ok, "{err}");
    sim.set_values(id, json!({"directory": root.display().to_string()}))
        .await;
    let c = sim.es.connectors().get(id, false).await.unwrap();
    assert_eq!(c.status, ConnectorStatus::Configured);
    let (ok, out, err) = sim.run(&["sync", "--connector", id], env).await;
    assert!(ok, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("completed"), "{out}\n{err}");
    // Every file is a document, whether or not it gave text.
    let docs = sim.docs(&index).await;
    docs.into_values()
        .map(|d| {
            let path = d["path"].as_str().unwrap_or_default().to_string();
            let name = Path::new(&path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(path);
            (name, d)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_modes_give_the_same_bodies_and_hostile_files_only_lose_their_body() {
    let Some(python) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let manifest = corpus(&python, &root);
    // The limits: more than 100,000 characters, a file over the size limit.
    let long: String = (0..30_000).map(|i| format!("w{} ", i % 97)).collect();
    std::fs::write(root.join("limits-long.txt"), &long).unwrap();
    std::fs::write(root.join("limits-large.txt"), "x ".repeat(1_500_000)).unwrap();
    let env = [
        ("CONNECTORS_EXTRACTION_MAX_UNPACKED_BYTES", "16777216"),
        ("CONNECTORS_MAX_FILE_DOWNLOAD_SIZE", "2097152"),
    ];

    let sim = start_sim().await;
    let in_process = sync_dir(&sim, "ext-inproc", &root, &env).await;
    let mut attachment_env = env.to_vec();
    attachment_env.push(("CONNECTORS_EXTRACTION_MODE", "attachment"));
    let attached = sync_dir(&sim, "ext-attach", &root, &attachment_env).await;

    assert_eq!(
        in_process.len(),
        manifest.len() + 2,
        "one document per file"
    );
    for (name, phrases) in &manifest {
        let doc = &in_process[name];
        for phrase in phrases.as_array().unwrap() {
            let phrase = phrase.as_str().unwrap();
            if phrase.is_empty() {
                assert!(doc.get("body").is_none(), "{name}: {:?}", doc.get("body"));
            } else {
                let body = doc["body"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: no body"));
                assert!(body.contains(phrase), "{name}: {phrase:?} not in {body:?}");
            }
        }
        let short =
            |v: Option<&Value>| v.map(|b| b.to_string().chars().take(300).collect::<String>());
        assert!(
            doc.get("body") == attached[name].get("body"),
            "{name}: in-process and attachment bodies differ: {:?} / {:?}",
            short(doc.get("body")),
            short(attached[name].get("body"))
        );
        assert!(doc.get("_attachment").is_none() && attached[name].get("_attachment").is_none());
    }
    // The pipeline's rules: U+FFFD removed, whitespace squeezed.
    assert_eq!(
        in_process["rules-fffd.txt"]["body"],
        json!("beforeafter spaced out")
    );
    // The character cap (100,000 by default), then whitespace squeezed.
    let capped = in_process["limits-long.txt"]["body"].as_str().unwrap();
    assert!(
        (99_990..=100_000).contains(&capped.chars().count()),
        "{}",
        capped.chars().count()
    );
    assert!(long.starts_with(capped));
    // Over `max_file_download_size`: metadata, no body.
    let large = &in_process["limits-large.txt"];
    assert!(large.get("body").is_none());
    assert_eq!(large["size"], json!(3_000_000));
    assert_eq!(
        attached["limits-long.txt"]["body"],
        in_process["limits-long.txt"]["body"]
    );
}
