#!/bin/sh
# regionctl.sh - every regionctl command, its output, and its errors: the exact message on stderr
# ("regionctl: region 'NAME': REASON") and the exit status (1 for a failure, 2 for bad usage).
#
# Expects region.ko loaded on a formatted device with no region named "ctl*"; removes what it
# creates.
. /tests/tap.sh

RC=/tests/bin/regionctl

create() { expect 0 "^created region 'ctl': 1 MiB, mode 644$" $RC create ctl 1M --mode 644; }
create_existing() { expect 1 "^regionctl: region 'ctl': File exists (os error 17)$" $RC create ctl 4K; }
create_bad_size() { expect 2 "unknown unit 'X'" $RC create ctl2 4X; }
create_too_big() { expect 1 "^regionctl: region 'ctl2': No space left on device (os error 28)$" $RC create ctl2 64G; }
create_bad_name() { expect 1 "^regionctl: region 'a/b': Invalid argument (os error 22)$" $RC create a/b 4K; }
ls_table() { expect 0 "^ctl  *1 MiB  *644  *0  *0  *[0-9][0-9]*  *0$" $RC ls; }
ls_json() { expect 0 '"name":"ctl","size":1048576,"mode":"644","uid":0,"gid":0' $RC ls --json; }
stat_region() { expect 0 "^size: 1 MiB (1048576 bytes)$" $RC stat ctl; }
resize_region() { expect 0 "^region 'ctl' is now 2 MiB$" $RC resize ctl 2M; }
sync_region() { expect 0 "^region 'ctl': PMSYNC committed epoch [0-9][0-9]*$" $RC sync ctl; }
layout_region() { expect 0 "^region 'ctl': 1 extents$" $RC layout ctl; }
check_online() {
	expect 0 "^/dev/region: [0-9]* regions ([0-9]* holding a heap), data pages used: [0-9]*, free: [0-9]*$" $RC check || return 1
	expect 0 "^no inconsistencies$" $RC check
}
info() { expect 0 "^ABI version: 1$" $RC info; }
missing() { expect 1 "^regionctl: region 'nope': No such file or directory (os error 2)$" $RC rm nope; }
device_closed_to_others() {
	expect 1 "^regionctl: /dev/region: Permission denied (os error 13)$" /tests/bin/runas 65534 65534 $RC ls
}
not_the_owner() {
	expect_as_nobody 1 "^regionctl: region 'ctl': Operation not permitted (os error 1)$" $RC rm ctl
}
remove() { expect 0 "^deleted region 'ctl'$" $RC rm ctl; }
format_needs_yes() { expect 1 "^regionctl: format erases every region: run it again with --yes to go ahead$" $RC format; }
format_erases() {
	$RC create ctlf2 4K >/dev/null || return 1
	expect 0 "^formatted /dev/region: every region erased$" $RC format --yes || return 1
	[ "$($RC ls | wc -l)" = 1 ] || { echo "regions left after format:"; $RC ls; return 1; }
}
format_as_others() {
	expect_as_nobody 1 "^regionctl: /dev/region: Operation not permitted (os error 1)$" $RC format --yes
}
help_for_every_command() {
	local c
	for c in info create ls stat rm resize sync layout format check; do
		expect 0 "^Usage: regionctl $c" $RC $c --help || return 1
	done
}

tap_plan 21
for t in create create_existing create_bad_size create_too_big create_bad_name ls_table ls_json \
	stat_region resize_region sync_region layout_region check_online info missing device_closed_to_others \
	not_the_owner remove format_needs_yes format_as_others format_erases help_for_every_command; do
	tap_test "regionctl_$t" "$t"
done
tap_done
