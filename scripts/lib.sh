# Shared settings and helpers for the Region System scripts. Source it; do not run it.
#
# Every expensive result lives under $REGION_CACHE (default ~/.cache/region-system), outside the
# work tree, in a folder named by a hash of what produced it, so a warm run reuses it and a changed
# input builds anew beside the old one.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOME=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
export HOME
REGION_CACHE=${REGION_CACHE:-$HOME/.cache/region-system}
# debootstrap, chroot and unshare live in the sbin folders, which a minimal PATH may lack.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac
export PATH
# rustup installs cargo under ~/.cargo/bin, which a non-login environment may leave off PATH.
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
	PATH=$HOME/.cargo/bin:$PATH
	export PATH
fi
mkdir -p "$REGION_CACHE"

# The Debian package whose source the guest kernel is built from. Pinned: when the archive moves on
# and this version is gone, set KERNEL_PKG_VERSION to the one `apt-cache policy linux-source-7.3`
# shows inside the toolchain root (see README, "When the archive moves on").
KERNEL_PKG=${KERNEL_PKG:-linux-source-7.3}
KERNEL_PKG_VERSION=${KERNEL_PKG_VERSION:-7.3.4-1~bpo13+1}

# Debian packages the trixie toolchain root holds.
ROOT_PACKAGES="clang lld llvm rustc rust-src rustfmt rust-clippy bindgen libclang-dev make flex bison bc \
libelf-dev libssl-dev cpio python3 kmod xz-utils zstd ca-certificates gcc libc6-dev"

# Host packages (Debian bookworm or newer) the scripts use outside the root.
HOST_PACKAGES="debootstrap qemu-system-x86 busybox-static cpio xz-utils e2fsprogs"

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

# hash_of WORDS...: a short stable key of the given strings.
hash_of() { printf '%s\n' "$@" | sha256sum | cut -c1-12; }

# The toolchain root's folder, keyed by suite and package list.
toolchain_root() { echo "$REGION_CACHE/root-trixie-$(hash_of trixie "$ROOT_PACKAGES" "$KERNEL_PKG")"; }

# in_root CMD...: run CMD in the toolchain root, with the repository and the cache bind-mounted at
# the same paths they have outside, so paths in build output mean the same thing in and out. The
# mounts live in a private mount namespace and vanish when the command ends.
in_root() {
	local root
	root=$(toolchain_root)
	[ -f "$root/.complete" ] || die "no toolchain root at $root (run scripts/toolchain.sh)"
	unshare --mount --propagation private -- /bin/bash -c '
		set -e; root=$1; shift
		for d in /proc /sys /dev /dev/pts; do mount --rbind "$d" "$root$d"; done
		for d in "$REPO_DIR" "$CACHE_DIR"; do mkdir -p "$root$d"; mount --bind "$d" "$root$d"; done
		cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
		exec chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			TERM=dumb LANG=C.UTF-8 "$@"' bash "$root" "$@"
}
export -f in_root 2>/dev/null || true

# static_c OUT SRC [CFLAGS...]: compile one C file into a static binary in the toolchain root,
# with warnings as errors, linked with libregion.a (built first when stale). "region.h" is the
# library's header (user/libregion/include), which includes the ABI as <linux/region.h>.
static_c() {
	local out=$1 src=$2 lib
	shift 2
	lib=$(bash "$REPO/scripts/libregion.sh" build) || return 1
	in_root gcc -static -O2 -Wall -Wextra -Werror -I "$lib/include" -I "$REPO/ioctl_uapi" "$@" \
		-o "$out" "$src" "$lib/libregion.a" >&2
}

# static_rust OUTDIR CARGO_ARGS...: build Rust programs of the workspace as static binaries for
# the guest (glibc, crt-static) with `cargo build --release CARGO_ARGS`; prints the folder that
# holds them (examples in its examples/).
static_rust() {
	(cd "$REPO" && RUSTFLAGS="-C target-feature=+crt-static" cargo build -q --release \
		--target x86_64-unknown-linux-gnu "$@") >&2 || return 1
	echo "$REPO/target/x86_64-unknown-linux-gnu/release"
}

