#!/usr/bin/env bash
# lint.sh [clippy|rustfmt|all] - the module's lints: a CLIPPY=1 build with zero warnings, and
# rustfmt (the kernel tree's .rustfmt.toml) over every Rust file of the repository.
source "$(dirname "$0")/lib.sh"
export REPO_DIR=$REPO CACHE_DIR=$REGION_CACHE
what=${1:-all}

if [ "$what" = clippy ] || [ "$what" = all ]; then
	bash "$REPO/scripts/module.sh" --clippy >/dev/null
	# Leave a normal build behind for the steps that follow.
	bash "$REPO/scripts/module.sh" >/dev/null
fi
if [ "$what" = rustfmt ] || [ "$what" = all ]; then
	kdir=$(bash "$REPO/scripts/kernel.sh")
	mapfile -t files < <(cd "$REPO" && git ls-files --cached --others --exclude-standard '*.rs' | sed "s|^|$REPO/|")
	in_root rustfmt --check --edition 2021 --config-path "$kdir/.rustfmt.toml" "${files[@]}" ||
		die "rustfmt: the files above need formatting (scripts/lint.sh fix rewrites them)"
fi
if [ "$what" = fix ]; then
	kdir=$(bash "$REPO/scripts/kernel.sh")
	mapfile -t files < <(cd "$REPO" && git ls-files --cached --others --exclude-standard '*.rs' | sed "s|^|$REPO/|")
	in_root rustfmt --edition 2021 --config-path "$kdir/.rustfmt.toml" "${files[@]}"
fi
