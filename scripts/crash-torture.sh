#!/usr/bin/env bash
# crash-torture.sh CUTS - power cuts at random instants while processes update a shared region,
# each followed by a reboot on the same pmem image and a check (tests/guest/torture.c):
#
# - the region holds exactly one whole generation: no torn page, no mix of generations;
# - that generation is the last one whose PMSYNC the previous boot reported, or the one after it
#   (when the cut fell after the commit store but before the report): no committed PMSYNC lost.
#
# Prints one line per cut ("PASS cut N: ..." or "FAIL cut N: ...") and a last line
# "survived S of N power cuts"; exits non-zero if any cut failed. The power cut is a SIGKILL of
# QEMU: the NVDIMM image keeps exactly what reached it.
source "$(dirname "$0")/lib.sh"
export REPO_DIR=$REPO CACHE_DIR=$REGION_CACHE

CUTS=${1:-10}
PAGES=${TORTURE_PAGES:-32}
PROCS=${TORTURE_PROCS:-3}
work=$(mktemp -d "$REGION_CACHE/torture.XXXXXX")
[ "${REGION_TEST_KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

bash "$REPO/scripts/kernel.sh" >/dev/null
# A copy, so that rebuilding the module meanwhile does not change what a long run tests.
cp "$(bash "$REPO/scripts/module.sh")" "$work/region.ko"
ko=$work/region.ko
static_c "$work/torture" "$REPO/tests/guest/torture.c"
image=$work/pmem.img

# boot N COMMAND: one boot, cut at a random instant 1-6 s after the guest is ready. A boot that
# times out before the guest is ready never reached the module (an emulator stall seen once on an
# overloaded host): it is retried once, and said so.
boot() {
	local n=$1 cmd=$2 delay rc attempt
	for attempt in 1 2; do
		delay=$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", 1 + (r % 5000) / 1000 }')
		rc=0
		bash "$REPO/scripts/run-guest.sh" --quiet --image "$image" --timeout 240 --power-cut-after "$delay" \
			--log "$work/boot-$n.log" --add "$ko:/region/region.ko" --add "$work/torture:/bin/torture" \
			-- "$cmd" 2>"$work/boot-$n.runner" || rc=$?
		if [ $rc -eq 124 ] && [ $attempt = 1 ] && ! grep -aq REGION-GUEST-READY "$work/boot-$n.log"; then
			log "boot $n stalled before the guest was ready (never reached the module); retrying it once"
			cp "$work/boot-$n.log" "$work/boot-$n.stalled.log"
			continue
		fi
		return $rc
	done
}

last_committed() { tr -d '\r' <"$1" | sed -n 's/^TORTURE-COMMITTED \([0-9]*\) .*/\1/p' | tail -1; }
recovered() { tr -d '\r' <"$1" | sed -n 's/^TORTURE-RECOVERED \([0-9]*\)$/\1/p' | tail -1; }

log "crash torture: $CUTS power cuts, $PROCS processes, $PAGES shared pages"
rm -f "$image"
bash "$REPO/scripts/run-guest.sh" --quiet --fresh --image "$image" --log "$work/boot-0.log" \
	--add "$ko:/region/region.ko" --add "$work/torture:/bin/torture" -- \
	"insmod /region/region.ko pmem=/dev/pmem-nvdimm format=1 && torture init t $PAGES $PROCS" \
	2>"$work/boot-0.runner" || die "setting up the torture region failed (log: $work/boot-0.log)"
committed=0
survived=0
# Boot n verifies what cut n-1 left (boot 1: what init left), then runs until cut n; the last boot
# only verifies.
for n in $(seq 1 $((CUTS + 1))); do
	rc=0
	if [ "$n" -le "$CUTS" ]; then
		boot "$n" "insmod /region/region.ko pmem=/dev/pmem-nvdimm && torture run t $PROCS" || rc=$?
	else
		bash "$REPO/scripts/run-guest.sh" --quiet --image "$image" --timeout 240 --log "$work/boot-$n.log" \
			--add "$ko:/region/region.ko" --add "$work/torture:/bin/torture" -- \
			"insmod /region/region.ko pmem=/dev/pmem-nvdimm && torture verify t $PROCS" \
			2>"$work/boot-$n.runner" || rc=$?
	fi
	log_n=$work/boot-$n.log
	got=$(recovered "$log_n")
	what="cut $((n - 1))"
	[ "$n" -gt 1 ] || what="setup"
	if [ $rc -ne 0 ] && [ -z "$got" ] && grep -aq TORTURE-BAD "$log_n"; then
		echo "FAIL $what: the region did not verify: $(tr -d '\r' <"$log_n" | grep -a TORTURE-BAD | tail -2 | tr '\n' ' ') (log: $log_n)"
	elif [ $rc -ne 0 ]; then
		echo "FAIL $what: the guest run failed ($rc): $(tail -3 "$work/boot-$n.runner" | tr '\n' ' ') (log: $log_n)"
	elif [ -z "$got" ]; then
		echo "FAIL $what: no verdict in the console log (log: $log_n)"
	elif [ "$got" != "$committed" ] && [ "$got" != $((committed + 1)) ]; then
		echo "FAIL $what: recovered generation $got, but generation $committed was committed (log: $log_n)"
	else
		[ "$n" -eq 1 ] || survived=$((survived + 1))
		restored=$(tr -d '\r' <"$log_n" | sed -n 's/.*rolled [0-9]* regions back to their last PMSYNC (\([0-9]*\) pages restored).*/\1/p' | tail -1)
		echo "PASS $what: the region holds generation $got whole (last reported commit: $committed; ${restored:-0} pages rolled back at attach)"
	fi
	[ -z "$got" ] || committed=$got
	now=$(last_committed "$log_n")
	[ -z "$now" ] || committed=$now
done
echo "survived $survived of $CUTS power cuts"
[ "$survived" -eq "$CUTS" ]
