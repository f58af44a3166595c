#!/usr/bin/env bash
# Build the guest test suite into build/guest-tests/: the shell tests as they are, and every
# tests/guest/*.c as a static binary in bin/, compiled in the toolchain root against libregion
# (region.h and libregion.a, built first into build/libregion/) and the kernel source's
# kselftest_harness.h. Prints the output folder on stdout.
source "$(dirname "$0")/lib.sh"
export REPO_DIR=$REPO CACHE_DIR=$REGION_CACHE

kdir=$(bash "$REPO/scripts/kernel.sh")
bash "$REPO/scripts/libregion.sh" build >/dev/null || die "building libregion failed"
out=$REPO/build/guest-tests
rm -rf "$out"
mkdir -p "$out/bin"
cp "$REPO"/tests/guest/*.sh "$out/"
for src in "$REPO"/tests/guest/*.c; do
	name=$(basename "$src" .c)
	log "compiling guest test $name"
	static_c "$out/bin/$name" "$src" -I "$kdir/tools/testing/selftests" || die "compiling $src failed"
done
log "compiling the Rust guest programs (static): lib_test, regionctl, containers_test, kvs"
rel=$(static_rust -p region --example lib_test -p regionctl --bin regionctl -p region-containers \
	--example containers_test -p region-kvs --bin kvs) || die "building the Rust guest programs failed"
cp "$rel/examples/lib_test" "$rel/examples/containers_test" "$rel/regionctl" "$rel/kvs" "$out/bin/"
log "compiling rtool"
static_c "$out/bin/rtool" "$REPO/user/examples/rtool.c" || die "compiling rtool failed"
echo "$out"
