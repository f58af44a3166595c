#!/bin/sh
# corruption.sh - a device whose metadata does not check out is refused at load, with a clear
# kernel log line and the right errno, and left exactly as it was. One bit is flipped in each
# field of the superblock and of a live region table entry (docs/FORMAT.md gives the offsets),
# one field at a time; after each refusal the bit is flipped back and the device must load again.
#
# Expects the module unloaded, and the device formatted with a region in table entry 0.
. /tests/tap.sh

KO=/region/region.ko
PMEM=/dev/pmem-nvdimm
RC=/tests/bin/regionctl
ENTRY=4096 # table entry 0 starts at device page 1

# The first pages: superblock, region table, undo headers (plenty for 256 MiB).
meta_sum() {
	echo 3 >/proc/sys/vm/drop_caches
	dd if=$PMEM bs=4096 count=64 2>/dev/null | md5sum | cut -d' ' -f1
}

# refused FIELD OFFSET ERRNO LOG: flip bit 0 at OFFSET, expect the load to fail with ERRNO and
# a kernel log line containing LOG, the device unchanged, then flip it back and load again.
refused() {
	local offset=$2 errno=$3 logtext=$4 before after out
	/tests/bin/flipbit $PMEM "$offset" 0 || return 1
	before=$(meta_sum)
	dmesg -c >/dev/null
	out=$(/tests/bin/load_module $KO pmem=$PMEM)
	after=$(meta_sum)
	/tests/bin/flipbit $PMEM "$offset" 0 || return 1
	if [ "$out" = ok ]; then
		echo "loaded despite the flipped bit"
		rmmod region
		return 1
	fi
	[ "$out" = "errno $errno" ] || { echo "load said '$out', expected 'errno $errno'"; return 1; }
	dmesg | grep -q "region: .*$logtext" || { echo "no log line with '$logtext':"; dmesg | grep region; return 1; }
	[ "$before" = "$after" ] || { echo "the refused load changed the device"; return 1; }
}

loads_again() {
	/tests/bin/load_module $KO pmem=$PMEM >/dev/null && rmmod region
}

sb_magic() { refused magic 0 EINVAL "no REGIONPM magic"; }
sb_version() { refused version 8 EUCLEAN "superblock checksum mismatch"; }
sb_flags() { refused flags 12 EUCLEAN "superblock checksum mismatch"; }
sb_uuid() { refused uuid 16 EUCLEAN "superblock checksum mismatch"; }
sb_device_pages() { refused device_pages 32 EUCLEAN "superblock checksum mismatch"; }
sb_table_entries() { refused table_entries 40 EUCLEAN "superblock checksum mismatch"; }
sb_undo_slots() { refused undo_slots 44 EUCLEAN "superblock checksum mismatch"; }
sb_reserved() { refused reserved 60 EUCLEAN "superblock checksum mismatch"; }
sb_checksum() { refused checksum 124 EUCLEAN "superblock checksum mismatch"; }
entry_name() { refused name $((ENTRY + 0)) EUCLEAN "entry 0: shape check bits mismatch"; }
entry_uid() { refused uid $((ENTRY + 64)) EUCLEAN "entry 0: shape check bits mismatch"; }
entry_gid() { refused gid $((ENTRY + 68)) EUCLEAN "entry 0: shape check bits mismatch"; }
entry_mode() { refused mode $((ENTRY + 72)) EUCLEAN "entry 0: shape check bits mismatch"; }
entry_flags() { refused flags $((ENTRY + 76)) EUCLEAN "entry 0: bad mode or reserved field"; }
entry_extent_start() { refused extent.start $((ENTRY + 80)) EUCLEAN "entry 0: shape check bits mismatch"; }
entry_extent_pages() { refused extent.pages $((ENTRY + 88)) EUCLEAN "entry 0: shape check bits mismatch"; }
entry_reserved() { refused reserved $((ENTRY + 464)) EUCLEAN "entry 0: bad mode or reserved field"; }
entry_shape() { refused shape $((ENTRY + 496)) EUCLEAN "entry 0:"; }
entry_epoch() { refused epoch $((ENTRY + 504)) EUCLEAN "entry 0: epoch check bits mismatch"; }

# The first free table entry (shape word zero): the one the next create takes.
first_free_entry() {
	local i=0 shape
	while [ $i -lt 256 ]; do
		shape=$(od -An -t u8 -j $((ENTRY + i * 512 + 496)) -N 8 $PMEM | tr -d ' ')
		[ "$shape" = 0 ] && { echo $i; return 0; }
		i=$((i + 1))
	done
	return 1
}

# A free entry with stray bytes in its reserved area is accepted at load (nothing reads them);
# a create that takes the entry writes every byte of it, so the device still loads afterwards.
free_entry_with_stray_bytes_stays_loadable() {
	local out free
	echo 3 >/proc/sys/vm/drop_caches
	free=$(first_free_entry) || { echo "no free table entry"; return 1; }
	/tests/bin/flipbit $PMEM $((ENTRY + free * 512 + 464)) 0 || return 1
	out=$(/tests/bin/load_module $KO pmem=$PMEM)
	[ "$out" = ok ] || { echo "refused a free entry with stray bytes: $out"; return 1; }
	/tests/bin/rtool create stray 4096 || { rmmod region; return 1; }
	rmmod region
	out=$(/tests/bin/load_module $KO pmem=$PMEM)
	[ "$out" = ok ] || { echo "after a create in entry $free, the load said '$out':"; dmesg | grep region | tail -3; return 1; }
	/tests/bin/rtool rm stray
	rmmod region
}