# bench_guest KO STAGE SCRIPT: one benchmark guest run on a fresh 2 GiB NVDIMM image, 2 GiB of
# RAM, with the module at /region/region.ko and the folder STAGE at /bench; runs SCRIPT.
bench_guest() {
	bash "$REPO/scripts/run-guest.sh" --fresh --image "$REGION_CACHE/pmem-bench.img" --image-size 2G \
		--mem 2G --timeout 3600 --add "$1:/region/region.ko" --add "$2:/bench" -- "$3"
}

# stage_guest_program NAME: build/NAME/ holding tests/guest/NAME.c as bin/NAME (static),
# regionctl and tests/guest/NAME.sh, for the guest run of scripts/NAME.sh; prints the folder.
stage_guest_program() {
	local name=$1 stage=$REPO/build/$1 rel
	rm -rf "$stage"
	mkdir -p "$stage/bin"
	log "compiling $name and regionctl (static)"
	static_c "$stage/bin/$name" "$REPO/tests/guest/$name.c" || return 1
	rel=$(static_rust -p regionctl --bin regionctl) || return 1
	cp "$rel/regionctl" "$stage/bin/"
	cp "$REPO/tests/guest/$name.sh" "$stage/"
	echo "$stage"
}

# finish_guest_run NAME RC TIMEOUT SEED IMAGE LOGFILE CLEAN REPLAY WHAT: reports a seeded guest
# run of scripts/fuzz.sh or scripts/load.sh (runner status RC, console log LOGFILE, pmem image
# IMAGE): the program's "# " lines on stderr; its TAP results and the kernel's verdict (CLEAN names
# what the runner watches for) as "PASS NAME: ..." / "FAIL NAME: ..." lines on stdout, with an
# offline regionctl check of the image; a log line with the total and the time since $start (WHAT
# says what it covers). On any FAIL it keeps the console log in $REGION_CACHE/NAME-failures/, says
# how to replay the seed (REPLAY) and returns 1.
finish_guest_run() {
	local name=$1 rc=$2 timeout=$3 seed=$4 image=$5 logfile=$6 clean=$7 replay=$8 what=$9
	local console results verdict out total kept
	console=$(tr -d '\r' <"$logfile")
	grep -a '^# ' <<<"$console" | sed 's/^# //' >&2 || true
	results=$(sed -En "s/^ok [0-9]+ ($name: .*)\$/PASS \\1/p; s/^not ok [0-9]+ ($name: .*)\$/FAIL \\1/p" <<<"$console")
	[ -n "$results" ] || results="FAIL $name: no results in the console log"
	case $rc in
	0 | 1) verdict="PASS $name: the kernel reported nothing ($clean)" ;;
	124) verdict="FAIL $name: the guest timed out after ${timeout}s" ;;
	125) verdict="FAIL $name: the kernel reported a problem (seed $seed)" ;;
	*) verdict="FAIL $name: the guest run failed with status $rc" ;;
	esac
	if [ "$rc" = 0 ] || [ "$rc" = 1 ]; then
		out=""
		if (cd "$REPO" && cargo build -q --release -p regionctl) >&2 &&
			out=$("$REPO/target/release/regionctl" check "$image" 2>&1) &&
			grep -q '^no inconsistencies$' <<<"$out"; then
			results+=$'\n'"PASS $name: offline regionctl check of the image the guest left"
		else
			sed 's/^/    /' <<<"$out" >&2
			results+=$'\n'"FAIL $name: offline regionctl check of the image the guest left"
		fi
	fi
	echo "$results"
	echo "$verdict"
	total=$(sed -n 's/^# total: //p' <<<"$console" | tail -1)
	log "$name: ${total:-no total}; $((SECONDS - start)) s in all ($what)"
	if grep -q '^FAIL' <<<"$results"$'\n'"$verdict"; then
		mkdir -p "$REGION_CACHE/$name-failures"
		kept=$REGION_CACHE/$name-failures/$(basename "$logfile")
		cp "$logfile" "$kept"
		log "$name FAILED; console log kept in $kept; replay with: $replay"
		return 1
	fi
}
