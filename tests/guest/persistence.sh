#!/bin/sh
# persistence.sh - regions and their contents survive unloading and reloading the module, and
# (with a second boot, see scripts/test.sh) rebooting the guest on the same pmem image.
#
#   persistence.sh write   create "keep" (1 MiB, filled with 0x42) and "keep2" (mode 644)
#   persistence.sh reload  rmmod + insmod, then check
#   persistence.sh check   check only (after a reboot)
# Expects the module loaded on entry; leaves it loaded.
. /tests/tap.sh

KO=/region/region.ko
PMEM=/dev/pmem-nvdimm
RT=/tests/bin/rtool

check_contents() { $RT check keep 0x42; }
check_metadata() {
	local line
	line=$($RT ls | grep '^keep2 ') || { echo "keep2 is missing:"; $RT ls; return 1; }
	echo "$line" | grep -q ' 8192 *644 ' || { echo "keep2 changed: $line"; return 1; }
}
reload() { rmmod region && insmod $KO pmem=$PMEM; }
# Stores after the last PMSYNC are rolled back at the next attach, whichever pages they hit.
uncommitted_stores_are_rolled_back() {
	$RT create undo 65536 && $RT fill undo 0x11 && $RT scribble undo 0x22 || return 1
	$RT check undo 0x22 >/dev/null || { echo "scribble did not land"; return 1; }
	reload || return 1
	dmesg | grep -q "region: .*rolled 1 regions back to their last PMSYNC (16 pages restored)" ||
		{ echo "no rollback line:"; dmesg | grep region; return 1; }
	$RT check undo 0x11 && $RT rm undo
}
# Writers store without pause through PMSYNCs (and past the last one), readers read, mappings
# split and come and go; after the reload each writer's stores are a whole run ending at or before
# the last PMSYNC (tests/guest/sync_race.c).
stores_racing_pmsync_roll_back_whole() {
	/tests/bin/sync_race run race || return 1
	reload || return 1
	/tests/bin/sync_race check race && $RT rm race
}
write() { $RT create keep 1048576 && $RT fill keep 0x42 && $RT create keep2 5000 644; }

case $1 in
write)
	tap_plan 1
	tap_test create_and_fill write
	;;
reload)
	tap_plan 5
	tap_test uncommitted_stores_are_rolled_back uncommitted_stores_are_rolled_back
	tap_test stores_racing_pmsync_roll_back_whole stores_racing_pmsync_roll_back_whole
	tap_test reload_module reload
	tap_test contents_survive_reload check_contents
	tap_test metadata_survives_reload check_metadata
	;;
check)
	tap_plan 2
	tap_test contents_survive_reboot check_contents
	tap_test metadata_survives_reboot check_metadata
	;;
esac
tap_done
