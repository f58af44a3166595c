#!/usr/bin/env bash
# The QEMU TCG plugin that counts what the benchmarks rank designs by (tests/bench/plugin).
#
#   scripts/qemu-plugin.sh          build it if needed; print the path of libregion_counts.so
#   scripts/qemu-plugin.sh header   print the folder holding qemu-plugin.h
#   scripts/qemu-plugin.sh check    boot a guest running tests/bench/plugin/plugin_check.c under
#                                   the plugin and compare every count with what must have run;
#                                   prints "PASS name" / "FAIL name" lines; REGION_PLUGIN_MODE=exact
#                                   checks the plugin's per-instruction mode instead; KERNEL=PATH
#                                   boots that bzImage (default: scripts/kernel.sh's)
#
# The plugin is built on the host with the host's C compiler against the plugin API header of the
# exact QEMU the host runs: the header comes from Debian's source package of the installed
# qemu-system-x86 (apt-get source --download-only, with a private source list, so the system's
# apt configuration is left alone), and is cached in $REGION_CACHE/qemu-src-VERSION/. The plugin
# itself is cached in $REGION_CACHE/qemu-plugin-HASH/, keyed by the QEMU version and the source.
# Exits 3, saying so, when the installed QEMU cannot load plugins.
source "$(dirname "$0")/lib.sh"
export REPO_DIR=$REPO CACHE_DIR=$REGION_CACHE

SRC=$REPO/tests/bench/plugin/region_counts.c

# qemu_source_version: the Debian source version of the installed qemu-system-x86.
qemu_source_version() {
	dpkg-query -W -f '${source:Version}' qemu-system-x86 2>/dev/null ||
		die "qemu-system-x86 is not installed (scripts/toolchain.sh installs it)"
}

# plugins_supported: whether this QEMU was built with plugin support.
plugins_supported() {
	qemu-system-x86_64 -help 2>/dev/null | grep -q -- '^-plugin'
}

