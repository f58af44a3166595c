#!/usr/bin/env bash
# The Region System benchmarks (`make bench`): prints figures, asserts nothing. One guest run on
# a 2 GiB NVDIMM: first an ext4 DAX mount of the device, formatted as mkfs.ext4 formats it (with
# a journal; the host's mke2fs, run in the guest with its libraries), and the workloads on files;
# then the same without a journal (busybox's mke2fs); then region.ko on the same device and the
# same workloads on regions. The PMSYNC benchmark runs BENCH_RUNS times (default 3) in that guest,
# each on freshly made file systems and a freshly formatted device, and its report takes the
# median over the runs and prints each run's ratio for the targets. Benchmarks: tests/bench/create_map_bench.c (create + map + first
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
# The host's mke2fs with the libraries it links and its configuration, for the journaled ext4.
e2fs=$stage/e2fs
rm -rf "$e2fs"
mkdir -p "$e2fs"
mke2fs=$(command -v mke2fs) || die "no mke2fs on the host (apt-get install e2fsprogs)"
cp "$mke2fs" "$e2fs/"
ldd "$mke2fs" | awk '/=>/ { print $3 } /ld-linux/ && !/=>/ { print $1 }' | xargs -I{} cp -L {} "$e2fs/"
cp /etc/mke2fs.conf "$e2fs/" 2>/dev/null || true
RUNS=${BENCH_RUNS:-3}
log "booting the benchmark guest (TCG; $RUNS runs of the PMSYNC benchmark, about a minute each)"
bench_guest "$ko" "$stage" "
set -e
out=/tmp/create_map.txt
sync_out=/tmp/pmsync.txt
mkdir -p /mnt/dax
for run in \$(seq $RUNS); do
	echo \"== run \$run of $RUNS: mkfs.ext4 (with a journal; inode tables and journal written now, not lazily)\"
	MKE2FS_CONFIG=/bench/e2fs/mke2fs.conf /bench/e2fs/ld-linux-x86-64.so.2 --library-path /bench/e2fs \\
		/bench/e2fs/mke2fs -q -F -t ext4 -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 /dev/pmem-nvdimm
	mount -t ext4 -o dax /dev/pmem-nvdimm /mnt/dax
	if [ \$run = 1 ]; then
		echo '== ext4-DAX: create + map + touch'
		/bench/create_map_bench ext4 /mnt/dax \$out
	fi
	echo '== ext4-DAX: msync and write + fsync'
	/bench/pmsync_bench ext4 /mnt/dax \$sync_out
	echo '== ext4-DAX: the same with the file in 4 KiB entries'
	/bench/pmsync_bench ext4-4k /mnt/dax \$sync_out
	umount /mnt/dax
	echo '== ext4 without a journal (busybox mke2fs)'
	mke2fs -q -b 4096 /dev/pmem-nvdimm
	mount -t ext4 -o dax /dev/pmem-nvdimm /mnt/dax
	/bench/pmsync_bench ext4-nojournal /mnt/dax \$sync_out
	umount /mnt/dax
	insmod /region/region.ko pmem=/dev/pmem-nvdimm format=1
	if [ \$run = 1 ]; then
		echo '== regions: create + map + touch'
		/bench/create_map_bench region \$out
	fi
	echo '== regions: PMSYNC'
	/bench/pmsync_bench region \$sync_out
	rmmod region
done
echo
/bench/create_map_bench report \$out
echo
/bench/pmsync_bench report \$sync_out
"
