# lab-what: issue 3 scenario 1: kleak run -- sh -c 'insmod leaky.ko ...; rmmod leaky' → exit 1, the largest group names leaky_cache_leak [leaky] (resolved after rmmod), kleak_leaky and kmalloc-128 grown
# lab-needs: kleak kmemleak leaky
# lab-timeout: 120
# $LEAK is a list of module parameters, split on purpose.
# shellcheck disable=SC2086
. /lab/lib.sh

# 2000 objects of leaky's own cache (200 B), 1000 kmalloc(100) (kmalloc-128).
LEAK="cache_objs=2000 kmalloc_objs=1000 kmalloc_size=100"

# The form: the module is gone when kleak reads kmemleak's report, so
# kmemleak prints its frames as raw addresses; kleak names them from the
# /proc/kallsyms copy it took while the module was loaded.
lab_run run kleak run -- sh -c "insmod $MODULES/leaky.ko $LEAK; rmmod leaky"
lab_run run-json kleak --json run -- sh -c "insmod $MODULES/leaky.ko $LEAK; rmmod leaky"
lab_run lsmod cat /proc/modules
