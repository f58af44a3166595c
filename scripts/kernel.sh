#!/usr/bin/env bash
# Build the guest kernel (Linux 7.3 with Rust and pmem) from Debian's linux-source package inside
# the toolchain root, configured as tinyconfig + config fragments from scripts/kernel/, with LLVM=1.
#
# Three flavors, chosen by REGION_KERNEL:
#   test   (default) region.config + test.config: lockdep, DEBUG_VM, kmemleak and a RAM disk, for
#          the tests, the demo and the torture
#   bench  region.config alone: no debugging, so `make bench` measures the code, not lockdep
#   fuzz   region.config + test.config + fuzz.config: the test kernel with KASAN and UBSAN too, for
#          the guest fuzzer (scripts/fuzz.sh)
#
# The tree lives in $REGION_CACHE/kernel-KEY, KEY a hash of the source package version, the config
# fragment and the toolchain versions; a warm run finds it built and only prints its path.
# Prints the kernel tree's path (KDIR) on stdout.
source "$(dirname "$0")/lib.sh"
export REPO_DIR=$REPO CACHE_DIR=$REGION_CACHE
flavor=${REGION_KERNEL:-test}
case "$flavor" in
test) fragments=("$REPO/scripts/kernel/region.config" "$REPO/scripts/kernel/test.config") ;;
bench) fragments=("$REPO/scripts/kernel/region.config") ;;
fuzz) fragments=("$REPO/scripts/kernel/region.config" "$REPO/scripts/kernel/test.config" "$REPO/scripts/kernel/fuzz.config") ;;
*) die "REGION_KERNEL=$flavor: the flavors are test, bench and fuzz" ;;
esac

root=$(bash "$REPO/scripts/toolchain.sh")
src_version=$(in_root dpkg-query -W -f='${Version}' "$KERNEL_PKG")
tools=$(in_root /bin/sh -c 'clang --version | head -1; rustc --version; bindgen --version')
# Bump BUILD_RECIPE when this script changes how the tree is built (not just how it reports).
BUILD_RECIPE=1
key=$(hash_of "$KERNEL_PKG" "$src_version" "$(cat "${fragments[@]}")" "$tools" "$BUILD_RECIPE")
out=$REGION_CACHE/kernel-$key
kdir=$out/linux
# A built tree needs no lock: a caller never waits for another flavour's build.
if [ -f "$out/.complete" ]; then
	echo "$kdir"
	exit 0
fi
# One build at a time: a second caller waits here, then finds the tree built.
exec 9>"$REGION_CACHE/.kernel.lock"
flock 9
if [ -f "$out/.complete" ]; then
	echo "$kdir"
	exit 0
fi

# kmake ARGS...: make in the kernel tree, inside the root, with the LLVM toolchain.
kmake() { in_root make -C "$kdir" LLVM=1 "$@"; }

log "building the $flavor kernel: $KERNEL_PKG $src_version in $out"
rm -rf "$out"
mkdir -p "$out"
in_root /bin/sh -c "tar -C '$out' -xf /usr/src/$KERNEL_PKG.tar.* && mv '$out'/$KERNEL_PKG* '$kdir'"
kmake rustavailable >&2 || die "the toolchain root does not satisfy 'make rustavailable'"

names=$(for f in "${fragments[@]}"; do basename "$f"; done | paste -sd+)
log "configuring: tinyconfig + $names"
kmake tinyconfig >"$out/config.log" 2>&1
in_root "$kdir/scripts/kconfig/merge_config.sh" -m -O "$kdir" "$kdir/.config" "${fragments[@]}" >>"$out/config.log" 2>&1
kmake olddefconfig >>"$out/config.log" 2>&1

# Every symbol the fragment asks for must have taken; Kconfig drops ones whose dependencies fail.
bad=0
while IFS= read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	sym=${line%%=*} want=${line#*=}
	if [ "$want" = n ]; then
		grep -q "^$sym=" "$kdir/.config" && { log "config: $sym wanted n, is set"; bad=1; }
	else
		got=$(grep "^$sym=" "$kdir/.config" | cut -d= -f2- || true)
		[ "$got" = "$want" ] || { log "config: $sym wanted $want, got '${got:-unset}'"; bad=1; }
	fi
done < <(cat "${fragments[@]}")
[ $bad = 0 ] || die "kernel config does not match $names (see $out/config.log)"

jobs=$(nproc)
log "compiling with $jobs jobs (15-25 minutes cold on 2 cores; log: $out/build.log)"
start=$SECONDS
kmake -j"$jobs" >"$out/build.log" 2>&1 &
pid=$!
while kill -0 $pid 2>/dev/null; do
	sleep 60
	kill -0 $pid 2>/dev/null || break
	log "  kernel build: $(((SECONDS - start) / 60)) min, $(grep -c -E '^\s+(CC|RUSTC|LD|AS)' "$out/build.log" || true) steps, last: $(grep -E '^\s+[A-Z]+' "$out/build.log" | tail -1 | xargs)"
done
wait $pid || { tail -30 "$out/build.log" >&2; die "kernel build failed (log: $out/build.log)"; }
log "kernel built in $(((SECONDS - start) / 60)) min $(((SECONDS - start) % 60)) s"
touch "$out/.complete"
echo "$kdir"
