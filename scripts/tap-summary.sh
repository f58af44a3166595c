#!/usr/bin/env bash
# tap-summary.sh LOG - read the guest tests' TAP out of a console log and count it.
#
# Each guest test runs between "# REGION-TEST-BEGIN name" and "# REGION-TEST-END name rc=N"
# lines (tests/guest/run-all.sh). Prints one line per result, then a last line
# "counts PASSED FAILED SKIPPED". A test that promised more results than it printed, exited
# non-zero without reporting a failure, or never reached its END line counts as failed.
set -euo pipefail
tr -d '\r' <"$1" | awk '
function close_test(rc,   missing) {
	missing = plan - results
	if (missing > 0) { failed += missing; printf "FAIL %s: %d of its %d results missing\n", name, missing, plan }
	if (rc != 0 && block_failed == 0 && missing <= 0) { failed++; printf "FAIL %s: exited with %d\n", name, rc }
	name = ""
}
/^# REGION-TEST-BEGIN / { if (name != "") close_test(1); name = $3; plan = 0; results = 0; block_failed = 0; next }
/^# REGION-TEST-END / { rc = $4; sub(/^rc=/, "", rc); close_test(rc + 0); next }
name != "" && /^1\.\.[0-9]+/ { plan = substr($1, 4) + 0; next }
name != "" && /^(not )?ok [0-9]+/ {
	results++
	line = $0
	if ($1 == "not") { failed++; block_failed++; printf "FAIL %s: %s\n", name, line }
	else if (line ~ /# [Ss][Kk][Ii][Pp]/) { skipped++; printf "SKIP %s: %s\n", name, line }
	else { passed++; printf "PASS %s: %s\n", name, line }
}
END {
	if (name != "") { failed++; printf "FAIL %s: never finished (guest crashed or timed out)\n", name }
	printf "counts %d %d %d\n", passed, failed, skipped
}'
