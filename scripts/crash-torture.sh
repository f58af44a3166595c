#!/usr/bin/env bash
# crash-torture.sh [--boot] CUTS - power cuts at random instants while processes update a shared
# region, each followed by a restart on the same pmem image and a check (tests/guest/torture.c):
#
# - the region holds exactly one whole generation: no torn page, no mix of generations;
# - that generation is the last one whose PMSYNC the previous run reported, or the one after it
#   (when the cut fell after the commit store but before the report): no committed PMSYNC lost.
#
# Prints one line per cut ("PASS cut N: ..." or "FAIL cut N: ...") and a last line
# "survived S of N power cuts"; exits non-zero if any cut failed. The power cut is a SIGKILL of
# QEMU: the NVDIMM image keeps exactly what reached it.
#
# How a run starts. By default the guest boots once, up to the point just before the module is
# loaded (NVDIMM in fsdax mode, no page cache of the pmem device), and is saved there with QEMU
# migration, without the NVDIMM's memory (scripts/run-guest.sh --save-snapshot); every run after
# that, setup and cuts alike, resumes that guest on the image as the last cut left it, so it loads
# the module (recovery), verifies, and works until the cut: about 0.5 s of overhead instead of a
# 6-10 s boot. The module sees exactly what a booted guest would (it reads pmem only through DAX,
# at load, and the guest kernel has no cached view of the device); each check below also proves
# it, since a guest that saw the image as it was at the snapshot would find no region at all.
# --boot (or TORTURE_BOOT=1) boots every run instead, the way this script first worked.
#
# Cut instants are uniform in [0, TORTURE_WINDOW) seconds (default 2.5) after the resumed guest
# starts its command, or in [1, 6) s after a booted one is ready. The workload runs a few hundred
# PMSYNC rounds a second under TCG, so either window lands on a uniformly random phase of a round;
# the short window also cuts during module load and recovery (a few percent of the cuts). A cut
# that comes before the run printed its verdict leaves that verdict to the next run, which must
# then find what the cut before it left (recovery interrupted by a power cut must still recover).
#
# A workload is three guest commands, the guest files they need, and what its console says:
#   WL_INIT    sets it up on a freshly formatted device; WL_RUN loads the module, verifies, prints
#              its verdict and updates until the cut; WL_VERIFY loads the module and verifies only;
#   wl_recovered LOG   the state a run found (its verdict), empty when it printed none;
#   wl_committed LOG   the last state the run reported committed, empty when none;
#   wl_bad LOG         the verifier's complaints, empty when none.
# A state is a number: a run must find the last committed one or the next. A workload whose state
# is more than a number defines its own `wl_follows GOT COMMITTED` (true when GOT may follow
# COMMITTED). Add a workload as one more workload_NAME function and pick it with
# TORTURE_WORKLOAD=NAME.
source "$(dirname "$0")/lib.sh"
export REPO_DIR=$REPO CACHE_DIR=$REGION_CACHE

BOOT=${TORTURE_BOOT:-0}
[ "${1:-}" != --boot ] || { BOOT=1; shift; }
CUTS=${1:-10}
WINDOW=${TORTURE_WINDOW:-2.5}
WORKLOAD=${TORTURE_WORKLOAD:-region}
work=$(mktemp -d "$REGION_CACHE/torture.XXXXXX")
# REGION_TEST_KEEP=1 keeps the logs and the image, never the saved guest (56 MB of state).
if [ "${REGION_TEST_KEEP:-0}" = 1 ]; then trap 'rm -rf "$work/snapshot"' EXIT; else trap 'rm -rf "$work"' EXIT; fi

bash "$REPO/scripts/kernel.sh" >/dev/null
# A copy, so that rebuilding the module meanwhile does not change what a long run tests.
cp "$(bash "$REPO/scripts/module.sh")" "$work/region.ko"
ko=$work/region.ko
LOAD="insmod /region/region.ko pmem=/dev/pmem-nvdimm"

# console LOG: a run's console log without carriage returns and without a last line the power cut
# left unfinished: a cut can fall in the middle of a line ("KVS-RECOVERED 25" of
# "KVS-RECOVERED 2578,2670,2578"), and a part of a line must not count as the line.
console() {
	if [ -z "$(tail -c1 "$1")" ]; then tr -d '\r' <"$1"; else tr -d '\r' <"$1" | sed '$d'; fi
}

