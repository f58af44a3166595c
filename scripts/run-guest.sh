#!/usr/bin/env bash
# Boot the Region System guest under QEMU, run one command in it, and judge the run.
#
#   scripts/run-guest.sh [options] -- COMMAND...
#
# The guest is the kernel from scripts/kernel.sh with a busybox initramfs (scripts/initramfs.sh),
# an emulated NVDIMM backed by an image file on the host (kept across runs, so it survives a killed
# guest like PM survives a power cut) and, on request, a legacy memmap= pmem region in guest RAM.
# COMMAND (its words joined by spaces) becomes /run-cmd, which the guest's /init runs with sh after
# bringing the NVDIMM into fsdax mode and linking /dev/pmem-nvdimm and /dev/pmem-legacy.
#
# The serial console goes to a log file (and, unless --quiet, to stdout as it runs). After QEMU
# exits the log is scanned for kernel problems. Exit code: the guest command's, when the kernel was
# clean; 125 when the kernel reported a problem (Oops, BUG, WARNING, lockdep, KASAN, UBSAN, panic,
# kmemleak, Call Trace, Rust panic); 124 when the timeout hit (QEMU is SIGKILLed); 126 when the
# guest never printed its exit marker. A kernel problem wins over a timeout, which wins over a
# missing marker. With --power-cut-after, QEMU is SIGKILLed that long after the guest is ready (a
# power cut: the image keeps what reached it) and the run exits 0 if the kernel was clean until
# then.
#
# Snapshots (for runs that boot the same guest many times, like the crash torture): with
# --save-snapshot DIR the guest boots as usual (NVDIMM brought into fsdax mode, pmem devices
# linked), drops any cached view of the pmem block devices, prints REGION-GUEST-SNAPSHOT and waits
# for a go line on the serial console; the runner then saves the VM state with QEMU migration
# (capability x-ignore-shared: the share=on NVDIMM backend is not in the state, so it stays the
# image file's) into DIR, with the initramfs and kernel command line it booted, and quits. No
# COMMAND is needed. With --from-snapshot DIR the runner starts QEMU from that state on --image
# instead of booting, and sends COMMAND on the console as the go line together with a random seed
# (the resumed guest's RNG state is the same every time; the seed is written to /dev/urandom); the
# waiting guest prints REGION-GUEST-READY and runs COMMAND, and everything else (timeout, power
# cut, judging, exit marker) works as for a boot. A resume takes about a second where a boot takes
# several; the image must be the one the snapshot was saved on (or a copy of it taken after), since
# the guest kernel read its fsdax info block before the snapshot. Run with --help for the options.
source "$(dirname "$0")/lib.sh"

# Where the memmap= region starts in guest RAM: above the kernel and initramfs, below the top of RAM
# (where the firmware puts ACPI tables), for any --mem of at least 1G.
LEGACY_OFFSET_MIB=512

# Kernel console lines that mean the run is not clean (extended regular expressions). A line counts
# only when the pattern follows a printk timestamp "[    1.234567]", so user output that happens to
# say "BUG:" does not fail a run.
PROBLEM_PATTERNS=(
	'Oops' 'BUG:' 'kernel BUG at' 'WARNING:' 'general protection fault' 'Kernel panic'
	'KASAN' 'UBSAN' 'Call Trace:' 'rust_panic' 'panicked at'
	'possible circular locking' 'possible recursive locking' 'inconsistent lock state'
	'bad unlock balance' 'suspicious RCU usage' 'possible irq lock inversion'
	'lock held when returning to user space' 'held lock freed' 'DEBUG_LOCKS_WARN_ON'
	'new suspected memory leaks' 'unreferenced object 0x'
	'detected stalls? on CPU' 'self-detected stall' 'blocked for more than [0-9]+ seconds'
	'list_(add|del) corruption' 'refcount_t: ' 'stack-protector' 'double fault'
)
TIMESTAMP_RE='\[ *[0-9]+\.[0-9]+\]'

