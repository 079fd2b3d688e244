# lab-what: issue 3 scenario 5: minutes of idle and normal churn (tmpfs files, processes) under kleak watch --exit-on-leak with the settings that catch 12's and 13's leaks: exit 0, no alert at all
# lab-needs: kleak
# lab-timeout: 300
# lab-parallel: yes
# kmemleak off, as in 12-watch-cache and 13-pages (same kernel, same settings).
# lab-append: kmemleak=off
. /lab/lib.sh

SECS=${KLEAK_LAB_IDLE_SECS:-180}

# Rounds of 300 files created and deleted in a tmpfs directory (the same names
# every round), 10 short-lived processes; every other round idles 5 s.
churn() {
    end=$(($(cut -d. -f1 /proc/uptime) + SECS))
    round=0
    while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
        round=$((round + 1))
        mkdir -p /tmp/churn
        i=0
        while [ $i -lt 300 ]; do
            echo "$round $i" >/tmp/churn/f$i
            i=$((i + 1))
        done
        rm -rf /tmp/churn
        for _ in 1 2 3 4 5 6 7 8 9 10; do sh -c 'cat /proc/meminfo >/dev/null'; done
        [ $((round % 2)) -eq 0 ] && sleep 5
        sleep 1
    done
    echo "churn rounds: $round"
}

lab_note secs="$SECS"
lab_start churn churn
lab_start watch kleak --json watch --interval 1 --window 1m --count "$SECS" --exit-on-leak
lab_peak_rss "$LAB_PID" watch_vmhwm_kb
lab_wait watch
lab_wait churn

# kleak's peak RSS at its table's capacity: a captured tree with 1,024 caches (the
# guest has ~45), sampled 300 times back to back.
big=/tmp/big
mkdir -p $big/proc/sys/kernel
cp /proc/meminfo /proc/vmstat /proc/uptime $big/proc/
cp /proc/sys/kernel/osrelease $big/proc/sys/kernel/
{
    head -2 /proc/slabinfo
    i=0
    while [ $i -lt 1024 ]; do
        printf 'cache_%04d_name_padding   %6d %6d    128   32    1 : tunables    0    0    0 : slabdata %6d %6d      0\n' \
            $i $((1000 + i)) $((1024 + i)) 40 40
        i=$((i + 1))
    done
} >$big/proc/slabinfo
lab_start watch1024 kleak --root $big watch --interval 0.01 --count 300
lab_peak_rss "$LAB_PID" watch1024_vmhwm_kb
lab_wait watch1024
