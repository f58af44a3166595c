// SPDX-License-Identifier: GPL-2.0
/*
 * load.c - a load test of the Region System: many processes and threads of several users mixing
 * every operation on a few shared regions for a while, with their data verified during the run,
 * after it, and after a module reload (which rolls back whatever was not committed).
 *
 *   load [-v] SECONDS PROCS SEED EXPECT   run; writes what every word may hold to file EXPECT
 *   load --verify EXPECT                  after an rmmod and insmod: check every word against it
 *
 * Expects region.ko loaded on a formatted device with /dev/region open to everyone (mode 0666).
 * Run as root. It creates NAMES shared regions "load0".. (mode 0666, owned by uids 0, 1000 and 2000
 * in turn, BASE_PAGES pages), then forks PROCS processes of uids 0, 1000 and 2000 in turn; every
 * fourth process runs 2-4 threads. Each thread loops over a seeded random mix of operations until
 * SECONDS have passed: open (read-write and read-only), mmap, munmap, close, stores, loads,
 * PMSYNC, PMSYNC_ALL, fork of a child that stores and exits, resize of a shared region its uid
 * owns (grow and shrink back, never below BASE_PAGES), create, use and delete of a private scratch
 * region (which must read all zeros), and queries (stat, fstat, list, layout, counters, info).
 *
 * Data verified: every thread (a "writer", numbered w across the run) owns one 8-byte word in the
 * first VPAGES pages of each shared region (word_of(w), its own cache line; nobody else stores
 * there) and stores a strictly increasing count into it. Before a store it notes the count as
 * written; after each PMSYNC (or PMSYNC_ALL) of the region through a writable descriptor of its own
 * it notes the count written before the call as committed. The notes live in shared memory and go
 * to the EXPECT file at the end. Checked: a load of its own word always returns its last store
 * (through any mapping, read-only ones too); after every process has exited, every word holds its
 * writer's last store; after a reload (run again with --verify) every word holds a count between
 * the last one known committed and the last one written (automatic commits may have gone
 * further). Stores beyond the first VPAGES pages are random filler; a shrink may cut them, so a
 * SIGBUS or SIGSEGV there is legitimate (caught by a sigsetjmp guard and counted). A fault on a
 * verified word, an unexpected errno, a process or child that dies, or no progress for STALL_SECS
 * seconds fails the run.
 *
 * Prints the operations per second every REPORT_SECS seconds, a table of operations (tried,
 * succeeded), then one TAP line "ok 1 load: ..." or "not ok 1 load: ..." with what differed (no
 * plan: tests/guest/load.sh prints it). --verify prints "ok 1 ..." / "not ok 1 ...". -v prints
 * every step (to pin a kernel report to the step that caused it). Exit 0, or 1 on a failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "region.h"

#define PAGE 4096UL
#define NAMES 3        /* shared regions load0 .. load2 */
#define VPAGES 16      /* the first pages of a shared region: the verified words */
#define BASE_PAGES 24  /* a shared region's size at creation and its smallest */
#define MAX_PAGES 40   /* its largest */
#define MAX_WRITERS 512
#define MAX_PROCS 256
#define MAX_FILES 4    /* region fds a thread holds at most */
#define MAX_MAPS 4     /* mappings a thread holds at most */
#define SCRATCH_PAGES 4
#define STALL_SECS 180
#define REPORT_SECS 10

static const uid_t uids[NAMES] = { 0, 1000, 2000 }; /* owner of load<i>; uid of process i % 3 */

/* The word of writer @w: page w % VPAGES, cache line w / VPAGES (in 8-byte words). */
static size_t word_of(int w)
{
	return (size_t)(w % VPAGES) * (PAGE / 8) + (size_t)(w / VPAGES) * 8;
}

static void name_of(char *buf, int r)
{
	snprintf(buf, REGION_NAME_MAX, "load%d", r);
}

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

static uint64_t pick(struct rng *r, uint64_t n)
{
	return next(r) % n;
}

/* ---- what every process shares with the parent ---- */

enum op_id {
	OP_OPEN, OP_CLOSE, OP_MMAP, OP_MUNMAP, OP_STORE, OP_LOAD, OP_PMSYNC, OP_PMSYNC_ALL,
	OP_FORK, OP_WIDE, OP_GROW, OP_SHRINK, OP_SCRATCH, OP_QUERY, NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"open", "close", "mmap", "munmap", "store", "load", "pmsync", "pmsync_all", "fork",
	"wide_map", "grow", "shrink", "scratch", "query",
};

