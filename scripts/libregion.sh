#!/usr/bin/env bash
# libregion, the C library (user/libregion), built in the toolchain root.
#
#   scripts/libregion.sh build   build/libregion/: libregion.a, libregion.so.1 (soname) with its
#                                libregion.so link, and include/ (region.h, linux/region.h as
#                                they would be installed); rebuilt only when a source is newer.
#                                Prints the folder.
#   scripts/libregion.sh check   host checks: the header compiles alone under -std=c99 -pedantic,
#                                and a program linked against libregion.so runs (in the root) and
#                                gets the errnos it must; prints "PASS name" / "FAIL name" lines.
source "$(dirname "$0")/lib.sh"
export REPO_DIR=$REPO CACHE_DIR=$REGION_CACHE

src=$REPO/user/libregion
out=$REPO/build/libregion
CFLAGS="-std=c99 -O2 -Wall -Wextra -Werror -pedantic -fPIC"

# up_to_date: the library in $out is newer than every source, header and this script.
up_to_date() {
	[ -f "$out/libregion.a" ] && [ -f "$out/libregion.so.1" ] || return 1
	[ -z "$(find "$src" "$REPO/ioctl_uapi/region.h" "$0" -newer "$out/libregion.a" -type f -print -quit)" ]
}

build() {
	up_to_date && { echo "$out"; return; }
	log "building libregion (static and shared)"
	# Built in a private folder and moved into place, so concurrent builds never see half a library.
	local tmp
	mkdir -p "$REPO/build"
	tmp=$(mktemp -d "$REPO/build/.libregion.XXXXXX")
	in_root /bin/bash -c '
		set -e; src=$1 tmp=$2; shift 2
		for c in "$src"/src/*.c; do
			gcc "$@" -I "$src/include" -c -o "$tmp/$(basename "$c" .c).o" "$c"
		done
		ar rcs "$tmp/libregion.a" "$tmp"/*.o
		gcc -shared -Wl,-soname,libregion.so.1 -o "$tmp/libregion.so.1" "$tmp"/*.o
		ln -s libregion.so.1 "$tmp/libregion.so"
		rm "$tmp"/*.o
		mkdir -p "$tmp/include/linux"
		cp "$src/include/region.h" "$tmp/include/region.h"
		cp -L "$src/include/linux/region.h" "$tmp/include/linux/region.h"' \
		bash "$src" "$tmp" $CFLAGS >&2 || { rm -rf "$tmp"; die "building libregion failed"; }
	rm -rf "$out.old"
	[ -d "$out" ] && mv "$out" "$out.old"
	chmod 755 "$tmp"
	mv "$tmp" "$out"
	rm -rf "$out.old"
	echo "$out"
}

# check NAME CMD...: one host check, printed as a PASS or FAIL line (with CMD's output on failure).
check() {
	local name=$1 output
	shift
	if output=$("$@" 2>&1); then echo "PASS $name"; else
		echo "FAIL $name"
		printf '%s\n' "$output" | sed 's/^/    /' >&2
	fi
}

host_checks() {
	build >/dev/null
	local work
	work=$(mktemp -d "$REPO/build/.libregion-check.XXXXXX")
	trap 'rm -rf "$work"' RETURN
	printf '#include "region.h"\nint main(void) { return region_device_open(0) < -1; }\n' >"$work/header_alone.c"
	check "libregion: region.h compiles alone with -std=c99 -Wall -Wextra -Werror -pedantic" \
		in_root gcc -std=c99 -Wall -Wextra -Werror -pedantic -I "$out/include" -c -o "$work/header_alone.o" "$work/header_alone.c"
	check "libregion: host_check links against libregion.so" \
		in_root gcc -std=c99 -Wall -Wextra -Werror -pedantic -I "$out/include" -o "$work/host_check" \
		"$src/tests/host_check.c" -L "$out" -lregion
	check "libregion: host_check needs libregion.so.1 (linked dynamically)" \
		in_root /bin/sh -c "readelf -d '$work/host_check' | grep -q 'NEEDED.*\[libregion.so.1\]'"
	check "libregion: host_check runs against libregion.so: errnos without a device" \
		in_root /usr/bin/env LD_LIBRARY_PATH="$out" "$work/host_check"
}

case ${1:-} in
build) build ;;
check) host_checks ;;
*) die "usage: scripts/libregion.sh build|check" ;;
esac
