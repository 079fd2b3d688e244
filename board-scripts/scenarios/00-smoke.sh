# lab-what: kleak's basic commands on a real kernel: all, top, diff, snapshot, --json all
# lab-needs: kleak leaky
# lab-timeout: 120
. /lab/lib.sh

# Our cache exists (with a few objects) so kleak has a known name to show.
lab_run insmod insmod "$MODULES/leaky.ko" cache_objs=300 kmalloc_objs=200
lab_run version kleak --version
lab_run all kleak all
lab_run top kleak top -n 5 --interval 1
lab_run diff kleak diff --interval 1
lab_run snapshot kleak snapshot -o /tmp/snap
lab_run snapshot-file cat /tmp/snap
lab_run snapshot-stdout kleak snapshot
lab_run json-all kleak --json all
lab_run rmmod rmmod leaky
