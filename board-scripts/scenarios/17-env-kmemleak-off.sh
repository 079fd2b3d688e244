# lab-what: issue 3 scenario 6: booted kmemleak=off: "kmemleak is disabled; boot with kmemleak=on", exit 3; kleak run goes on without it (exit 0, KTAP SKIP)
# lab-needs: kleak kmemleak
# lab-timeout: 60
# lab-append: kmemleak=off
. /lab/lib.sh

lab_run kernel-says sh -c 'echo scan >/sys/kernel/debug/kmemleak'
lab_run scan kleak kmemleak scan
lab_run leaks kleak leaks --scan
lab_run run kleak run --settle 0 -- true
lab_run run-ktap kleak run --ktap --settle 0 -- true
