# lab-what: issue 3 scenario 6: debugfs not mounted: kleak prints the mount command, exit 3; kleak run goes on without kmemleak; --mount mounts it and kmemleak works again
# lab-needs: kleak kmemleak
# lab-timeout: 60
. /lab/lib.sh

umount /sys/kernel/debug
lab_run mounts-before sh -c 'grep -c debugfs /proc/mounts'
lab_run leaks kleak leaks
lab_run scan kleak kmemleak scan
lab_run run kleak run --settle 0 -- true
lab_run leaks-mount kleak leaks --mount
lab_run mounted sh -c 'grep debugfs /proc/mounts'
lab_run scan-after kleak kmemleak scan
