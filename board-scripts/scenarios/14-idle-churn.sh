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
lab_run watch kleak --json watch --interval 1 --window 1m --count "$SECS" --exit-on-leak
lab_wait churn
