// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz.c - a seeded fuzzer of the Region System's kernel interface, for the guest running the
 * fuzz kernel (KASAN, UBSAN, lockdep, DEBUG_VM, kmemleak), where any kernel report fails the run.
 *
 *   fuzz [-v] SEED CALLS
 *
 * Expects region.ko loaded and /dev/region open to everyone (mode 0666). Forks WORKERS processes;
 * each opens what it needs as root, then becomes its own uid (0, 1000, 2000, 1000) and runs random
 * steps until the workers together have made CALLS system calls. A step is one of:
 *
 *  - a hostile ioctl: every ioctl number of <linux/region.h>, malformed numbers and a few generic
 *    ones, on every kind of descriptor (/dev/region read-write, read-only, write-only and one
 *    opened before the uid changed; region fds read-write and read-only; /dev/null; a closed fd),
 *    with hostile arguments: NULL, kernel and non-canonical addresses, a PROT_NONE page, structs
 *    straddling the end of a mapping into a PROT_NONE page, a read-only page, pointers into region
 *    mappings, misaligned ones, and structs holding boundary sizes (0, 1, page-1, huge, 1<<63,
 *    ~0), names of 0, 63 and 64 bytes (without NUL, so the name runs into the next field), bad
 *    names, nonzero flags and reserved fields, or plain garbage;
 *  - a valid operation on a few region names all workers share: create, open, close, mmap
 *    (shared, and some odd ways), stores and loads, PMSYNC, PMSYNC_ALL, resize both ways (while
 *    mapped), delete, fork with stores in the child (or with a child killed at a random instant
 *    amid its own steps), mremap, mprotect, madvise, munmap, queries,
 *    plain file system calls on region fds, and letting go of every fd and mapping at once.
 *
 * Seeded: worker i's generator starts from (SEED, i) and advances by exactly one draw per step
 * (each step draws what it needs from a generator of its own seeded by that draw), so a seed gives
 * every worker the same sequence of steps whatever the kernel answers. What a step finds (another
 * worker's regions, mappings that a failed call did not make) can differ between runs.
 *
 * Stores and loads run under a SIGBUS/SIGSEGV guard (sigsetjmp): a region shrunk or deleted under
 * a mapping, or a mapping made read-only, legitimately faults; those are counted. A fault outside
 * the guard, a worker (or its forked child) that dies or exits non-zero, or no progress for
 * STALL_SECS seconds (a hung kernel) is a failure: the worker's step and operation are printed.
 * -v prints every step before it runs (to pin down a kernel report to the step that caused it).
 *
 * Prints the total calls, calls per second, a table of operations (tried, succeeded) and one TAP
 * line "ok 1 fuzz: N calls, R calls/s, seed S" (no plan: the guest script that runs it prints
 * one). Exits 0, or 1 on a failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fs.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "region.h"

#define PAGE 4096UL
#define WORKERS 4
#define NAMES 4     /* region names the workers share: fuzz0 .. fuzz3 */
#define MAX_FILES 6 /* region fds a worker holds at most */
#define MAX_MAPS 6  /* mappings a worker holds at most */
#define CLOSED_FD 900
#define STALL_SECS 180
#define SCRATCH (64 * 1024)
#define NR_ERRNOS 134 /* errno values counted per operation (0: nothing to act on, or a fault) */

#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

static const uid_t uids[WORKERS] = { 0, 1000, 2000, 1000 };

/* ---- the generator: splitmix64 ---- */

struct rng {
	uint64_t s;
};

static uint64_t next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A number in [0, n). */
static uint64_t pick(struct rng *r, uint64_t n)
{
	return next(r) % n;
}

#define PICK(r, array) ((array)[pick(r, sizeof(array) / sizeof((array)[0]))])

/* ---- what the workers share with the parent ---- */

enum op_id {
	OP_HOSTILE_IOCTL,
	OP_CREATE,
	OP_OPEN,
	OP_CLOSE,
	OP_MMAP,
	OP_MUNMAP,
	OP_STORE,
	OP_LOAD,
	OP_PMSYNC,
	OP_PMSYNC_ALL,
	OP_RESIZE,
	OP_DELETE,
	OP_FORK,
	OP_MREMAP,
	OP_MPROTECT,
	OP_MADVISE,
	OP_QUERY,
	OP_FILE_CALLS,
	OP_FORMAT,
	OP_LET_GO,
	OP_WRITE,
	NR_OPS
};

struct worker_stats {
	uint64_t calls;       /* system calls made so far (forked children's included) */
	uint64_t steps;
	uint64_t segv, bus;   /* faults caught by the guard */
	int op;               /* the step running now */
	uint64_t tried[NR_OPS], succeeded[NR_OPS];
	uint32_t errnos[NR_OPS][NR_ERRNOS]; /* how each operation failed */
};

static struct worker_stats *stats; /* WORKERS of them, in shared memory */

/* ---- one worker's state (each worker is its own process) ---- */

struct rfile {
	int fd; /* -1: free slot */
	int writable;
};

struct map {
	char *addr; /* NULL: free slot */
	size_t len;
	int prot; /* -1 once only part of it was mprotect()ed */
};

static struct {
	int id;
	int verbose;
	struct worker_stats *st;
	struct rng rng;
	int dev_rw, dev_ro, dev_wo, dev_root, null_fd;
	struct rfile files[MAX_FILES];
	struct map maps[MAX_MAPS];
	char *fence;   /* two pages: read-write, then PROT_NONE */
	char *ro_page; /* one PROT_READ page */
	unsigned char *scratch;
} w;

/* CALL(expr): one system call, counted. */
#define CALL(expr) (w.st->calls++, (expr))

static const char *const op_names[NR_OPS] = {
	"hostile_ioctl", "create", "open", "close", "mmap", "munmap", "store", "load", "pmsync",
	"pmsync_all", "resize", "delete", "fork", "mremap", "mprotect", "madvise", "query",
	"file_calls", "format", "let_go", "write",
};

/* How often each step is picked, out of the sum. */
static const unsigned op_weights[NR_OPS] = {
	[OP_HOSTILE_IOCTL] = 40, [OP_CREATE] = 4, [OP_OPEN] = 8, [OP_CLOSE] = 3, [OP_MMAP] = 8,
	[OP_MUNMAP] = 2, [OP_STORE] = 10, [OP_LOAD] = 3, [OP_PMSYNC] = 4, [OP_PMSYNC_ALL] = 2,
	[OP_RESIZE] = 3, [OP_DELETE] = 2, [OP_FORK] = 1, [OP_MREMAP] = 2, [OP_MPROTECT] = 2,
	[OP_MADVISE] = 3, [OP_QUERY] = 3, [OP_FILE_CALLS] = 2, [OP_FORMAT] = 1, [OP_LET_GO] = 1,
	[OP_WRITE] = 8,
};

static void name_of(char *buf, int i)
{
	snprintf(buf, REGION_NAME_MAX, "fuzz%d", i);
}

/* ---- the fault guard ---- */

static sigjmp_buf fault_env;
static volatile sig_atomic_t fault_armed;

static void on_fault(int sig)
{
	if (fault_armed) {
		fault_armed = 0;
		siglongjmp(fault_env, sig);
	}
	/* Not in a guarded access: a real crash. The faulting access repeats and kills us. */
	signal(sig, SIG_DFL);
}

static void count_fault(int sig)
{
	if (sig == SIGBUS)
		w.st->bus++;
	else
		w.st->segv++;
}

/*
 * touch - @n accesses to mapping @m at the word offsets in @offs (stores of @val when @write,
 * loads otherwise), under the guard. Kinds of store: @how 0 plain, 1 a whole page (memset),
 * 2 an atomic add. Returns 1 if they all went through, 0 if a fault stopped them.
 */
static int touch(const struct map *m, const size_t *offs, int n, int write, int how, uint64_t val)
{
	volatile uint64_t *base = (volatile uint64_t *)m->addr;
	uint64_t sum = 0;
	int i, sig;

	sig = sigsetjmp(fault_env, 1);
	if (sig) {
		count_fault(sig);
		return 0;
	}
	fault_armed = 1;
	for (i = 0; i < n; i++) {
		volatile uint64_t *p = base + offs[i];

		if (!write)
			sum += *p;
		else if (how == 1)
			memset((void *)((uintptr_t)p & ~(PAGE - 1)), (int)val, PAGE);
		else if (how == 2)
			__atomic_fetch_add((uint64_t *)p, 1, __ATOMIC_SEQ_CST);
		else
			*p = val;
	}
	fault_armed = 0;
	(void)sum;
	return 1;
}

/* Copy @n bytes to @dst, which may be region memory, under the guard; 1 if it went through. */
static int guarded_copy(void *dst, const void *src, size_t n)
{
	int sig = sigsetjmp(fault_env, 1);

	if (sig) {
		count_fault(sig);
		return 0;
	}
	fault_armed = 1;
	memcpy(dst, src, n);
	fault_armed = 0;
	return 1;
}

/* ---- picking descriptors, mappings, sizes, names ---- */

static struct rfile *pick_file(struct rng *r)
{
	int i, start = (int)pick(r, MAX_FILES);

	for (i = 0; i < MAX_FILES; i++)
		if (w.files[(start + i) % MAX_FILES].fd >= 0)
			return &w.files[(start + i) % MAX_FILES];
	return NULL;
}

static struct map *pick_map(struct rng *r)
{
	int i, start = (int)pick(r, MAX_MAPS);

	for (i = 0; i < MAX_MAPS; i++)
		if (w.maps[(start + i) % MAX_MAPS].addr)
			return &w.maps[(start + i) % MAX_MAPS];
	return NULL;
}

/* Mostly a writable mapping (where stores go through), else any. */
static struct map *pick_writable_map(struct rng *r)
{
	int i, start = (int)pick(r, MAX_MAPS);

	if (pick(r, 4) == 0)
		return pick_map(r);
	for (i = 0; i < MAX_MAPS; i++) {
		struct map *m = &w.maps[(start + i) % MAX_MAPS];

		if (m->addr && m->prot > 0 && (m->prot & PROT_WRITE))
			return m;
	}
	return pick_map(r);
}

static struct map *free_map(void)
{
	int i;

	for (i = 0; i < MAX_MAPS; i++)
		if (!w.maps[i].addr)
			return &w.maps[i];
	return NULL;
}

/* A region fd, read-write (@writable 1), read-only (0) or either (-1), or -1 if none is open. */
static int region_fd(struct rng *r, int writable)
{
	int i, start = (int)pick(r, MAX_FILES);

	for (i = 0; i < MAX_FILES; i++) {
		struct rfile *f = &w.files[(start + i) % MAX_FILES];

		if (f->fd >= 0 && (writable < 0 || f->writable == writable))
			return f->fd;
	}
	return -1;
}

/* Any kind of descriptor: the control device opened four ways, regions, /dev/null, a closed fd. */
static int hostile_fd(struct rng *r)
{
	int fd;

	switch (pick(r, 10)) {
	case 0: case 1: return w.dev_rw;
	case 2: return w.dev_ro;
	case 3: return w.dev_wo;
	case 4: return w.dev_root;
	case 5: fd = region_fd(r, 1); return fd >= 0 ? fd : w.dev_rw;
	case 6: fd = region_fd(r, 0); return fd >= 0 ? fd : w.dev_ro;
	case 7: return w.null_fd;
	case 8: return CLOSED_FD;
	default: return -1;
	}
}

static uint64_t hostile_size(struct rng *r)
{
	static const uint64_t sizes[] = {
		0, 1, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE, 1 << 20, 1ULL << 30, 1ULL << 40, 1ULL << 47,
		1ULL << 62, 1ULL << 63, UINT64_MAX, UINT64_MAX - PAGE + 1, UINT64_MAX - PAGE,
		(UINT64_MAX / PAGE) * PAGE, UINT32_MAX, (uint64_t)UINT32_MAX + 1,
	};

	return pick(r, 8) ? PICK(r, sizes) : next(r) >> pick(r, 64);
}

/* Sizes valid operations use: a few pages, rarely a non-multiple of the page or 256 pages. */
static uint64_t small_size(struct rng *r)
{
	switch (pick(r, 8)) {
	case 0: return 1 + pick(r, 3 * PAGE);
	case 1: return 256 * PAGE;
	default: return (1 + pick(r, 16)) * PAGE;
	}
}

static uint32_t hostile_u32(struct rng *r)
{
	static const uint32_t values[] = { 0, 0, 0, 1, 2, 3, 0x80, 0x80000000, UINT32_MAX };

	return pick(r, 8) ? PICK(r, values) : (uint32_t)next(r);
}

static uint32_t hostile_mode(struct rng *r)
{
	static const uint32_t modes[] = { 0, 0400, 0600, 0644, 0666, 0777, 01777, 04755, 01000,
					  0xffff, UINT32_MAX };

	return PICK(r, modes);
}

/* A 64-byte name field: valid shared names, and every kind of bad one. */
static void hostile_name(char *name, struct rng *r)
{
	static const char *const odd[] = { "", "a/b", "/", ".", "..", "fuzz0\n", " fuzz1",
					   "\xff\xfe\x80", "fuzz2/", "\x01" };
	int i, n;

	memset(name, 0, REGION_NAME_MAX);
	switch (pick(r, 10)) {
	case 0: case 1: case 2: case 3:
		name_of(name, (int)pick(r, NAMES));
		break;
	case 4: /* 63 bytes and a NUL: the longest name */
		memset(name, 'a' + (int)pick(r, 3), REGION_NAME_MAX - 1);
		break;
	case 5: /* 64 bytes, no NUL: runs into the next field */
		memset(name, 'a' + (int)pick(r, 3), REGION_NAME_MAX);
		break;
	case 6: /* a valid name, then garbage after its NUL */
		name_of(name, (int)pick(r, NAMES));
		for (i = 8; i < REGION_NAME_MAX; i++)
			name[i] = (char)next(r);
		break;
	case 7: /* random bytes, with or without a NUL */
		n = 1 + (int)pick(r, REGION_NAME_MAX);
		for (i = 0; i < n; i++)
			name[i] = (char)(1 + pick(r, 255));
		break;
	default:
		strcpy(name, PICK(r, odd));
	}
}

/* Sometimes one nonzero byte somewhere in a reserved area. */
static void poke(void *reserved, size_t len, struct rng *r)
{
	if (pick(r, 4) == 0)
		((unsigned char *)reserved)[pick(r, len)] = (unsigned char)(1 + pick(r, 255));
}

/*
 * A user pointer the kernel must not reach: NULL, kernel addresses, non-canonical ones, the
 * PROT_NONE page. Never memory this worker uses (the kernel may write through it).
 */
static uint64_t bad_pointer(struct rng *r)
{
	static const uint64_t ptrs[] = {
		0, 8, 0x1000, 0xffff888000000000ULL, 0xffffffff81000000ULL, 0xffffc90000000000ULL,
		0xffffea0000000000ULL, 0x8000000000000000ULL, 0x0000800000000000ULL, UINT64_MAX,
		UINT64_MAX - 7,
	};

	return pick(r, 5) ? PICK(r, ptrs) : (uint64_t)(uintptr_t)(w.fence + PAGE + pick(r, PAGE));
}

/* The list array of REGION_IOC_LIST: a pointer and a capacity that never reach our own memory. */
static void hostile_list(struct region_list_args *a, struct rng *r)
{
	const size_t each = sizeof(struct region_stat);
	struct map *m;
	uint64_t k;

	switch (pick(r, 6)) {
	case 0: /* unreachable memory, any capacity */
		a->entries = bad_pointer(r);
		a->capacity = hostile_u32(r);
		break;
	case 1: /* k entries fit before the PROT_NONE page; ask for more */
		k = pick(r, 4);
		a->entries = (uint64_t)(uintptr_t)(w.fence + PAGE - k * each);
		a->capacity = (uint32_t)(k + pick(r, 3)) + (pick(r, 4) ? 0 : UINT32_MAX / 2);
		break;
	case 2: /* the read-only page */
		a->entries = (uint64_t)(uintptr_t)w.ro_page;
		a->capacity = (uint32_t)(PAGE / each);
		break;
	case 3: /* inside a region mapping */
		m = pick_map(r);
		if (m) {
			a->entries = (uint64_t)(uintptr_t)m->addr;
			a->capacity = (uint32_t)(m->len / each);
			break;
		}
		/* fall through */
	default: /* the scratch buffer, misaligned sometimes */
		a->entries = (uint64_t)(uintptr_t)(w.scratch + SCRATCH / 2 + pick(r, 8));
		a->capacity = (uint32_t)pick(r, (SCRATCH / 2 - 8) / each + 1);
	}
	a->count = hostile_u32(r);
	poke(a->reserved, sizeof(a->reserved), r);
}

union args {
	struct region_device_info info;
	struct region_create_args create;
	struct region_open_args open;
	struct region_name_args name;
	struct region_stat stat;
	struct region_list_args list;
	struct region_resize_args resize;
	struct region_layout layout;
	struct region_format_args format;
	unsigned char bytes[512];
};

/* The argument structure of @cmd with hostile contents (or plain garbage). */
static void hostile_args(union args *a, unsigned long cmd, struct rng *r)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	if (pick(r, 8) == 0) {
		for (i = 0; i < sizeof(*a); i++)
			a->bytes[i] = (unsigned char)next(r);
		return;
	}
	switch (cmd) {
	case REGION_IOC_DEVICE_INFO:
		a->info.flags = hostile_u32(r);
		break;
	case REGION_IOC_CREATE:
		hostile_name(a->create.name, r);
		a->create.size = pick(r, 3) ? small_size(r) : hostile_size(r);
		a->create.mode = hostile_mode(r);
		a->create.flags = hostile_u32(r);
		poke(a->create.reserved, sizeof(a->create.reserved), r);
		break;
	case REGION_IOC_OPEN:
		hostile_name(a->open.name, r);
		a->open.flags = hostile_u32(r);
		a->open.reserved32 = pick(r, 4) ? 0 : hostile_u32(r);
		poke(a->open.reserved, sizeof(a->open.reserved), r);
		break;
	case REGION_IOC_DELETE:
		hostile_name(a->name.name, r);
		poke(a->name.reserved, sizeof(a->name.reserved), r);
		break;
	case REGION_IOC_STAT:
		hostile_name(a->stat.name, r);
		poke(a->stat.reserved, sizeof(a->stat.reserved), r);
		break;
	case REGION_IOC_LIST:
		hostile_list(&a->list, r);
		break;
	case REGION_IOC_RESIZE:
		hostile_name(a->resize.name, r);
		a->resize.size = pick(r, 3) ? small_size(r) : hostile_size(r);
		poke(a->resize.reserved, sizeof(a->resize.reserved), r);
		break;
	case REGION_IOC_LAYOUT:
		if (pick(r, 4))
			hostile_name(a->layout.name, r);
		break;
	case REGION_IOC_FORMAT:
		a->format.flags = hostile_u32(r);
		a->format.reserved32 = pick(r, 4) ? 0 : hostile_u32(r);
		poke(a->format.reserved, sizeof(a->format.reserved), r);
		break;
	default: /* output only, or not ours: garbage */
		for (i = 0; i < sizeof(*a); i++)
			a->bytes[i] = (unsigned char)next(r);
	}
}

