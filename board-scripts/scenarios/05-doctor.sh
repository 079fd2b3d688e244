# lab-what: kleak doctor, all, top and watch on whatever kernel this is (the distro kernel too: its own caches, no kmemleak), and the CPU one sample costs there
# lab-needs: kleak
# lab-timeout: 150
. /lab/lib.sh

lab_run doctor kleak doctor
lab_run doctor-json kleak --json doctor
lab_run leaks kleak leaks
lab_run run kleak run --settle 0 -- true
lab_run all kleak all
lab_run json-all kleak --json all
lab_file /proc/slabinfo slabinfo
lab_run top kleak top -n 5 --interval 1
lab_run watch kleak --json watch --interval 1 --count 10
# CPU per sample: 401 samples back to back less one, over 400 (BusyBox time -p:
# user and sys seconds, 0.01 s resolution).
lab_run cost-1 sh -c 'time -p kleak watch --interval 0 --count 1 >/dev/null'
lab_run cost-401 sh -c 'time -p kleak watch --interval 0 --count 401 >/dev/null'