static const unsigned op_weights[NR_OPS] = {
	[OP_OPEN] = 10, [OP_CLOSE] = 5, [OP_MMAP] = 10, [OP_MUNMAP] = 5, [OP_STORE] = 24,
	[OP_LOAD] = 14, [OP_PMSYNC] = 8, [OP_PMSYNC_ALL] = 3, [OP_FORK] = 2, [OP_WIDE] = 3, [OP_GROW] = 2,
	[OP_SHRINK] = 2, [OP_SCRATCH] = 2, [OP_QUERY] = 6,
};

/* A writer's notes on its word in one region: the last count stored, the last known committed. */
struct expect {
	uint64_t written, committed;
};

struct writer_stats {
	uint64_t steps, segv, bus;
	int op; /* the step running now */
	uint64_t tried[NR_OPS], succeeded[NR_OPS];
};

struct shared {
	volatile int stop;
	volatile int failed;
	char failure[MAX_WRITERS][256]; /* a writer's first failure */
	struct expect exp[MAX_WRITERS][NAMES];
	struct writer_stats st[MAX_WRITERS];
};

static struct shared *sh;
static uint64_t seed;
static int verbose;

/* ---- one thread's state ---- */

struct rfile {
	int fd; /* -1: free */
	int r, writable;
};

struct map {
	volatile uint64_t *addr; /* NULL: free */
	size_t len;
	int r, writable;
};

struct thread {
	int w;
	uid_t uid;
	int dev;
	struct rng rng;
	struct writer_stats *st;
	struct expect *exp; /* sh->exp[w] */
	struct rfile files[MAX_FILES];
	struct map maps[MAX_MAPS];
	int scratch_left; /* a scratch region whose delete found it busy (a forked child held it) */
	int failed;
};

/* The fault guard: per thread, since SIGBUS and SIGSEGV go to the thread that faulted. */
static __thread sigjmp_buf fault_env;
static __thread volatile sig_atomic_t fault_armed;

static void on_fault(int sig)
{
	if (fault_armed) {
		fault_armed = 0;
		siglongjmp(fault_env, sig);
	}
	signal(sig, SIG_DFL); /* not in a guarded access: a real crash, the access repeats */
}

#define GUARDED(t, body)                                                                          \
	({                                                                                        \
		int sig_ = sigsetjmp(fault_env, 1);                                               \
		if (!sig_) {                                                                      \
			fault_armed = 1;                                                          \
			body;                                                                     \
			fault_armed = 0;                                                          \
		} else if (sig_ == SIGBUS) {                                                      \
			(t)->st->bus++;                                                           \
		} else {                                                                          \
			(t)->st->segv++;                                                          \
		}                                                                                 \
		sig_;                                                                             \
	})

/* fail: note this writer's first failure, and the run's. */
static void fail(struct thread *t, const char *fmt, ...)
{
	va_list ap;

	if (!t->failed) {
		va_start(ap, fmt);
		vsnprintf(sh->failure[t->w], sizeof(sh->failure[t->w]), fmt, ap);
		va_end(ap);
	}
	t->failed = 1;
	sh->failed = 1;
}

/* expect_ok: a call that must succeed (or fail only with one of the @ok errnos). 1 if it did. */
static int expect_ok(struct thread *t, int rc, const char *what, int ok1, int ok2)
{
	if (rc >= 0)
		return 1;
	if (errno != ok1 && errno != ok2)
		fail(t, "writer %d (uid %u): %s: %s", t->w, t->uid, what, strerrorname_np(errno));
	return 0;
}

/* ---- the operations: each returns 1 if it did what it set out to ---- */

static struct rfile *pick_file(struct thread *t, int want_writable)
{
	int i, start = (int)pick(&t->rng, MAX_FILES);

	for (i = 0; i < MAX_FILES; i++) {
		struct rfile *f = &t->files[(start + i) % MAX_FILES];

		if (f->fd >= 0 && (!want_writable || f->writable))
			return f;
	}
	return NULL;
}

static struct map *pick_map(struct thread *t, int want_writable)
{
	int i, start = (int)pick(&t->rng, MAX_MAPS);

	for (i = 0; i < MAX_MAPS; i++) {
		struct map *m = &t->maps[(start + i) % MAX_MAPS];

		if (m->addr && (!want_writable || m->writable))
			return m;
	}
	return NULL;
}

