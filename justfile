# Recipes for ksim. Every recipe is a plain cargo command underneath; the README's commands never need just.

# List the recipes.
default:
    @just --list

# Run the whole test suite (what CI runs).
test:
    cargo test --release --workspace

# Run one seed of a scenario: just run scenarios/acks-all-min-insync-2.toml 7
run scenario seed:
    cargo run --release -p ksim -- run {{scenario}} --seed {{seed}}

# Draw one seed as a self-contained HTML page, and screenshot it: just view scenarios/acks-1-leader-crash.toml 1
view scenario seed out="run.html":
    -cargo run --release -p ksim -- run {{scenario}} --seed {{seed}} --html {{out}}
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1320,1700 --screenshot="$(realpath {{out}}).png" "file://$(realpath {{out}})"

# Check the HTML view in headless Chromium: the script runs, no console message, a non-empty screenshot.
view-check:
    cargo test --release -p ksim --test html_view -- --nocapture

# Sweep a range of seeds: just sweep scenarios/acks-all-min-insync-2.toml 0..200
sweep scenario seeds jobs="2":
    cargo run --release -p ksim -- sweep {{scenario}} --seeds {{seeds}} --jobs {{jobs}}

# Swarm testing: each seed also draws its fault mix, rates, latency and workload: just swarm scenarios/eos-pipeline.toml 0..100
swarm scenario seeds jobs="2":
    cargo run --release -p ksim -- sweep {{scenario}} --seeds {{seeds}} --jobs {{jobs}} --swarm

# Sweep every scenario in the library over 200 seeds.
sweep-all seeds="0..200":
    for f in scenarios/*.toml; do cargo run --release -p ksim -- sweep "$f" --seeds {{seeds}} --jobs 2 || exit 1; done

# The benchmark: seeds per second of the reference scenario, simulated seconds per wall second, and ksim's run time
# per delivered message against a bare madsim ping-pong in the same process.
bench:
    cargo build --release -p ksim
    ./target/release/ksim bench scenarios/acks-all-min-insync-2.toml --seeds 0..200 --jobs 2

# Compare configurations: run every matrix in scenarios/compare/ (50 seeds per cell) and rewrite the committed
# reports in reports/ (compare-NAME.md, .json, .html).
compare:
    for m in scenarios/compare/*.toml; do cargo run --release -p ksim -- compare "$m" --out reports || exit 1; done

# Run seeds twice in separate processes (and under madsim's own check) and compare their traces event by event:
# just check-determinism scenarios/acks-all-min-insync-2.toml 0..20
check-determinism scenario seeds="0..20":
    cargo run --release -p ksim -- check-determinism {{scenario}} --seeds {{seeds}} --madsim

# Shrink a failing seed to a small scenario file that fails the same way: just shrink scenarios/acks-1-leader-crash.toml 1
shrink scenario seed out="shrunk.toml":
    cargo run --release -p ksim -- shrink {{scenario}} --seed {{seed}} --out {{out}}

# Replay every failure ever found (scenarios/regressions/seeds.toml).
regressions:
    cargo run --release -p ksim -- regressions

# Lints and formatting, as CI checks them.
lint:
    cargo clippy --release --all-targets -- -D warnings
    cargo fmt --all -- --check

# What CI runs.
ci:
    bash .ci/run
