# lab-what: minutes of idle and normal churn (tmpfs files, processes): kleak watch raises no leak alert
# lab-needs: kleak
# lab-timeout: 420
. /lab/lib.sh

SECS=${KLEAK_LAB_IDLE_SECS:-180}
COUNT=$((SECS / 2))

churn() {
    end=$(($(cut -d. -f1 /proc/uptime) + SECS - 5))
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
        # idle half of the time
        [ $((round % 2)) -eq 0 ] && sleep 5
        sleep 1
    done
    echo "churn rounds: $round"
}

churn >/tmp/churn.log 2>&1 &
lab_run watch kleak --json watch --interval 2 --count $COUNT --exit-on-leak
wait
lab_run churn cat /tmp/churn.log