static int op_open(struct thread *t)
{
	char name[REGION_NAME_MAX];
	struct rfile *f = NULL;
	int i, r = (int)pick(&t->rng, NAMES), writable = (int)pick(&t->rng, 2), fd;

	for (i = 0; i < MAX_FILES && !f; i++)
		if (t->files[i].fd < 0)
			f = &t->files[i];
	if (!f)
		return 0;
	name_of(name, r);
	fd = region_open(t->dev, name, writable ? REGION_OPEN_WRITE : 0);
	if (!expect_ok(t, fd, "open", 0, 0))
		return 0;
	*f = (struct rfile){ fd, r, writable };
	return 1;
}

static int op_close(struct thread *t)
{
	struct rfile *f = pick_file(t, 0);

	if (!f)
		return 0;
	close(f->fd);
	f->fd = -1;
	return 1;
}

static int op_mmap(struct thread *t)
{
	struct rfile *f = pick_file(t, 0);
	struct map *m = NULL;
	void *addr;
	int i, writable;

	for (i = 0; i < MAX_MAPS && !m; i++)
		if (!t->maps[i].addr)
			m = &t->maps[i];
	if (!f || !m)
		return 0;
	writable = f->writable && pick(&t->rng, 4);
	/* BASE_PAGES only (every shrink stops there): a held mapping never makes a shrink EBUSY. */
	addr = mmap(NULL, BASE_PAGES * PAGE, writable ? PROT_READ | PROT_WRITE : PROT_READ,
		    MAP_SHARED, f->fd, 0);
	if (!expect_ok(t, addr == MAP_FAILED ? -1 : 0, "mmap", 0, 0))
		return 0;
	*m = (struct map){ addr, BASE_PAGES * PAGE, f->r, writable };
	return 1;
}


static int op_munmap(struct thread *t)
{
	struct map *m = pick_map(t, 0);

	if (!m)
		return 0;
	munmap((void *)m->addr, m->len);
	m->addr = NULL;
	return 1;
}

/*
 * What filler stores write: a tag that says who stored it where (shown when a new region is not
 * zero): 0xab, the kind of store, the writer, the region (0xff: its scratch region), a count.
 */
enum { HELD_FILLER = 1, WIDE_FILLER, CHILD_FILLER, SCRATCH_FILL };
static uint64_t tag(struct thread *t, int kind, int r)
{
	return 0xabULL << 56 | (uint64_t)kind << 48 | (uint64_t)t->w << 32 | (uint64_t)(r & 0xff) << 24 |
	       (t->st->steps & 0xffffff);
}

/*
 * Filler stores of a tag of @kind (or loads, for kind 0) beyond the verified pages: a shrink may
 * have cut them.
 */
static void filler(struct thread *t, struct map *m, int kind)
{
	size_t words = m->len / 8 - VPAGES * (PAGE / 8), off;
	uint64_t val = tag(t, kind, m->r), sum = 0;
	int n = 1 + (int)pick(&t->rng, 4);

	off = VPAGES * (PAGE / 8) + pick(&t->rng, words);
	GUARDED(t, {
		for (int i = 0; i < n; i++) {
			volatile uint64_t *p = m->addr + (off + (size_t)i * 509) % (m->len / 8);

			if (p < m->addr + VPAGES * (PAGE / 8))
				continue;
			if (kind)
				*p = val;
			else
				sum += *p;
		}
	});
	(void)sum;
}

/* Store the next count into this writer's word of the mapping's region; 1 if it went through. */
static int store_word(struct thread *t, struct map *m)
{
	struct expect *e = &t->exp[m->r];
	uint64_t val = e->written + 1;

	e->written = val;
	if (GUARDED(t, m->addr[word_of(t->w)] = val)) {
		e->written = val - 1;
		fail(t, "writer %d: a store to its word in load%d faulted", t->w, m->r);
		return 0;
	}
	return 1;
}

static int op_store(struct thread *t)
{
	struct map *m = pick_map(t, 1);

	if (!m)
		return 0;
	if (!store_word(t, m))
		return 0;
	if (pick(&t->rng, 2))
		filler(t, m, HELD_FILLER);
	return 1;
}

static int op_load(struct thread *t)
{
	struct map *m = pick_map(t, 0);
	uint64_t got = 0;

	if (!m)
		return 0;
	if (GUARDED(t, got = m->addr[word_of(t->w)])) {
		fail(t, "writer %d: a load of its word in load%d faulted", t->w, m->r);
		return 0;
	}
	if (got != t->exp[m->r].written) {
		fail(t, "writer %d: its word in load%d holds %llu, its last store was %llu", t->w, m->r,
		     (unsigned long long)got, (unsigned long long)t->exp[m->r].written);
		return 0;
	}
	filler(t, m, 0);
	return 1;
}

