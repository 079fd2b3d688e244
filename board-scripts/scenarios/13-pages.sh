# lab-what: leaky leaks whole pages (invisible to slab and kmemleak): kleak flags the unaccounted-memory figure
# lab-needs: kleak
# lab-timeout: 200
. /lab/lib.sh

# One-shot: 8192 pages (32 MiB) leaked inside kleak run.
lab_run run-json kleak --json run -- insmod "$MODULES/leaky.ko" pages=8192
lab_run rmmod rmmod leaky

# Steady: 256 pages (1 MiB) per second for 40 s while kleak watch runs.
lab_run insmod insmod "$MODULES/leaky.ko"
(for _ in $(seq 40); do echo 256 >/sys/kernel/debug/leaky/pages; sleep 1; done) &
lab_run watch kleak --json watch --interval 1 --count 45 --window 30s --min-growth 4M
wait
lab_run stats cat /sys/kernel/debug/leaky/stats
lab_run rmmod-2 rmmod leaky
