# lab-what: kleak as an unprivileged user: slabinfo is root-only, kleak says so once and shows totals
# lab-needs: kleak
# lab-timeout: 90
. /lab/lib.sh

lab_run slabinfo-mode stat -c %a /proc/slabinfo
lab_as_user id id
lab_as_user all kleak all
lab_as_user json-all kleak --json all
lab_as_user diff kleak diff --interval 1
lab_as_user snapshot kleak snapshot