static const unsigned long region_cmds[] = {
	REGION_IOC_DEVICE_INFO, REGION_IOC_CREATE, REGION_IOC_OPEN, REGION_IOC_DELETE,
	REGION_IOC_STAT, REGION_IOC_LIST, REGION_IOC_RESIZE, REGION_IOC_LAYOUT,
	REGION_IOC_COUNTERS, REGION_IOC_PMSYNC_ALL, REGION_IOC_FORMAT, REGION_IOC_FSTAT,
	REGION_IOC_PMSYNC, REGION_IOC_WRITE,
};

/* An ioctl number: one of ours, one of ours malformed, a generic one, or garbage. */
static unsigned long hostile_cmd(struct rng *r)
{
	static const unsigned long generic[] = { FIONREAD, FIGETBSZ, FIONBIO, FIOCLEX, TCGETS,
						 FS_IOC_GETFLAGS, FS_IOC_GETVERSION };
	unsigned long c = PICK(r, region_cmds);

	switch (pick(r, 16)) {
	case 0: /* right number, wrong size */
		return _IOC(_IOC_DIR(c), REGION_IOC_MAGIC, _IOC_NR(c), pick(r, 1 << 14));
	case 1: /* right number, wrong direction */
		return _IOC(pick(r, 4), REGION_IOC_MAGIC, _IOC_NR(c), _IOC_SIZE(c));
	case 2: /* numbers of ours that mean nothing */
		return _IOC(_IOC_DIR(c), REGION_IOC_MAGIC, 0x0b + pick(r, 0xf4), _IOC_SIZE(c));
	case 3:
		return PICK(r, generic);
	case 4:
		return (uint32_t)next(r);
	default:
		return c;
	}
}

