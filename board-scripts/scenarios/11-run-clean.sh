# lab-what: kleak run around commands that leak nothing (clean module, a no-op): exit 0, no groups
# lab-needs: kleak
# lab-timeout: 150
. /lab/lib.sh

lab_run noop kleak run -- true
lab_run clean kleak run -- sh -c "insmod $MODULES/leaky.ko clean=1 cache_objs=2000 kmalloc_objs=1000 pages=1024 && rmmod leaky"
lab_run clean-json kleak --json run -- sh -c "insmod $MODULES/leaky.ko clean=1 cache_objs=2000 kmalloc_objs=1000 pages=1024 && rmmod leaky"
