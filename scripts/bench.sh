#!/usr/bin/env bash
# The Region System benchmarks (`make bench`): prints figures, asserts nothing. One guest run on
# a 2 GiB NVDIMM: first an ext4 DAX mount of the device (formatted by busybox mke2fs, so ext4's
# driver without a journal) and the workloads on files, then region.ko on the same device and the
# same workloads on regions. Benchmarks: tests/bench/create_map_bench.c (create + map + first
# touch) and tests/bench/pmsync_bench.c (PMSYNC against msync and fsync, first-write faults, TLB
# shootdown IPIs with helper processes sleeping and running on the other vCPU; the guest needs
# its 2 vCPUs for those).
source "$(dirname "$0")/lib.sh"
export REPO_DIR=$REPO CACHE_DIR=$REGION_CACHE
# Figures come from the kernel without lockdep, DEBUG_VM and kmemleak (scripts/kernel.sh), which
# cost the kernel paths of both sides many times over under TCG. REGION_KERNEL=test measures
# on the tests' debug kernel instead.
export REGION_KERNEL=${REGION_KERNEL:-bench}

bash "$REPO/scripts/kernel.sh" >/dev/null
ko=$(bash "$REPO/scripts/module.sh")
stage=$REGION_CACHE/bench-bin
mkdir -p "$stage"
log "compiling the benchmarks"
static_c "$stage/create_map_bench" "$REPO/tests/bench/create_map_bench.c"
static_c "$stage/pmsync_bench" "$REPO/tests/bench/pmsync_bench.c"
log "booting the benchmark guest (TCG; a few minutes)"
bench_guest "$ko" "$stage" '
set -e
out=/tmp/create_map.txt
mke2fs -q -b 4096 /dev/pmem-nvdimm
mkdir -p /mnt/dax
mount -t ext4 -o dax /dev/pmem-nvdimm /mnt/dax
dmesg | grep -i "dax" | tail -2
sync_out=/tmp/pmsync.txt
echo "== ext4-DAX: create + map + touch"
/bench/create_map_bench ext4 /mnt/dax $out
echo "== ext4-DAX: msync and write + fsync"
/bench/pmsync_bench ext4 /mnt/dax $sync_out
umount /mnt/dax
insmod /region/region.ko pmem=/dev/pmem-nvdimm format=1
echo "== regions: create + map + touch"
/bench/create_map_bench region $out
echo "== regions: PMSYNC"
/bench/pmsync_bench region $sync_out
echo
/bench/create_map_bench report $out
echo
/bench/pmsync_bench report $sync_out
rmmod region
'
