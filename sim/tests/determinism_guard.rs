//! Keeps unseeded randomness out of `model` and `sim`: every random choice must come from the seed (madsim's
//! runtime RNG or a ChaCha seeded from it). Hash-ordered collections and wall-clock time are kept out by clippy
//! (`clippy.toml`), which CI runs with `-D warnings`.

use std::path::{Path, PathBuf};

/// Names that draw randomness from the operating system or a per-process seed.
const UNSEEDED: [&str; 7] = [
    "thread_rng",
    "from_entropy",
    "from_os_rng",
    "OsRng",
    "getrandom",
    "rand::random",
    "RandomState",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Each line of `text` that names an unseeded source, as `file:line: text`.
fn offenders(file: &str, text: &str) -> Vec<String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| UNSEEDED.iter().any(|name| line.contains(name)))
        .map(|(i, line)| format!("{file}:{}: {}", i + 1, line.trim()))
        .collect()
}

#[test]
fn the_scan_names_an_unseeded_source() {
    let found = offenders("x.rs", "let a = 1;\nlet mut rng = rand::thread_rng();\n");
    assert_eq!(found, vec!["x.rs:2: let mut rng = rand::thread_rng();"]);
}

#[test]
fn model_and_sim_draw_randomness_only_from_the_seed() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["model/src", "sim/src"] {
        sources(&root.join(dir), &mut files);
    }
    assert!(files.len() > 50, "the scan found {} files", files.len());
    let found: Vec<String> = files
        .iter()
        .flat_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            offenders(&f.display().to_string(), &text)
        })
        .collect();
    assert!(
        found.is_empty(),
        "unseeded randomness:\n{}",
        found.join("\n")
    );
}
