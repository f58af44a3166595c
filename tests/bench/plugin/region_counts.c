// SPDX-License-Identifier: GPL-2.0
/*
 * region_counts - a QEMU TCG plugin that counts, machine-wide (every vCPU, kernel and user),
 * what the benchmarks rank designs by: guest instructions (and those of them in the kernel half
 * of the address space), `syscall` instructions, clwb, clflushopt, clflush, sfence, mfence, and
 * the bytes stored by non-temporal stores (movnti, movntq, movntdq, movntps, movntpd, their VEX
 * and EVEX forms, maskmovq/maskmovdqu; rep movs/stos are not non-temporal). At each benchmark
 * marker instruction it appends one line with the running totals to its output file:
 *
 *   PLUGIN region-counts mode=tb vcpus=2                      (when loaded)
 *   MARK BEGIN seq=1 vcpu=0 hostns=N insns=N kinsns=N syscalls=N clwb=N clflushopt=N clflush=N
 *        sfence=N mfence=N ntbytes=N                           (one line per marker)
 *   EXIT ...the same counters...                               (when QEMU exits normally)
 *
 * The markers are the protocol's (tests/bench/counts.h): BEGIN is the 7 bytes
 * 0f 1f 80 42 4e 47 52 (nopl 0x52474e42(%rax)), END 0f 1f 80 45 4e 47 52. hostns is the host's
 * CLOCK_MONOTONIC at the marker, for the report's check that a marker pair and a COUNTS line
 * belong together.
 *
 * Exactness under MTTCG: every counter is per vCPU (each vCPU thread adds only to its own, in
 * its own cache line; a marker sums them all), and every count comes from a callback that passes
 * the vCPU index. Inline adds, the cheap way, all go to one shared word in QEMU 7.2 and lose
 * counts when two vCPU threads add at once.
 *
 * Instructions are counted per translation block by default (mode=tb): a callback at the start of
 * each block adds its length. A marker subtracts the instructions of its block that follow it, so
 * code between two markers is counted exactly. A block left early by an exception (a page fault
 * on a load or store in its middle) has its remaining instructions counted although they did not
 * run: at most a block's length (typically 3-10) per fault. mode=exact counts each instruction
 * with its own callback (no such excess but the faulting instruction's first attempt; the guest
 * runs several times slower). The other counters use per-instruction callbacks on just the
 * instructions concerned: clwb, clflushopt, clflush and the fences cannot fault under TCG (they
 * touch no memory), and non-temporal bytes are counted by memory callbacks, which QEMU calls
 * after the store succeeded.
 *
 * Arguments: out=FILE (required; lines are appended), mode=tb|exact.
 *   qemu-system-x86_64 -plugin ./libregion_counts.so,out=/tmp/marks.txt ...
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

/* The counters, in the order they are printed. */
enum counter {
	C_INSNS,
	C_KINSNS,
	C_SYSCALL,
	C_CLWB,
	C_CLFLUSHOPT,
	C_CLFLUSH,
	C_SFENCE,
	C_MFENCE,
	C_NTBYTES,
	C_COUNT
};

static const char *const counter_names[C_COUNT] = {
	"insns", "kinsns", "syscalls", "clwb", "clflushopt", "clflush", "sfence", "mfence", "ntbytes",
};

/* One vCPU's counters, alone in its cache lines. */
struct vcpu_counts {
	uint64_t c[C_COUNT];
} __attribute__((aligned(64)));

/* What an instruction is to this plugin. */
enum insn_kind {
	K_OTHER,
	K_SYSCALL,
	K_CLWB,
	K_CLFLUSHOPT,
	K_CLFLUSH,
	K_SFENCE,
	K_MFENCE,
	K_NTSTORE,
	K_BEGIN,
	K_END,
};

static struct vcpu_counts *vcpus;
static int nvcpus;
/* Counts of a vCPU index beyond the ones allocated (never expected): added atomically. */
static struct vcpu_counts overflow;
static int exact;
static FILE *out;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t marks;

/* Adds @n to counter @k of vCPU @vcpu (only that vCPU's thread adds to its counters). */
static inline void add(unsigned int vcpu, enum counter k, uint64_t n)
{
	if (vcpu < (unsigned int)nvcpus) {
		uint64_t *p = &vcpus[vcpu].c[k];

		__atomic_store_n(p, *p + n, __ATOMIC_RELAXED);
	} else {
		__atomic_fetch_add(&overflow.c[k], n, __ATOMIC_RELAXED);
	}
}

/* The TB callback (mode=tb): userdata holds the block's length << 1 | whether it is kernel code. */
static void on_tb(unsigned int vcpu, void *udata)
{
	uintptr_t u = (uintptr_t)udata;

	add(vcpu, C_INSNS, u >> 1);
	if (u & 1)
		add(vcpu, C_KINSNS, u >> 1);
}

