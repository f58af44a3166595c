#!/usr/bin/env bash
# The Region System benchmarks (`make bench`): prints figures, asserts nothing. One guest boot on a
# 2 GiB NVDIMM, under the counting QEMU plugin (scripts/qemu-plugin.sh), runs BENCH_RUNS rounds
# (default 3) of everything, each on freshly made file systems and a freshly formatted device:
#
#   1. ext4 as mkfs.ext4 makes it (with a journal; the host's mke2fs, run in the guest with its
#      libraries), mounted -o dax: create-touch-2m and pmsync-1page on files, mapped as DAX likes
#      (ext4-dax) and in 4 KiB entries only (ext4-dax-4k), with the PMSYNC benchmark's msync and
#      fsync figures (tests/bench/create_map_bench.c, tests/bench/pmsync_bench.c);
#   2. ext4 without a journal (busybox mke2fs), -o dax: the same (ext4-nojournal), then LMDB
#      (user/kvs-bench) and PMDK (tests/bench/pmdk_bench.c, scripts/pmdk.sh) on files there;
#   3. region.ko on the same device: create-touch-2m, pmsync-1page and the PMSYNC benchmark on
#      regions, then the KVS (user/kvs) with the same workloads as LMDB and PMDK.
#
# Every measured phase prints a COUNTS line on the console between the protocol's marker
# instructions, and the plugin records its counts at each marker; after the guest, the host-side
# report (tests/bench/report) pairs them and prints per-operation counts, the modelled hardware
# time and the TCG time per workload, then the TARGET lines. The guest-side reports of the
# PMSYNC and create + map benchmarks (TCG times) come first.
#
# Settings: BENCH_RUNS (3), KVS_BENCH_OPS (operations per worker, default 2000), BENCH_ONLY=pm
# (everything but LMDB, PMDK and the KVS) or BENCH_ONLY=kvs (LMDB, PMDK and the KVS only),
# BENCH_TIMEOUT (seconds, default 7200), REGION_KERNEL (bench; test measures on the debug kernel),
# REGION_PLUGIN_MODE=exact (instructions counted one by one; slower), BENCH_KERNEL and BENCH_KO (a
# bzImage and a region.ko built for it elsewhere, instead of scripts/kernel.sh's and module.sh's).
source "$(dirname "$0")/lib.sh"
export REPO_DIR=$REPO CACHE_DIR=$REGION_CACHE
# Figures come from the kernel without lockdep, DEBUG_VM and kmemleak (scripts/kernel.sh), which
# cost the kernel paths of both sides many times over under TCG.
export REGION_KERNEL=${REGION_KERNEL:-bench}

RUNS=${BENCH_RUNS:-3}
OPS=${KVS_BENCH_OPS:-2000}
ONLY=${BENCH_ONLY:-}
case $ONLY in '' | pm | kvs) ;; *) die "BENCH_ONLY must be pm or kvs (or unset for everything)" ;; esac
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "bad BENCH_RUNS '$RUNS'"
[[ $OPS =~ ^[1-9][0-9]*$ ]] || die "bad KVS_BENCH_OPS '$OPS'"
start=$SECONDS

if [ -n "${BENCH_KERNEL:-}" ] && [ -n "${BENCH_KO:-}" ]; then
	kernel_args=(--kernel "$BENCH_KERNEL")
	ko=$BENCH_KO
else
	bash "$REPO/scripts/kernel.sh" >/dev/null
	kernel_args=()
	ko=$(bash "$REPO/scripts/module.sh")
