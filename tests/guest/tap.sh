# tap.sh - TAP output (kselftest style) for the guest's busybox sh tests. Source it.
#
#   tap_plan N        print the header and the plan
#   tap_test NAME FN  run shell function FN; "ok" if it returns 0, else "not ok" with what FN
#                     printed shown as "# " diagnostics
#   tap_done          exit non-zero if any test failed
#   expect STATUS PATTERN CMD...  (for use inside a test) CMD exits STATUS and prints (stdout or
#                     stderr) a line matching PATTERN, a grep basic regular expression
#   expect_as_nobody STATUS PATTERN CMD...  the same, CMD run as uid/gid 65534 with /dev/region
#                     open to everyone for the while (so that the region's own mode decides)

tap_count=0
tap_failed=0

tap_plan() {
	echo "TAP version 13"
	echo "1..$1"
}

tap_test() {
	local name=$1 fn=$2 out rc
	tap_count=$((tap_count + 1))
	out=$("$fn" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "ok $tap_count $name"
	else
		tap_failed=$((tap_failed + 1))
		[ -n "$out" ] && echo "$out" | sed 's/^/# /'
		echo "not ok $tap_count $name"
	fi
}

tap_done() {
	echo "# Totals: pass:$((tap_count - tap_failed)) fail:$tap_failed"
	[ $tap_failed -eq 0 ]
}

expect() {
	local status=$1 pattern=$2 out rc=0
	shift 2
	out=$("$@" 2>&1) || rc=$?
	[ "$rc" = "$status" ] || { echo "'$*' exited $rc, expected $status; it said:"; echo "$out"; return 1; }
	echo "$out" | grep -q -- "$pattern" || { echo "'$*' said:"; echo "$out"; echo "expected a line matching: $pattern"; return 1; }
}

expect_as_nobody() {
	local status=$1 pattern=$2 rc=0
	shift 2
	chmod 0666 /dev/region
	expect "$status" "$pattern" /tests/bin/runas 65534 65534 "$@" || rc=$?
	chmod 0600 /dev/region
	return $rc
}