/* The instruction callback (mode=exact): userdata says whether it is kernel code. */
static void on_insn(unsigned int vcpu, void *udata)
{
	add(vcpu, C_INSNS, 1);
	if ((uintptr_t)udata)
		add(vcpu, C_KINSNS, 1);
}

/* A counted instruction: userdata is its counter. */
static void on_event(unsigned int vcpu, void *udata)
{
	add(vcpu, (enum counter)(uintptr_t)udata, 1);
}

/* A non-temporal store's memory access (called after it succeeded). */
static void on_nt_store(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata)
{
	(void)vaddr;
	(void)udata;
	if (qemu_plugin_mem_is_store(info))
		add(vcpu, C_NTBYTES, 1ULL << qemu_plugin_mem_size_shift(info));
}

/* The running totals over all vCPUs, into @sum. */
static void totals(uint64_t sum[C_COUNT])
{
	int v, k;

	for (k = 0; k < C_COUNT; k++)
		sum[k] = __atomic_load_n(&overflow.c[k], __ATOMIC_RELAXED);
	for (v = 0; v < nvcpus; v++)
		for (k = 0; k < C_COUNT; k++)
			sum[k] += __atomic_load_n(&vcpus[v].c[k], __ATOMIC_RELAXED);
}

static void print_counters(const uint64_t sum[C_COUNT])
{
	int k;

	for (k = 0; k < C_COUNT; k++)
		fprintf(out, " %s=%" PRIu64, counter_names[k], sum[k]);
	fputc('\n', out);
	fflush(out);
}

/*
 * A marker: userdata holds its kind (bits 0-7), whether its block is kernel code (bit 8), and
 * (mode=tb) the number of instructions of its block after it (bits 16 up), which on_tb counted
 * already and which have not run yet.
 */
static void on_mark(unsigned int vcpu, void *udata)
{
	uintptr_t u = (uintptr_t)udata;
	uint64_t sum[C_COUNT], later = u >> 16;
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	totals(sum);
	sum[C_INSNS] -= later;
	if (u & 0x100)
		sum[C_KINSNS] -= later;
	pthread_mutex_lock(&out_lock);
	fprintf(out, "MARK %s seq=%" PRIu64 " vcpu=%u hostns=%" PRIu64, (u & 0xff) == K_BEGIN ? "BEGIN" : "END", ++marks,
		vcpu, (uint64_t)t.tv_sec * UINT64_C(1000000000) + (uint64_t)t.tv_nsec);
	print_counters(sum);
	pthread_mutex_unlock(&out_lock);
}

/*
 * Classifies the x86-64 instruction in @p (@n bytes): legacy prefixes, REX, the 0F map with VEX
 * (C4/C5) and EVEX (62) forms. Everything the plugin does not count is K_OTHER.
 */
static enum insn_kind classify(const uint8_t *p, size_t n)
{
	static const uint8_t begin[7] = { 0x0f, 0x1f, 0x80, 0x42, 0x4e, 0x47, 0x52 };
	static const uint8_t end[7] = { 0x0f, 0x1f, 0x80, 0x45, 0x4e, 0x47, 0x52 };
	int p66 = 0, prep = 0, vex = 0, pp = 0, map = 0;
	size_t i = 0;
	uint8_t op, modrm;

