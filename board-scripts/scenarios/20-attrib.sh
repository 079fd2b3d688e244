# lab-what: issue 14: kleak run blames the helper a driver named *_alloc_*, *_create, *_get_buf (dwbuf.ko), one group per allocation site, own cache never called kmalloc-*, slab growth paired with its group
# lab-needs: kleak kmemleak dwbuf
# lab-timeout: 150
. /lab/lib.sh

CTL=/sys/kernel/debug/dwbuf/ctl
# What dwbuf leaks (see board-scripts/dwbuf/dwbuf.c): desc = one own-cache
# object (200 B) + one kmalloc(96) from the same function.
LEAK="echo 'desc 300' >$CTL && echo 'ring 40' >$CTL && echo 'buf 30' >$CTL && echo 'cfg 20' >$CTL && echo 'child 10' >$CTL"

# dwbuf stays loaded: kmemleak names its frames itself.
lab_run run kleak run -- sh -c "insmod $MODULES/dwbuf.ko && $LEAK"
lab_run run-json kleak --json run -- sh -c "$LEAK"
lab_run stats cat /sys/kernel/debug/dwbuf/stats
# The raw report (dwbuf still loaded: named frames), kept as a test fixture.
lab_run report cat "$KMEMLEAK"
# doctor before debugfs is mounted: the lab kernel has no /proc/config.gz
# (CONFIG_IKCONFIG is not set), so /proc/kallsyms tells whether kmemleak is built.
umount /sys/kernel/debug
lab_run doctor-nodebugfs kleak doctor
