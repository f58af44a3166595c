#!/usr/bin/env bash
# Build region.ko out of tree against the cached guest kernel, inside the toolchain root.
#
#   scripts/module.sh            build; any compiler warning fails the build
#   scripts/module.sh --clippy   the same with CLIPPY=1: any clippy warning fails it too
#   scripts/module.sh clean      remove the build output
#
# Prints the path of region.ko on stdout. With REGION_KERNEL=bench or fuzz (see scripts/kernel.sh)
# it builds against that kernel, in a copy of the module's sources beside that kernel's tree
# ($REGION_CACHE/kernel-HASH/module/region.ko: kbuild wants one kernel's objects per source
# folder), and leaves the test build in the tree alone. To build against your own kernel tree with your own tools
# instead, run `make KDIR=/path/to/linux` (see README).
source "$(dirname "$0")/lib.sh"
export REPO_DIR=$REPO CACHE_DIR=$REGION_CACHE

kdir=$(bash "$REPO/scripts/kernel.sh")
# The module's source folder: the tree for the test kernel, a copy in the kernel's cache folder
# otherwise (copied with timestamps, so an unchanged file is not compiled again).
src=$REPO
if [ "${REGION_KERNEL:-test}" != test ]; then
	src=$(dirname "$kdir")/module
	mkdir -p "$src"
	(cd "$REPO" && find Kbuild rust region_fs pmsync ioctl_uapi -maxdepth 2 -type f \
		\( -name Kbuild -o -name '*.rs' -o -name '*.c' -o -name '*.h' \) -print0 |
		xargs -0 cp -p --parents -t "$src")
fi
if [ "${1:-}" = clean ]; then
	in_root make -C "$kdir" M="$src" LLVM=1 clean >&2
	exit 0
fi
extra=()
if [ "${1:-}" = --clippy ]; then
	extra=(CLIPPY=1)
	touch "$REPO/rust/region_main.rs" # make sure the crate is compiled (and so linted) again
fi
log "building region.ko ${extra[*]}${REGION_KERNEL:+ (kernel: $REGION_KERNEL)}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! in_root make -C "$kdir" M="$src" LLVM=1 "${extra[@]}" modules >"$out" 2>&1; then
	cat "$out" >&2
	die "module build failed"
fi
if grep -qiE '(^|[^a-z_])warning[:[]' "$out"; then
	cat "$out" >&2
	die "module build printed warnings (the module must build with none)"
fi
echo "$src/region.ko"
