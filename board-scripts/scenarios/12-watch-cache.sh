# lab-what: issue 3 scenario 3: kleak watch while leaky leaks 20 KB/s from its own cache: a leak alert naming kleak_leaky within the window, no slab alert for any other cache
# lab-needs: kleak leaky
# lab-timeout: 150
# lab-parallel: yes
# kmemleak off: with it on, every tracked allocation adds a kmemleak_object, which
# grows as fast as the leak and would be (rightly) flagged too.
# lab-append: kmemleak=off
. /lab/lib.sh

# 100 objects/s x 200 B = 20 KB/s: ~0.9 MB over the 45 s a 1 min window needs.
lab_run insmod insmod "$MODULES/leaky.ko" rate=100
lab_start watch kleak --json watch --interval 1 --window 1m --count 75
lab_peak_rss "$LAB_PID" watch_vmhwm_kb
lab_wait watch
lab_run stats sh -c 'cat /sys/kernel/debug/leaky/stats; echo 0 >/sys/kernel/debug/leaky/rate'
lab_run rmmod rmmod leaky
