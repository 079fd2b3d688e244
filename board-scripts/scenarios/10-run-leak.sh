# lab-what: kleak run around a command that leaks: exit 1, largest group names leaky_cache_leak, kleak_leaky and kmalloc-128 grown
# lab-needs: kleak
# lab-timeout: 200
# $LEAK is a list of module parameters, split on purpose.
# shellcheck disable=SC2086
. /lab/lib.sh

LEAK="cache_objs=2000 kmalloc_objs=1000 kmalloc_size=100"

# leaky stays loaded while kleak reads the report: kmemleak symbolizes frames
# at read time, and an unloaded module's frames print as raw addresses.
lab_run run kleak run -- insmod "$MODULES/leaky.ko" $LEAK
lab_run rmmod-1 rmmod leaky
lab_run run-json kleak --json run -- insmod "$MODULES/leaky.ko" $LEAK
lab_run rmmod-2 rmmod leaky

# The form: the module is gone when kleak reads the report.
lab_run run-unload-json kleak --json run -- sh -c "insmod $MODULES/leaky.ko $LEAK && rmmod leaky"
