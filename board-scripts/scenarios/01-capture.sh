# lab-what: capture the lab kernel's /proc files and kmemleak reports into tests/fixtures/lab/ (opt-in: lab.sh test 01-capture)
# lab-needs: kmemleak leaky kmemleak-test
# lab-default: no
# The fixtures are 6.1's (tests/fixtures/lab/*arm64-6.1*): other kernels would overwrite them.
# lab-kernels: 6.1
# lab-timeout: 150
. /lab/lib.sh

PROC_FILES="slabinfo vmstat meminfo uptime sys/kernel/osrelease"
kmemleak_cmd scan=off
kmemleak_cmd clear

# The kernel's own test module: it leaks from its freed init code.
lab_run insmod-test insmod "$MODULES/kmemleak-test.ko"
lab_run rmmod-test rmmod kmemleak_test
kmemleak_settle
lab_file "$KMEMLEAK" kmemleak-test
kmemleak_cmd clear

# Baseline tree: leaky loaded, nothing leaked yet (its cache row is there, empty).
lab_run insmod-leaky insmod "$MODULES/leaky.ko"
sleep 1
for f in $PROC_FILES; do
    lab_file "/proc/$f" "base/proc/$f"
done

# A small report from our module, read while it is loaded: named frames.
lab_run leak-small sh -c 'echo 20 >/sys/kernel/debug/leaky/cache && echo 10 >/sys/kernel/debug/leaky/kmalloc'
kmemleak_settle
lab_file "$KMEMLEAK" kmemleak-leaky
kmemleak_cmd clear

# Leaked tree: 2000 cache objects, 1000 kmalloc(100), 1024 pages (4 MiB) more.
lab_run leak-big sh -c 'echo 2000 >/sys/kernel/debug/leaky/cache && echo 1000 >/sys/kernel/debug/leaky/kmalloc && echo 1024 >/sys/kernel/debug/leaky/pages'
lab_run stats cat /sys/kernel/debug/leaky/stats
for f in $PROC_FILES; do
    lab_file "/proc/$f" "leaked/proc/$f"
done
lab_note cmdline="$(cat /proc/cmdline)"
