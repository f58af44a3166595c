#!/usr/bin/env bash
# The Region System's test command: every test, host and guest, ending with the line
# "N passed, N failed, N skipped" and a non-zero exit status if anything failed.
#
# Steps: host unit tests (cargo test); toolchain, kernel and module build (cached); libregion's
# host checks (scripts/libregion.sh check); lint (clippy, rustfmt); a check that the guest runner
# fails a run whose kernel complains; the guest suite (tests/guest/run-all.sh) on a fresh pmem
# image, and a second boot on it; short crash tortures of the region workload
# (REGION_TORTURE_CUTS power cuts, default 10) and of the KVS (REGION_KVS_TORTURE_CUTS, default
# 10); the kernel fuzzer on the fuzz kernel, KASAN and UBSAN (REGION_FUZZ_CALLS calls, default
# 100000; FUZZ_SEED to replay a seed); a load round on the test kernel (scripts/load.sh: 64
# processes for REGION_LOAD_SECONDS seconds, default 45; LOAD_SEED to run a seed again). Set
# REGION_TEST_KEEP=1 to keep the logs.
source "$(dirname "$0")/lib.sh"
# The tests need the debug kernel (kmemleak, lockdep, the RAM disk), whatever the caller set.
export REGION_KERNEL=test
cd "$REPO"

passed=0 failed=0 skipped=0
work=$(mktemp -d "$REGION_CACHE/test.XXXXXX")
[ "${REGION_TEST_KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

# result PASS|FAIL|SKIP NAME: count one result and print it.
result() {
	case $1 in
	PASS) passed=$((passed + 1)) ;;
	FAIL) failed=$((failed + 1)) ;;
	SKIP) skipped=$((skipped + 1)) ;;
	esac
	printf '%s %s\n' "$1" "$2"
}

summary() {
	echo
	echo "logs: $work"
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit
}

host_tests() {
	log "== host tests (cargo test)"
	local out=$work/cargo.log
	if ! cargo test --workspace --no-fail-fast >"$out" 2>&1; then
		grep -E '^test .* FAILED$|panicked|^error' "$out" | head -40 >&2 || true
	fi
	grep -E '^test .* \.\.\. (ok|FAILED|ignored)$' "$out" | sed -E 's/^test (.*) \.\.\. (ok|FAILED|ignored)$/\2 host:\1/' |
		while read -r status name; do
			case $status in ok) echo "PASS $name" ;; FAILED) echo "FAIL $name" ;; *) echo "SKIP $name" ;; esac
		done >"$work/cargo.results" || true
	grep -q . "$work/cargo.results" || echo "FAIL host: cargo test ran no test (see $out)" >"$work/cargo.results"
	while read -r status name; do result "$status" "$name"; done <"$work/cargo.results"
}

build_all() {
	log "== toolchain, kernel and module (cached after the first run)"
	if ! bash scripts/kernel.sh >/dev/null; then
		result FAIL "build: kernel"
		summary
	fi
	if bash scripts/module.sh >/dev/null; then result PASS "build: region.ko with zero warnings"; else
		result FAIL "build: region.ko with zero warnings"
		summary
	fi
	if bash scripts/build-tests.sh >/dev/null; then result PASS "build: guest tests"; else
		result FAIL "build: guest tests"
		summary
	fi
}

# libregion_checks: the C library's header alone under -pedantic, and a program linked against
# libregion.so run on the host side (in the toolchain root); one result per check.
libregion_checks() {
	log "== libregion host checks"
	bash scripts/libregion.sh check >"$work/libregion.results" 2>"$work/libregion.err" || true
	while read -r status name; do result "$status" "$name"; done <"$work/libregion.results"
	grep -q '^PASS' "$work/libregion.results" || result FAIL "libregion: no host check ran (see $work/libregion.err)"
	grep -q '^FAIL' "$work/libregion.results" && cat "$work/libregion.err" >&2 || true
}

lint() {
	log "== lint"
	if bash scripts/lint.sh clippy >&2; then result PASS "lint: clippy, zero warnings"; else result FAIL "lint: clippy, zero warnings"; fi
	if bash scripts/lint.sh rustfmt >&2; then result PASS "lint: rustfmt"; else result FAIL "lint: rustfmt"; fi
}

# guest [--fresh] OPTIONS -- CMD: one guest boot on the run's pmem image (zeroed first with
# --fresh); returns the runner's exit status.
guest() {
	bash scripts/run-guest.sh --quiet --image "$work/pmem.img" --timeout 300 "$@"
}

# count_guest_results LOG RC: counts the TAP results in a guest console log, and the run itself
# if it failed without a failing result to show for it.
count_guest_results() {
	local log=$1 rc=$2
	bash scripts/tap-summary.sh "$log" >"$work/guest.results"
	{ grep -v '^counts ' "$work/guest.results" || true; } | while read -r status rest; do echo "$status guest:$rest"; done >"$work/guest.lines"
	while read -r status name; do result "$status" "$name"; done <"$work/guest.lines"
	grep -q '^PASS\|^FAIL' "$work/guest.lines" || result FAIL "guest: no test results in the console log ($log)"
	case $rc in
	0) ;;
	124) result FAIL "guest: timed out (log: $log)" ;;
	125) result FAIL "guest: the kernel reported a problem (log: $log)" ;;
	*) grep -q '^FAIL' "$work/guest.lines" || result FAIL "guest: run failed with status $rc (log: $log)" ;;
	esac
}

