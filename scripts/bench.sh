#!/usr/bin/env bash
# The Region System benchmarks (`make bench`): prints figures, asserts nothing. One guest run on
# a 1 GiB NVDIMM: first an ext4 DAX mount of the device (formatted by busybox mke2fs, so ext4's
# driver without a journal) and the same workload on files, then region.ko on the same device.
source "$(dirname "$0")/lib.sh"
export REPO_DIR=$REPO CACHE_DIR=$REGION_CACHE

bash "$REPO/scripts/kernel.sh" >/dev/null
ko=$(bash "$REPO/scripts/module.sh")
stage=$REGION_CACHE/bench-bin
mkdir -p "$stage"
log "compiling the benchmarks"
static_c "$stage/create_map_bench" "$REPO/tests/bench/create_map_bench.c"
log "booting the benchmark guest (TCG; a few minutes)"
bash "$REPO/scripts/run-guest.sh" --fresh --image "$REGION_CACHE/pmem-bench.img" --image-size 1G \
	--mem 2G --timeout 1800 --add "$ko:/region/region.ko" --add "$stage:/bench" -- '
set -e
out=/tmp/create_map.txt
mke2fs -q -b 4096 /dev/pmem-nvdimm
mkdir -p /mnt/dax
mount -t ext4 -o dax /dev/pmem-nvdimm /mnt/dax
dmesg | grep -i "dax" | tail -2
/bench/create_map_bench ext4 /mnt/dax $out
umount /mnt/dax
insmod /region/region.ko pmem=/dev/pmem-nvdimm format=1
/bench/create_map_bench region $out
echo
/bench/create_map_bench report $out
rmmod region
'
