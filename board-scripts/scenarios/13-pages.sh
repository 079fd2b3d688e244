# lab-what: issue 3 scenario 4: leaky leaks whole pages (no slab, no kmemleak): kleak run shows Unaccounted grown; kleak watch flags Unaccounted as a leak within the window
# lab-needs: kleak leaky
# lab-timeout: 150
# lab-parallel: yes
# kmemleak off, as in 12-watch-cache: only the leak itself should grow.
# lab-append: kmemleak=off
. /lab/lib.sh

# The steady leak first. Pages on the per-CPU page lists are outside MemFree,
# so they count as Unaccounted; since 6.7 those lists size themselves: on 6.12
# the one-shot's burst of 8192 pages left ~1,370 pages (5.3 MiB) on them, 790
# after 20 s, and their shrinking hid much of the slow leak below. Boot leaves
# ~1,100 there too: let that settle first.
sleep 15
# Steady: 32 pages (128 KiB) per second from leaky's delayed work.
lab_run insmod insmod "$MODULES/leaky.ko" page_rate=32
lab_start watch kleak --json watch --interval 1 --window 1m --count 75
lab_wait watch
lab_run stats sh -c 'cat /sys/kernel/debug/leaky/stats; echo 0 >/sys/kernel/debug/leaky/page_rate'
lab_run rmmod-2 rmmod leaky

# One-shot: 8192 pages (32 MiB) inside kleak run (kmemleak is off: no groups).
lab_run run-json kleak --json run -- insmod "$MODULES/leaky.ko" pages=8192
lab_run rmmod rmmod leaky
