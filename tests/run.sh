#!/usr/bin/env bash
# kleak's test command: installs what it needs (Rust targets, QEMU user mode), then checks
# formatting and lints and runs the whole test suite twice: on the host, and built for the
# board (aarch64-unknown-linux-musl) under qemu-aarch64-static, so the board build is
# tested, not only built. Finally it builds the static release binaries and checks them.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
die() { printf 'tests/run.sh: %s\n' "$*" >&2; exit 1; }

# Every suite runs to its end (--no-fail-fast): one failing test binary must not hide the
# rest. Their output is kept, and the run ends (however it ends) with each failing test
# by name, then every test that skipped itself and why (tests/common: skip()).
work=$(mktemp -d /tmp/kleak-run.XXXXXX)
export KLEAK_SKIPS
failed=0
suite() { # suite NAME COMMAND...: runs a test command, notes its failures under NAME
    local name=$1
    shift
    KLEAK_SKIPS=$work/skips.$name
    : >"$KLEAK_SKIPS"
    "$@" 2>&1 | tee "$work/log.$name" || failed=1
}
summary() {
    local rc=$? name
    for log in "$work"/log.*; do
        [ -e "$log" ] || continue
        name=${log##*/log.}
        # libtest: "     Running tests/cli.rs (target/...)", then "test NAME ... FAILED";
        # cargo names a binary that failed without a FAILED line (a crash) at the end.
        awk -v suite="$name" '
            /^ +Running / { bin = $2 }
            / \.\.\. FAILED$/ { sub(/^test /, ""); sub(/ \.\.\. FAILED$/, ""); print "FAILED " suite ": " bin ": " $0 }
            /^error: test failed, to rerun pass/ { print "FAILED " suite ": " $0 }
        ' "$log"
    done | tee "$work/failures"
    if [ -n "$(cat "$work"/skips.* 2>/dev/null)" ]; then
        printf '\n== tests that did not run here, and why\n'
        sort "$work"/skips.* | uniq -c | awk '{ n = $1; $1 = ""; print substr($0, 2) (n > 1 ? " (" n " suites)" : "") }'
    fi
    if [ -s "$work/failures" ] || [ "$failed" != 0 ]; then
        printf 'tests/run.sh: tests failed (above)\n' >&2
        rc=1
    fi
    rm -rf "$work"
    exit "$rc"
}
trap summary EXIT

step "dependencies"
bash tests/deps.sh

step "format and lints"
cargo fmt --all -- --check || die "cargo fmt would change files: run cargo fmt"
cargo clippy --all-targets -- -D warnings
# The tracer crate: as tests build it (std linked) and as shipped (release: no_std).
cargo clippy -p kleak-trace --all-targets -- -D warnings
cargo clippy -p kleak-trace --release -- -D warnings

step "shell scripts (shellcheck)"
shellcheck -x tests/*.sh board-scripts/*.sh board-scripts/lib/apt.sh fuzz/run.sh benches/run.sh .ci/run

step "manual page renders without warnings"
warnings=$(groff -man -Tascii -ww -z kleak.1 2>&1)
[ -z "$warnings" ] || die "kleak.1: $warnings"

step "tests on the host ($(uname -m))"
suite host cargo test --no-fail-fast
suite trace cargo test --no-fail-fast -p kleak-trace

step "tests built for aarch64-unknown-linux-musl, run under qemu-aarch64-static"
suite aarch64 cargo test --no-fail-fast --target aarch64-unknown-linux-musl

step "static release binaries"
for target in aarch64-unknown-linux-musl x86_64-unknown-linux-musl; do
    cargo build --release --target "$target"
    bin=target/$target/release/kleak
    if readelf -l "$bin" | grep -q INTERP; then die "$bin is dynamically linked"; fi
    size=$(stat -c %s "$bin")
    printf '%s: %s bytes, static\n' "$bin" "$size"
done
# The board binary's size guard. The target is 512 KiB; kleak misses it (652,552 bytes)
# partly because Rust's std links its panic backtrace symbolizer (~120 KiB: gimli,
# addr2line, demangler, inflate) into every binary and only a nightly build-std can drop
# it; see docs/BENCHMARKS.md. This guard keeps the binary from growing unnoticed. It
# was 576 KiB; kmemleak attribution with the gzip decoder (+17.9 KB), the board farm
# (watch --listen, the metrics renderer, kleak plot's SVG: +31.7 KB), arguments as bytes
# and the hardening (signals, kernel state, bounded reads: +26 KB) raised it to 640 KiB;
# issue 19 (the DWARF line reader, debug files by build-id and debuglink, the allocation
# log's reader, trace on/off/dump: 697,200 bytes, +44.6 KB) to 688 KiB, not shaved yet.
size=$(stat -c %s target/aarch64-unknown-linux-musl/release/kleak)
[ "$size" -le $((688 * 1024)) ] || die "aarch64 binary is $size bytes, over its 688 KiB guard (target 512 KiB)"
qemu-aarch64-static target/aarch64-unknown-linux-musl/release/kleak --version

step "the preload tracer, libkleak_trace.so (host, aarch64 glibc, aarch64 musl)"
for lib in $(bash trace/build.sh); do
    printf '%s: %s bytes\n' "$lib" "$(stat -c %s "$lib")"
done

[ "$failed" = 0 ] || die "tests failed; each is named below"
step "all tests passed"