/* ---- the steps: each returns 1 if its main call succeeded, 0 otherwise ---- */

/* Keep a region fd a call handed us, or close it when every slot is taken. */
static void adopt_fd(int fd, int writable)
{
	int i;

	for (i = 0; i < MAX_FILES; i++) {
		if (w.files[i].fd < 0) {
			w.files[i].fd = fd;
			w.files[i].writable = writable;
			return;
		}
	}
	CALL(close(fd));
}

static int op_hostile_ioctl(struct rng *r)
{
	union args a;
	unsigned long cmd = hostile_cmd(r);
	int fd = hostile_fd(r), ret;
	size_t size = sizeof(union args), k;
	unsigned char *arg;
	struct map *m;

	if (_IOC_TYPE(cmd) == REGION_IOC_MAGIC && _IOC_SIZE(cmd) && _IOC_SIZE(cmd) < size)
		size = _IOC_SIZE(cmd);
	hostile_args(&a, cmd, r);
	switch (pick(r, 10)) {
	case 0: case 1: /* unreachable */
		arg = (unsigned char *)(uintptr_t)bad_pointer(r);
		break;
	case 2: /* straddling the end of the mapping: the tail lies in the PROT_NONE page */
		k = 1 + pick(r, size);
		arg = (unsigned char *)w.fence + PAGE - size + k;
		memcpy(arg, &a, size - k);
		break;
	case 3: /* ending exactly at the PROT_NONE page */
		arg = (unsigned char *)w.fence + PAGE - size;
		memcpy(arg, &a, size);
		break;
	case 4: /* the read-only page: readable, not writable */
		arg = (unsigned char *)w.ro_page;
		break;
	case 5: /* inside a region mapping: the kernel faults on region memory during the call */
		m = pick_map(r);
		if (m && m->len >= size) {
			size_t off = pick(r, m->len - size + 1) & ~7UL;

			arg = (unsigned char *)m->addr + off;
			if (pick(r, 2)) /* the struct written there, unless that faults */
				guarded_copy(arg, &a, size);
			break;
		}
		/* fall through */
	case 6: /* misaligned */
		arg = w.scratch + 1 + pick(r, 7);
		memcpy(arg, &a, size);
		break;
	default:
		arg = w.scratch;
		memcpy(arg, &a, size);
	}
	ret = CALL(ioctl(fd, cmd, arg));
	if (ret >= 0 && cmd == REGION_IOC_OPEN)
		adopt_fd(ret, -1);
	return ret >= 0;
}

