#!/usr/bin/env bash
# kleak's benchmarks, reported as numbers measured in one run on this machine. Run as
# root so /proc/slabinfo is readable. Nothing here is a pass/fail test.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release
bin=target/release/kleak

echo "## sampling cost (the benchmark built as the shipped binary is: static musl, release profile)"
cargo bench -q --bench sample --target x86_64-unknown-linux-musl 2>/dev/null | grep -v '^$'

echo "## kmemleak report parsing (target >= 200 MB/s)"
cargo bench -q --bench kmemleak 2>/dev/null | grep -v '^$'

echo "## binary size (stripped, static; where the bytes are: bash benches/size.sh)"
cargo build -q --release --target aarch64-unknown-linux-musl
printf 'aarch64-unknown-linux-musl: %s bytes\n' "$(stat -c %s target/aarch64-unknown-linux-musl/release/kleak)"
if board=$(bash board-scripts/build-board.sh 2>/dev/null); then
    printf 'aarch64 board build (nightly, build-std, panic=immediate-abort): %s bytes\n' "$(stat -c %s "$board")"
else
    echo "aarch64 board build: not built (needs nightly with rust-src: board-scripts/build-board.sh)"
fi

echo "## peak RSS of the aarch64 binary watching 1,024 caches, under qemu-aarch64-static"
printf 'kleak watch, 1024 caches (aarch64 musl static build): %s kB\n' \
    "$(bash benches/rss-aarch64.sh target/aarch64-unknown-linux-musl/release/kleak)"

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

echo "## peak RSS with 1024 caches (the table's capacity: every cache and its trend state touched)"
big=$(mktemp -d /tmp/kleak-1024.XXXXXX)
mkdir -p "$big/proc/sys/kernel"
cp tests/fixtures/host-x86_64-6.18/proc/{meminfo,vmstat,uptime} "$big/proc/"
cp tests/fixtures/host-x86_64-6.18/proc/sys/kernel/osrelease "$big/proc/sys/kernel/"
{ head -2 tests/fixtures/host-x86_64-6.18/proc/slabinfo
  for i in $(seq 0 1023); do
      printf 'cache_%04d_name_padding   %6d %6d    128   32    1 : tunables    0    0    0 : slabdata %6d %6d      0\n' \
          "$i" $((1000 + i)) $((1024 + i)) 40 40
  done; } > "$big/proc/slabinfo"
printf 'kleak watch, 1024 caches (x86_64 musl static build): %s KiB\n' \
    "$(rss target/x86_64-unknown-linux-musl/release/kleak --root "$big" watch --interval 0 --count 3000)"
rm -rf "$big"

echo "## syscalls per steady-state sample (strace -c, 300 vs 100 samples)"
count() { strace -c -f -o "/tmp/kleak-strace.$1" "$bin" watch --interval 0 --count "$1" >/dev/null 2>&1
          awk '/^ *[0-9]/ && $NF != "total" {print $NF, $4}' "/tmp/kleak-strace.$1" | sort; }
join <(count 100 | sort) <(count 300 | sort) -a2 -e0 -o 0,1.2,2.2 | awk '{d=($3-$2)/200; if (d>0) printf "  %-12s %.2f per sample\n", $1, d}'

echo "## soak: 1,000,000 samples against a churning fake proc root"
cargo bench -q --bench soak

echo "## kleak all vs slabtop -o (whole process, same moment: 300 alternating runs each)"
if command -v slabtop >/dev/null; then
    python3 - "$bin" <<'PY'
import resource, subprocess, sys, time
def run(cmd):
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    r1, t1 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    return (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime), t1 - t0
k = [0.0, 0.0]; s = [0.0, 0.0]; n = 300
for _ in range(n):
    a = run([sys.argv[1], "all"]); b = run(["slabtop", "-o"])
    k = [k[0] + a[0], k[1] + a[1]]; s = [s[0] + b[0], s[1] + b[1]]
print(f"kleak all: {k[0]/n*1e3:.2f} ms CPU, {k[1]/n*1e3:.2f} ms wall per run; "
      f"slabtop -o: {s[0]/n*1e3:.2f} ms CPU, {s[1]/n*1e3:.2f} ms wall; "
      f"kleak/slabtop CPU = {k[0]/s[0]:.2f}, wall = {k[1]/s[1]:.2f}")
PY
else
    echo "slabtop not installed (apt-get install procps)"
fi

echo "## allocation tracer: a malloc/free-heavy loop with and without libkleak_trace.so"
# benches/trace_alloc.c: each thread frees and mallocs (16..1039 bytes) 10M times over a
# ring of 4096 live blocks. Median wall time of 5 alternating runs; peak RSS of each.
lib=$(bash trace/build.sh host)
cc -O2 -pthread -o target/trace_alloc benches/trace_alloc.c
dumps=$(mktemp -d)
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
for threads in 1 2; do
    rounds=$((10000000 / threads))
    : >"$dumps/plain"; : >"$dumps/traced"; : >"$dumps/events"
    for _ in 1 2 3 4 5; do
        target/trace_alloc "$rounds" "$threads" >>"$dumps/plain"
        LD_PRELOAD="$PWD/$lib" KLEAK_TRACE_DIR="$dumps" KLEAK_TRACE_INTERVAL=0 \
            target/trace_alloc "$rounds" "$threads" >>"$dumps/traced"
        # The allocation log on as well (--events): every malloc and free one record.
        LD_PRELOAD="$PWD/$lib" KLEAK_TRACE_DIR="$dumps" KLEAK_TRACE_INTERVAL=0 KLEAK_TRACE_EVENTS="$dumps/ev" \
            target/trace_alloc "$rounds" "$threads" >>"$dumps/events"
    done
    plain=$(cut -d' ' -f1 "$dumps/plain" | median); traced=$(cut -d' ' -f1 "$dumps/traced" | median)
    events=$(cut -d' ' -f1 "$dumps/events" | median)
    rss0=$(cut -d' ' -f2 "$dumps/plain" | median); rss1=$(cut -d' ' -f2 "$dumps/traced" | median)
    printf '%d thread(s): %.3f s plain, %.3f s traced: %.2fx; peak RSS %s KiB -> %s KiB\n' \
        "$threads" "$plain" "$traced" "$(awk -v a="$traced" -v b="$plain" 'BEGIN {print a / b}')" "$rss0" "$rss1"
    # 2 events (a free and a malloc) per round, 10M rounds in all.
    printf '  with the allocation log: %.3f s: %.2fx plain, %.2fx traced; +%.1f ns per event (of the loop'"'"'s wall time)\n' \
        "$events" "$(awk -v a="$events" -v b="$plain" 'BEGIN {print a / b}')" \
        "$(awk -v a="$events" -v b="$traced" 'BEGIN {print a / b}')" \
        "$(awk -v a="$events" -v b="$traced" 'BEGIN {print (a - b) * 1e9 / 20000000}')"
done
rm -rf "$dumps"
echo "tracer table: 262144 slots x 32 bytes = 8 MiB by default (KLEAK_TRACE_SLOTS)"
