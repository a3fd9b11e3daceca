//! The `ksim` binary's contract: exit 0 when a run matches the scenario's expectations, 1 on a violation it does
//! not allow (printing the seed and the command that reproduces it), 2 on bad input (naming file, line and key,
//! and running nothing).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ksim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ksim"))
        .args(args)
        .output()
        .unwrap()
}

fn scenario_path(name: &str) -> String {
    format!("{}/../scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A private folder for scenario files this test writes.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ksim-cli-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `name`.toml in `dir`: the library's scenario of that name with `edit` applied to its text.
fn variant(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> String {
    let original = std::fs::read_to_string(scenario_path(name)).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, edit(original)).unwrap();
    path.display().to_string()
}

#[test]
fn a_run_that_meets_expectations_exits_0() {
    let out = ksim(&[
        "run",
        &scenario_path("acks-all-min-insync-2"),
        "--seed",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("no violations"), "{report}");
    assert!(report.contains("result: as expected"), "{report}");
}

#[test]
fn an_allowed_loss_exits_0_but_a_disallowed_one_exits_1_with_the_reproduce_command() {
    let allowed = ksim(&["run", &scenario_path("acks-1-leader-crash"), "--seed", "0"]);
    assert_eq!(allowed.status.code(), Some(0));
    assert!(text(&allowed.stdout).contains("VIOLATION lost-write"));

    let dir = scratch("strict");
    let strict = variant(&dir, "acks-1-leader-crash", |t| {
        let at = t.find("[expect]").unwrap();
        format!("{}[expect]\nallow = []\n", &t[..at])
    });
    let out = ksim(&["run", &strict, "--seed", "0"]);
    assert_eq!(out.status.code(), Some(1));
    let reproduce = format!("cargo run --release -p ksim -- run {strict} --seed 0");
    assert!(
        text(&out.stdout).contains(&reproduce),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("seed 0 failed"),
        "{}",
        text(&out.stderr)
    );

    let sweep = ksim(&["sweep", &strict, "--seeds", "0..3", "--jobs", "2"]);
    assert_eq!(sweep.status.code(), Some(1));
    let summary = text(&sweep.stdout);
    assert!(summary.contains("lost-write: 3 seeds"), "{summary}");
    for seed in 0..3 {
        assert!(
            summary.contains(&format!(
                "FAILED seed {seed}: cargo run --release -p ksim -- run {strict} --seed {seed}"
            )),
            "{summary}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_sweep_that_never_finds_a_promised_kind_exits_1() {
    let dir = scratch("promise");
    let promise = variant(&dir, "acks-all-min-insync-2", |t| {
        t.replace(
            "allow = []\nfind = []",
            "allow = [\"lost-write\"]\nfind = [\"lost-write\"]",
        )
    });
    let out = ksim(&["sweep", &promise, "--seeds", "0..2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("EXPECTED lost-write in some seed, found in none"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_exits_2_naming_file_line_and_key_and_runs_nothing() {
    let dir = scratch("bad");
    let bad = variant(&dir, "acks-all-min-insync-2", |t| {
        t.replace("\"min.insync.replicas\" = 2", "\"min.insync.replica\" = 2")
    });
    let line = std::fs::read_to_string(&bad)
        .unwrap()
        .lines()
        .position(|l| l.contains("min.insync.replica\""))
        .unwrap()
        + 1;
    let out = ksim(&["run", &bad, "--seed", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing is half-run");
    let error = text(&out.stderr);
    assert!(error.contains(&format!("{bad}:{line}:")), "{error}");
    assert!(error.contains("min.insync.replica"), "{error}");

    let impossible = variant(&dir, "acks-all-min-insync-2", |t| {
        t.replace("\"replication.factor\" = 3", "\"replication.factor\" = 5")
    });
    let out = ksim(&["sweep", &impossible, "--seeds", "0..2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("replication.factor"),
        "{}",
        text(&out.stderr)
    );

    let missing = ksim(&["run", "no/such/scenario.toml", "--seed", "1"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("no/such/scenario.toml"));

    let seeds = ksim(&[
        "sweep",
        &scenario_path("acks-all-min-insync-2"),
        "--seeds",
        "5..3",
    ]);
    assert_eq!(seeds.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn compare_writes_its_three_reports_and_refuses_a_bad_matrix_with_exit_2() {
    let dir = scratch("compare");
    let matrix = format!("{}/tests/data/tiny-matrix.toml", env!("CARGO_MANIFEST_DIR"));
    let out = ksim(&[
        "compare",
        &matrix,
        "--seeds",
        "0..2",
        "--out",
        &dir.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for ext in ["md", "json", "html"] {
        let report =
            std::fs::read_to_string(dir.join(format!("compare-tiny-matrix.{ext}"))).unwrap();
        assert!(report.contains("leader-crash"), "{ext}");
    }

    let bad = dir.join("tiny-matrix.toml");
    let text_of_matrix = std::fs::read_to_string(&matrix)
        .unwrap()
        .replace(
            "../../../scenarios",
            &format!("{}/../scenarios", env!("CARGO_MANIFEST_DIR")),
        )
        .replace(
            "\"replication.factor\" = [3]",
            "\"replication.factor\" = [3, 0]",
        );
    std::fs::write(&bad, text_of_matrix).unwrap();
    let out = ksim(&["compare", &bad.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("tiny-matrix.toml:12:") && err.contains("axes.\"replication.factor\"[1]"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing runs on bad input");

    // One seed of one cell, as `ksim run` would run it, with the command that reruns it.
    let out = ksim(&["compare", &matrix, "--cell", "0", "--seed", "1", "--json"]);
    assert_eq!(out.status.code(), Some(2), "--json is not a compare option");
    let out = ksim(&["compare", &matrix, "--cell", "0", "--seed", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(
        report.contains("scenario tiny-matrix/leader-crash  seed 1"),
        "{report}"
    );
    assert!(
        text(&out.stderr).contains("cell 0: acks=1"),
        "{}",
        text(&out.stderr)
    );
    let out = ksim(&["compare", &matrix, "--cell", "2", "--seed", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("the matrix has cells 0..2"));
}

/// `ksim bench` measures, and prints, both sides of its ratio; the figures themselves are for the closing notes.
#[test]
fn bench_reports_seeds_per_second_and_the_ratio_to_a_madsim_ping_pong() {
    let out = ksim(&[
        "bench",
        &format!(
            "{}/../scenarios/acks-all-min-insync-2.toml",
            env!("CARGO_MANIFEST_DIR")
        ),
        "--seeds",
        "0..2",
        "--round-trips",
        "1000",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("seeds/s"), "{text}");
    assert!(text.contains("madsim ping-pong: 2000 messages"), "{text}");
    let delivered: u64 = text
        .split(" messages delivered")
        .next()
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the delivered count");
    assert!(delivered > 1000, "{text}");
    assert!(text.contains("ratio: ksim spends"), "{text}");
}
