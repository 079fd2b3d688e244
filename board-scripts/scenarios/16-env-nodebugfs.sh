# lab-what: debugfs not mounted: kleak prints the mount command and exits 3; --mount mounts it
# lab-needs: kleak
# lab-timeout: 120
. /lab/lib.sh

umount /sys/kernel/debug
lab_run leaks kleak leaks
lab_run scan kleak kmemleak scan
lab_run run kleak run -- true
lab_run leaks-mount kleak leaks --mount
lab_run mounted sh -c 'grep debugfs /proc/mounts'
