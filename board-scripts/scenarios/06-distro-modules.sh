# lab-what: a distro kernel's own modules from the initramfs: zram (with zsmalloc) and two devices make two zsmalloc pools, each with caches named zs_handle and zspage; booted slab_nomerge, slabinfo names each twice and kleak lists both rows
# lab-needs: kleak zram
# lab-timeout: 90
# Without slab_nomerge the pools' caches merge into others and have no row.
# lab-append: slab_nomerge
. /lab/lib.sh

# zram.deps: zram and what it depends on, in load order
while read -r m; do
    if [ "$m" = zram ]; then
        lab_run "insmod-$m" insmod "$MODULES/$m.ko" num_devices=2
    else
        lab_run "insmod-$m" insmod "$MODULES/$m.ko"
    fi
done <"$MODULES/zram.deps"
# A zsmalloc pool (and its two caches) per device, made when its size is set.
lab_run disksize sh -c 'echo 16M >/sys/block/zram0/disksize && echo 16M >/sys/block/zram1/disksize'
lab_file /proc/slabinfo slabinfo
lab_run all kleak all
lab_run json-all kleak --json all
lab_run doctor kleak --json doctor
