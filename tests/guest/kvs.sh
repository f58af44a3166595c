#!/bin/sh
# kvs.sh - the example key-value store (user/kvs): every command, its output and exit status
# (1 for a failure, 2 for bad usage, 3 for a missing key), several processes at once, and the
# store surviving a module reload.
#
# Expects region.ko loaded on a formatted device with no region named "kvs*"; removes what it
# creates.
. /tests/tap.sh

KVS=/tests/bin/kvs
KO=/region/region.ko
PMEM=/dev/pmem-nvdimm

init() { expect 0 "^kvs 'kvs': empty store of 16 MiB made$" $KVS init --size 16M; }
init_again() { expect 1 "^kvs: region 'kvs': File exists (os error 17)$" $KVS init; }
put_get() {
	$KVS put colour blue || return 1
	expect 0 "^blue$" $KVS get colour
}
replace() {
	$KVS put colour green || return 1
	expect 0 "^green$" $KVS get colour
}
get_missing() { expect 3 "^kvs: key 'nothing' not found$" $KVS get nothing; }
del() {
	$KVS put gone soon || return 1
	expect 0 "" $KVS del gone || return 1
	expect 3 "^kvs: key 'gone' not found$" $KVS del gone
}
scan() {
	$KVS put fruit/pear green && $KVS put fruit/apple red && $KVS put veg/leek white || return 1
	local out
	out=$($KVS scan fruit/) || return 1
	[ "$out" = "$(printf 'fruit/apple\tred\nfruit/pear\tgreen')" ] || { echo "scan said:"; echo "$out"; return 1; }
	[ "$($KVS scan | wc -l)" = 4 ] || { echo "a full scan says:"; $KVS scan; return 1; }
}
missing_region() { expect 1 "^kvs: region 'nope': No such file or directory (os error 2)$" $KVS --region nope get x; }
not_a_store() {
	/tests/bin/regionctl create kvsplain 64K >/dev/null || return 1
	expect 1 "^kvs: region 'kvsplain': holds no heap (format one first)$" $KVS --region kvsplain get x
}
permission_denied() {
	expect_as_nobody 1 "^kvs: region 'kvs': Permission denied (os error 13)$" $KVS get colour
}
# Read permission is enough to get and scan (the store is opened read-only, read without the lock).
readers_need_only_read_permission() {
	$KVS --region kvspub init --size 1M --mode 644 >/dev/null && $KVS --region kvspub put open sesame || return 1
	expect_as_nobody 0 "^sesame$" $KVS --region kvspub get open || return 1
	expect_as_nobody 0 "^open	sesame$" $KVS --region kvspub scan || return 1
	expect_as_nobody 1 "^kvs: region 'kvspub': Permission denied (os error 13)$" $KVS --region kvspub put open door
}
device_full() { expect 1 "^kvs: region 'kvsbig': No space left on device (os error 28)$" $KVS --region kvsbig init --size 64G; }
store_full() {
	$KVS --region kvssmall init --size 64K >/dev/null || return 1
	$KVS --region kvssmall put big "$(head -c 20000 /dev/zero | tr '\0' x)" || return 1
	expect 1 "^kvs: region 'kvssmall': heap full: no room for " $KVS --region kvssmall put big2 "$(head -c 20000 /dev/zero | tr '\0' y)" || return 1
	expect 0 "^heap check: sound$" $KVS --region kvssmall stat
}
bad_usage() { expect 2 "Usage" $KVS put onlykey; }
load_four_processes() {
	expect 0 "ops/s: [0-9]* puts, [0-9]* gets ([0-9]* found)" \
		$KVS load --procs 4 --ops 300 --keys 200 --get-percent 50 || return 1
	expect 0 "^keys: 204$" $KVS stat || return 1
	expect 0 "^heap check: sound$" $KVS stat
}
survives_reload() {
	rmmod region && insmod $KO pmem=$PMEM || return 1
	expect 0 "^green$" $KVS get colour || return 1
	expect 0 "^keys: 204$" $KVS stat
}
# regionctl's online check finds the two stores' heaps and checks them.
online_check() {
	expect 0 "^/dev/region: [0-9]* regions (3 holding a heap)" /tests/bin/regionctl check || return 1
	expect 0 "^no inconsistencies$" /tests/bin/regionctl check
}
cleanup() {
	for r in kvs kvsplain kvssmall kvspub; do /tests/bin/regionctl rm $r >/dev/null || return 1; done
}

tap_plan 18
tap_test init init
tap_test init_again init_again
tap_test put_get put_get
tap_test replace replace
tap_test get_missing get_missing
tap_test del del
tap_test scan scan
tap_test missing_region missing_region
tap_test not_a_store not_a_store
tap_test permission_denied permission_denied
tap_test readers_need_only_read_permission readers_need_only_read_permission
tap_test device_full device_full
tap_test store_full store_full
tap_test bad_usage bad_usage
tap_test load_four_processes load_four_processes
tap_test survives_reload survives_reload
tap_test online_check online_check
tap_test cleanup cleanup
tap_done
