#!/bin/sh
# fuzz.sh SEED CALLS - the guest side of a fuzz run (scripts/fuzz.sh boots it on the fuzz kernel).
#
# Formats the NVDIMM with region.ko, opens /dev/region to every user, runs the fuzzer
# (/tests/bin/fuzz, tests/guest/fuzz.c), then unloads the module, loads it again (attach and
# rollback of whatever the fuzzer left uncommitted), checks the device with regionctl and unloads
# it. TAP, one result per step; the host fails the run on top of this if the kernel reported
# anything (KASAN, UBSAN, WARNING, lockdep, ...).
KO=${REGION_KO:-/region/region.ko}
PMEM=/dev/pmem-nvdimm

# step N NAME CMD...: "ok N fuzz: NAME" if CMD succeeds (its output shown as diagnostics when not).
failed=0
step() {
	local n=$1 name=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		echo "ok $n fuzz: $name"
	else
		failed=1
		echo "$out" | sed 's/^/# /'
		echo "not ok $n fuzz: $name"
	fi
}

check() {
	local out
	out=$(/tests/bin/regionctl check 2>&1) || { echo "$out"; return 1; }
	echo "$out" | grep -q '^no inconsistencies$' || { echo "$out"; return 1; }
}

echo "TAP version 13"
echo "1..5"
if ! insmod $KO pmem=$PMEM format=1; then
	echo "not ok 1 fuzz: insmod $KO pmem=$PMEM format=1 failed"
	exit 1
fi
chmod 0666 /dev/region
if ! /tests/bin/fuzz "$@"; then
	# A worker died or hung: what follows would only wait on it.
	for n in 2 3 4 5; do echo "not ok $n fuzz: skipped after the fuzzer failed"; done
	exit 1
fi
step 2 "rmmod after the fuzzing" rmmod region
step 3 "insmod again (attach, roll back what was left uncommitted)" insmod $KO pmem=$PMEM
step 4 "regionctl check: no inconsistencies" check
step 5 "rmmod after the check" rmmod region
[ $failed = 0 ]
