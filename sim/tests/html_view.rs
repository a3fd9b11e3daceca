//! The HTML run view: it draws the Jepsen-2013 lost write with everything that led to it, recording it leaves
//! the run alone, and the page renders in headless Chromium without a console message.

use ksim::host::{run_seed, run_seed_with, RunOptions, RunOutput};
use ksim::scenario::{self, Scenario};
use ksim::{report, view};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LOST_WRITE: &str = "scenarios/acks-1-leader-crash.toml";

fn scenario(path: &str) -> Scenario {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    scenario::load(&root.join(path)).expect("scenario loads")
}

fn page(s: &Scenario, path: &str, run: &RunOutput) -> String {
    view::render(&report::build(s, path, run), run)
}

#[test]
fn html_view_of_the_acks_1_lost_write_shows_the_ack_the_crash_the_election_the_truncation_and_the_final_log(
) {
    let s = scenario(LOST_WRITE);
    let plain = run_seed(&s, 1);
    let viewed = run_seed_with(
        &s,
        1,
        RunOptions {
            samples: true,
            ..RunOptions::default()
        },
    );
    // Sampling for the view never changes the run.
    assert_eq!(viewed.trace_hash, plain.trace_hash);
    assert_eq!(viewed.events, plain.events);
    assert_eq!(viewed.violations, plain.violations);
    assert!(plain.samples.is_none());
    assert!(!viewed.samples.as_ref().expect("samples").marks.is_empty());

    let html = page(&s, LOST_WRITE, &viewed);
    assert_eq!(
        html,
        page(&s, LOST_WRITE, &viewed),
        "a pure function of the run"
    );
    let expected = [
        // The header names the run and its identity.
        format!("{:016x}", plain.trace_hash),
        "lost-write ×5".to_string(),
        // Story A: producer 2's record at offset 5995, acknowledged by broker-2 as leader...
        "✓ acked offset 5995 (producer 2, value 0x200000bb6)".to_string(),
        // ... which crashes before broker-1 fetched it ...
        "crash broker-2: 30000 ms to 35000 ms".to_string(),
        "LEO 5998".to_string(),
        // ... broker-1 is elected in a new epoch ...
        "35003 ms: epoch 2 → leader broker-1, ISR [3, 1]".to_string(),
        // ... and the old leader truncates the record away ...
        "✂ broker-2 truncates to 5995: removes 5995".to_string(),
        // ... so the final log lacks it.
        "✗ 5995: 0x200000bb6 missing".to_string(),
        "offset 5995 holds 0x200000bc3, not 0x200000bb6".to_string(),
        // Story B: the third crash loses four records at once.
        "✂ broker-1 truncates to 9592: removes 9592, 9593, 9594, 9596".to_string(),
    ];
    for text in expected {
        assert!(html.contains(&text), "the page lacks {text:?}");
    }
    // Self-contained: nothing is fetched (the SVG namespace is a name, not a fetch).
    assert!(!html.contains("src=") && !html.contains("<link") && !html.contains("url(http"));
}

#[test]
fn html_view_of_a_long_group_run_stays_small() {
    let path = "scenarios/group-rebalance-storm.toml";
    let s = scenario(path);
    let run = run_seed_with(
        &s,
        0,
        RunOptions {
            samples: true,
            ..RunOptions::default()
        },
    );
    assert_eq!(run.trace_hash, run_seed(&s, 0).trace_hash);
    let html = page(&s, path, &run);
    assert!(html.len() < 3_000_000, "{} bytes", html.len());
}

/// `chromium` on PATH, or None (the check is skipped with a notice: CI installs it in `.ci/run`).
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
}

/// What a headless Chromium run printed.
struct Printed {
    stdout: String,
    stderr: String,
}

/// Runs headless Chromium on `page` with `args`, giving up after two minutes. Its output goes to files (a pipe
/// nobody reads while it runs would fill and stall it). The deadline is wall-clock time: it guards a real process.
#[allow(clippy::disallowed_methods)]
fn headless(chromium: &Path, page: &Path, args: &[&str]) -> Printed {
    let (out, err) = (page.with_extension("stdout"), page.with_extension("stderr"));
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(File::create(&out).expect("stdout file"))
        .stderr(File::create(&err).expect("stderr file"))
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("chromium runs").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within two minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Printed {
        stdout: read(&out),
        stderr: read(&err),
    }
}

/// Console messages Chromium logged (`...:CONSOLE:...] "message", source: ...`): the page logs none.
fn console_messages(printed: &Printed) -> Vec<String> {
    printed
        .stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn html_view_renders_in_headless_chromium_without_console_errors() {
    let Some(chromium) = chromium() else {
        eprintln!("NOTICE: chromium is not on PATH; skipping the headless check of the HTML view");
        return;
    };
    let s = scenario(LOST_WRITE);
    let run = run_seed_with(
        &s,
        1,
        RunOptions {
            samples: true,
            ..RunOptions::default()
        },
    );
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html_view");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let html = dir.join("acks-1-leader-crash-seed-1.html");
    std::fs::write(&html, page(&s, LOST_WRITE, &run)).expect("page written");

    // The script ran to its end: it marks the page ready.
    let dom = headless(&chromium, &html, &["--dump-dom"]);
    assert!(
        dom.stdout.contains(r#"id="view-ready" data-ready="yes""#),
        "the page's script did not finish; stderr:\n{}",
        dom.stderr
    );
    assert_eq!(console_messages(&dom), Vec::<String>::new());

    let png = dir.join("acks-1-leader-crash-seed-1.png");
    let _ = std::fs::remove_file(&png);
    let shot = headless(
        &chromium,
        &html,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1320,1700",
        ],
    );
    assert_eq!(console_messages(&shot), Vec::<String>::new());
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
    // A blank page compresses to a few kilobytes; the diagram is far more.
    assert!(bytes.len() > 50_000, "screenshot of {} bytes", bytes.len());
    eprintln!("screenshot: {}", png.display());
}

/// The committed compare report's page (no script at all) renders with no console message.
#[test]
fn compare_report_page_renders_in_headless_chromium_without_console_errors() {
    let Some(chromium) = chromium() else {
        eprintln!(
            "NOTICE: chromium is not on PATH; skipping the headless check of the compare page"
        );
        return;
    };
    let committed =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../reports/compare-default.html");
    // Chromium's output files go beside the page: work on a copy, outside the repository.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html_view");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let html = dir.join("compare-default.html");
    std::fs::copy(&committed, &html).expect("page copied");
    let dom = headless(&chromium, &html, &["--dump-dom"]);
    assert!(dom
        .stdout
        .contains("Verdict and loss rate per configuration"));
    assert_eq!(console_messages(&dom), Vec::<String>::new());
    let png = dir.join("compare-default.png");
    let _ = std::fs::remove_file(&png);
    let shot = headless(
        &chromium,
        &html,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1500,2000",
        ],
    );
    assert_eq!(console_messages(&shot), Vec::<String>::new());
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 50_000);
}