# The region workload: PROCS processes write their slot of every one of PAGES shared pages with
# the next generation, then one PMSYNC (tests/guest/torture.c).
workload_region() {
	local pages=${TORTURE_PAGES:-32} procs=${TORTURE_PROCS:-3}
	static_c "$work/torture" "$REPO/tests/guest/torture.c"
	WL_ADDS=("$work/torture:/bin/torture")
	WL_INIT="torture init t $pages $procs"
	WL_RUN="torture run t $procs"
	WL_VERIFY="torture verify t $procs"
	WL_WHAT="$procs processes, $pages shared pages"
	wl_recovered() { console "$1" | sed -n 's/^TORTURE-RECOVERED \([0-9]*\)$/\1/p' | tail -1; }
	wl_committed() { console "$1" | sed -n 's/^TORTURE-COMMITTED \([0-9]*\) .*/\1/p' | tail -1; }
	wl_bad() { console "$1" | { grep -a TORTURE-BAD || true; } | tail -2 | tr '\n' ' '; }
}
# The KVS workload: WRITERS processes put into one store (user/kvs), each put committed, and
# report each put after its commit (kvs torture-write). The state is each writer's last put,
# "S0,S1,..."; a run must find, for every writer, its last reported put or the one after, with
# every key of every writer holding exactly the value of its last put (kvs torture-verify).
workload_kvs() {
	local writers=${TORTURE_WRITERS:-3} w run="" rel
	rel=$(static_rust -p region-kvs --bin kvs) || die "building kvs failed"
	cp "$rel/kvs" "$work/kvs"
	WL_ADDS=("$work/kvs:/bin/kvs")
	for w in $(seq 0 $((writers - 1))); do run="$run kvs torture-write $w &"; done
	WL_INIT="kvs init --size 16M && kvs torture-verify $writers"
	WL_RUN="kvs torture-verify $writers && {$run wait; }"
	WL_VERIFY="kvs torture-verify $writers"
	WL_WHAT="$writers writer processes putting into one store, each put committed"
	wl_recovered() { console "$1" | sed -n 's/^KVS-RECOVERED \([0-9,]*\)$/\1/p' | tail -1; }
	# The recovered state, raised by every put reported after it.
	wl_committed() {
		console "$1" | awk '
			/^KVS-RECOVERED [0-9,]*$/ { n = split($2, s, ","); for (i = 1; i <= n; i++) last[i - 1] = s[i]; seen = 1 }
			/^KVS-COMMITTED [0-9]+ [0-9]+ [0-9]+$/ { if ($3 > last[$2]) last[$2] = $3 }
			END { if (seen) { for (i = 0; i < n; i++) printf "%s%s", (i ? "," : ""), last[i]; print "" } }'
	}
	wl_bad() { console "$1" | { grep -a KVS-PROBLEM || true; } | tail -2 | tr '\n' ' '; }
	wl_follows() {
		awk -v got="$1" -v was="$2" 'BEGIN {
			n = split(got, g, ","); if (split(was, c, ",") != n) exit 1
			for (i = 1; i <= n; i++) if (g[i] != c[i] && g[i] != c[i] + 1) exit 1 }'
	}
}
# The default: a state is one number.
wl_follows() { [ "$1" = "$2" ] || [ "$1" = $(($2 + 1)) ]; }
declare -F "workload_$WORKLOAD" >/dev/null || die "no torture workload '$WORKLOAD'"
"workload_$WORKLOAD"
ADDS=(--add "$ko:/region/region.ko")
for a in "${WL_ADDS[@]}"; do ADDS+=(--add "$a"); done

image=$work/pmem.img
snap=$work/snapshot

# guest N CUT COMMAND: run COMMAND in a guest (resumed from the snapshot, or booted) with its
# console in boot-N.log; CUT is "cut" for a power cut at a random instant, or "" to let it finish.
# A booted guest that times out before it is ready never reached the module (an emulator stall
# seen once on an overloaded host): it is retried once, and said so.
guest() {
	local n=$1 cut=$2 cmd=$3 delay rc attempt start=()
	if [ "$BOOT" = 1 ]; then
		start=("${ADDS[@]}")
		delay=$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", 1 + (r % 5000) / 1000 }')
	else
		start=(--from-snapshot "$snap")
		delay=$(awk -v r="$RANDOM$RANDOM" -v w="$WINDOW" 'BEGIN { printf "%.3f", (r % 1000000) / 1000000 * w }')
	fi
	[ "$cut" = cut ] || delay=
	for attempt in 1 2; do
		rc=0
		bash "$REPO/scripts/run-guest.sh" --quiet --image "$image" --timeout 240 \
			${delay:+--power-cut-after "$delay"} --log "$work/boot-$n.log" "${start[@]}" \
			-- "$cmd" 2>"$work/boot-$n.runner" || rc=$?
		if [ $rc -eq 124 ] && [ $attempt = 1 ] && ! grep -aq REGION-GUEST-READY "$work/boot-$n.log"; then
			log "run $n stalled before the guest was ready (never reached the module); retrying it once"
			cp "$work/boot-$n.log" "$work/boot-$n.stalled.log"
			continue
		fi
		return $rc
	done
}

