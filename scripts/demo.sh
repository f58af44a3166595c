#!/usr/bin/env bash
# The Region System demo: builds what is missing (toolchain root, kernel, module; the first run
# takes 20-30 minutes, later ones seconds), boots a QEMU guest with an emulated NVDIMM backed by
# $REGION_CACHE/pmem-demo.img, loads region.ko on it and shows what the module reports.
source "$(dirname "$0")/lib.sh"
export REPO_DIR=$REPO CACHE_DIR=$REGION_CACHE

log "step 1/3: toolchain and kernel (cached after the first run)"
bash "$REPO/scripts/kernel.sh" >/dev/null
log "step 2/3: region.ko and the demo program"
ko=$(bash "$REPO/scripts/module.sh")
stage=$REGION_CACHE/demo-bin
mkdir -p "$stage"
static_c "$stage/device_info" "$REPO/user/examples/device_info.c"

log "step 3/3: booting the guest (TCG, about 10 seconds)"
exec bash "$REPO/scripts/run-guest.sh" --image "$REGION_CACHE/pmem-demo.img" \
	--add "$ko:/region/region.ko" --add "$stage:/demo" -- '
set -e
echo "== the pmem device: $(readlink -f /dev/pmem-nvdimm), DAX: $(cat /sys/block/$(basename $(readlink -f /dev/pmem-nvdimm))/queue/dax)"
echo "== insmod region.ko pmem=/dev/pmem-nvdimm"
insmod /region/region.ko pmem=/dev/pmem-nvdimm
dmesg | grep "region:" | tail -2
ls -l /dev/region
echo "== ask the module what it manages"
/demo/device_info
echo "== rmmod region"
rmmod region
ls /dev/region 2>&1 || true
echo "== a device without DAX is refused with a clear message"
insmod /region/region.ko pmem=/dev/ram0 2>&1 || true
dmesg | grep "region:" | tail -1
'
