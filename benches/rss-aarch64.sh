#!/usr/bin/env bash
# Peak RSS of the aarch64 kleak binary watching 1,024 slab caches (the table's capacity),
# run under qemu-aarch64-static: prints kB. Usage: bash benches/rss-aarch64.sh BINARY
#
# qemu-user's /proc/self/status describes QEMU, not the guest, and its emulated smaps
# says Rss 0. So QEMU is told to put the whole guest address space at a known place
# (-B base, -R size), and the guest's RSS is the sum of the host's Rss over the mappings
# inside it: the binary's pages, its heap, its stack; none of QEMU's own memory. Polled
# every 20 ms; kleak allocates everything at start, so the peak is reached early and held.
set -euo pipefail
bin=${1:?usage: rss-aarch64.sh BINARY}
root=$(mktemp -d /tmp/kleak-1024.XXXXXX)
trap 'rm -rf "$root"' EXIT
fixture=$(dirname "$0")/../tests/fixtures/host-x86_64-6.18/proc
mkdir -p "$root/proc/sys/kernel"
cp "$fixture"/{meminfo,vmstat,uptime} "$root/proc/"
cp "$fixture/sys/kernel/osrelease" "$root/proc/sys/kernel/"
{
    head -2 "$fixture/slabinfo"
    for i in $(seq 0 1023); do
        printf 'cache_%04d_name_padding   %6d %6d    128   32    1 : tunables    0    0    0 : slabdata %6d %6d      0\n' \
            "$i" $((1000 + i)) $((1024 + i)) 40 40
    done
} >"$root/proc/slabinfo"
# The guest's 4 GiB at host 0x7e00_0000_0000: its mappings are those whose start address
# has 12 hex digits beginning 7e00.
qemu-aarch64-static -B 0x7e0000000000 -R 0x100000000 "$bin" --root "$root" watch --interval 0 --count 2000 \
    >/dev/null &
pid=$!
peak=0
while kill -0 "$pid" 2>/dev/null; do
    kb=$(awk '/^[0-9a-f]+-[0-9a-f]+ / { inside = ($1 ~ /^7e00[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-/) }
              /^Rss:/ && inside { kb += $2 } END { print kb + 0 }' "/proc/$pid/smaps" 2>/dev/null || echo 0)
    [ "$kb" -gt "$peak" ] && peak=$kb
    sleep 0.02
done
wait "$pid"
echo "$peak"
