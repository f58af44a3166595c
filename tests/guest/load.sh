#!/bin/sh
# load.sh SECONDS PROCS SEED - the guest side of the load test (scripts/load.sh and scripts/test.sh
# boot it on the test kernel: lockdep, DEBUG_VM, kmemleak).
#
# Formats the NVDIMM with region.ko, opens /dev/region to every user, runs the load
# (/tests/bin/load, tests/guest/load.c: PROCS processes of three uids, some with several threads,
# mixing every operation on three shared regions for SECONDS seconds, data verified), then
# unloads the module, loads it again (attach rolls back what was not committed), checks that every
# verified word holds a count between its writer's last commit and its last store, checks the
# device with regionctl, unloads it and looks for the module's error lines in the kernel log.
# TAP, one result per step, named "load: ..."; the host fails the run on top of this if the
# kernel reported anything (lockdep, WARNING, a leak, ...).
KO=${REGION_KO:-/region/region.ko}
PMEM=/dev/pmem-nvdimm
EXPECT=/tmp/load.expect

# step N NAME CMD...: "ok N load: NAME" if CMD succeeds (its output shown as diagnostics when not).
failed=0
step() {
	local n=$1 name=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		echo "ok $n load: $name"
	else
		failed=1
		echo "$out" | sed 's/^/# /'
		echo "not ok $n load: $name"
	fi
}

check() {
	local out
	out=$(/tests/bin/regionctl check 2>&1) || { echo "$out"; return 1; }
	echo "$out" | grep -q '^no inconsistencies$' || { echo "$out"; return 1; }
}

# module_errors: the module's lines of priority err or worse in the kernel log, if any (it logs
# them for states that must not happen, "extents given back were free already" for one; the
# runner fails a run on WARNINGs and splats, not on these).
module_errors() {
	! dmesg -r | grep '^<[0-3]>.*region: '
}

echo "TAP version 13"
echo "1..7"
if ! insmod $KO pmem=$PMEM format=1; then
	echo "not ok 1 load: insmod $KO pmem=$PMEM format=1 failed"
	exit 1
fi
chmod 0666 /dev/region
if ! /tests/bin/load "$1" "$2" "$3" $EXPECT; then
	# What follows would only wait on a process that hung, or check a run that already failed;
	# the reload and check still run when the expectations were written, for what they show.
	[ -s $EXPECT ] || { for n in 2 3 4 5 6 7; do echo "not ok $n load: skipped after the load failed"; done; exit 1; }
	failed=1
fi
step 2 "rmmod after the load" rmmod region
step 3 "insmod again (attach, roll back what was left uncommitted)" insmod $KO pmem=$PMEM
dmesg | grep 'region: .*rolled' | tail -1 | sed 's/^/# /'
# load --verify prints its own TAP line, numbered 1: renumber it.
out=$(/tests/bin/load --verify $EXPECT)
rc=$?
echo "$out" | grep -v '^\(not \)\?ok '
echo "$out" | sed -n 's/^\(not \)\?ok 1 /\1ok 4 /p'
[ $rc = 0 ] || failed=1
step 5 "regionctl check: no inconsistencies" check
step 6 "rmmod after the check" rmmod region
step 7 "the module logged no error (dmesg, priority err or worse)" module_errors
[ $failed = 0 ]
