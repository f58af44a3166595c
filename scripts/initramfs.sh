#!/usr/bin/env bash
# Build the guest's initramfs: OUT = base archive + (when SRC:DEST pairs are given) an extra archive.
#
#   scripts/initramfs.sh OUT [SRC:DEST ...]
#
# The base archive holds the host's static busybox with its applet symlinks (made here, on the
# host), /init from scripts/guest/init and the usual empty folders. It is cached in
# $REGION_CACHE/initramfs/, keyed by a hash of the busybox binary and the init script. Each SRC:DEST
# copies the host folder SRC to DEST in the guest (or the single file SRC to the path DEST) into a
# second archive; the kernel unpacks concatenated newc archives in order, so the pair is simply
# concatenated. Archives are uncompressed newc, owned by root.
source "$(dirname "$0")/lib.sh"

BUSYBOX=${BUSYBOX:-/bin/busybox}
INIT=$REPO/scripts/guest/init
# Bump when this script changes what goes into the base archive.
BASE_RECIPE=1

# pack_dir DIR OUT: DIR's contents as a newc archive (sorted, root-owned) in OUT.
pack_dir() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$2"
}

# stage_base DIR: fill DIR with busybox, its applet links, /init and the empty folders.
stage_base() {
	local dir=$1 applet
	mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc,mnt,run,var/tmp}
	chmod 1777 "$dir/tmp" "$dir/var/tmp"
	cp "$BUSYBOX" "$dir/bin/busybox"
	while IFS= read -r applet; do
		[ "$applet" = bin/busybox ] && continue
		[ -e "$dir/$applet" ] || ln -s /bin/busybox "$dir/$applet"
	done < <("$BUSYBOX" --list-full)
	install -m 0755 "$INIT" "$dir/init"
	# The kernel's built-in initramfs already has /dev/console; add it anyway when we may.
	[ "$(id -u)" = 0 ] && mknod -m 600 "$dir/dev/console" c 5 1
	return 0
}

# base_archive: print the path of the cached base archive, building it when missing.
base_archive() {
	local key out tmp
	key=$(hash_of "$(sha256sum <"$BUSYBOX")" "$(sha256sum <"$INIT")" "$BASE_RECIPE")
	out=$REGION_CACHE/initramfs/base-$key.cpio
	if [ ! -f "$out" ]; then
		log "building base initramfs $out"
		mkdir -p "$(dirname "$out")"
		tmp=$(mktemp -d)
		stage_base "$tmp/root"
		pack_dir "$tmp/root" "$out.tmp.$$"
		mv "$out.tmp.$$" "$out"
		rm -rf "$tmp"
	fi
	echo "$out"
}

# stage_extra DIR SRC:DEST: copy host SRC (folder contents or one file) to DIR/DEST.
stage_extra() {
	local dir=$1 src=${2%%:*} dest=${2#*:}
	[ "$src" != "$2" ] && [ -n "$dest" ] || die "bad SRC:DEST '$2'"
	[ "${dest#/}" != "$dest" ] || die "DEST must be an absolute guest path in '$2'"
	if [ -d "$src" ]; then
		mkdir -p "$dir$dest"
		cp -a "$src/." "$dir$dest/"
	elif [ -f "$src" ]; then
		mkdir -p "$dir$(dirname "$dest")"
		cp -a "$src" "$dir$dest"
	else
		die "no such file or folder: $src"
	fi
}

main() {
	[ $# -ge 1 ] || die "usage: $0 OUT [SRC:DEST ...]"
	local out=$1 base pair
	shift
	base=$(base_archive)
	if [ $# -eq 0 ]; then
		cp "$base" "$out"
		return
	fi
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	mkdir "$work/root"
	for pair in "$@"; do stage_extra "$work/root" "$pair"; done
	pack_dir "$work/root" "$work/extra.cpio"
	cat "$base" "$work/extra.cpio" >"$out"
}

main "$@"