	if (n == sizeof(begin) && !memcmp(p, begin, n))
		return K_BEGIN;
	if (n == sizeof(end) && !memcmp(p, end, n))
		return K_END;
	for (; i < n; i++) {
		if (p[i] == 0x66)
			p66 = 1;
		else if (p[i] == 0xf2 || p[i] == 0xf3)
			prep = 1;
		else if (p[i] != 0xf0 && p[i] != 0x2e && p[i] != 0x36 && p[i] != 0x3e && p[i] != 0x26 && p[i] != 0x64 &&
			 p[i] != 0x65 && p[i] != 0x67)
			break;
	}
	if (i < n && (p[i] & 0xf0) == 0x40) /* REX */
		i++;
	if (i >= n)
		return K_OTHER;
	if (p[i] == 0xc5 && i + 2 < n) { /* two-byte VEX: map 0F */
		vex = 1;
		pp = p[i + 1] & 3;
		map = 1;
		i += 2;
	} else if (p[i] == 0xc4 && i + 3 < n) { /* three-byte VEX */
		vex = 1;
		map = p[i + 1] & 0x1f;
		pp = p[i + 2] & 3;
		i += 3;
	} else if (p[i] == 0x62 && i + 4 < n) { /* EVEX */
		vex = 1;
		map = p[i + 1] & 7;
		pp = p[i + 2] & 3;
		i += 4;
	} else if (p[i] == 0x0f && i + 1 < n) {
		map = 1;
		i++;
	}
	if (map != 1 || i >= n)
		return K_OTHER;
	op = p[i];
	modrm = i + 1 < n ? p[i + 1] : 0;
	if (vex) {
		/* vmovntps (pp 0), vmovntpd (pp 1): 2B; vmovntdq (pp 1): E7. */
		if ((op == 0x2b && pp <= 1) || (op == 0xe7 && pp == 1))
			return (modrm >> 6) != 3 ? K_NTSTORE : K_OTHER;
		return K_OTHER;
	}
	switch (op) {
	case 0x05:
		return K_SYSCALL;
	case 0xae:
		if (i + 1 >= n)
			return K_OTHER;
		if ((modrm >> 6) != 3) {
			int reg = (modrm >> 3) & 7;

			if (reg == 6 && p66 && !prep)
				return K_CLWB;
			if (reg == 7 && p66 && !prep)
				return K_CLFLUSHOPT;
			if (reg == 7 && !p66 && !prep)
				return K_CLFLUSH;
			return K_OTHER;
		}
		if (p66 || prep)
			return K_OTHER;
		if (modrm >= 0xf8)
			return K_SFENCE;
		if (modrm >= 0xf0)
			return K_MFENCE;
		return K_OTHER;
	case 0xc3: /* movnti */
	case 0x2b: /* movntps, movntpd (and AMD's movntss/movntsd with F3/F2) */
	case 0xe7: /* movntq, movntdq */
		return i + 1 < n && (modrm >> 6) != 3 ? K_NTSTORE : K_OTHER;
	case 0xf7: /* maskmovq, maskmovdqu: byte-masked non-temporal stores to [rdi] */
		return K_NTSTORE;
	default:
		return K_OTHER;
	}
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb), i;
	uintptr_t kernel = qemu_plugin_tb_vaddr(tb) >> 63;

	(void)id;
	if (!exact)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb, QEMU_PLUGIN_CB_NO_REGS, (void *)((n << 1) | kernel));
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		enum insn_kind kind = classify(qemu_plugin_insn_data(insn), qemu_plugin_insn_size(insn));
		enum counter c = C_COUNT;

		if (exact)
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn, QEMU_PLUGIN_CB_NO_REGS, (void *)kernel);
		switch (kind) {
		case K_OTHER:
			break;
		case K_SYSCALL:
			c = C_SYSCALL;
			break;
		case K_CLWB:
			c = C_CLWB;
			break;
		case K_CLFLUSHOPT:
			c = C_CLFLUSHOPT;
			break;
		case K_CLFLUSH:
			c = C_CLFLUSH;
			break;
		case K_SFENCE:
			c = C_SFENCE;
			break;
		case K_MFENCE:
			c = C_MFENCE;
			break;
		case K_NTSTORE:
			qemu_plugin_register_vcpu_mem_cb(insn, on_nt_store, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_W, NULL);
			break;
		case K_BEGIN:
		case K_END: {
			uintptr_t later = exact ? 0 : n - i - 1;

			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS,
							       (void *)((later << 16) | (kernel << 8) | kind));
			break;
		}
		}
		if (c != C_COUNT)
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_event, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)c);
	}
}

static void plugin_exit(qemu_plugin_id_t id, void *udata)
{
	uint64_t sum[C_COUNT];

	(void)id;
	(void)udata;
	totals(sum);
	pthread_mutex_lock(&out_lock);
	fprintf(out, "EXIT marks=%" PRIu64, marks);
	print_counters(sum);
	pthread_mutex_unlock(&out_lock);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	const char *path = NULL;
	int i;

	if (info->system_emulation == 0 || strcmp(info->target_name, "x86_64")) {
		fprintf(stderr, "region_counts: only for qemu-system-x86_64 (this is %s)\n", info->target_name);
		return -1;
	}
	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4)) {
			path = argv[i] + 4;
		} else if (!strcmp(argv[i], "mode=exact")) {
			exact = 1;
		} else if (!strcmp(argv[i], "mode=tb")) {
			exact = 0;
		} else {
			fprintf(stderr, "region_counts: unknown argument '%s' (out=FILE, mode=tb|exact)\n", argv[i]);
			return -1;
		}
	}
	if (!path) {
		fprintf(stderr, "region_counts: no out=FILE given\n");
		return -1;
	}
	out = fopen(path, "a");
	if (!out) {
		perror(path);
		return -1;
	}
	nvcpus = info->system.max_vcpus > 0 ? info->system.max_vcpus : 1;
	vcpus = aligned_alloc(64, sizeof(*vcpus) * (size_t)nvcpus);
	if (!vcpus) {
		fprintf(stderr, "region_counts: out of memory\n");
		return -1;
	}
	memset(vcpus, 0, sizeof(*vcpus) * (size_t)nvcpus);
	fprintf(out, "PLUGIN region-counts mode=%s vcpus=%d\n", exact ? "exact" : "tb", nvcpus);
	fflush(out);
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
