#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600: the documented 10-minute run;
# CI uses 30), seeded from tests/corpus. A crash is copied to
# tests/fuzz-regressions/<target>/ so tests/fuzz_regressions.rs replays it on stable
# forever; the run then fails.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v kleak-fuzz)
status=0
for t in $targets; do
    seeds=fuzz/corpus/$t
    mkdir -p "$seeds"
    # Seeds: every real capture (plain files; the harness splits them as it needs).
    for f in tests/corpus/*/*.txt tests/fixtures/*/proc/* tests/fixtures/lab/*.txt tests/fixtures/trace/* tests/fixtures/ring/* tests/fixtures/modsyms/*.seed tests/fixtures/gzip/*.gz tests/fixtures/dwarf/*; do
        if [ -f "$f" ]; then cp -n "$f" "$seeds/$(echo "$f" | tr / _)" 2>/dev/null || true; fi
    done
    rm -rf "fuzz/artifacts/$t"
    echo "== fuzz $t for ${secs}s"
    if ! cargo +nightly fuzz run "$t" "$seeds" -- -max_total_time="$secs" -max_len=131072 -print_final_stats=1 \
        2>&1 | tee "/tmp/kleak-fuzz-$t.log" | grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)" ; then
        :
    fi
    for crash in fuzz/artifacts/"$t"/*; do
        [ -f "$crash" ] || continue
        mkdir -p "tests/fuzz-regressions/$t"
        cp "$crash" "tests/fuzz-regressions/$t/"
        echo "fuzz $t: crash saved as tests/fuzz-regressions/$t/$(basename "$crash")"
        status=1
    done
done
exit $status