# header_dir: the folder with qemu-plugin.h of the installed QEMU's source, fetched once.
header_dir() {
	local ver dir tmp lists src
	ver=$(qemu_source_version)
	dir=$REGION_CACHE/qemu-src-${ver//[^A-Za-z0-9.+-]/_}
	if [ ! -f "$dir/qemu-plugin.h" ]; then
		log "fetching qemu $ver's source package for its plugin header (about 24 MB, once)"
		tmp=$(mktemp -d)
		lists=$tmp/lists
		mkdir -p "$lists/partial"
		# Every suite that may hold this version: a point release, an update or a security fix.
		src=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
		cat >"$tmp/sources.list" <<-EOF
			deb-src http://deb.debian.org/debian $src main
			deb-src http://deb.debian.org/debian $src-updates main
			deb-src http://deb.debian.org/debian-security $src-security main
		EOF
		local opts=(-o "Dir::Etc::SourceList=$tmp/sources.list" -o Dir::Etc::SourceParts=/nonexistent
			-o "Dir::State::Lists=$lists" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
		apt-get "${opts[@]}" update -q >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log" >&2; die "apt-get update of the source lists failed"; }
		(cd "$tmp" && apt-get "${opts[@]}" source --download-only "qemu=$ver") >>"$tmp/apt.log" 2>&1 ||
			{ cat "$tmp/apt.log" >&2; die "apt-get source qemu=$ver failed"; }
		# The header as Debian builds it: the upstream file, unless a Debian patch changes it.
		if tar -xJOf "$tmp"/qemu_*.debian.tar.xz --wildcards 'debian/patches/*' 2>/dev/null |
			grep -q '^+++ .*include/qemu/qemu-plugin.h'; then
			die "a Debian patch of qemu $ver changes qemu-plugin.h: apply it here before building the plugin"
		fi
		mkdir -p "$tmp/x"
		tar -xJf "$tmp"/qemu_*.orig.tar.xz -C "$tmp/x" --wildcards '*/include/qemu/qemu-plugin.h'
		mkdir -p "$dir.tmp"
		cp "$tmp"/x/*/include/qemu/qemu-plugin.h "$dir.tmp/"
		printf '%s\n' "$ver" >"$dir.tmp/VERSION"
		rm -rf "$dir" "$tmp"
		mv "$dir.tmp" "$dir"
	fi
	echo "$dir"
}

# build: the plugin for the installed QEMU; prints its path.
build() {
	local ver hdr dir so
	plugins_supported || { log "this qemu-system-x86_64 has no -plugin option: no plugin counts (fall back to times only)"; exit 3; }
	ver=$(qemu_source_version)
	dir=$REGION_CACHE/qemu-plugin-$(hash_of "$ver" "$(sha256sum "$SRC")")
	so=$dir/libregion_counts.so
	if [ ! -f "$so" ]; then
		hdr=$(header_dir)
		command -v gcc >/dev/null || { apt-get update -q >&2; apt-get install -y -q --no-install-recommends gcc libc6-dev >&2; }
		mkdir -p "$dir"
		log "building the QEMU plugin for qemu $ver"
		gcc -shared -fPIC -O2 -Wall -Wextra -Werror -I "$hdr" -o "$so.tmp" "$SRC" -lpthread >&2 || die "building the plugin failed"
		mv "$so.tmp" "$so"
	fi
	echo "$so"
}

# check: the plugin's counts against code of known counts, in a guest (plugin_check.c).
check() {
	local stage marks log rc=0
	build >/dev/null
	stage=$REPO/build/plugin-check
	rm -rf "$stage"
	mkdir -p "$stage"
	log "compiling plugin_check (static)"
	static_c "$stage/plugin_check" "$REPO/tests/bench/plugin/plugin_check.c"
	marks=$stage/marks.txt
	log=$stage/console.log
	bash "$REPO/scripts/run-guest.sh" ${KERNEL:+--kernel "$KERNEL"} --quiet --plugin "$marks" --log "$log" --add "$stage/plugin_check:/opt/plugin_check" \
		-- /opt/plugin_check || die "the guest run failed (console log: $log)"
	tr -d '\r' <"$log" | grep -a '^CHECK ' >"$stage/checks.txt" || true
	[ -s "$stage/checks.txt" ] || die "no CHECK lines in the console log $log"
	awk -v marks="$marks" '
		function field(line, name,    i, n, a) {
			n = split(line, a, " ")
			for (i = 1; i <= n; i++) if (index(a[i], name "=") == 1) return substr(a[i], length(name) + 2)
			return ""
		}
		function value(line, counter) {
			if (counter == "uinsns") return field(line, "insns") - field(line, "kinsns")
			return field(line, counter)
		}
		BEGIN {
			while ((getline line < marks) > 0) {
				if (line ~ /^MARK BEGIN/) { if (open) bad = 1; b[++pairs] = line; open = 1 }
				else if (line ~ /^MARK END/) { if (!open) bad = 1; e[pairs] = line; open = 0 }
				else if (line ~ /^PLUGIN/) mode = line
			}
			print "plugin: " mode ", " pairs " marker pairs" (bad ? " (BEGIN/END out of order)" : "")
		}
		{
			if ($2 != last) k++	# consecutive CHECK lines of one phase share its pair
			last = $2
			if (k > pairs) { print "FAIL " $2 ": no marker pair"; fails++; next }
			got = value(e[k], $3) - value(b[k], $3)
			want = $5
			ok = 0
			if ($4 == "==") ok = (got == want)
			else if ($4 == ">=") ok = (got >= want)
			else if ($4 == "~") { d = got - want; if (d < 0) d = -d; ok = (d <= want * 0.02 + 2000000) }
			extra = ($4 == ">=") ? sprintf(" (excess %d)", got - want) : ""
			printf "%s %s: %s %s %s %s%s\n", ok ? "PASS" : "FAIL", $2, $3, got, $4, want, extra
			if (!ok) fails++
		}
		END { if (k != pairs) { print "FAIL pairs: " pairs " marker pairs, " k " CHECK lines"; fails++ }
		      exit fails ? 1 : 0 }
	' "$stage/checks.txt" || rc=1
	return $rc
}

case ${1:-build} in
build) build ;;
header) header_dir ;;
check) check ;;
*) die "usage: $0 [build|header|check]" ;;
esac
