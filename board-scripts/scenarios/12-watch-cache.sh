# lab-what: kleak watch while leaky leaks steadily from its cache: one alert naming kleak_leaky within the window, none for other caches
# lab-needs: kleak
# lab-timeout: 180
# kmemleak off: with it on, every tracked allocation adds a kmemleak_object, which grows in step.
# lab-append: kmemleak=off
. /lab/lib.sh

# 500 objects/s x 200 B = ~100 KiB/s, ~3 MiB per 30 s window.
lab_run insmod insmod "$MODULES/leaky.ko" rate=500
lab_run watch kleak --json watch --interval 1 --count 50 --window 30s --min-growth 512K
lab_run stop sh -c 'echo 0 >/sys/kernel/debug/leaky/rate; cat /sys/kernel/debug/leaky/stats'
lab_run rmmod rmmod leaky