usage() {
	cat <<USAGE
usage: $0 [options] -- COMMAND...
  --kernel PATH        bzImage (default: arch/x86/boot/bzImage of scripts/kernel.sh's tree)
  --image PATH         NVDIMM backing file (default: \$REGION_CACHE/pmem-demo.img), kept across runs
  --image-size SIZE    size when the image is created (default 256M)
  --fresh              recreate the image, zeroed
  --memmap SIZE        also a legacy memmap=SIZE!${LEGACY_OFFSET_MIB}M pmem region in guest RAM
  --mem SIZE           guest RAM (default 1G)
  --smp N              guest CPUs (default 2)
  --timeout SECS       SIGKILL QEMU after SECS seconds (default 300); exit 124
  --power-cut-after S  SIGKILL QEMU S seconds (decimals allowed) after the guest printed
                       REGION-GUEST-READY: a power cut on purpose; exit 0 if the kernel was clean
  --add SRC:DEST       copy host folder or file SRC to DEST in the guest (repeatable)
  --log FILE           serial console log (default: under \$REGION_CACHE/logs/)
  --accel tcg|kvm|auto auto = kvm when /dev/kvm exists and the CPU has vmx/svm (default auto)
  --append ARGS        extra kernel command line
  --kmemleak           after COMMAND, scan for kernel memory leaks (a leak fails the run)
  --quiet              do not stream the console to stdout
  --selftest-detector  check the console problem detector on canned lines, then exit
  --plugin FILE        load the counting TCG plugin (scripts/qemu-plugin.sh) and write its marker
                       lines to FILE (emptied first); REGION_PLUGIN_MODE=exact counts instructions
                       one by one (slower); TCG only
  --save-snapshot DIR  boot, then save the waiting guest's state in DIR and quit (no COMMAND)
  --from-snapshot DIR  resume the guest saved in DIR and send it COMMAND (--add, --mem, --smp,
                       --memmap, --append and --kernel are the saved boot's; do not repeat them)
USAGE
	exit "${1:-2}"
}

# to_mib SIZE: SIZE (K/M/G/T suffix; a bare number is MiB) in whole MiB.
to_mib() {
	local n=${1%[KkMmGgTt]} unit=${1##*[0-9]}
	[[ $n =~ ^[0-9]+$ ]] || die "bad size '$1'"
	case $unit in
	K | k) ((n % 1024 == 0)) || die "size '$1' is not whole MiB"; echo $((n / 1024)) ;;
	'' | M | m) echo "$n" ;;
	G | g) echo $((n * 1024)) ;;
	T | t) echo $((n * 1024 * 1024)) ;;
	*) die "bad size '$1'" ;;
	esac
}