runner_checks() {
	log "== guest runner checks"
	local rc=0
	guest --fresh --log "$work/runner-warning.log" -- 'echo "WARNING: region runner self-check" >/dev/kmsg' || rc=$?
	if [ $rc -eq 125 ]; then result PASS "runner: a kernel WARNING fails the run (exit 125)"; else
		result FAIL "runner: a kernel WARNING fails the run (exit 125, got $rc)"
	fi
	rc=0
	guest --fresh --log "$work/runner-exit.log" -- 'exit 3' || rc=$?
	if [ $rc -eq 3 ]; then result PASS "runner: the guest command's exit status is passed on"; else
		result FAIL "runner: the guest command's exit status is passed on (exit 3, got $rc)"
	fi
}

guest_suite() {
	log "== guest suite (TCG; about two minutes)"
	local rc=0 log=$work/guest-suite.log
	local add=(--add "$REPO/region.ko:/region/region.ko" --add "$REPO/build/guest-tests:/tests")
	# --kmemleak: after the suite, a scan for kernel memory leaks; one fails the run.
	guest --fresh --memmap 8M --kmemleak --log "$log" "${add[@]}" -- 'sh /tests/run-all.sh' || rc=$?
	count_guest_results "$log" $rc
	# A second boot on the same image: what the first one left must still be there.
	log "== guest reboot on the same pmem image"
	rc=0
	log=$work/guest-reboot.log
	guest --log "$log" "${add[@]}" -- 'sh /tests/run-after-reboot.sh' || rc=$?
	count_guest_results "$log" $rc
}

# offline_check: regionctl check on the host, on the image the guest suite left (two regions), and
# on a copy with one bit of a region table entry flipped.
offline_check() {
	log "== regionctl check on the guest's pmem image, offline"
	local rc=0 out img=$work/pmem.img bad=$work/pmem-bad.img dataoff
	cargo build -q --release -p regionctl >&2 || { result FAIL "offline check: building regionctl"; return; }
	out=$(./target/release/regionctl check "$img" 2>&1) || rc=$?
	if [ $rc -eq 0 ] && echo "$out" | grep -q '^regions: 2,' && echo "$out" | grep -q '^no inconsistencies$'; then
		result PASS "offline check: the suite's image checks out"
	else
		result FAIL "offline check: the suite's image: exit $rc: $out"
	fi
	cp "$img" "$bad"
	dataoff=$(od -An -t u8 -j $((4096 + 56)) -N 8 "$bad" | tr -d ' ')
	printf '\xff' | dd of="$bad" bs=1 seek=$((dataoff + 4096 + 70)) conv=notrunc status=none
	rc=0
	out=$(./target/release/regionctl check "$bad" 2>&1) || rc=$?
	if [ $rc -eq 1 ] && echo "$out" | grep -q '^inconsistency: region table entry 0: ShapeCheck$'; then
		result PASS "offline check: a corrupt table entry is reported, exit 1"
	else
		result FAIL "offline check: a corrupt table entry: exit $rc: $out"
	fi
}

# crash_torture WORKLOAD CUTS: a short crash torture of one workload, one result per cut.
crash_torture() {
	local wl=$1 cuts=$2 out=$work/torture-$1
	log "== crash torture, workload $wl: $cuts power cuts at random instants"
	TORTURE_WORKLOAD=$wl bash scripts/crash-torture.sh "$cuts" >"$out.out" 2>"$out.err" || true
	grep -E '^(PASS|FAIL) ' "$out.out" | while read -r status rest; do echo "$status torture $wl: $rest"; done >"$out.lines" || true
	while read -r status name; do result "$status" "$name"; done <"$out.lines"
	grep -q '^PASS' "$out.lines" || { tail -5 "$out.err" >&2; result FAIL "torture $wl: no result (see $out.err)"; }
	tail -1 "$out.out"
}

# load_round: a short load round (scripts/load.sh) on the test kernel: 64 processes mixing every
# operation on shared regions, data verified, then unload, reload and checks; one result per step
# and one for the kernel's verdict, all named "load: ...".
load_round() {
	local seconds=${REGION_LOAD_SECONDS:-45} out=$work/load
	log "== load: 64 processes for ${seconds}s on the test kernel (lockdep)"
	bash scripts/load.sh "$seconds" 64 >"$out.out" 2>"$out.err" || true
	grep -E '^(PASS|FAIL) load: ' "$out.out" >"$out.lines" || true
	while read -r status name; do result "$status" "$name"; done <"$out.lines"
	grep -q . "$out.lines" || { tail -5 "$out.err" >&2; result FAIL "load: no result (see $out.err)"; }
	grep -E 'load: .*operations/s|FAILED' "$out.err" | tail -2 >&2 || true
}

# fuzz: the guest fuzzer (scripts/fuzz.sh) on the fuzz kernel, then unload, reload and check; one
# result per step and one for the kernel's verdict, all named "fuzz: ...".
fuzz() {
	local calls=${REGION_FUZZ_CALLS:-100000} out=$work/fuzz
	log "== kernel fuzzer: $calls calls on the fuzz kernel (KASAN, UBSAN; its first build takes about 11 minutes)"
	bash scripts/fuzz.sh "$calls" >"$out.out" 2>"$out.err" || true
	grep -E '^(PASS|FAIL) fuzz: ' "$out.out" >"$out.lines" || true
	while read -r status name; do result "$status" "$name"; done <"$out.lines"
	grep -q . "$out.lines" || { tail -5 "$out.err" >&2; result FAIL "fuzz: no result (see $out.err)"; }
	grep -E 'fuzz: .*calls/s|FAILED' "$out.err" | tail -2 >&2 || true
}

host_tests
build_all
libregion_checks
lint
runner_checks
guest_suite
offline_check
crash_torture region "${REGION_TORTURE_CUTS:-10}"
crash_torture kvs "${REGION_KVS_TORTURE_CUTS:-10}"
fuzz
load_round
summary
