# lab-what: issue 3 scenario 6: kmemleak as an unprivileged user: "kmemleak needs root", exit 3; kleak run carries on without it (exit 0, KTAP SKIP)
# lab-needs: kleak kmemleak
# lab-timeout: 60
. /lab/lib.sh

lab_as_user id id
lab_as_user scan kleak kmemleak scan
lab_as_user leaks kleak leaks
lab_as_user run kleak run --settle 0 -- true
lab_as_user run-ktap kleak run --ktap --settle 0 -- true