/*
 * A mapping of the whole region for a moment: a store to this writer's word and filler stores
 * (or loads) up to its end, which a shrink may cut between the map and the access (a SIGBUS is
 * legitimate there), then unmapped.
 */
static int op_wide(struct thread *t)
{
	struct rfile *f = pick_file(t, 0);
	struct region_mapping rm;
	struct map m;
	int ok = 1;

	if (!f)
		return 0;
	if (!expect_ok(t, region_map(f->fd, f->writable ? REGION_MAP_WRITE : 0, &rm), "wide mmap",
		       0, 0))
		return 0;
	if (rm.length < BASE_PAGES * PAGE)
		fail(t, "writer %d: region load%d mapped with %zu bytes, below its smallest size", t->w,
		     f->r, rm.length);
	m = (struct map){ rm.addr, rm.length, f->r, f->writable };
	if (f->writable)
		ok = store_word(t, &m);
	filler(t, &m, f->writable ? WIDE_FILLER : 0);
	region_unmap(&rm);
	return ok;
}

static int op_pmsync(struct thread *t)
{
	struct rfile *f = pick_file(t, 1);
	uint64_t before, epoch;

	if (!f)
		return 0;
	before = t->exp[f->r].written;
	if (!expect_ok(t, region_pmsync(f->fd, &epoch), "pmsync", 0, 0))
		return 0;
	t->exp[f->r].committed = before;
	return 1;
}

static int op_pmsync_all(struct thread *t)
{
	uint64_t before[NAMES], count;
	int held[NAMES] = { 0 }, i, r;

	for (i = 0; i < MAX_FILES; i++)
		if (t->files[i].fd >= 0 && t->files[i].writable)
			held[t->files[i].r] = 1;
	for (r = 0; r < NAMES; r++)
		before[r] = t->exp[r].written;
	if (!expect_ok(t, region_pmsync_all(t->dev, &count), "pmsync_all", 0, 0))
		return 0;
	for (r = 0; r < NAMES; r++)
		if (held[r])
			t->exp[r].committed = before[r];
	return 1;
}

/* A child that stores the next count to this writer's word (and filler), then exits. */
static int op_fork(struct thread *t)
{
	struct map *m = pick_map(t, 1);
	struct expect *e;
	int status;
	pid_t pid;

	if (!m)
		return 0;
	e = &t->exp[m->r];
	e->written++;
	pid = fork();
	if (pid < 0) {
		e->written--;
		return expect_ok(t, -1, "fork", 0, 0);
	}
	if (pid == 0) {
		if (GUARDED(t, m->addr[word_of(t->w)] = e->written))
			_exit(3);
		filler(t, m, CHILD_FILLER);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail(t, "writer %d: its forked child (storing to load%d) ended with status 0x%x", t->w,
		     m->r, status);
		return 0;
	}
	return 1;
}

/*
 * Resize a shared region this uid owns (root: any): grow it by 1-4 pages (up to MAX_PAGES), or
 * shrink it back by 1-8 pages (down to BASE_PAGES, so never into the verified pages).
 */
static int resize(struct thread *t, int grow)
{
	char name[REGION_NAME_MAX];
	int r = (int)pick(&t->rng, NAMES);
	uint64_t pages, by = 1 + pick(&t->rng, grow ? 4 : 8);
	struct region_stat st;

	if (t->uid != 0 && t->uid != uids[r])
		return 0;
	name_of(name, r);
	if (!expect_ok(t, region_stat(t->dev, name, &st), "stat before resize", 0, 0))
		return 0;
	pages = st.size / PAGE;
	if (grow ? pages >= MAX_PAGES : pages <= BASE_PAGES)
		return 0;
	pages = grow ? pages + by : pages - by;
	pages = pages > MAX_PAGES ? MAX_PAGES : pages < BASE_PAGES ? BASE_PAGES : pages;
	/*
	 * EBUSY: a shrink (or a grow that became one after a racing grow) cut mapped pages, or
	 * another resize of the region is under way. ENOSPC: after thousands of grows and shrinks
	 * among the scratch regions, a grow would need a thirteenth extent (a region has at most
	 * twelve; the allocator takes the first free pages, not those after the region's end).
	 */
	return expect_ok(t, region_resize(t->dev, name, pages * PAGE), grow ? "grow" : "shrink",
			 EBUSY, grow ? ENOSPC : 0);
}

