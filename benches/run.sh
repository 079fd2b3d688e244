#!/usr/bin/env bash
# kleak's benchmarks, reported as numbers measured in one run on this machine. Run as
# root so /proc/slabinfo is readable. Nothing here is a pass/fail test.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release
bin=target/release/kleak

echo "## sampling cost"
cargo bench -q --bench sample 2>/dev/null | grep -v '^$'

echo "## binary size (stripped, static)"
cargo build -q --release --target aarch64-unknown-linux-musl
printf 'aarch64-unknown-linux-musl: %s bytes\n' "$(stat -c %s target/aarch64-unknown-linux-musl/release/kleak)"

echo "## peak RSS while watching (2000 samples back to back)"
rss() { # peak RSS in KiB of "$@", read from /proc at exit through a wrapper shell
    "$@" >/dev/null & local pid=$! hwm=0
    while kill -0 "$pid" 2>/dev/null; do
        local v; v=$(awk '/^VmHWM:/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
        [ -n "$v" ] && hwm=$v
        sleep 0.05
    done
    wait "$pid" || true
    echo "$hwm"
}
printf 'kleak watch (x86_64 glibc build): %s KiB\n' "$(rss "$bin" watch --interval 0 --count 2000)"
printf 'kleak watch (x86_64 musl static build): %s KiB\n' "$(cargo build -q --release --target x86_64-unknown-linux-musl && rss target/x86_64-unknown-linux-musl/release/kleak watch --interval 0 --count 2000)"

echo "## syscalls per steady-state sample (strace -c, 300 vs 100 samples)"
count() { strace -c -f -o "/tmp/kleak-strace.$1" "$bin" watch --interval 0 --count "$1" >/dev/null 2>&1
          awk '/^ *[0-9]/ && $NF != "total" {print $NF, $4}' "/tmp/kleak-strace.$1" | sort; }
join <(count 100 | sort) <(count 300 | sort) -a2 -e0 -o 0,1.2,2.2 | awk '{d=($3-$2)/200; if (d>0) printf "  %-12s %.2f per sample\n", $1, d}'

echo "## allocation tracer: a malloc/free-heavy loop with and without libkleak_trace.so"
# benches/trace_alloc.c: each thread frees and mallocs (16..1039 bytes) 10M times over a
# ring of 4096 live blocks. Median wall time of 5 alternating runs; peak RSS of each.
lib=$(bash trace/build.sh host)
cc -O2 -pthread -o target/trace_alloc benches/trace_alloc.c
dumps=$(mktemp -d)
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
for threads in 1 2; do
    rounds=$((10000000 / threads))
    : >"$dumps/plain"; : >"$dumps/traced"
    for _ in 1 2 3 4 5; do
        target/trace_alloc "$rounds" "$threads" >>"$dumps/plain"
        LD_PRELOAD="$PWD/$lib" KLEAK_TRACE_DIR="$dumps" KLEAK_TRACE_INTERVAL=0 \
            target/trace_alloc "$rounds" "$threads" >>"$dumps/traced"
    done
    plain=$(cut -d' ' -f1 "$dumps/plain" | median); traced=$(cut -d' ' -f1 "$dumps/traced" | median)
    rss0=$(cut -d' ' -f2 "$dumps/plain" | median); rss1=$(cut -d' ' -f2 "$dumps/traced" | median)
    printf '%d thread(s): %.3f s plain, %.3f s traced: %.2fx; peak RSS %s KiB -> %s KiB\n' \
        "$threads" "$plain" "$traced" "$(awk -v a="$traced" -v b="$plain" 'BEGIN {print a / b}')" "$rss0" "$rss1"
done
rm -rf "$dumps"
echo "tracer table: 262144 slots x 32 bytes = 8 MiB by default (KLEAK_TRACE_SLOTS)"
