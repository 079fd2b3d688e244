# lab-what: issue 3 scenario 2: kleak run around a no-op and around a clean module (same allocations, all freed at rmmod): exit 0, no groups; KTAP ok 1 command, ok 2 kmemleak
# lab-needs: kleak kmemleak leaky
# lab-timeout: 120
. /lab/lib.sh

CLEAN="clean=1 cache_objs=2000 kmalloc_objs=1000 pages=1024"
lab_run noop kleak run -- true
lab_run noop-ktap kleak run --ktap -- true
lab_run clean kleak run -- sh -c "insmod $MODULES/leaky.ko $CLEAN; rmmod leaky"
lab_run clean-json kleak --json run -- sh -c "insmod $MODULES/leaky.ko $CLEAN; rmmod leaky"
