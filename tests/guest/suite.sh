# suite.sh - for the guest suite drivers (run-all.sh, run-after-reboot.sh). Source it.
#
#   run NAME CMD...  runs one guest test, which prints its own TAP, between the
#                    "# REGION-TEST-BEGIN NAME" and "# REGION-TEST-END NAME rc=N" lines that
#                    scripts/tap-summary.sh reads on the host.
run() {
	local name=$1
	shift
	echo "# REGION-TEST-BEGIN $name"
	"$@"
	echo "# REGION-TEST-END $name rc=$?"
}