static int op_grow(struct thread *t)
{
	return resize(t, 1);
}

static int op_shrink(struct thread *t)
{
	return resize(t, 0);
}

/* A private region: create, check it reads zeros, store, PMSYNC, grow, delete. */
static int op_scratch(struct thread *t)
{
	char name[REGION_NAME_MAX];
	struct region_mapping rm;
	size_t pages = 1 + pick(&t->rng, SCRATCH_PAGES), i;
	int fd, ok = 0;

	snprintf(name, sizeof(name), "load-scratch%d", t->w);
	if (t->scratch_left) {
		/* EBUSY: a child forked by another thread of this process holds its fd. */
		if (!expect_ok(t, region_delete(t->dev, name), "delete scratch", EBUSY, 0))
			return 0;
		t->scratch_left = 0;
	}
	/* ENOSPC: the region table or the device is full. */
	if (!expect_ok(t, region_create(t->dev, name, pages * PAGE, 0600), "create scratch", ENOSPC, 0))
		return 0;
	fd = region_open(t->dev, name, REGION_OPEN_WRITE);
	if (expect_ok(t, fd, "open scratch", 0, 0)) {
		if (expect_ok(t, region_map(fd, REGION_MAP_WRITE, &rm), "mmap scratch", 0, 0)) {
			volatile uint64_t *p = rm.addr;

			for (i = 0; i < rm.length / 8; i++)
				if (p[i]) {
					fail(t, "writer %d: new region %s holds %#llx at byte %zu, not zero "
					     "(a tag 0xab K0 WWWW RR: a store of kind K by writer W to region "
					     "R, 0xff for its scratch)", t->w, name,
					     (unsigned long long)p[i], i * 8);
					break;
				}
			for (i = 0; i < rm.length / 8; i += 61)
				p[i] = tag(t, SCRATCH_FILL, 0xff);
			ok = expect_ok(t, region_pmsync(fd, NULL), "pmsync scratch", 0, 0);
			region_unmap(&rm);
		}
		if (pick(&t->rng, 2))
			expect_ok(t, region_resize(t->dev, name, (pages + 1) * PAGE), "grow scratch",
				  ENOSPC, 0);
		close(fd);
	}
	if (!expect_ok(t, region_delete(t->dev, name), "delete scratch", EBUSY, 0))
		t->scratch_left = 1;
	return ok;
}

static int op_query(struct thread *t)
{
	char name[REGION_NAME_MAX];
	struct region_stat st, *all = NULL;
	struct region_layout layout;
	struct region_counters counters;
	struct region_device_info info;
	struct rfile *f;
	int r = (int)pick(&t->rng, NAMES), n, i, found = 0;

	name_of(name, r);
	switch (pick(&t->rng, 6)) {
	case 0:
		if (!expect_ok(t, region_stat(t->dev, name, &st), "stat", 0, 0))
			return 0;
		if (st.size < BASE_PAGES * PAGE || st.size > MAX_PAGES * PAGE || st.uid != uids[r])
			fail(t, "writer %d: stat of %s: size %llu, uid %u", t->w, name,
			     (unsigned long long)st.size, st.uid);
		return 1;
	case 1:
		f = pick_file(t, 0);
		return f && expect_ok(t, region_fstat(f->fd, &st), "fstat", 0, 0);
	case 2:
		n = region_list_all(t->dev, &all);
		if (!expect_ok(t, n, "list", 0, 0))
			return 0;
		for (i = 0; i < n; i++)
			found += strncmp(all[i].name, "load", 4) == 0 && all[i].name[4] >= '0' &&
				 all[i].name[4] < '0' + NAMES && !all[i].name[5];
		free(all);
		if (found != NAMES)
			fail(t, "writer %d: the list shows %d of the %d shared regions", t->w, found, NAMES);
		return 1;
	case 3:
		return expect_ok(t, region_layout(t->dev, pick(&t->rng, 2) ? name : NULL, &layout),
				 "layout", 0, 0);
	case 4:
		return expect_ok(t, region_counters(t->dev, &counters), "counters", 0, 0);
	default:
		return expect_ok(t, region_device_info(t->dev, &info), "device info", 0, 0);
	}
}

static int (*const op_fns[NR_OPS])(struct thread *) = {
	op_open, op_close, op_mmap, op_munmap, op_store, op_load, op_pmsync, op_pmsync_all, op_fork,
	op_wide, op_grow, op_shrink, op_scratch, op_query,
};

