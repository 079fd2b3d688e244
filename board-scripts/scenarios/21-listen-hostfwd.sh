# lab-what: issue 20: the guest's kleak watch --listen 0.0.0.0:9447, reached from the host through QEMU user networking (hostfwd), scraped by the host's Prometheus: the leaking cache kleak_leaky is a kleak_leak_suspect in Prometheus's answer
# lab-needs: kleak leaky net prometheus
# lab-timeout: 300
# lab-parallel: yes
# net: lab.sh adds -netdev user with hostfwd=tcp:127.0.0.1:PORT-:9447 (a free
# host port) and a virtio-net-device, and runs 21-listen-hostfwd.host on the
# host during the boot (start Prometheus, wait for the port, query). The lab's
# tinyconfig kernels have no CONFIG_NET at all: only a kernel with IPv4 and
# virtio-net (built in, or its own virtio_mmio + virtio_net modules: Debian's)
# runs it; the others print a named SKIP.
# kmemleak off: as in 12-watch-cache, its objects would grow with the leak.
# lab-append: kmemleak=off
. /lab/lib.sh

# The kernel's own virtio transport and NIC driver, when they are modules
# (NAME.deps: the module and what it depends on, in load order).
for dep in virtio_mmio virtio_net; do
    [ -f "$MODULES/$dep.deps" ] || continue
    while read -r m; do
        lab_run "insmod-$m" insmod "$MODULES/$m.ko"
    done <"$MODULES/$dep.deps"
done
# QEMU's user network: the guest is 10.0.2.15/24, the gateway 10.0.2.2 (BusyBox ip).
lab_run net sh -c 'ip link set lo up && ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2 && ip addr show eth0'

# 400 objects/s x 200 B: ~80 KiB/s from kleak_leaky, judged within the 20 s window.
lab_run insmod insmod "$MODULES/leaky.ko" rate=400
# 100 samples of 1 s: time for the host to see the port, start Prometheus,
# scrape a few times and find the suspect (it stops waiting well before).
lab_start watch kleak --json watch --listen 0.0.0.0:9447 --interval 1 --window 20s --count 100
lab_wait watch
lab_run stats sh -c 'echo 0 >/sys/kernel/debug/leaky/rate; cat /sys/kernel/debug/leaky/stats'
lab_run rmmod rmmod leaky