static int op_create(struct rng *r)
{
	static const unsigned modes[] = { 0600, 0644, 0666, 0660, 0640, 0400 };
	char name[REGION_NAME_MAX];

	name_of(name, (int)pick(r, NAMES));
	return CALL(region_create(w.dev_rw, name, small_size(r), PICK(r, modes))) == 0;
}

static int op_open(struct rng *r)
{
	char name[REGION_NAME_MAX];
	int writable = (int)pick(r, 2), fd;
	struct rfile *f = &w.files[pick(r, MAX_FILES)];

	name_of(name, (int)pick(r, NAMES));
	if (f->fd >= 0) { /* every slot in use: reuse this one */
		CALL(close(f->fd));
		f->fd = -1;
	}
	fd = CALL(region_open(pick(r, 8) ? w.dev_rw : w.dev_ro, name, writable ? REGION_OPEN_WRITE : 0));
	if (fd < 0)
		return 0;
	f->fd = fd;
	f->writable = writable;
	return 1;
}

static int op_close(struct rng *r)
{
	struct rfile *f = pick_file(r);
	int ret;

	if (!f)
		return 0;
	ret = CALL(close(f->fd));
	f->fd = -1;
	return ret == 0;
}

static int op_mmap(struct rng *r)
{
	static const int prots[] = { PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
				     PROT_WRITE, PROT_READ | PROT_EXEC, PROT_NONE };
	static const int flags[] = { MAP_SHARED, MAP_SHARED, MAP_SHARED, MAP_SHARED | MAP_POPULATE,
				     MAP_PRIVATE, MAP_SHARED_VALIDATE | MAP_SYNC, MAP_SHARED | MAP_NORESERVE };
	struct region_stat st;
	struct map *m = free_map();
	struct rfile *f = pick_file(r);
	int prot = PICK(r, prots), fl = PICK(r, flags), fd;
	size_t len, off;
	void *p;

	if (!m) { /* every slot in use: unmap one */
		m = &w.maps[pick(r, MAX_MAPS)];
		CALL(munmap(m->addr, m->len));
		m->addr = NULL;
	}
	fd = f ? f->fd : w.dev_rw;
	if (pick(r, 10) == 0)
		fd = pick(r, 2) ? w.dev_rw : w.null_fd;
	if (CALL(ioctl(fd, REGION_IOC_FSTAT, &st)) != 0)
		st.size = PAGE;
	switch (pick(r, 7)) {
	case 6: /* the volatile page, sometimes with the wrong length */
		len = PAGE * (pick(r, 4) ? 1 : 1 + pick(r, 3));
		off = REGION_VOLATILE_OFFSET;
		break;
	case 0: /* one page, maybe past the end */
		len = PAGE, off = pick(r, st.size / PAGE + 1) * PAGE;
		break;
	case 1: /* past the end */
		len = st.size + PAGE * (1 + pick(r, 4)), off = 0;
		break;
	case 2: len = st.size, off = pick(r, 2) * PAGE; break;
	default: len = st.size, off = 0;
	}
	if (!len)
		len = PAGE;
	p = CALL(mmap(NULL, len, prot, fl, fd, (off_t)off));
	if (p == MAP_FAILED)
		return 0;
	m->addr = p;
	m->len = len;
	m->prot = prot;
	return 1;
}

