#!/usr/bin/env bash
# kvs-bench.sh - the KVS against LMDB (part of `make bench`; prints figures, asserts nothing).
# One guest run on a 2 GiB NVDIMM: LMDB on an ext4-DAX file system on the device first (busybox
# mke2fs, so no journal), then region.ko on the same device and the KVS in a region; the same
# workload (user/kvs-bench: 10,000 keys, 100-byte values, every put durable before the next
# operation; gets copy the value out) with 1 and 4 processes; then the table with ratios.
source "$(dirname "$0")/lib.sh"
export REPO_DIR=$REPO CACHE_DIR=$REGION_CACHE
# Figures come from the kernel without lockdep, DEBUG_VM and kmemleak (scripts/kernel.sh), which
# cost the kernel paths of both sides many times over under TCG. REGION_KERNEL=test measures
# on the tests' debug kernel instead.
export REGION_KERNEL=${REGION_KERNEL:-bench}

bash "$REPO/scripts/kernel.sh" >/dev/null
ko=$(bash "$REPO/scripts/module.sh")
stage=$REGION_CACHE/kvs-bench-bin
mkdir -p "$stage"
log "building kvs-bench and kvs (static)"
rel=$(static_rust -p kvs-bench --bin kvs-bench -p region-kvs --bin kvs) || die "building kvs-bench failed"
cp "$rel/kvs-bench" "$rel/kvs" "$stage/"
OPS=${KVS_BENCH_OPS:-2000}
log "booting the KVS benchmark guest (TCG; several minutes)"
bench_guest "$ko" "$stage" "
set -e
out=/tmp/kvs.txt
mke2fs -q -b 4096 /dev/pmem-nvdimm
mkdir -p /mnt/dax
mount -t ext4 -o dax /dev/pmem-nvdimm /mnt/dax
for op in put get; do for procs in 1 4; do
	echo \"== LMDB on ext4-DAX: \$op, \$procs processes\"
	/bench/kvs-bench run lmdb /mnt/dax/lmdb \$op \$procs \$out --ops $OPS
done; done
umount /mnt/dax
insmod /region/region.ko pmem=/dev/pmem-nvdimm format=1
/bench/kvs init --size 256M
for op in put get; do for procs in 1 4; do
	echo \"== KVS in a region: \$op, \$procs processes\"
	/bench/kvs-bench run kvs kvs \$op \$procs \$out --ops $OPS
done; done
echo
/bench/kvs-bench report \$out
rmmod region
"
