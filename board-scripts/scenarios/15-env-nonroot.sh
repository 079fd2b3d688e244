# lab-what: kmemleak commands as an unprivileged user: the documented not-root message, exit 3
# lab-needs: kleak
# lab-timeout: 90
. /lab/lib.sh

lab_as_user leaks kleak leaks
lab_as_user scan kleak kmemleak scan
lab_as_user run kleak run -- true