static int op_munmap(struct rng *r)
{
	struct map *m = pick_map(r);
	int ret;

	if (!m)
		return 0;
	if (m->len > PAGE && pick(r, 3) == 0) { /* the last page */
		m->len -= PAGE;
		return CALL(munmap(m->addr + m->len, PAGE)) == 0;
	}
	if (m->len > PAGE && pick(r, 3) == 0) { /* the first page */
		ret = CALL(munmap(m->addr, PAGE));
		m->addr += PAGE;
		m->len -= PAGE;
		return ret == 0;
	}
	ret = CALL(munmap(m->addr, m->len));
	m->addr = NULL;
	return ret == 0;
}

/* Random word offsets in @m: in one page or spread over the mapping. */
static int pick_offsets(const struct map *m, struct rng *r, size_t *offs, int max)
{
	int n = 1 + (int)pick(r, (uint64_t)max), i;
	size_t words = m->len / 8, page = pick(r, m->len / PAGE) * (PAGE / 8);

	for (i = 0; i < n; i++)
		offs[i] = pick(r, 2) ? page + pick(r, PAGE / 8) : pick(r, words);
	return n;
}

static int op_store(struct rng *r)
{
	struct map *m = pick_writable_map(r);
	size_t offs[16];
	int n;

	if (!m)
		return 0;
	n = pick_offsets(m, r, offs, 16);
	return touch(m, offs, n, 1, (int)pick(r, 8) == 0 ? 1 : (int)pick(r, 8) == 0 ? 2 : 0,
		     ((uint64_t)w.id << 56) | w.st->steps);
}

static int op_load(struct rng *r)
{
	struct map *m = pick_map(r);
	size_t offs[16];
	int n;

	if (!m)
		return 0;
	n = pick_offsets(m, r, offs, 16);
	return touch(m, offs, n, 0, 0, 0);
}

static int op_pmsync(struct rng *r)
{
	uint64_t epoch;
	int fd = region_fd(r, pick(r, 4) ? 1 : 0);

	if (fd < 0)
		return 0;
	return CALL(ioctl(fd, REGION_IOC_PMSYNC, &epoch)) == 0;
}

static int op_pmsync_all(struct rng *r)
{
	uint64_t count;

	return CALL(ioctl(pick(r, 4) ? w.dev_rw : w.dev_ro, REGION_IOC_PMSYNC_ALL, &count)) == 0;
}

static int op_resize(struct rng *r)
{
	char name[REGION_NAME_MAX];
	uint64_t size;

	name_of(name, (int)pick(r, NAMES));
	switch (pick(r, 4)) {
	case 0: size = PAGE; break;                      /* shrink hard */
	case 1: size = (16 + pick(r, 64)) * PAGE; break; /* grow */
	default: size = small_size(r);
	}
	return CALL(region_resize(w.dev_rw, name, size)) == 0;
}

static int op_delete(struct rng *r)
{
	char name[REGION_NAME_MAX];

	name_of(name, (int)pick(r, NAMES));
	return CALL(region_delete(pick(r, 8) ? w.dev_rw : w.dev_ro, name)) == 0;
}

/*
 * A forked child stores into the mappings it inherited, maybe commits or unmaps, and exits. Its
 * calls count in the worker's (shared) stats: the worker waits meanwhile.
 */
