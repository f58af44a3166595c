#!/usr/bin/env bash
# The kernel fuzzer: one guest run of tests/guest/fuzz.c on the fuzz kernel (REGION_KERNEL=fuzz:
# the test kernel plus KASAN and UBSAN), then an unload, a reload and a check of the device
# (tests/guest/fuzz.sh), and an offline check of the image it left.
#
#   scripts/fuzz.sh [CALLS [SEED]]   CALLS defaults to $FUZZ_CALLS or 100000; SEED to $FUZZ_SEED
#                                    or a random one (printed: the same seed replays the same
#                                    operations)
#
# Builds what is missing: the fuzz kernel (cached like the others), region.ko against it (in a copy
# of the sources beside that kernel, see scripts/module.sh; the tree's region.ko stays the test
# kernel's), and build/fuzz/ with the fuzzer, regionctl and the guest script. Prints one line per
# result on stdout, "PASS fuzz: ..." or "FAIL fuzz: ...", the last one the kernel's verdict (no
# KASAN, UBSAN, WARNING, lockdep, leak or other report on the console); the fuzzer's table and the
# figures go to stderr. A failed run's console log is kept in $REGION_CACHE/fuzz-failures/. Exits
# non-zero if anything failed.
source "$(dirname "$0")/lib.sh"
export REPO_DIR=$REPO CACHE_DIR=$REGION_CACHE

calls=${1:-${FUZZ_CALLS:-100000}}
seed=${2:-${FUZZ_SEED:-$(od -An -tu4 -N4 /dev/urandom | tr -d ' ')}}
[[ $calls =~ ^[0-9]+$ && $seed =~ ^[0-9]+$ ]] || die "usage: scripts/fuzz.sh [CALLS [SEED]] (numbers)"
start=$SECONDS

kdir=$(REGION_KERNEL=fuzz bash "$REPO/scripts/kernel.sh") || die "building the fuzz kernel failed"
ko=$(REGION_KERNEL=fuzz bash "$REPO/scripts/module.sh") || die "building region.ko for the fuzz kernel failed"

stage=$(stage_guest_program fuzz) || die "building the fuzzer for the guest failed"

logfile=$REGION_CACHE/logs/fuzz-$(date -u +%Y%m%d-%H%M%S)-$$.log
mkdir -p "$(dirname "$logfile")"
# Slowest rate seen under TCG with KASAN is several hundred calls a second; allow 200.
timeout=$((600 + calls / 200))
log "fuzzing: $calls calls, seed $seed (guest timeout ${timeout}s; console log: $logfile)"
rc=0
bash "$REPO/scripts/run-guest.sh" --quiet --fresh --kmemleak --kernel "$kdir/arch/x86/boot/bzImage" \
	--image "$REGION_CACHE/pmem-fuzz.img" --timeout "$timeout" --log "$logfile" \
	--add "$ko:/region/region.ko" --add "$stage:/tests" -- "sh /tests/fuzz.sh $seed $calls" || rc=$?

finish_guest_run fuzz "$rc" "$timeout" "$seed" "$REGION_CACHE/pmem-fuzz.img" "$logfile" \
	"KASAN, UBSAN, WARNING, lockdep, leaks" "scripts/fuzz.sh $calls $seed" \
	"builds, boot, fuzzing, reload, check" || exit 1