# Bad blocks (known media errors): a bad block in a region damages that region only. The device
# attaches, the other region works, the damaged one says EIO on open and can be deleted, and its
# pages are not handed out again before the next attach. The bad block stays for the rest of this
# boot (sysfs only adds them), so this test runs last.
bad_blocks_damage_only_the_region_they_touch() {
	local out page dev
	out=$(/tests/bin/load_module $KO pmem=$PMEM)
	[ "$out" = ok ] || { echo "load: $out"; return 1; }
	$RC create bbvictim 16K >/dev/null && $RC create bbfine 16K >/dev/null || { rmmod region; return 1; }
	page=$($RC layout bbvictim | sed -n 's/^  pages \([0-9]*\)\.\..*/\1/p' | head -1)
	rmmod region
	dev=$(basename "$(readlink -f $PMEM)")
	echo "$((page * 8 + 1)) 1" >/sys/block/"$dev"/badblocks || { echo "cannot add a bad block"; return 1; }
	dmesg -c >/dev/null
	out=$(/tests/bin/load_module $KO pmem=$PMEM)
	[ "$out" = ok ] || { echo "a bad block refused the whole device: $out"; dmesg | grep region; return 1; }
	dmesg | grep -q "region: .*holds bad block page $page: marked damaged" ||
		{ echo "no log line naming the damaged region:"; dmesg | grep region; rmmod region; return 1; }
	$RC stat bbvictim | grep -q '^damaged: yes' || { echo "not marked damaged:"; $RC stat bbvictim; rmmod region; return 1; }
	/tests/bin/rtool fill bbfine 0x44 >/dev/null || { echo "the other region failed"; rmmod region; return 1; }
	out=$(/tests/bin/rtool check bbvictim 0 2>&1)
	echo "$out" | grep -q "Input/output error" || { echo "opening the damaged region said: $out"; rmmod region; return 1; }
	$RC rm bbvictim >/dev/null && $RC create bbnew 16K >/dev/null || { rmmod region; return 1; }
	if $RC layout bbnew | grep -q "pages $page\.\."; then
		echo "the bad page was handed out again"
		rmmod region
		return 1
	fi
	$RC rm bbnew >/dev/null && $RC rm bbfine >/dev/null
	rmmod region
}

# The device going away under the module (a forced unbind of the pmem driver, while a process
# keeps storing to a region): the module is told first, every region fails (SIGBUS in the stores,
# EIO in the ioctls), and it unloads cleanly; the kernel reports nothing. The writer stores zeros
# into keep2 (zeros already), so the image the later checks read is unchanged. The device is gone
# for the rest of this boot, so this runs after every other test here.
device_going_away_fails_every_region() {
	local dev nd drv out writer
	out=$(/tests/bin/load_module $KO pmem=$PMEM)
	[ "$out" = ok ] || { echo "load: $out"; return 1; }
	: >/tmp/gone.err
	# Until an open says EIO (a store cut by the removal dies of SIGBUS first, at most).
	(n=0; while [ $n -lt 5000 ] && ! grep -q "Input/output error" /tmp/gone.err; do
		/tests/bin/rtool fill keep2 0 >/dev/null 2>>/tmp/gone.err
		n=$((n + 1))
	done) &
	writer=$!
	sleep 2
	dev=$(basename "$(readlink -f $PMEM)")
	nd=$(basename "$(readlink -f /sys/block/"$dev"/device)")
	drv=$(readlink -f /sys/block/"$dev"/device/driver)
	dmesg -c >/dev/null
	echo "$nd" >"$drv/unbind" || { echo "cannot unbind $nd"; kill $writer; return 1; }
	wait $writer
	dmesg | grep -q "region: the device is going away" || { echo "the module was not told"; return 1; }
	grep -q "Input/output error" /tmp/gone.err || { echo "the writer stopped without EIO:"; cat /tmp/gone.err; return 1; }
	out=$(/tests/bin/regionctl ls 2>&1) && { echo "ls worked on a departed device: $out"; return 1; }
	echo "$out" | grep -q "Input/output error" || { echo "ls said: $out"; return 1; }
	rmmod region
}

tap_plan 23
for t in sb_magic sb_version sb_flags sb_uuid sb_device_pages sb_table_entries sb_undo_slots \
	sb_reserved sb_checksum entry_name entry_uid entry_gid entry_mode entry_flags \
	entry_extent_start entry_extent_pages entry_reserved entry_shape entry_epoch; do
	tap_test "corrupt_$t" "$t"
done
tap_test device_loads_again_once_repaired loads_again
tap_test free_entry_with_stray_bytes_stays_loadable free_entry_with_stray_bytes_stays_loadable
tap_test bad_blocks_damage_only_the_region_they_touch bad_blocks_damage_only_the_region_they_touch
tap_test device_going_away_fails_every_region device_going_away_fails_every_region
tap_done
