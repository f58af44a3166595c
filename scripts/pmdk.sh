#!/usr/bin/env bash
# pmdk.sh - the PMDK side of the benchmarks, tests/bench/pmdk_bench.c (a libpmemobj transaction,
# libpmem's pmem_persist and a hash-map KVS on libpmemobj transactions).
#
#   scripts/pmdk.sh OUTDIR         build it for the guest into OUTDIR; prints the path of the
#                                  program to run there (OUTDIR/pmdk_bench)
#   scripts/pmdk.sh guest [ARG...] build it, boot a benchmark guest (REGION_KERNEL, default bench)
#                                  on a fresh 2 GiB NVDIMM image of its own, make an ext4 file
#                                  system on it (busybox mke2fs), mount it -o dax at /mnt/dax and
#                                  run `pmdk_bench /mnt/dax ARG...`; PMDK_PLUGIN=FILE also loads the
#                                  counting TCG plugin and writes its marker lines to FILE
#
# PMDK comes from Debian (trixie's libpmemobj-dev and libpmem-dev), installed into the toolchain
# root as an add-on step with its own marker file, so the root's package list (and with it every
# kernel built in it) stays as it is. libpmemobj.a and libpmem.a are linked into the program, but
# the program cannot be static: both call libndctl and libdaxctl, which Debian ships as shared
# libraries only (and those need libkmod and libudev, also shared only). So the program is linked
# dynamically against those and glibc, and OUTDIR/pmdk/ holds it with every shared library it
# loads and the dynamic loader; OUTDIR/pmdk_bench is a wrapper script that runs it through that
# loader (as scripts/bench.sh does for mke2fs). The build is cached under $REGION_CACHE by a hash
# of the source, this script and the package versions.
source "$(dirname "$0")/lib.sh"
export REPO_DIR=$REPO CACHE_DIR=$REGION_CACHE

[ $# -ge 1 ] || die "usage: scripts/pmdk.sh OUTDIR | scripts/pmdk.sh guest [PMDK_BENCH_ARG...]"
if [ "$1" = guest ]; then
	shift
	export REGION_KERNEL=${REGION_KERNEL:-bench}
	bash "$REPO/scripts/kernel.sh" >/dev/null
	stage=$REGION_CACHE/pmdk-stage
	bash "$0" "$stage" >/dev/null
	plugin=()
	[ -n "${PMDK_PLUGIN:-}" ] && plugin=(--plugin "$PMDK_PLUGIN")
	log "booting the PMDK benchmark guest (TCG; a few minutes)"
	exec bash "$REPO/scripts/run-guest.sh" --fresh --image "$REGION_CACHE/pmem-pmdk.img" --image-size 2G \
		--mem 2G --timeout 3600 "${plugin[@]}" --add "$stage:/bench" -- "
set -e
mke2fs -q -b 4096 /dev/pmem-nvdimm
mkdir -p /mnt/dax
mount -t ext4 -o dax /dev/pmem-nvdimm /mnt/dax
/bench/pmdk_bench /mnt/dax $*
umount /mnt/dax
"
fi
outdir=$1
PMDK_PACKAGES="libpmemobj-dev libpmem-dev"

# install_pmdk: the PMDK packages in the toolchain root, once per root (marker .pmdk-packages,
# keyed by the package list). apt waits for another apt run in the root instead of failing.
install_pmdk() {
	local root marker
	root=$(toolchain_root)
	marker=$root/.pmdk-packages
	[ -f "$marker" ] && [ "$(cat "$marker")" = "$PMDK_PACKAGES" ] && return
	exec 9>"$REGION_CACHE/.pmdk.lock"
	flock 9
	if [ -f "$marker" ] && [ "$(cat "$marker")" = "$PMDK_PACKAGES" ]; then
		exec 9>&-
		return
	fi
	log "installing $PMDK_PACKAGES into the toolchain root"
	if ! in_root /bin/sh -c "apt-get -o DPkg::Lock::Timeout=600 update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
		--no-install-recommends $PMDK_PACKAGES && apt-get clean" >"$REGION_CACHE/pmdk-packages.log" 2>&1; then
		tail -20 "$REGION_CACHE/pmdk-packages.log" >&2
		die "installing PMDK into the root failed (log: $REGION_CACHE/pmdk-packages.log)"
	fi
	echo "$PMDK_PACKAGES" >"$marker"
	exec 9>&-
}

bash "$REPO/scripts/toolchain.sh" >/dev/null
install_pmdk
src=$REPO/tests/bench/pmdk_bench.c
# shellcheck disable=SC2086,SC2016 # the package list splits into words; the format is dpkg's
versions=$(in_root dpkg-query -W -f '${Package} ${Version}\n' $PMDK_PACKAGES libndctl6 libdaxctl1 libc6)
headers=$(cat "$REPO/tests/bench/"*.h "$REPO/ioctl_uapi/region.h")
key=$(hash_of "$(cat "$src")" "$headers" "$(cat "$0")" "$versions")
cache=$REGION_CACHE/pmdk-bench-$key
if [ ! -f "$cache/.complete" ]; then
	log "compiling pmdk_bench against Debian's PMDK ($(grep libpmemobj-dev <<<"$versions"))"
	rm -rf "$cache" "$cache.tmp"
	trap 'rm -rf "$cache.tmp"' EXIT
	mkdir -p "$cache.tmp/pmdk"
	lib=/usr/lib/x86_64-linux-gnu
	pmdk_version=$(awk '$1 == "libpmemobj-dev" { print $2 }' <<<"$versions")
	# counts.h includes <linux/region.h>: libregion's include folder has it (a link to the UAPI).
	in_root gcc -O2 -Wall -Wextra -Werror -DPMDK_VERSION="\"$pmdk_version\"" \
		-I "$REPO/tests/bench" -I "$REPO/user/libregion/include" \
		-o "$cache.tmp/pmdk/pmdk_bench.bin" "$src" "$lib/libpmemobj.a" "$lib/libpmem.a" \
		-lndctl -ldaxctl -pthread -ldl >&2 || die "compiling pmdk_bench failed"
	# The shared libraries the program loads and the loader, copied inside the root (where their
	# paths and symbolic links mean what they say; the cache is mounted there at the same path).
	in_root ldd "$cache.tmp/pmdk/pmdk_bench.bin" >"$cache.tmp/ldd.txt" ||
		die "ldd of pmdk_bench failed"
	mapfile -t libs < <(awk '/=>/ && $3 ~ /^\// { print $3 } /ld-linux/ && !/=>/ { print $1 }' "$cache.tmp/ldd.txt")
	in_root cp -L "${libs[@]}" "$cache.tmp/pmdk/" || die "copying the libraries of pmdk_bench failed"
	[ -f "$cache.tmp/pmdk/ld-linux-x86-64.so.2" ] || die "no dynamic loader in $(cat "$cache.tmp/ldd.txt")"
	cat >"$cache.tmp/pmdk_bench" <<'WRAP'
#!/bin/sh
# Runs pmdk_bench with the libraries beside it (the guest has no /lib of its own).
here=$(dirname "$0")/pmdk
exec "$here/ld-linux-x86-64.so.2" --library-path "$here" "$here/pmdk_bench.bin" "$@"
WRAP
	chmod +x "$cache.tmp/pmdk_bench"
	touch "$cache.tmp/.complete"
	mv "$cache.tmp" "$cache"
	trap - EXIT
fi
mkdir -p "$outdir"
rm -rf "$outdir/pmdk"
cp -r "$cache/pmdk" "$outdir/"
cp "$cache/pmdk_bench" "$outdir/"
echo "$outdir/pmdk_bench"
