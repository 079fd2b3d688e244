# lab-what: lab self-test without kleak: kmemleak is on, leaky.ko leaks what it is told (names in backtraces, its cache row), clean mode leaks nothing, the steady rate works
# lab-needs: kmemleak leaky
# lab-timeout: 150
. /lab/lib.sh

# No background scan racing ours.
kmemleak_cmd scan=off
lab_run kmemleak-boot sh -c 'echo scan >/sys/kernel/debug/kmemleak && cat /sys/kernel/debug/kmemleak'
kmemleak_cmd clear

# Clean mode: the same allocations, all freed at rmmod.
lab_run insmod-clean insmod "$MODULES/leaky.ko" clean=1 cache_objs=500 kmalloc_objs=300 pages=2048
lab_file /proc/slabinfo slabinfo.clean-loaded
lab_run rmmod-clean rmmod leaky
kmemleak_settle
lab_run report-clean cat "$KMEMLEAK"
lab_file /proc/slabinfo slabinfo.clean-unloaded
kmemleak_cmd clear

# Leaks: 500 cache objects, 300 kmalloc(100) (kmalloc-128), 2048 pages (8 MiB).
lab_file /proc/meminfo meminfo.before
lab_run insmod-leak insmod "$MODULES/leaky.ko" cache_objs=500 kmalloc_objs=300 kmalloc_size=100 pages=2048
lab_run stats cat /sys/kernel/debug/leaky/stats
lab_file /proc/meminfo meminfo.loaded
lab_run leak-more sh -c 'echo 100 >/sys/kernel/debug/leaky/cache'
kmemleak_settle
# One timed scan, with ~900 leaked objects known to kmemleak.
lab_run scan-time sh -c "echo scan >$KMEMLEAK"
# Read while leaky is loaded: kmemleak symbolizes frames when the report is read.
lab_run report cat "$KMEMLEAK"
lab_run rmmod-leak rmmod leaky
lab_run report-unloaded cat "$KMEMLEAK"
lab_file /proc/slabinfo slabinfo.leaked-unloaded
kmemleak_cmd clear

# Steady rate from a delayed work. The first kleak_leaky cache is kept with
# its leaked objects: this load makes a second cache of the same name.
lab_run insmod-rate insmod "$MODULES/leaky.ko" rate=100
sleep 3
lab_run stats-rate cat /sys/kernel/debug/leaky/stats
lab_run rate-stop sh -c 'echo 0 >/sys/kernel/debug/leaky/rate'
lab_file /proc/slabinfo slabinfo.rate
lab_run rmmod-rate rmmod leaky
lab_run lsmod lsmod
