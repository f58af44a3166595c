#!/usr/bin/env bash
# The Region System demo: builds what is missing (toolchain root, kernel, module; the first run
# takes 20-30 minutes, later ones seconds), boots a QEMU guest with an emulated NVDIMM backed by
# $REGION_CACHE/pmem-demo.img, loads region.ko on it, creates a region that two processes share
# and PMSYNCs it; boots again, overwrites the region without PMSYNC and cuts the power (SIGKILL
# of QEMU) mid-epoch; boots a third time and shows the region is exactly its last PMSYNC. Regions
# are managed with regionctl; the KVS example (user/kvs) is shared by processes, filled, cut by the
# power, and read back.
source "$(dirname "$0")/lib.sh"
export REPO_DIR=$REPO CACHE_DIR=$REGION_CACHE

log "step 1/5: toolchain and kernel (cached after the first run)"
bash "$REPO/scripts/kernel.sh" >/dev/null
log "step 2/5: region.ko and the demo programs"
ko=$(bash "$REPO/scripts/module.sh")
stage=$REGION_CACHE/demo-bin
mkdir -p "$stage"
static_c "$stage/device_info" "$REPO/user/examples/device_info.c"
static_c "$stage/rtool" "$REPO/user/examples/rtool.c"
rel=$(static_rust -p regionctl --bin regionctl -p region-kvs --bin kvs) || die "building regionctl and kvs failed"
cp "$rel/regionctl" "$rel/kvs" "$stage/"
image=$REGION_CACHE/pmem-demo.img
guest() { bash "$REPO/scripts/run-guest.sh" --image "$image" --add "$ko:/region/region.ko" --add "$stage:/demo" "$@"; }

log "step 3/5: first boot on a fresh pmem image (TCG, about 20 seconds)"
guest --fresh -- '
set -e
PATH=/demo:$PATH
echo "== the pmem device: $(readlink -f /dev/pmem-nvdimm), DAX: $(cat /sys/block/$(basename $(readlink -f /dev/pmem-nvdimm))/queue/dax)"
echo "== a device without DAX is refused with a clear message"
insmod /region/region.ko pmem=/dev/ram0 2>&1 || true
dmesg | grep "region:" | tail -1
echo "== an unformatted device is refused unless format=1 is given"
insmod /region/region.ko pmem=/dev/pmem-nvdimm 2>&1 || true
dmesg | grep "region:" | tail -1
echo "== insmod region.ko pmem=/dev/pmem-nvdimm format=1"
insmod /region/region.ko pmem=/dev/pmem-nvdimm format=1
dmesg | grep "region:" | tail -3
device_info
echo "== regionctl create orders 1M --mode 644; regionctl ls; regionctl stat orders"
regionctl create orders 1M --mode 644
regionctl ls
regionctl stat orders
echo "== two processes map \"orders\", each stores into it and sees the other'"'"'s store at once"
rtool share orders 2
echo "== one PMSYNC makes both processes'"'"' stores durable, atomically"
regionctl sync orders
echo "== a later epoch: fill \"orders\" with 0x5a, then PMSYNC"
rtool fill orders 0x5a
echo "== the KVS: a store in region \"kvs\", shared by processes; each put is durable when it returns"
kvs init --size 8M
kvs put apple red
kvs put fruit/pear green
kvs load --procs 2 --ops 300 --keys 100
kvs get apple
kvs stat
'
log "step 4/5: second boot: overwrite the region, no PMSYNC, and cut the power mid-epoch"
guest --power-cut-after 12 -- '
PATH=/demo:$PATH
insmod /region/region.ko pmem=/dev/pmem-nvdimm
echo "== overwrite every byte of \"orders\" with 0x77 (stores in a new epoch, not PMSYNCed)"
rtool scribble orders 0x77
rtool check orders 0x77
echo "== kvs put cherry dark-red (committed), then 3 processes keep putting until the power goes"
kvs put cherry dark-red
kvs load --procs 3 --ops 100000 --keys 100 --get-percent 0 >/dev/null 2>&1 &
echo "== power cut in a few seconds (the host SIGKILLs QEMU; the NVDIMM image keeps what reached it)"
sleep 60
'
log "step 5/5: third boot on the same image: the region is exactly its last PMSYNC"
guest -- '
set -e
PATH=/demo:$PATH
echo "== insmod region.ko pmem=/dev/pmem-nvdimm (no format: regions are read back, interrupted epochs rolled back)"
insmod /region/region.ko pmem=/dev/pmem-nvdimm
dmesg | grep "region:" | tail -3
regionctl ls
rtool check orders 0x5a
echo "== the KVS: every committed put is there, the heap is sound"
kvs get apple
kvs get cherry
kvs scan fruit/
kvs stat
echo "== regionctl check: the module'"'"'s layout, every extent, and every heap"
regionctl check
rmmod region
'