static int pick_op(struct rng *r)
{
	unsigned sum = 0, x;
	int op;

	for (op = 0; op < NR_OPS; op++)
		sum += op_weights[op];
	x = (unsigned)pick(r, sum);
	for (op = 0; x >= op_weights[op]; op++)
		x -= op_weights[op];
	return op;
}

static void *thread_main(void *arg)
{
	struct thread *t = arg;
	int i;

	t->dev = region_device_open(NULL);
	if (t->dev < 0) {
		fail(t, "writer %d: open /dev/region: %s", t->w, strerror(errno));
		return NULL;
	}
	for (i = 0; i < MAX_FILES; i++)
		t->files[i].fd = -1;
	while (!sh->stop && !t->failed) {
		int op = pick_op(&t->rng);

		t->st->op = op;
		if (verbose)
			printf("load: writer %d step %llu %s\n", t->w, (unsigned long long)t->st->steps,
			       op_names[op]);
		t->st->tried[op]++;
		if (op_fns[op](t))
			t->st->succeeded[op]++;
		t->st->steps++;
	}
	if (t->scratch_left) {
		char name[REGION_NAME_MAX];

		snprintf(name, sizeof(name), "load-scratch%d", t->w);
		region_delete(t->dev, name); /* a child still holding it leaves it: harmless */
	}
	return NULL;
}

/* One process: uid @uid, @n threads, writers @w0 .. @w0 + n - 1. */
static void process(uid_t uid, int w0, int n)
{
	struct thread th[4];
	pthread_t tid[4];
	struct sigaction sa;
	int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	if (setgroups(0, NULL) || setgid(uid) || setuid(uid)) {
		perror("load: setuid");
		exit(1);
	}
	memset(th, 0, sizeof(th));
	for (i = 0; i < n; i++) {
		th[i].w = w0 + i;
		th[i].uid = uid;
		th[i].rng.s = seed ^ (0x5851f42d4c957f2dULL * (uint64_t)(w0 + i + 1));
		th[i].st = &sh->st[w0 + i];
		th[i].exp = sh->exp[w0 + i];
	}
	for (i = 1; i < n; i++)
		if (pthread_create(&tid[i], NULL, thread_main, &th[i])) {
			fprintf(stderr, "load: pthread_create failed\n");
			exit(1);
		}
	thread_main(&th[0]);
	for (i = 1; i < n; i++)
		pthread_join(tid[i], NULL);
	exit(0);
}

/* ---- the parent ---- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t total_steps(int writers)
{
	uint64_t sum = 0;

	for (int w = 0; w < writers; w++)
		sum += sh->st[w].steps;
	return sum;
}

/* Threads of process @i: every fourth one runs 2, 3 or 4. */
static int threads_of(int i)
{
	return i % 4 == 3 ? 2 + (i / 4) % 3 : 1;
}