fi
bash "$REPO/scripts/qemu-plugin.sh" >/dev/null || die "no counting plugin for this QEMU (see above)"
stage=$REGION_CACHE/bench-bin
rm -rf "$stage"
mkdir -p "$stage"
log "compiling the benchmarks"
static_c "$stage/create_map_bench" "$REPO/tests/bench/create_map_bench.c"
static_c "$stage/pmsync_bench" "$REPO/tests/bench/pmsync_bench.c"
# The host's mke2fs with the libraries it links and its configuration, for the journaled ext4.
e2fs=$stage/e2fs
mkdir -p "$e2fs"
mke2fs=$(command -v mke2fs) || die "no mke2fs on the host (apt-get install e2fsprogs)"
cp "$mke2fs" "$e2fs/"
ldd "$mke2fs" | awk '/=>/ { print $3 } /ld-linux/ && !/=>/ { print $1 }' | xargs -I{} cp -L {} "$e2fs/"
cp /etc/mke2fs.conf "$e2fs/" 2>/dev/null || true
kvs_mode=none pmdk=''
if [ "$ONLY" != pm ]; then
	log "building kvs-bench and kvs (static)"
	rel=$(static_rust -p kvs-bench --bin kvs-bench -p region-kvs --bin kvs) || die "building kvs-bench failed"
	cp "$rel/kvs-bench" "$rel/kvs" "$stage/"
	# The protocol's matrix of workloads when kvs-bench has it; its older put/get runs otherwise.
	if grep -q '"matrix"\|Matrix' "$REPO"/user/kvs-bench/src/*.rs; then kvs_mode=matrix; else kvs_mode=run; fi
	if [ -f "$REPO/scripts/pmdk.sh" ] && [ -f "$REPO/tests/bench/pmdk_bench.c" ]; then
		log "building pmdk_bench"
		if p=$(bash "$REPO/scripts/pmdk.sh" "$stage/pmdk"); then
			pmdk=/bench/pmdk/${p#"$stage/pmdk/"}
		else
			log "warning: building pmdk_bench failed: no PMDK figures this time"
		fi
	fi
fi

# The guest's script. step runs a benchmark and notes a failure without ending the round, so one
# broken program costs its own figures only.
guest="
failed=0
step() { \"\$@\" || { echo \"BENCH-STEP-FAILED: \$*\"; failed=1; }; }
set -e
out=/tmp/create_map.txt
sync_out=/tmp/pmsync.txt
kvs_out=/tmp/kvs.txt
mkdir -p /mnt/dax
for run in \$(seq $RUNS); do
	echo \"BENCH-RUN \$run\"
	echo \"== run \$run of $RUNS: mkfs.ext4 (with a journal; inode tables and journal written now, not lazily)\"
	MKE2FS_CONFIG=/bench/e2fs/mke2fs.conf /bench/e2fs/ld-linux-x86-64.so.2 --library-path /bench/e2fs \\
		/bench/e2fs/mke2fs -q -F -t ext4 -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 /dev/pmem-nvdimm
	mount -t ext4 -o dax /dev/pmem-nvdimm /mnt/dax"
if [ "$ONLY" != kvs ]; then
	guest+="
	if [ \$run = 1 ]; then
		echo '== ext4-DAX: create + map + touch'
		step /bench/create_map_bench ext4 /mnt/dax \$out
	fi
	echo '== ext4-DAX: create-touch-2m'
	step /bench/create_map_bench counts ext4-dax /mnt/dax
	step /bench/create_map_bench counts ext4-dax-4k /mnt/dax
	echo '== ext4-DAX: msync and write + fsync'
	step /bench/pmsync_bench ext4 /mnt/dax \$sync_out
	echo '== ext4-DAX: the same with the file in 4 KiB entries'
	step /bench/pmsync_bench ext4-4k /mnt/dax \$sync_out"
fi
guest+="
	umount /mnt/dax
	echo '== ext4 without a journal (busybox mke2fs)'
	mke2fs -q -b 4096 /dev/pmem-nvdimm
	mount -t ext4 -o dax /dev/pmem-nvdimm /mnt/dax"
if [ "$ONLY" != kvs ]; then
	guest+="
	step /bench/pmsync_bench ext4-nojournal /mnt/dax \$sync_out
	step /bench/create_map_bench counts ext4-nojournal /mnt/dax"
fi
case $kvs_mode in
matrix) guest+="
	echo '== LMDB on ext4-DAX (no journal)'
	step /bench/kvs-bench matrix lmdb /mnt/dax/lmdb --ops $OPS" ;;
run) guest+="
	for op in put get; do for procs in 1 4; do
		echo \"== LMDB on ext4-DAX: \$op, \$procs processes\"
		step /bench/kvs-bench run lmdb /mnt/dax/lmdb \$op \$procs \$kvs_out --ops $OPS
	done; done" ;;
esac
if [ -n "$pmdk" ]; then
	guest+="
	echo '== PMDK on ext4-DAX (no journal)'
	step $pmdk /mnt/dax"
fi
guest+="
	umount /mnt/dax
	insmod /region/region.ko pmem=/dev/pmem-nvdimm format=1"
if [ "$ONLY" != kvs ]; then
	guest+="
	if [ \$run = 1 ]; then
		echo '== regions: create + map + touch'
		step /bench/create_map_bench region \$out
	fi
	echo '== regions: create-touch-2m'
	step /bench/create_map_bench counts region
	echo '== regions: PMSYNC'
	step /bench/pmsync_bench region \$sync_out"
fi
case $kvs_mode in
matrix) guest+="
	echo '== the KVS in a region'
	step /bench/kvs init --size 256M
	step /bench/kvs-bench matrix kvs kvs --ops $OPS" ;;
run) guest+="
	step /bench/kvs init --size 256M
	for op in put get; do for procs in 1 4; do
		echo \"== KVS in a region: \$op, \$procs processes\"
		step /bench/kvs-bench run kvs kvs \$op \$procs \$kvs_out --ops $OPS
	done; done" ;;
esac
guest+="
	rmmod region
done
echo BENCH-GUEST-REPORTS"
if [ "$ONLY" != kvs ]; then
	guest+="
echo
/bench/create_map_bench report \$out
echo
/bench/pmsync_bench report \$sync_out"
fi
if [ $kvs_mode = run ]; then
	guest+="
echo
/bench/kvs-bench report \$kvs_out"
fi
guest+="
exit \$failed"

logs=$REGION_CACHE/logs
mkdir -p "$logs"
stamp=$(date -u +%Y%m%d-%H%M%S)
console=$logs/bench-$stamp.log
marks=$logs/bench-$stamp.marks
log "booting the benchmark guest (TCG, counting plugin; $RUNS rounds; 10-20 minutes a round)"
log "console log: $console (tail -f it to follow); plugin file: $marks"
rc=0
bash "$REPO/scripts/run-guest.sh" ${kernel_args[@]+"${kernel_args[@]}"} --quiet --fresh --image "$REGION_CACHE/pmem-bench.img" --image-size 2G --mem 2G \
	--timeout "${BENCH_TIMEOUT:-7200}" --plugin "$marks" --log "$console" --add "$ko:/region/region.ko" \
	--add "$stage:/bench" -- "$guest" || rc=$?
tr -d '\r' <"$console" | grep -a '^BENCH-STEP-FAILED' >&2 || true
# The guest-side reports (TCG times of the PMSYNC and create + map benchmarks).
tr -d '\r' <"$console" | sed -n '/^BENCH-GUEST-REPORTS$/,/REGION-GUEST-EXIT/p' | grep -av 'BENCH-GUEST-REPORTS\|REGION-GUEST-EXIT' || true
echo
(cd "$REPO" && cargo build -q --release -p bench-report) >&2 || die "building bench-report failed"
"$REPO/target/release/bench-report" "$console" "$marks"
log "make bench: $((SECONDS - start)) s; console log $console, plugin file $marks"
[ $rc = 0 ] || die "the benchmark guest run failed (status $rc)"
