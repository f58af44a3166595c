#!/bin/sh
# module_load.sh - loading and unloading region.ko: every refused module parameter fails insmod
# with its errno and a clear kernel log line and leaves nothing behind; a good one attaches the
# device and creates /dev/region; rmmod removes it; 50 load/unload rounds leak nothing
# (kmemleak).
#
# Expects the module unloaded and the device never formatted on entry; leaves it unloaded and
# formatted. Devices: /dev/pmem-nvdimm (fsdax,
# >= 16 MiB), /dev/pmem-legacy (a small memmap= pmem device), /dev/ram0 (no DAX).
. /tests/tap.sh

KO=${REGION_KO:-/region/region.ko}
PMEM=/dev/pmem-nvdimm
SMALL=/dev/pmem-legacy
KMEMLEAK=/sys/kernel/debug/kmemleak

loaded() { grep -q '^region ' /proc/modules; }

# expect_refused ERRNO LOG_TEXT [PARAMS]: loading with PARAMS must fail with ERRNO (its symbolic
# name), the kernel log must have a "region: LOG_TEXT" line, and nothing may stay behind.
expect_refused() {
	local errno=$1 logtext=$2 out
	shift 2
	dmesg -c >/dev/null
	out=$(/tests/bin/load_module "$KO" "$*")
	if [ "$out" = ok ]; then
		echo "loading with '$*' succeeded"
		rmmod region
		return 1
	fi
	[ "$out" = "errno $errno" ] || { echo "load said '$out', expected 'errno $errno'"; return 1; }
	dmesg | grep -q "region: $logtext" || { echo "no kernel log line 'region: $logtext'; log:"; dmesg; return 1; }
	! loaded || { echo "module stayed loaded"; return 1; }
	[ ! -e /dev/region ] || { echo "/dev/region exists after a refused load"; return 1; }
}

refuses_without_pmem_parameter() { expect_refused EINVAL "no device given"; }
refuses_missing_device() { expect_refused ENOENT 'cannot open "/dev/no-such-pmem": ENOENT' pmem=/dev/no-such-pmem; }
refuses_non_block_device() { expect_refused ENOTBLK 'cannot open "/dev/null": ENOTBLK' pmem=/dev/null; }
refuses_device_without_dax() { expect_refused EOPNOTSUPP '"/dev/ram0" does not support DAX' pmem=/dev/ram0; }
refuses_too_small_device() { expect_refused ENOSPC "\"$SMALL\" is too small" pmem=$SMALL; }

refuses_unformatted_device() { expect_refused ENODATA "\"$PMEM\" is not formatted: load with format=1" pmem=$PMEM; }

loads_on_fsdax_pmem_with_format() {
	dmesg -c >/dev/null
	insmod "$KO" pmem=$PMEM format=1 || return 1
	dmesg | grep -q "region: formatted \"$PMEM\"" || { echo "no 'formatted' line; log:"; dmesg; return 1; }
	loaded || { echo "not in /proc/modules"; return 1; }
	[ -c /dev/region ] || { echo "/dev/region is not a character device"; ls -l /dev/region; return 1; }
	dmesg | grep -q "region: attached \"$PMEM\"" || { echo "no 'attached' line; log:"; dmesg; return 1; }
}

unload_removes_device() {
	rmmod region || return 1
	! loaded || { echo "still in /proc/modules"; return 1; }
	[ ! -e /dev/region ] || { echo "/dev/region still exists"; return 1; }
}

kmemleak_scan() {
	echo scan >$KMEMLEAK && echo scan >$KMEMLEAK
}

load_unload_50_rounds_leaks_nothing() {
	local i=0
	[ -w $KMEMLEAK ] || { echo "$KMEMLEAK is missing (CONFIG_DEBUG_KMEMLEAK, debugfs)"; return 1; }
	kmemleak_scan
	echo clear >$KMEMLEAK
	while [ $i -lt 50 ]; do
		insmod "$KO" pmem=$PMEM || { echo "round $i: insmod failed"; return 1; }
		[ -c /dev/region ] || { echo "round $i: no /dev/region"; return 1; }
		exec 3</dev/region || { echo "round $i: cannot open /dev/region"; return 1; }
		exec 3<&-
		rmmod region || { echo "round $i: rmmod failed"; return 1; }
		i=$((i + 1))
	done
	kmemleak_scan
	if [ -s $KMEMLEAK ]; then
		echo "kmemleak reports leaks:"
		cat $KMEMLEAK
		return 1
	fi
}

tap_plan 9
tap_test refuses_without_pmem_parameter refuses_without_pmem_parameter
tap_test refuses_missing_device refuses_missing_device
tap_test refuses_non_block_device refuses_non_block_device
tap_test refuses_device_without_dax refuses_device_without_dax
tap_test refuses_too_small_device refuses_too_small_device
tap_test refuses_unformatted_device refuses_unformatted_device
tap_test loads_on_fsdax_pmem_with_format loads_on_fsdax_pmem_with_format
tap_test unload_removes_device unload_removes_device
tap_test load_unload_50_rounds_leaks_nothing load_unload_50_rounds_leaks_nothing
tap_done
