#!/usr/bin/env bash
# Build region.ko out of tree against the cached guest kernel, inside the toolchain root.
#
#   scripts/module.sh            build; any compiler warning fails the build
#   scripts/module.sh --clippy   the same with CLIPPY=1: any clippy warning fails it too
#   scripts/module.sh clean      remove the build output
#
# Prints the path of region.ko on stdout. To build against your own kernel tree with your own
# tools instead, run `make KDIR=/path/to/linux` (see README).
source "$(dirname "$0")/lib.sh"
export REPO_DIR=$REPO CACHE_DIR=$REGION_CACHE

kdir=$(bash "$REPO/scripts/kernel.sh")
if [ "${1:-}" = clean ]; then
	in_root make -C "$kdir" M="$REPO" LLVM=1 clean >&2
	exit 0
fi
extra=()
if [ "${1:-}" = --clippy ]; then
	extra=(CLIPPY=1)
	touch "$REPO/rust/region_main.rs" # make sure the crate is compiled (and so linted) again
fi
log "building region.ko ${extra[*]}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! in_root make -C "$kdir" M="$REPO" LLVM=1 "${extra[@]}" modules >"$out" 2>&1; then
	cat "$out" >&2
	die "module build failed"
fi
if grep -qiE '(^|[^a-z_])warning[:[]' "$out"; then
	cat "$out" >&2
	die "module build printed warnings (the module must build with none)"
fi
echo "$REPO/region.ko"