static void child_steps(struct rng *r)
{
	uint64_t epoch;
	size_t offs[16];
	int i, n, fd;

	for (i = 0; i < 1 + (int)pick(r, 6); i++) {
		struct map *m = pick_map(r);

		if (m) {
			n = pick_offsets(m, r, offs, 16);
			touch(m, offs, n, 1, 0, 0xc0ffee00 + (uint64_t)i);
		}
		if (pick(r, 4) == 0 && (fd = region_fd(r, -1)) >= 0)
			CALL(ioctl(fd, REGION_IOC_PMSYNC, &epoch));
		if (m && pick(r, 6) == 0) {
			CALL(munmap(m->addr, m->len));
			m->addr = NULL;
		}
	}
	w.st->calls++; /* its exit */
}

static int pick_op(struct rng *r);
static int (*const op_fns[NR_OPS])(struct rng *);

/* A doomed child runs valid steps (no forks, no formats) until its parent SIGKILLs it. */
static void doomed_steps(struct rng *r)
{
	int i;

	for (i = 0; i < 50; i++) {
		int op = pick_op(r);

		if (op != OP_FORK && op != OP_FORMAT && op != OP_HOSTILE_IOCTL)
			op_fns[op](r);
	}
}

/*
 * fork: the child stores into inherited mappings and exits, or (one time in three) runs other
 * steps until it is killed at a random instant, maybe in the middle of a kernel call.
 */
static int op_fork(struct rng *r)
{
	int status, doomed = pick(r, 3) == 0;
	pid_t pid;

	fflush(stdout);
	pid = CALL(fork());
	if (pid < 0)
		return 0;
	if (pid == 0) {
		if (doomed)
			doomed_steps(r);
		else
			child_steps(r);
		_exit(0);
	}
	if (doomed) {
		usleep((useconds_t)pick(r, 5000));
		CALL(kill(pid, SIGKILL));
	}
	if (CALL(waitpid(pid, &status, 0)) != pid) {
		fprintf(stderr, "fuzz: worker %d: waitpid: %s\n", w.id, strerror(errno));
		exit(1);
	}
	if (doomed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		return 1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "fuzz: worker %d: forked child at step %llu died (status 0x%x)\n", w.id,
			(unsigned long long)w.st->steps, status);
		exit(1);
	}
	return 1;
}

static int op_mremap(struct rng *r)
{
	struct map *m = pick_map(r);
	size_t len;
	void *p;

	if (!m)
		return 0;
	switch (pick(r, 4)) {
	case 0: len = PAGE; break;
	case 1: len = m->len + PAGE; break;
	case 2: len = m->len * 2; break;
	default: len = m->len > PAGE ? (m->len / 2 + PAGE - 1) & ~(PAGE - 1) : 2 * PAGE;
	}
	p = CALL(mremap(m->addr, m->len, len, pick(r, 4) ? MREMAP_MAYMOVE : 0));
	if (p == MAP_FAILED)
		return 0;
	m->addr = p;
	m->len = len;
	return 1;
}

static int op_mprotect(struct rng *r)
{
	static const int prots[] = { PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE, PROT_WRITE,
				     PROT_READ | PROT_EXEC };
	struct map *m = pick_map(r);
	int prot = PICK(r, prots), whole = (int)pick(r, 2);
	size_t off = whole ? 0 : pick(r, m ? m->len / PAGE : 1) * PAGE;

	if (!m)
		return 0;
	if (CALL(mprotect(m->addr + off, whole ? m->len : PAGE, prot)) != 0)
		return 0;
	m->prot = whole ? prot : -1;
	return 1;
}

static int op_madvise(struct rng *r)
{
	static const int advice[] = {
		MADV_DONTNEED, MADV_DONTNEED, MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED,
		MADV_DONTFORK, MADV_DOFORK, MADV_REMOVE, MADV_FREE, MADV_COLD, MADV_PAGEOUT,
		MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_POPULATE_READ, MADV_POPULATE_WRITE,
		MADV_DONTDUMP, MADV_WIPEONFORK, MADV_MERGEABLE,
	};
	struct map *m = pick_map(r);
	size_t off, len;

	if (!m)
		return 0;
	if (pick(r, 2)) {
		off = 0, len = m->len;
	} else {
		off = pick(r, m->len / PAGE) * PAGE;
		len = (1 + pick(r, (m->len - off) / PAGE)) * PAGE;
	}
	return CALL(madvise(m->addr + off, len, PICK(r, advice))) == 0;
}

/* Valid queries: device info, stat, fstat, list, layout, counters. */
static int op_query(struct rng *r)
{
	char name[REGION_NAME_MAX];
	union args a;
	struct region_counters c;
	struct region_stat st;
	int fd = pick(r, 4) ? w.dev_rw : w.dev_ro;

	memset(&a, 0, sizeof(a));
	name_of(name, (int)pick(r, NAMES));
	switch (pick(r, 6)) {
	case 0:
		return CALL(ioctl(fd, REGION_IOC_DEVICE_INFO, &a.info)) == 0;
	case 1:
		return CALL(region_stat(fd, name, &st)) == 0;
	case 2:
		fd = region_fd(r, -1);
		return fd >= 0 && CALL(region_fstat(fd, &st)) == 0;
	case 3:
		a.list.entries = (uint64_t)(uintptr_t)w.scratch;
		a.list.capacity = (uint32_t)pick(r, SCRATCH / sizeof(struct region_stat) + 1);
		return CALL(ioctl(fd, REGION_IOC_LIST, &a.list)) == 0;
	case 4:
		return CALL(region_layout(fd, pick(r, 2) ? name : "", &a.layout)) == 0;
	default:
		return CALL(region_counters(fd, &c)) == 0;
	}
}

/* Plain file calls on region and device fds: read, write, lseek, fsync, ftruncate, fcntl, dup. */
static int op_file_calls(struct rng *r)
{
	int fd = pick(r, 3) ? region_fd(r, -1) : w.dev_rw, ret = -1, d;

	if (fd < 0)
		fd = w.dev_ro;
	switch (pick(r, 8)) {
	case 0: ret = (int)CALL(read(fd, w.scratch, PAGE)); break;
	case 1: ret = (int)CALL(pwrite(fd, w.scratch, PAGE, (off_t)pick(r, 4) * (off_t)PAGE)); break;
	case 2: ret = (int)CALL(lseek(fd, (off_t)hostile_size(r), (int)pick(r, 5))); break;
	case 3: ret = CALL(fsync(fd)); break;
	case 4: ret = CALL(ftruncate(fd, (off_t)pick(r, 64) * (off_t)PAGE)); break;
	case 5: ret = CALL(fcntl(fd, F_SETFL, pick(r, 2) ? O_NONBLOCK : 0)); break;
	case 6: ret = CALL(fallocate(fd, 0, 0, (off_t)PAGE)); break;
	default:
		d = CALL(dup(fd));
		if (d >= 0)
			CALL(close(d));
		ret = d;
	}
	return ret >= 0;
}

