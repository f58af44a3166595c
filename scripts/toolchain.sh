#!/usr/bin/env bash
# Make the build toolchain ready: host packages, then a Debian trixie root (clang, rustc, bindgen,
# rust-src and the kernel source package) under $REGION_CACHE. Idempotent: a warm run only checks.
#
# Prints the root's path on stdout.
source "$(dirname "$0")/lib.sh"
export REPO_DIR=$REPO CACHE_DIR=$REGION_CACHE

install_host_packages() {
	local missing=()
	for p in $HOST_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return
	log "installing host packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

make_root() {
	local root=$1
	[ -f "$root/.complete" ] && return
	rm -rf "$root" "$root.tmp"
	log "creating Debian trixie root in $root (about 1 minute)"
	debootstrap --variant=minbase trixie "$root.tmp" http://deb.debian.org/debian >"$REGION_CACHE/debootstrap.log" 2>&1 ||
		{ tail -20 "$REGION_CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $REGION_CACHE/debootstrap.log)"; }
	cat >"$root.tmp/etc/apt/sources.list" <<SRC
deb http://deb.debian.org/debian trixie main
deb http://deb.debian.org/debian trixie-updates main
deb http://deb.debian.org/debian trixie-backports main
deb http://deb.debian.org/debian-security trixie-security main
SRC
	mv "$root.tmp" "$root"
	log "installing toolchain packages in the root (about 2 minutes)"
	local kpkg=$KERNEL_PKG
	[ -n "$KERNEL_PKG_VERSION" ] && kpkg="$KERNEL_PKG=$KERNEL_PKG_VERSION"
	touch "$root/.complete" # lets in_root enter; removed again below if the install fails
	if ! in_root /bin/sh -c "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $ROOT_PACKAGES && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends -t trixie-backports $kpkg && apt-get clean" >"$REGION_CACHE/root-packages.log" 2>&1; then
		rm -f "$root/.complete"
		tail -20 "$REGION_CACHE/root-packages.log" >&2
		die "package install in the root failed (log: $REGION_CACHE/root-packages.log)"
	fi
	log "toolchain root ready"
}

exec 8>"$REGION_CACHE/.toolchain.lock"
flock 8
install_host_packages
root=$(toolchain_root)
make_root "$root"
echo "$root"