log "crash torture: $CUTS power cuts, workload $WORKLOAD ($WL_WHAT), $([ "$BOOT" = 1 ] && echo "a boot per run" || echo "runs resumed from a snapshot")"
rm -f "$image"
if [ "$BOOT" = 1 ]; then
	bash "$REPO/scripts/run-guest.sh" --quiet --fresh --image "$image" --log "$work/boot-0.log" "${ADDS[@]}" \
		-- "$LOAD format=1 && $WL_INIT" 2>"$work/boot-0.runner" ||
		die "setting up the torture workload failed (log: $work/boot-0.log)"
else
	bash "$REPO/scripts/run-guest.sh" --quiet --fresh --image "$image" --log "$work/snapshot.log" "${ADDS[@]}" \
		--save-snapshot "$snap" 2>"$work/snapshot.runner" ||
		die "saving the guest failed: $(tail -3 "$work/snapshot.runner" | tr '\n' ' ') (log: $work/snapshot.log)"
	guest 0 '' "$LOAD format=1 && $WL_INIT" ||
		die "setting up the torture workload failed (log: $work/boot-0.log)"
fi
committed=$(wl_committed "$work/boot-0.log")
[ -n "$committed" ] || die "the workload's setup reported no commit (log: $work/boot-0.log)"
survived=0
# fail N WHY: print the FAIL line of run N and keep its console log and runner output in
# $REGION_CACHE/torture-failures/, which outlives the work folder.
fail() {
	local keep=$REGION_CACHE/torture-failures/$(basename "$work")-run-$1
	echo "FAIL $2"
	mkdir -p "$keep" && cp "$work/boot-$1.log" "$work/boot-$1.runner" "$keep/" 2>/dev/null
	log "run $1 failed: its logs are kept in $keep"
}
# Run n verifies what cut n-1 left (run 1: what the setup left), then works until cut n; the last
# run only verifies. `pending` counts the cuts whose check is still to come: more than one when a
# cut came before a run's verdict.
pending=0
for n in $(seq 1 $((CUTS + 1))); do
	rc=0
	if [ "$n" -le "$CUTS" ]; then
		guest "$n" cut "$LOAD && $WL_RUN" || rc=$?
	else
		guest "$n" '' "$LOAD && $WL_VERIFY" || rc=$?
	fi
	log_n=$work/boot-$n.log
	got=$(wl_recovered "$log_n")
	what="cut $((n - 1))"
	[ "$pending" -gt 0 ] || what="setup"
	[ "$pending" -le 1 ] || what="cuts $((n - pending))-$((n - 1))"
	bad=$(wl_bad "$log_n")
	if [ $rc -ne 0 ] && [ -z "$got" ] && [ -n "$bad" ]; then
		fail "$n" "$what: the region did not verify: $bad(log: $log_n)"
	elif [ $rc -ne 0 ]; then
		fail "$n" "$what: the guest run failed ($rc): $(tail -3 "$work/boot-$n.runner" | tr '\n' ' ') (log: $log_n)"
	elif [ -z "$got" ] && [ "$n" -le "$CUTS" ] && grep -aq 'power cut: QEMU killed' "$work/boot-$n.runner"; then
		echo "CUT-EARLY cut $n came before run $n printed its verdict (during module load or recovery); run $((n + 1)) checks"
		pending=$((pending + 1))
		continue
	elif [ -z "$got" ]; then
		fail "$n" "$what: no verdict in the console log (log: $log_n)"
	elif ! wl_follows "$got" "$committed"; then
		fail "$n" "$what: recovered state $got, but state $committed was committed (log: $log_n)"
	else
		survived=$((survived + pending))
		restored=$(tr -d '\r' <"$log_n" | sed -n 's/.*rolled [0-9]* regions back to their last PMSYNC (\([0-9]*\) pages restored).*/\1/p' | tail -1)
		echo "PASS $what: the region holds generation $got whole (last reported commit: $committed; ${restored:-0} pages rolled back at attach)"
	fi
	pending=1
	[ -z "$got" ] || committed=$got
	now=$(wl_committed "$log_n")
	[ -z "$now" ] || committed=$now
done
echo "survived $survived of $CUTS power cuts"
[ "$survived" -eq "$CUTS" ]