/* FORMAT with valid arguments: erases everything when nothing is open (root only). */
static int op_format(struct rng *r)
{
	(void)r;
	return CALL(region_format(w.dev_rw)) == 0;
}

/* Close every region fd and unmap everything, so that deletes, shrinks and formats can succeed. */
/* Where the bytes of a write come from: ours, read-only, unreachable, or a region mapping. */
static uint64_t hostile_source(struct rng *r, uint64_t len)
{
	struct map *m;

	switch (pick(r, 8)) {
	case 0: return bad_pointer(r);
	case 1: return (uint64_t)(uintptr_t)w.ro_page;
	case 2: /* straddling into the PROT_NONE page (when @len is longer than what is left) */
		return (uint64_t)(uintptr_t)(w.fence + PAGE - pick(r, len < PAGE ? len + 1 : PAGE));
	case 3: /* a region mapping: the kernel reads region memory (it may fault) */
		m = pick_map(r);
		if (m)
			return (uint64_t)(uintptr_t)(m->addr + pick(r, m->len));
		/* fall through */
	default:
		return (uint64_t)(uintptr_t)(w.scratch + pick(r, SCRATCH / 2));
	}
}

/* REGION_IOC_WRITE with hostile ranges, counts, flags and descriptors. */
static int op_write(struct rng *r)
{
	struct region_write_range *ranges = (struct region_write_range *)(w.scratch + SCRATCH / 2);
	const uint32_t most = (SCRATCH / 2) / sizeof(*ranges);
	struct region_write_args a;
	struct region_stat st;
	int fd = pick(r, 8) ? region_fd(r, pick(r, 6) != 0) : hostile_fd(r);
	uint32_t i, n;

	if (fd < 0)
		return 0;
	if (CALL(ioctl(fd, REGION_IOC_FSTAT, &st)) != 0)
		st.size = PAGE;
	n = pick(r, 10) ? 1 + (uint32_t)pick(r, 8) : (uint32_t)pick(r, most);
	for (i = 0; i < n; i++) {
		uint64_t len = pick(r, 4) ? 1 + pick(r, 256) : pick(r, 3) ? pick(r, 3 * PAGE) :
			       hostile_size(r);
		uint64_t off = pick(r, 4) ? pick(r, st.size + 1) : hostile_size(r);

		ranges[i].offset = off;
		ranges[i].len = len;
		ranges[i].addr = pick(r, 6) ? (uint64_t)(uintptr_t)(w.scratch + pick(r, SCRATCH / 4)) :
					      hostile_source(r, len);
	}
	memset(&a, 0, sizeof(a));
	a.ranges = pick(r, 12) ? (uint64_t)(uintptr_t)ranges : bad_pointer(r);
	a.count = pick(r, 16) ? n : hostile_u32(r);
	a.flags = pick(r, 2) ? REGION_WRITE_COMMIT : pick(r, 6) ? 0 : hostile_u32(r);
	poke(a.reserved, sizeof(a.reserved), r);
	return CALL(ioctl(fd, REGION_IOC_WRITE, &a)) == 0;
}

static int op_let_go(struct rng *r)
{
	int i;

	(void)r;
	for (i = 0; i < MAX_FILES; i++) {
		if (w.files[i].fd >= 0)
			CALL(close(w.files[i].fd));
		w.files[i].fd = -1;
	}
	for (i = 0; i < MAX_MAPS; i++) {
		if (w.maps[i].addr)
			CALL(munmap(w.maps[i].addr, w.maps[i].len));
		w.maps[i].addr = NULL;
	}
	return 1;
}

static int (*const op_fns[NR_OPS])(struct rng *) = {
	op_hostile_ioctl, op_create, op_open, op_close, op_mmap, op_munmap, op_store, op_load,
	op_pmsync, op_pmsync_all, op_resize, op_delete, op_fork, op_mremap, op_mprotect,
	op_madvise, op_query, op_file_calls, op_format, op_let_go, op_write,
};

static int pick_op(struct rng *r)
{
	unsigned total = 0, x;
	int i;

	for (i = 0; i < NR_OPS; i++)
		total += op_weights[i];
	x = (unsigned)pick(r, total);
	for (i = 0; x >= op_weights[i]; i++)
		x -= op_weights[i];
	return i;
}

/* ---- a worker ---- */

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0) {
		fprintf(stderr, "fuzz: worker %d: open %s: %s\n", w.id, path, strerror(errno));
		exit(1);
	}
	return fd;
}

static void *map_or_die(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("fuzz: mmap");
		exit(1);
	}
	return p;
}

