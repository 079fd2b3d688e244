# lab-what: a steady leak from our cache tops kleak top and kleak diff (live and against a saved snapshot)
# lab-needs: kleak leaky
# lab-timeout: 120
# kmemleak off: it adds a 176-byte kmemleak_object per tracked allocation, so
# kmemleak_object grows almost as fast as our cache and could top the ranking.
# lab-append: kmemleak=off
. /lab/lib.sh

# 400 objects/s x 200 B: ~80 KiB/s from kleak_leaky, nothing else that fast.
lab_run insmod insmod "$MODULES/leaky.ko" rate=400
lab_run snapshot kleak snapshot -o /tmp/before
lab_run top kleak top -n 3 --interval 2
lab_run diff-json kleak --json diff --interval 2
lab_run diff-snapshot kleak diff /tmp/before
lab_run stop sh -c 'echo 0 >/sys/kernel/debug/leaky/rate; cat /sys/kernel/debug/leaky/stats'
lab_run rmmod rmmod leaky
