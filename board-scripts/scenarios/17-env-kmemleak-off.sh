# lab-what: booted with kmemleak=off: kleak says "kmemleak is disabled; boot with kmemleak=on", exit 3
# lab-needs: kleak
# lab-timeout: 90
# lab-append: kmemleak=off
. /lab/lib.sh

lab_run kernel-says sh -c 'echo scan >/sys/kernel/debug/kmemleak'
lab_run leaks kleak leaks --scan
lab_run scan kleak kmemleak scan
lab_run run kleak run -- true