static void worker(int id, uint64_t seed, uint64_t quota, int verbose)
{
	struct sigaction sa;
	uid_t uid = uids[id];
	int i;

	w.id = id;
	w.verbose = verbose;
	w.st = &stats[id];
	w.rng.s = seed ^ (0x5851f42d4c957f2dULL * (uint64_t)(id + 1));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	for (i = 0; i < MAX_FILES; i++)
		w.files[i].fd = -1;

	/* As root: a control fd that crosses the uid change, /dev/null, the guard pages. */
	w.dev_root = open_or_die(REGION_DEVICE_PATH, O_RDWR);
	w.null_fd = open_or_die("/dev/null", O_RDWR);
	close(CLOSED_FD);
	w.fence = map_or_die(2 * PAGE, PROT_READ | PROT_WRITE);
	mprotect(w.fence + PAGE, PAGE, PROT_NONE);
	w.ro_page = map_or_die(PAGE, PROT_READ);
	w.scratch = map_or_die(SCRATCH, PROT_READ | PROT_WRITE);
	if (setgroups(0, NULL) || setgid(uid) || setuid(uid)) {
		perror("fuzz: setuid");
		exit(1);
	}
	w.dev_rw = open_or_die(REGION_DEVICE_PATH, O_RDWR);
	w.dev_ro = open_or_die(REGION_DEVICE_PATH, O_RDONLY);
	w.dev_wo = open_or_die(REGION_DEVICE_PATH, O_WRONLY);

	while (w.st->calls < quota) {
		struct rng step = { next(&w.rng) };
		int op = pick_op(&step);

		w.st->op = op;
		if (verbose)
			printf("fuzz: worker %d step %llu %s\n", id, (unsigned long long)w.st->steps, op_names[op]);
		w.st->tried[op]++;
		errno = 0;
		if (op_fns[op](&step))
			w.st->succeeded[op]++;
		else if (errno >= 0 && errno < NR_ERRNOS)
			w.st->errnos[op][errno]++;
		w.st->steps++;
	}
	exit(0);
}

/* ---- the parent ---- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t total_calls(void)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < WORKERS; i++)
		sum += stats[i].calls;
	return sum;
}

/* Print where a worker is: its step, operation and (root can read it) its kernel stack. */
static void show_worker(int i, pid_t pid)
{
	char path[64], line[256];
	FILE *f;

	printf("# worker %d (uid %u, pid %d): step %llu, %s, %llu calls\n", i, uids[i], pid,
	       (unsigned long long)stats[i].steps, op_names[stats[i].op],
	       (unsigned long long)stats[i].calls);
	snprintf(path, sizeof(path), "/proc/%d/stack", pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		printf("#     %s", line);
	fclose(f);
}

/* One line of the table: how often an operation ran, succeeded, and its three commonest errnos. */
static void show_op(int op)
{
	uint64_t tried = 0, ok = 0, count[NR_ERRNOS] = { 0 };
	int i, e, top;

	for (i = 0; i < WORKERS; i++) {
		tried += stats[i].tried[op], ok += stats[i].succeeded[op];
		for (e = 0; e < NR_ERRNOS; e++)
			count[e] += stats[i].errnos[op][e];
	}
	printf("# %-14s %10llu %10llu ", op_names[op], (unsigned long long)tried, (unsigned long long)ok);
	for (i = 0; i < 3; i++) {
		for (top = 0, e = 1; e < NR_ERRNOS; e++)
			if (count[e] > count[top])
				top = e;
		if (!count[top])
			break;
		printf(" %s %llu", top ? strerrorname_np(top) : "-", (unsigned long long)count[top]);
		count[top] = 0;
	}
	printf("\n");
}

static void usage(void)
{
	fprintf(stderr, "usage: fuzz [-v] SEED CALLS\n");
	exit(2);
}

int main(int argc, char **argv)
{
	pid_t pids[WORKERS];
	int verbose = 0, alive = WORKERS, failed = 0, i, status;
	uint64_t seed, calls, last = 0, segv = 0, bus = 0, next_report;
	double start, last_progress, elapsed;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		verbose = 1;
		argv++, argc--;
	}
	if (argc != 3)
		usage();
	seed = strtoull(argv[1], NULL, 0);
	calls = strtoull(argv[2], NULL, 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	stats = mmap(NULL, WORKERS * sizeof(*stats), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (stats == MAP_FAILED) {
		perror("fuzz: mmap");
		return 1;
	}
	printf("# fuzz: seed %llu, %llu calls, %d workers (uids", (unsigned long long)seed,
	       (unsigned long long)calls, WORKERS);
	for (i = 0; i < WORKERS; i++)
		printf(" %u", uids[i]);
	printf(")\n");

	start = last_progress = now();
	for (i = 0; i < WORKERS; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fuzz: fork");
			return 1;
		}
		if (pids[i] == 0)
			worker(i, seed, calls / WORKERS + (i == 0 ? calls % WORKERS : 0), verbose);
	}

	next_report = calls / 10;
	while (alive > 0) {
		uint64_t sum;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid > 0) {
			for (i = 0; i < WORKERS && pids[i] != pid; i++)
				;
			alive--;
			if (i < WORKERS && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
				failed = 1;
				if (WIFSIGNALED(status))
					printf("# worker %d died of signal %d\n", i, WTERMSIG(status));
				else
					printf("# worker %d exited with %d\n", i, WEXITSTATUS(status));
				show_worker(i, pid);
			}
			if (i < WORKERS)
				pids[i] = 0;
			continue;
		}
		usleep(200 * 1000);
		sum = total_calls();
		if (sum != last) {
			last = sum;
			last_progress = now();
		} else if (now() - last_progress > STALL_SECS) {
			printf("# no progress for %d s: a hung kernel call?\n", STALL_SECS);
			for (i = 0; i < WORKERS; i++)
				if (pids[i] > 0) {
					show_worker(i, pids[i]);
					kill(pids[i], SIGKILL);
				}
			failed = 1;
			break;
		}
		if (sum >= next_report && next_report) {
			printf("# fuzz: %llu calls, %.0f s\n", (unsigned long long)sum, now() - start);
			next_report += calls / 10;
		}
	}
	elapsed = now() - start;

	printf("# %-14s %10s %10s  %s\n", "operation", "tried", "succeeded", "most frequent errors");
	for (int op = 0; op < NR_OPS; op++)
		show_op(op);
	for (i = 0; i < WORKERS; i++)
		segv += stats[i].segv, bus += stats[i].bus;
	calls = total_calls();
	printf("# faults caught in stores and loads: %llu SIGSEGV, %llu SIGBUS\n",
	       (unsigned long long)segv, (unsigned long long)bus);
	printf("# total: %llu calls in %.1f s, %.0f calls/s, seed %llu\n", (unsigned long long)calls,
	       elapsed, (double)calls / elapsed, (unsigned long long)seed);
	printf("%sok 1 fuzz: %llu calls, %.0f calls/s, seed %llu\n", failed ? "not " : "",
	       (unsigned long long)calls, (double)calls / elapsed, (unsigned long long)seed);
	return failed;
}