/* Print a process's threads: writer, step, operation, kernel stack. */
static void show_process(pid_t pid, int w0, int n)
{
	char path[64], line[256];
	FILE *f;

	for (int w = w0; w < w0 + n; w++)
		printf("# writer %d (pid %d): step %llu, %s\n", w, pid,
		       (unsigned long long)sh->st[w].steps, op_names[sh->st[w].op]);
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	snprintf(line, sizeof(line), "for t in %s/*; do echo \"# task $t:\"; sed 's/^/#     /' "
		 "$t/stack; done", path);
	f = popen(line, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fputs(line, stdout);
	pclose(f);
}

/* Map region @r read-only as root; NULL on failure (printed). */
static volatile uint64_t *map_shared_region(int dev, int r, struct region_mapping *rm, int *fd)
{
	char name[REGION_NAME_MAX];

	name_of(name, r);
	*fd = region_open(dev, name, 0);
	if (*fd < 0 || region_map(*fd, 0, rm) < 0) {
		printf("# open or map %s: %s\n", name, strerror(errno));
		return NULL;
	}
	return rm->addr;
}

/*
 * check_words: every writer's word against EXPECT: equal to the last store (@exact), or between
 * the last known committed and the last written. Returns the mismatches (the first few printed).
 */
static int check_words(const struct expect (*exp)[NAMES], int writers, int exact)
{
	int dev = region_device_open(NULL), bad = 0, fd, r, w;
	int at_store = 0, at_commit = 0, between = 0;
	struct region_mapping rm;

	if (dev < 0) {
		printf("# open /dev/region: %s\n", strerror(errno));
		return 1;
	}
	for (r = 0; r < NAMES; r++) {
		volatile uint64_t *p = map_shared_region(dev, r, &rm, &fd);

		if (!p)
			return bad + 1;
		for (w = 0; w < writers; w++) {
			uint64_t got = p[word_of(w)];
			const struct expect *e = &exp[w][r];

			at_store += got == e->written;
			at_commit += got == e->committed && got != e->written;
			between += got > e->committed && got < e->written;
			if (exact ? got == e->written : got >= e->committed && got <= e->written)
				continue;
			if (bad++ < 10)
				printf("# load%d: writer %d's word holds %llu; %s %llu, committed %llu\n",
				       r, w, (unsigned long long)got, exact ? "expected" : "written",
				       (unsigned long long)e->written, (unsigned long long)e->committed);
		}
		region_unmap(&rm);
		close(fd);
	}
	close(dev);
	printf("# words at their writer's last store: %d, at its last known commit: %d, between: %d\n",
	       at_store, at_commit, between);
	return bad;
}

/* The device's counters: what the load made the kernel do. */
static void show_counters(void)
{
	struct region_counters c;
	int dev = region_device_open(NULL);

	if (dev < 0 || region_counters(dev, &c) < 0) {
		printf("# counters: %s\n", strerror(errno));
		return;
	}
	printf("# kernel: %llu PMSYNCs, %llu faults, %llu pages saved to undo, %llu pages written "
	       "back, %llu unmap rounds (%llu mappings), %llu regions created\n",
	       (unsigned long long)c.pmsyncs, (unsigned long long)c.faults,
	       (unsigned long long)c.undo_pages, (unsigned long long)c.pages_written_back,
	       (unsigned long long)c.unmap_rounds, (unsigned long long)c.mappings_unmapped,
	       (unsigned long long)c.regions_created);
	close(dev);
}

static int write_expect(const char *path, int writers)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "load-expect %d %d\n", writers, NAMES);
	for (int w = 0; w < writers; w++)
		for (int r = 0; r < NAMES; r++)
			fprintf(f, "%d %d %llu %llu\n", w, r, (unsigned long long)sh->exp[w][r].written,
				(unsigned long long)sh->exp[w][r].committed);
	return fclose(f);
}

/* load --verify EXPECT: after a reload, every word between committed and written. */
static int verify(const char *path)
{
	static struct expect exp[MAX_WRITERS][NAMES];
	unsigned long long written, committed;
	int writers, names, w, r, n = 0, bad;
	FILE *f = fopen(path, "r");

	if (!f || fscanf(f, "load-expect %d %d", &writers, &names) != 2 || names != NAMES ||
	    writers < 1 || writers > MAX_WRITERS) {
		printf("not ok 1 load: verify after reload: cannot read %s\n", path);
		return 1;
	}
	while (fscanf(f, "%d %d %llu %llu", &w, &r, &written, &committed) == 4) {
		if (w < 0 || w >= writers || r < 0 || r >= NAMES)
			break;
		exp[w][r] = (struct expect){ written, committed };
		n++;
	}
	fclose(f);
	if (n != writers * NAMES) {
		printf("not ok 1 load: verify after reload: %s holds %d of %d records\n", path, n,
		       writers * NAMES);
		return 1;
	}
	bad = check_words((const struct expect (*)[NAMES])exp, writers, 0);
	printf("%sok 1 load: after the reload every word of %d writers in %d regions holds a count "
	       "between its last commit and its last store%s\n", bad ? "not " : "", writers, NAMES,
	       bad ? " (see above)" : "");
	return bad != 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: load [-v] SECONDS PROCS SEED EXPECT | load --verify EXPECT\n");
	exit(2);
}

