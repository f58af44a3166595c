#!/usr/bin/env bash
# The load test: one guest run of tests/guest/load.c on the test kernel (lockdep, DEBUG_VM,
# kmemleak): PROCS processes of three uids, some with several threads, mixing every operation on
# three shared regions for SECONDS seconds with their data verified, then an unload, a reload, a
# check of every verified word against what its writer committed and stored, and a check of the
# device (tests/guest/load.sh), and an offline check of the image it left.
#
#   scripts/load.sh [SECONDS [PROCS [SEED]]]   SECONDS defaults to $LOAD_SECONDS or 300, PROCS to
#                                              $LOAD_PROCS or 64, SEED to $LOAD_SEED or a random
#                                              one (printed; the same seed gives every thread the
#                                              same generator, but what the threads meet depends
#                                              on how they interleave)
#
# Builds what is missing: region.ko (scripts/module.sh) and build/load/ with the load program,
# regionctl and the guest script. Prints one line per result on stdout, "PASS load: ..." or
# "FAIL load: ...", the last one the kernel's verdict (no WARNING, lockdep, leak or other report on
# the console); the program's table and figures go to stderr. A failed run's console log is kept in
# $REGION_CACHE/load-failures/. Exits non-zero if anything failed.
source "$(dirname "$0")/lib.sh"
export REPO_DIR=$REPO CACHE_DIR=$REGION_CACHE
export REGION_KERNEL=test

seconds=${1:-${LOAD_SECONDS:-300}}
procs=${2:-${LOAD_PROCS:-64}}
seed=${3:-${LOAD_SEED:-$(od -An -tu4 -N4 /dev/urandom | tr -d ' ')}}
[[ $seconds =~ ^[0-9]+$ && $procs =~ ^[0-9]+$ && $seed =~ ^[0-9]+$ ]] ||
	die "usage: scripts/load.sh [SECONDS [PROCS [SEED]]] (numbers)"
start=$SECONDS

kdir=$(bash "$REPO/scripts/kernel.sh") || die "building the test kernel failed"
ko=$(bash "$REPO/scripts/module.sh") || die "building region.ko failed"

stage=$(stage_guest_program load) || die "building the load program for the guest failed"

logfile=$REGION_CACHE/logs/load-$(date -u +%Y%m%d-%H%M%S)-$$.log
mkdir -p "$(dirname "$logfile")"
image=$REGION_CACHE/pmem-load.img
# Boot, reload, checks and the kmemleak scan take about a minute; the program itself gives up
# after three minutes without progress.
timeout=$((seconds + 600))
log "load: $procs processes for ${seconds}s, seed $seed (guest timeout ${timeout}s; console log: $logfile)"
rc=0
bash "$REPO/scripts/run-guest.sh" --quiet --fresh --kmemleak --kernel "$kdir/arch/x86/boot/bzImage" \
	--image "$image" --timeout "$timeout" --log "$logfile" \
	--add "$ko:/region/region.ko" --add "$stage:/tests" -- "sh /tests/load.sh $seconds $procs $seed" || rc=$?

finish_guest_run load "$rc" "$timeout" "$seed" "$image" "$logfile" \
	"WARNING, lockdep, leaks, ..." "scripts/load.sh $seconds $procs $seed" \
	"builds, boot, load, reload, checks" || exit 1
