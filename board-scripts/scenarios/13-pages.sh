# lab-what: issue 3 scenario 4: leaky leaks whole pages (no slab, no kmemleak): kleak run shows Unaccounted grown; kleak watch flags Unaccounted as a leak within the window
# lab-needs: kleak leaky
# lab-timeout: 150
# lab-parallel: yes
# kmemleak off, as in 12-watch-cache: only the leak itself should grow.
# lab-append: kmemleak=off
. /lab/lib.sh

# One-shot: 8192 pages (32 MiB) inside kleak run (kmemleak is off: no groups).
lab_run run-json kleak --json run -- insmod "$MODULES/leaky.ko" pages=8192
lab_run rmmod rmmod leaky

# Steady: 32 pages (128 KiB) per second from leaky's delayed work.
lab_run insmod insmod "$MODULES/leaky.ko" page_rate=32
lab_start watch kleak --json watch --interval 1 --window 1m --count 75
lab_wait watch
lab_run stats sh -c 'cat /sys/kernel/debug/leaky/stats; echo 0 >/sys/kernel/debug/leaky/page_rate'
lab_run rmmod-2 rmmod leaky