parse_args() {
	KERNEL='' IMAGE=$REGION_CACHE/pmem-demo.img IMAGE_SIZE=256M FRESH=0 MEMMAP='' MEM=1G SMP=2
	TIMEOUT=300 ADDS=() LOGFILE='' ACCEL=auto APPEND='' QUIET=0 KMEMLEAK=0 COMMAND=() POWER_CUT=
	SAVE_SNAPSHOT='' FROM_SNAPSHOT='' PLUGIN_OUT=''
	while [ $# -gt 0 ]; do
		case $1 in
		--kernel | --image | --image-size | --memmap | --mem | --smp | --timeout | --add | --log | \
			--accel | --append | --power-cut-after | --save-snapshot | --from-snapshot | --plugin)
			[ $# -ge 2 ] || die "$1 needs a value" ;;
		esac
		case $1 in
		--kernel) KERNEL=$2; shift ;;
		--image) IMAGE=$2; shift ;;
		--image-size) IMAGE_SIZE=$2; shift ;;
		--fresh) FRESH=1 ;;
		--memmap) MEMMAP=$2; shift ;;
		--mem) MEM=$2; shift ;;
		--smp) SMP=$2; shift ;;
		--timeout) TIMEOUT=$2; shift ;;
		--add) ADDS+=("$2"); shift ;;
		--log) LOGFILE=$2; shift ;;
		--accel) ACCEL=$2; shift ;;
		--append) APPEND=$2; shift ;;
		--power-cut-after) POWER_CUT=$2; shift ;;
		--save-snapshot) SAVE_SNAPSHOT=$2; shift ;;
		--from-snapshot) FROM_SNAPSHOT=$2; shift ;;
		--plugin) PLUGIN_OUT=$2; shift ;;
		--kmemleak) KMEMLEAK=1 ;;
		--quiet) QUIET=1 ;;
		--selftest-detector) selftest_detector; exit ;;
		-h | --help) usage 0 ;;
		--) shift; COMMAND=("$@"); break ;;
		*) log "unknown option '$1'"; usage ;;
		esac
		shift
	done
	if [ -n "$SAVE_SNAPSHOT" ]; then
		[ -z "$FROM_SNAPSHOT" ] || die "--save-snapshot and --from-snapshot exclude each other"
		[ ${#COMMAND[@]} -eq 0 ] || die "--save-snapshot takes no COMMAND (the resumed run gets it)"
		COMMAND=(snapshot_waiter)
	fi
	[ ${#COMMAND[@]} -gt 0 ] || { log "no COMMAND given"; usage; }
	[ -z "$FROM_SNAPSHOT" ] || [ -f "$FROM_SNAPSHOT/vmstate" ] || die "no saved guest in $FROM_SNAPSHOT"
	[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "bad --timeout '$TIMEOUT'"
}

# pick_accel: resolve --accel auto (KVM hangs on a host whose CPU has no VMX/SVM).
pick_accel() {
	case $ACCEL in
	tcg | kvm) ;;
	auto)
		if [ -e /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then ACCEL=kvm; else ACCEL=tcg; fi ;;
	*) die "bad --accel '$ACCEL'" ;;
	esac
}

find_kernel() {
	if [ -z "$KERNEL" ]; then
		KERNEL=$(bash "$REPO/scripts/kernel.sh")/arch/x86/boot/bzImage
	fi
	[ -f "$KERNEL" ] || die "no kernel image at $KERNEL"
}

# prepare_image: create (or, with --fresh, recreate) the zeroed image; lock it for this run; set
# IMAGE_MIB to its real size (an existing image keeps its size).
prepare_image() {
	local want
	want=$(to_mib "$IMAGE_SIZE")
	mkdir -p "$(dirname "$IMAGE")"
	if [ $FRESH = 1 ] || [ ! -f "$IMAGE" ]; then
		log "creating zeroed ${want}M NVDIMM image $IMAGE"
		rm -f "$IMAGE"
		truncate -s "${want}M" "$IMAGE"
	fi
	exec 7<"$IMAGE"
	flock -n 7 || die "image $IMAGE is in use by another guest"
	IMAGE_MIB=$(($(stat -c %s "$IMAGE") / 1048576))
	[ "$IMAGE_MIB" = "$want" ] || log "note: keeping the existing ${IMAGE_MIB}M image (use --fresh to resize)"
}

# The /run-cmd of a --save-snapshot boot. It drops the page cache of every pmem block device (so
# the resumed guest has no view of pmem contents older than the image it resumes on; the module
# maps pmem through DAX, never through the page cache), says how much page cache is left, prints
# the snapshot marker and waits for a go line "REGION-GO SEED LENGTH COMMAND REGION-END" on the
# console. A line garbled by the resume (input that reached the UART before its state was loaded),
# or one whose command is not LENGTH bytes long, is skipped: the runner sends the go line again
# until the guest answers REGION-GUEST-READY.
SNAPSHOT_WAITER='for b in /dev/pmem[0-9]*; do [ -b "$b" ] && blockdev --flushbufs "$b"; done
echo 1 >/proc/sys/vm/drop_caches 2>/dev/null
echo "region-guest: page cache at the snapshot: $(grep -E "^(Buffers|Cached):" /proc/meminfo | tr -s " " | tr "\n" " ")"
echo REGION-GUEST-SNAPSHOT
while :; do
	IFS= read -r line || { sleep 1; continue; }
	case $line in *"REGION-GO "*" REGION-END"*) ;; *) continue ;; esac
	go=${line##*REGION-GO }
	go=${go%% REGION-END*}
	seed=${go%% *} rest=${go#* }
	len=${rest%% *} cmd=${rest#* }
	[ "${#cmd}" = "$len" ] && break
	echo "region-guest: a garbled go line skipped (${#cmd} bytes of command, not $len)"
done
echo "$seed" >/dev/urandom
echo REGION-GUEST-READY
sh -c "$cmd"'

# build_initrd OUT: base archive + COMMAND as /run-cmd + the --add pairs.
build_initrd() {
	if [ -n "$SAVE_SNAPSHOT" ]; then
		printf '%s\n' "$SNAPSHOT_WAITER" >"$WORK/run-cmd"
	else
		printf '%s\n' "${COMMAND[*]}" >"$WORK/run-cmd"
	fi
	bash "$REPO/scripts/initramfs.sh" "$1" "$WORK/run-cmd:/run-cmd" ${ADDS[@]+"${ADDS[@]}"}
}

# kernel_cmdline: panic=-1 with -no-reboot ends the run at once on a panic, and oops=panic turns an
# Oops (after which the guest often hangs) into one; warnings let the run go on. pty.legacy_count=0
# saves 3 s of boot under TCG (256 legacy ptys, each registered under lockdep and kmemleak).
kernel_cmdline() {
	# tsc=reliable: no clocksource watchdog. Under TCG on a busy host its cross-CPU reads time out,
	# and a boot was seen to stall right at the switch to the TSC.
	local cmdline="console=ttyS0 panic=-1 oops=panic printk.devkmsg=on pty.legacy_count=0 tsc=reliable"
	if [ -n "$MEMMAP" ]; then
		local size mem
		size=$(to_mib "$MEMMAP") mem=$(to_mib "$MEM")
		((LEGACY_OFFSET_MIB + size + 64 <= mem)) ||
			die "--memmap $MEMMAP at ${LEGACY_OFFSET_MIB}M does not fit in --mem $MEM (raise --mem)"
		cmdline+=" memmap=${size}M!${LEGACY_OFFSET_MIB}M"
	fi
	[ $KMEMLEAK = 1 ] && cmdline+=" region.kmemleak=scan"
	echo "$cmdline${APPEND:+ $APPEND}"
}

# qemu_command: fill the QEMU array. The console goes to the log file only (no -nographic), so
# QEMU never owns the terminal: a SIGKILL cannot leave it in raw mode, and stdin stays free.
qemu_command() {
	local mem cpu=max
	mem=$(to_mib "$MEM")
	[ $ACCEL = kvm ] && cpu=host
	QEMU=(qemu-system-x86_64 -machine pc,nvdimm=on -accel "$ACCEL" -cpu "$cpu"
		-m "${mem}M,slots=2,maxmem=$((mem + IMAGE_MIB))M" -smp "$SMP"
		-object "memory-backend-file,id=pm0,share=on,mem-path=$IMAGE,size=${IMAGE_MIB}M"
		-device nvdimm,id=nv0,memdev=pm0
		-kernel "$KERNEL" -initrd "$WORK/initrd.cpio" -append "$CMDLINE"
		-nodefaults -display none -no-reboot)
	if [ -n "$PLUGIN_OUT" ]; then
		local so
		[ $ACCEL = tcg ] || die "--plugin needs TCG (this run uses $ACCEL)"
		so=$(bash "$REPO/scripts/qemu-plugin.sh") || die "no counting plugin for this QEMU"
		mkdir -p "$(dirname "$PLUGIN_OUT")"
		: >"$PLUGIN_OUT"
		QEMU+=(-plugin "$so,out=$PLUGIN_OUT,mode=${REGION_PLUGIN_MODE:-tb}")
	fi
	if [ -n "$SAVE_SNAPSHOT$FROM_SNAPSHOT" ]; then
		mkfifo "$WORK/mon.in" "$WORK/mon.out"
		QEMU+=(-monitor "pipe:$WORK/mon")
	else
		QEMU+=(-monitor none)
	fi
	if [ -n "$FROM_SNAPSHOT" ]; then
		mkfifo "$WORK/serial.in" "$WORK/serial.out"
		QEMU+=(-serial "pipe:$WORK/serial" -incoming defer)
	else
		QEMU+=(-serial "file:$LOGFILE")
	fi
}

# monitor LINE...: send lines to the QEMU human monitor (answers go to $WORK/monitor.log).
monitor() { printf '%s\n' "$@" >&8; }

# start_snapshot_io: drain the monitor's (and, when resuming, the console's) output pipes, and
# start the incoming migration from the saved state.
start_snapshot_io() {
	[ -n "$SAVE_SNAPSHOT$FROM_SNAPSHOT" ] || return 0
	# Read-write opens of a FIFO never block, whether or not QEMU got as far as opening its end.
	exec 8<>"$WORK/mon.in"
	cat 0<>"$WORK/mon.out" >"$WORK/monitor.log" &
	IO_PIDS+=($!)
	[ -n "$FROM_SNAPSHOT" ] || return 0
	exec 9<>"$WORK/serial.in"
	cat 0<>"$WORK/serial.out" >>"$LOGFILE" &
	IO_PIDS+=($!)
	monitor "migrate_set_capability x-ignore-shared on" "migrate_incoming \"exec:cat $FROM_SNAPSHOT/vmstate\""
}

# stop_snapshot_io: once QEMU is gone, let the readers drain what is left in the pipes and end.
stop_snapshot_io() {
	local pid
	[ ${#IO_PIDS[@]} -gt 0 ] || return 0
	sleep 0.1
	for pid in "${IO_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
	IO_PIDS=()
}

# snapshot_step: called while QEMU runs; saves the waiting guest, or sends the go line to the
# resumed one until it answers. Prints "done" once a save was started.
GO_SENT_MS=0 RESUMED=0 SAVING=0
snapshot_step() {
	if [ -n "$SAVE_SNAPSHOT" ] && [ $SAVING = 0 ] && grep -aq REGION-GUEST-SNAPSHOT "$LOGFILE"; then
		SAVING=1
		monitor "migrate_set_capability x-ignore-shared on" "migrate \"exec:cat >$SAVE_SNAPSHOT/vmstate.tmp\"" \
			"info migrate" quit
	fi
	[ -n "$FROM_SNAPSHOT" ] || return 0
	grep -aq REGION-GUEST-READY "$LOGFILE" && return 0
	if [ $RESUMED = 0 ]; then
		grep -aq 'VM status: running' "$WORK/monitor.log" && RESUMED=1 || { monitor "info status"; return 0; }
	fi
	if (($(now_ms) - GO_SENT_MS >= 1000)); then
		local cmd="${COMMAND[*]}"
		printf 'REGION-GO %s %s %s REGION-END\n' "$SEED" "${#cmd}" "$cmd" >&9
		GO_SENT_MS=$(now_ms)
	fi
}

# finish_snapshot: after a --save-snapshot run, check that the migration completed and keep what
# the resumed runs need; exit 1 if it did not.
finish_snapshot() {
	[ -n "$SAVE_SNAPSHOT" ] || return 0
	if ! grep -aq 'Migration status: completed' "$WORK/monitor.log" 2>/dev/null || [ ! -s "$SAVE_SNAPSHOT/vmstate.tmp" ]; then
		log "FAIL: saving the guest failed; monitor said:"
		sed 's/^/    /' "$WORK/monitor.log" >&2 || true
		exit 1
	fi
	cp "$WORK/initrd.cpio" "$SAVE_SNAPSHOT/initrd.cpio"
	printf '%s\n' "$CMDLINE" >"$SAVE_SNAPSHOT/cmdline"
	printf '%s\n' "$MEM" "$SMP" "$IMAGE_MIB" >"$SAVE_SNAPSHOT/machine"
	mv "$SAVE_SNAPSHOT/vmstate.tmp" "$SAVE_SNAPSHOT/vmstate"
	log "saved the waiting guest in $SAVE_SNAPSHOT ($(du -sh "$SAVE_SNAPSHOT/vmstate" | cut -f1) of state) after $((SECONDS - START)) s"
	exit 0
}

# start_console_stream: copy the log to stdout while QEMU runs (unless --quiet).
start_console_stream() {
	[ $QUIET = 1 ] && return
	tail -s 0.2 -n +1 -F --pid="$QEMU_PID" "$LOGFILE" 2>/dev/null &
	TAIL_PID=$!
}

now_ms() { date +%s%3N; }

# run_qemu: start QEMU, enforce the timeout and any power cut, set QEMU_RC, TIMED_OUT and CUT.
run_qemu() {
	local deadline=$((SECONDS + TIMEOUT)) cut_ms='' cut_at=''
	[ -z "$POWER_CUT" ] || cut_ms=$(awk -v s="$POWER_CUT" 'BEGIN { printf "%d", s * 1000 }')
	: >"$LOGFILE"
	"${QEMU[@]}" </dev/null &
	QEMU_PID=$!
	start_snapshot_io
	start_console_stream
	TIMED_OUT=0 CUT=0
	while kill -0 "$QEMU_PID" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			kill -KILL "$QEMU_PID" 2>/dev/null || true
			TIMED_OUT=1
			break
		fi
		snapshot_step
		if [ -n "$cut_ms" ]; then
			if [ -z "$cut_at" ] && grep -aq REGION-GUEST-READY "$LOGFILE"; then
				cut_at=$(($(now_ms) + cut_ms))
			fi
			if [ -n "$cut_at" ] && (($(now_ms) >= cut_at)); then
				kill -KILL "$QEMU_PID" 2>/dev/null || true
				CUT=1
				break
			fi
			sleep 0.01
			continue
		fi
		if [ -n "$FROM_SNAPSHOT" ]; then sleep 0.05; else sleep 0.2; fi
	done
	QEMU_RC=0
	wait "$QEMU_PID" || QEMU_RC=$?
	QEMU_PID=''
	[ -z "$TAIL_PID" ] || wait "$TAIL_PID" || true
	TAIL_PID=''
	stop_snapshot_io
}

# kernel_problems LOGFILE: print the console lines that report a kernel problem.
kernel_problems() {
	local alternatives
	alternatives=$(IFS='|'; echo "${PROBLEM_PATTERNS[*]}")
	tr -d '\r' <"$1" | grep -aE "$TIMESTAMP_RE.*($alternatives)" || true
}

# guest_exit_code LOGFILE: the code from the last REGION-GUEST-EXIT marker, or nothing. The marker
# may follow other output on its line (a kernel message can interleave).
guest_exit_code() {
	tr -d '\r' <"$1" | sed -n 's/.*REGION-GUEST-EXIT: \([0-9][0-9]*\)$/\1/p' | tail -1
}

# judge: report on the run and exit with the code the header describes.
judge() {
	local problems code
	problems=$(kernel_problems "$LOGFILE")
	code=$(guest_exit_code "$LOGFILE")
	log "QEMU exited with status $QEMU_RC after $((SECONDS - START)) s; console log: $LOGFILE"
	[ -n "$problems" ] || [ $TIMED_OUT = 1 ] || finish_snapshot
	if [ -n "$problems" ]; then
		log "FAIL: the kernel reported a problem ($(echo "$problems" | wc -l) matching console lines):"
		echo "$problems" | head -40 | sed 's/^/    /' >&2
		exit 125
	fi
	if [ $TIMED_OUT = 1 ]; then
		log "FAIL: timeout: QEMU killed after $TIMEOUT s"
		exit 124
	fi
	if [ $CUT = 1 ]; then
		log "power cut: QEMU killed $POWER_CUT s after the guest was ready"
		exit 0
	fi
	if [ -z "$code" ]; then
		log "FAIL: the guest never printed REGION-GUEST-EXIT (crashed or hung); last console lines:"
		tr -d '\r' <"$LOGFILE" | tail -15 | sed 's/^/    /' >&2
		exit 126
	fi
	grep -aq REGION-GUEST-SETUP-FAILED "$LOGFILE" && log "FAIL: guest setup failed (see log)"
	log "guest command exited with $code"
	exit "$code"
}

# use_snapshot: take the initramfs, command line and machine size of the saved boot (QEMU must
# build the same machine to load its state), and a fresh seed for the resumed guest.
use_snapshot() {
	cp "$FROM_SNAPSHOT/initrd.cpio" "$WORK/initrd.cpio"
	CMDLINE=$(cat "$FROM_SNAPSHOT/cmdline")
	{ read -r MEM; read -r SMP; read -r want; } <"$FROM_SNAPSHOT/machine"
	[ "$want" = "$IMAGE_MIB" ] || die "the image is ${IMAGE_MIB}M; the snapshot was saved on a ${want}M one"
	SEED=$(od -An -tx8 -N16 /dev/urandom | tr -d ' \n')
}

# selftest_detector: the detector must flag kernel reports and ignore user output.
selftest_detector() {
	local f bad=0 line
	f=$(mktemp)
	printf '%s\r\n' '[    1.000000] WARNING: CPU: 0 PID: 1 at mm/x.c:1 f+0x1/0x2' \
		'[   12.345678] BUG: sleeping function called from invalid context' \
		'[    2.000000] Oops: general protection fault, probably for non-canonical address' \
		'[    3.000000] WARNING: possible circular locking dependency detected' \
		'[    4.000000] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)' \
		'[    5.000000] rust_kernel: panicked at rust/kernel/x.rs:1:1:' \
		'[    6.000000] Kernel panic - not syncing: Attempted to kill init!' \
		'[    7.000000] BUG: KASAN: slab-use-after-free in region_ioctl+0x12/0x34 [region]' \
		'[    8.000000] UBSAN: shift-out-of-bounds in region_fs/regionfs.c:10:5' >"$f"
	[ "$(kernel_problems "$f" | wc -l)" = 9 ] || { log "selftest: a kernel report was missed"; bad=1; }
	printf '%s\r\n' 'WARNING: user output, no timestamp' 'test BUG: in a user message' \
		'[    1.000000] pmem0: detected capacity change from 0 to 524288' \
		'[    0.100000] ACPI: NFIT 0x000000003FFE1234 0000E0 (v01 BOCHS)' >"$f"
	line=$(kernel_problems "$f")
	[ -z "$line" ] || { log "selftest: false positive: $line"; bad=1; }
	rm -f "$f"
	[ $bad = 0 ] || die "detector selftest failed"
	log "detector selftest passed"
}

cleanup() {
	[ -z "${QEMU_PID:-}" ] || kill -KILL "$QEMU_PID" 2>/dev/null || true
	[ -z "${TAIL_PID:-}" ] || kill "$TAIL_PID" 2>/dev/null || true
	for pid in ${IO_PIDS[@]+"${IO_PIDS[@]}"}; do kill "$pid" 2>/dev/null || true; done
	[ -z "${WORK:-}" ] || rm -rf "$WORK"
}

# default_log: a fresh file under $REGION_CACHE/logs (the newest 50 are kept).
default_log() {
	local dir=$REGION_CACHE/logs
	mkdir -p "$dir"
	ls -1t "$dir"/guest-*.log 2>/dev/null | tail -n +50 | xargs -r rm -f
	echo "$dir/guest-$(date -u +%Y%m%d-%H%M%S)-$$.log"
}

main() {
	parse_args "$@"
	START=$SECONDS QEMU_PID='' TAIL_PID='' IO_PIDS=()
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	pick_accel
	find_kernel
	[ -n "$LOGFILE" ] || LOGFILE=$(default_log)
	mkdir -p "$(dirname "$LOGFILE")"
	WORK=$(mktemp -d)
	prepare_image
	if [ -n "$FROM_SNAPSHOT" ]; then
		use_snapshot
	else
		build_initrd "$WORK/initrd.cpio"
		CMDLINE=$(kernel_cmdline)
	fi
	[ -z "$SAVE_SNAPSHOT" ] || { mkdir -p "$SAVE_SNAPSHOT"; rm -f "$SAVE_SNAPSHOT/vmstate"; }
	qemu_command
	log "${FROM_SNAPSHOT:+resuming $FROM_SNAPSHOT, }booting ($ACCEL, ${MEM} RAM, $SMP CPUs, NVDIMM ${IMAGE_MIB}M $IMAGE${MEMMAP:+, memmap $MEMMAP}, timeout ${TIMEOUT}s)"
	run_qemu
	judge
}

main "$@"