/* Create the shared regions, load<r> owned by uids[r], mode 0666. */
static int create_shared(void)
{
	for (int r = 0; r < NAMES; r++) {
		char name[REGION_NAME_MAX];
		int status, dev;
		pid_t pid = fork();

		if (pid == 0) {
			name_of(name, r);
			if (setgroups(0, NULL) || setgid(uids[r]) || setuid(uids[r]))
				_exit(1);
			dev = region_device_open(NULL);
			if (dev < 0 || region_create(dev, name, BASE_PAGES * PAGE, 0666) < 0) {
				printf("# create %s as uid %u: %s\n", name, uids[r], strerror(errno));
				_exit(1);
			}
			_exit(0);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	pid_t pids[MAX_PROCS];
	int procs, writers = 0, alive, failed = 0, i, status, w0[MAX_PROCS];
	uint64_t steps, last = 0, last_report_steps = 0, tried[NR_OPS] = { 0 }, ok[NR_OPS] = { 0 };
	uint64_t segv = 0, bus = 0;
	double start, seconds, last_progress, last_report, elapsed;
	const char *expect_path;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "--verify") == 0)
		return verify(argv[2]);
	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		verbose = 1;
		argv++, argc--;
	}
	if (argc != 5)
		usage();
	seconds = strtod(argv[1], NULL);
	procs = atoi(argv[2]);
	seed = strtoull(argv[3], NULL, 0);
	expect_path = argv[4];
	if (procs < 1 || procs > MAX_PROCS || seconds <= 0)
		usage();
	for (i = 0; i < procs; i++) {
		w0[i] = writers;
		writers += threads_of(i);
	}
	if (writers > MAX_WRITERS)
		usage();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("load: mmap");
		return 1;
	}
	printf("# load: %d processes (uids 0, 1000, 2000), %d threads, %d shared regions, %.0f s, "
	       "seed %llu\n", procs, writers, NAMES, seconds, (unsigned long long)seed);
	if (create_shared() < 0) {
		printf("not ok 1 load: creating the shared regions failed\n");
		return 1;
	}

	start = last_progress = last_report = now();
	for (i = 0; i < procs; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("load: fork");
			sh->stop = 1;
			return 1;
		}
		if (pids[i] == 0)
			process(uids[i % 3], w0[i], threads_of(i));
	}
	alive = procs;
	while (alive > 0) {
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid > 0) {
			for (i = 0; i < procs && pids[i] != pid; i++)
				;
			if (i == procs)
				continue;
			alive--;
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				failed = 1;
				printf("# process %d (pid %d) ended with status 0x%x\n", i, pid, status);
				show_process(pid, w0[i], threads_of(i));
			}
			pids[i] = 0;
			continue;
		}
		usleep(200 * 1000);
		steps = total_steps(writers);
		if (steps != last) {
			last = steps;
			last_progress = now();
		} else if (now() - last_progress > STALL_SECS) {
			printf("# no progress for %d s: a hung kernel call?\n", STALL_SECS);
			for (i = 0; i < procs; i++)
				if (pids[i] > 0)
					show_process(pids[i], w0[i], threads_of(i));
			for (i = 0; i < procs; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGKILL);
			failed = 1;
			break;
		}
		if (now() - last_report >= REPORT_SECS) {
			printf("# load: %llu operations, %.0f/s, %.0f s\n", (unsigned long long)steps,
			       (double)(steps - last_report_steps) / (now() - last_report), now() - start);
			last_report = now();
			last_report_steps = steps;
		}
		if (now() - start >= seconds)
			sh->stop = 1;
	}
	elapsed = now() - start;
	steps = total_steps(writers);

	printf("# %-12s %10s %10s\n", "operation", "tried", "succeeded");
	for (int w = 0; w < writers; w++) {
		for (int op = 0; op < NR_OPS; op++)
			tried[op] += sh->st[w].tried[op], ok[op] += sh->st[w].succeeded[op];
		segv += sh->st[w].segv, bus += sh->st[w].bus;
	}
	for (int op = 0; op < NR_OPS; op++)
		printf("# %-12s %10llu %10llu\n", op_names[op], (unsigned long long)tried[op],
		       (unsigned long long)ok[op]);
	printf("# faults caught beyond the verified pages: %llu SIGSEGV, %llu SIGBUS\n",
	       (unsigned long long)segv, (unsigned long long)bus);
	for (int w = 0; w < writers; w++)
		if (sh->failure[w][0]) {
			printf("# %s\n", sh->failure[w]);
			failed = 1;
		}
	if (!failed && check_words((const struct expect (*)[NAMES])sh->exp, writers, 1)) {
		printf("# after every process exited, a word did not hold its writer's last store\n");
		failed = 1;
	}
	show_counters();
	if (write_expect(expect_path, writers) < 0) {
		printf("# writing %s: %s\n", expect_path, strerror(errno));
		failed = 1;
	}
	printf("# total: %llu operations in %.1f s, %.0f operations/s, seed %llu\n",
	       (unsigned long long)steps, elapsed, (double)steps / elapsed, (unsigned long long)seed);
	printf("%sok 1 load: %d processes, %d threads, %llu operations in %.0f s, seed %llu\n",
	       failed ? "not " : "", procs, writers, (unsigned long long)steps, elapsed,
	       (unsigned long long)seed);
	return failed;
}
