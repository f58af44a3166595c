/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pmdk_bench.c - the PMDK side of the benchmarks (issue 11): PMDK's libpmemobj and libpmem on a
 * file of an ext4-DAX mount, measured with the shared benchmark protocol of counts.h (one COUNTS
 * line per phase between a BEGIN and an END marker instruction). Prints figures and asserts none;
 * exits 1 if the map loses an entry (checked outside the phases).
 * Built by scripts/pmdk.sh (dynamically linked: see there why).
 *
 *   pmdk_bench DIR [--ops N] [--ops4k N] [PHASE...]
 *
 * DIR is on an ext4 file system mounted -o dax. PHASE is one of (default: all, in this order)
 *   tx100       system pmdk: a transaction that TX_ADDs 100 bytes of an object, writes them and
 *               commits;
 *   persist100  system pmem: 100 bytes stored, then pmem_persist (the non-atomic floor);
 *   put100 get100 insert100 put4k mix100
 *               system pmdk: the common KVS workloads on a hash map kept by libpmemobj
 *               transactions (below), in one pool filled with the 10,000 keys first; after
 *               each phase, unmeasured edits bring the key space back to that shape.
 * --ops is the operations per phase (default 2000), --ops4k those of put4k (default 500). Every
 * phase runs in this process with 1 worker (procs 1): a PMDK pool is open in one process at a time.
 *
 * The hash map has the shape of the region KVS (user/containers' PHashMap): a bucket table (the
 * count, then one chain head per bucket), one node per entry (next, hash, key and value lengths,
 * key, value), FNV-1a hashes, 1024 buckets to start, doubled when the entries outnumber the
 * buckets. Links are offsets from the pool's base (0: none). A replacement allocates a new node,
 * links it where the old one was and frees the old one, in one transaction; an insert links a new
 * node at its bucket's head and counts it; growing relinks every node into a new table.
 *
 * Before the first phase it prints, once, which flush instruction libpmem uses (from CPUID, as
 * libpmem chooses: clwb, else clflushopt, else clflush), whether the platform flushes caches on
 * power loss (then libpmem skips flushing), pmem_is_pmem of a libpmem mapping of a file in DIR, and
 * whether the pool is mapped MAP_SYNC (the "sf" VmFlag), which is what makes libpmemobj take its
 * PM path (flush + fence instead of msync).
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpmem.h>
#include <libpmemobj.h>

#include "counts.h"

#ifndef PMDK_VERSION
#define PMDK_VERSION "(version unknown)" /* scripts/pmdk.sh passes the Debian package's */
#endif

/* ---- Errors ---- */

/* Prints "pmdk_bench: WHAT: MESSAGE" (PMDK's last error message, else errno's) and exits 1. */
static void __attribute__((noreturn)) fail(const char *what, int pmdk)
{
	const char *msg = pmdk ? pmemobj_errormsg() : NULL;

	if (!msg || !*msg)
		msg = strerror(errno);
	fprintf(stderr, "pmdk_bench: %s: %s\n", what, msg);
	exit(1);
}

/* ---- The common workload: keys, values, key order ---- */

#define KEYS 10000u
#define VALUE_MAX 4096u

/*
 * Byte k of the value of operation j of worker w in a phase of salt @salt: 8 * n + procs, n the
 * workload's place in put100, get100, insert100, put4k, mix100 (0 for the fill), as
 * user/kvs/src/load.rs's phase_salt: no phase writes a key the value an earlier one left there.
 */
static void make_value(unsigned char *v, size_t len, uint64_t j, unsigned w, uint64_t salt)
{
	for (size_t k = 0; k < len; k++)
		v[k] = (unsigned char)((j * 31 + w * 7 + salt * 13 + k) & 0xff);
}

/* The key index of operation j of worker w. */
static unsigned key_index(uint64_t j, unsigned w)
{
	return (unsigned)((j * 7919 + (uint64_t)w * 104729) % KEYS);
}

/* Key i: the 10 bytes "key-%06u". */
static size_t make_key(char *key, unsigned i)
{
	return (size_t)snprintf(key, 16, "key-%06u", i);
}

/* ---- The hash map on libpmemobj transactions ---- */

#define POOL_BYTES (64u << 20) /* PMDK writes all of it at create: no bigger than needed */
#define FIRST_BUCKETS 1024u
enum { TYPE_TABLE = 1, TYPE_NODE, TYPE_OBJECT };

/* The pool's root object. */
struct kv_root {
	uint64_t table; /* offset of the bucket table */
	uint64_t count; /* entries */
};

struct kv_table {
	uint64_t buckets; /* a power of two */
	uint64_t head[];  /* chain heads: node offsets, 0 for none */
};

struct kv_node {
	uint64_t next;
	uint64_t hash;
	uint32_t key_len;
	uint32_t value_len;
	unsigned char bytes[]; /* the key, then the value */
};

static PMEMobjpool *pool;
static struct kv_root *root;
static uint64_t pool_uuid_lo;

static void *at(uint64_t off)
{
	return (char *)pool + off;
}

static PMEMoid oid_of(uint64_t off)
{
	PMEMoid o = { pool_uuid_lo, off };

	return o;
}

static uint64_t fnv1a(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* Aborts the current transaction with ERR (EINVAL when 0) and returns -1. */
static int tx_fail(int err)
{
	pmemobj_tx_abort(err ? err : EINVAL);
	return -1;
}

/* Begins a transaction (nested in the current one, if any) that returns errors, never jumps. */
static int tx_begin(void)
{
	if (pmemobj_tx_begin(pool, NULL, TX_PARAM_NONE)) {
		pmemobj_tx_end();
		return -1;
	}
	pmemobj_tx_set_failure_behavior(POBJ_TX_FAILURE_RETURN);
	return 0;
}

/* Commits the transaction begun by tx_begin if RC is 0 (else it was aborted); ends it. */
static int tx_finish(int rc)
{
	if (rc == 0)
		pmemobj_tx_commit();
	return pmemobj_tx_end() ? -1 : rc;
}

static int tx_snapshot(void *p, size_t len)
{
	return pmemobj_tx_xadd_range_direct(p, len, POBJ_XADD_NO_ABORT) ? tx_fail(errno) : 0;
}

/* A new table of BUCKETS empty chains, inside the current transaction; 0 on failure. */
static uint64_t kv_new_table(uint64_t buckets)
{
	PMEMoid o = pmemobj_tx_xalloc(sizeof(struct kv_table) + buckets * 8, TYPE_TABLE,
				      POBJ_XALLOC_ZERO | POBJ_XALLOC_NO_ABORT);
	struct kv_table *t;

	if (OID_IS_NULL(o))
		return 0;
	t = pmemobj_direct(o);
	t->buckets = buckets;
	return o.off;
}

/* Doubles the table: relinks every node into a new one, frees the old (inside a transaction). */
static int kv_grow(void)
{
	uint64_t old_off = root->table, new_off;
	struct kv_table *old = at(old_off), *t;

	new_off = kv_new_table(old->buckets * 2);
	if (!new_off)
		return tx_fail(errno);
	t = at(new_off);
	for (uint64_t b = 0; b < old->buckets; b++) {
		for (uint64_t n = old->head[b]; n;) {
			struct kv_node *node = at(n);
			uint64_t next = node->next, *head = &t->head[node->hash & (t->buckets - 1)];

			if (tx_snapshot(&node->next, sizeof(node->next)))
				return -1;
			node->next = *head;
			*head = n;
			n = next;
		}
	}
	if (tx_snapshot(&root->table, sizeof(root->table)))
		return -1;
	root->table = new_off;
	return pmemobj_tx_xfree(oid_of(old_off), POBJ_XFREE_NO_ABORT) ? tx_fail(errno) : 0;
}

/*
 * Finds KEY: returns its node's offset (0: not there) and sets *LINK to the word that points to
 * it (the chain's head, or the previous node's next).
 */
static uint64_t kv_find(const void *key, size_t key_len, uint64_t h, uint64_t **link)
{
	struct kv_table *t = at(root->table);

	*link = &t->head[h & (t->buckets - 1)];
	for (uint64_t n = **link; n;) {
		struct kv_node *node = at(n);

		if (node->hash == h && node->key_len == key_len && !memcmp(node->bytes, key, key_len))
			return n;
		*link = &node->next;
		n = node->next;
	}
	return 0;
}

/* Sets KEY to VALUE in one transaction (durable when it returns 0). */
static int kv_put(const void *key, size_t key_len, const void *value, size_t value_len)
{
	uint64_t h = fnv1a(key, key_len), *link, old, new_off;
	struct kv_node *node;
	PMEMoid o;
	int rc = -1;

	if (tx_begin())
		return -1;
	old = kv_find(key, key_len, h, &link);
	o = pmemobj_tx_xalloc(sizeof(*node) + key_len + value_len, TYPE_NODE, POBJ_XALLOC_NO_ABORT);
	if (OID_IS_NULL(o)) {
		tx_fail(errno);
		goto out;
	}
	new_off = o.off;
	node = pmemobj_direct(o);
	node->hash = h;
	node->key_len = (uint32_t)key_len;
	node->value_len = (uint32_t)value_len;
	memcpy(node->bytes, key, key_len);
	memcpy(node->bytes + key_len, value, value_len);
	if (old) {
		node->next = ((struct kv_node *)at(old))->next;
		if (tx_snapshot(link, sizeof(*link)))
			goto out;
		*link = new_off;
		if (pmemobj_tx_xfree(oid_of(old), POBJ_XFREE_NO_ABORT)) {
			tx_fail(errno);
			goto out;
		}
	} else {
		struct kv_table *t = at(root->table);
		uint64_t *head = &t->head[h & (t->buckets - 1)];

		node->next = *head;
		if (tx_snapshot(head, sizeof(*head)) || tx_snapshot(&root->count, sizeof(root->count)))
			goto out;
		*head = new_off;
		root->count++;
		if (root->count > t->buckets && kv_grow())
			goto out;
	}
	rc = 0;
out:
	return tx_finish(rc);
}

/* Copies KEY's value into OUT (VALUE_MAX bytes); returns its length, or -1 if KEY is not there. */
static long kv_get(const void *key, size_t key_len, unsigned char *out)
{
	uint64_t *link, n = kv_find(key, key_len, fnv1a(key, key_len), &link);
	struct kv_node *node;

	if (!n)
		return -1;
	node = at(n);
	if (node->value_len > VALUE_MAX)
		return -1;
	memcpy(out, node->bytes + node->key_len, node->value_len);
	return node->value_len;
}

/* Removes KEY in one transaction; -1 if it is not there or the transaction fails. */
static int kv_del(const void *key, size_t key_len)
{
	uint64_t *link, n;
	int rc = -1;

	if (tx_begin())
		return -1;
	n = kv_find(key, key_len, fnv1a(key, key_len), &link);
	if (!n) {
		tx_fail(ENOENT);
		goto out;
	}
	if (tx_snapshot(link, sizeof(*link)) || tx_snapshot(&root->count, sizeof(root->count)))
		goto out;
	*link = ((struct kv_node *)at(n))->next;
	root->count--;
	if (pmemobj_tx_xfree(oid_of(n), POBJ_XFREE_NO_ABORT)) {
		tx_fail(errno);
		goto out;
	}
	rc = 0;
out:
	return tx_finish(rc);
}

/* ---- The pool and the unmeasured edits between phases ---- */

static char pool_path[4096];

/* A new pool DIR/pmdk-bench.pool (any earlier one removed) holding an empty map. */
static void pool_create(const char *dir)
{
	PMEMoid r;
	int rc;

	snprintf(pool_path, sizeof(pool_path), "%s/pmdk-bench.pool", dir);
	unlink(pool_path);
	pool = pmemobj_create(pool_path, "region-bench-kvs", POOL_BYTES, 0600);
	if (!pool)
		fail(pool_path, 1);
	r = pmemobj_root(pool, sizeof(struct kv_root));
	if (OID_IS_NULL(r))
		fail("pmemobj_root", 1);
	pool_uuid_lo = r.pool_uuid_lo;
	root = pmemobj_direct(r);
	if (tx_begin())
		fail("transaction", 1);
	rc = tx_snapshot(root, sizeof(*root));
	if (rc == 0) {
		root->table = kv_new_table(FIRST_BUCKETS);
		root->count = 0;
		if (!root->table)
			rc = tx_fail(errno);
	}
	if (tx_finish(rc))
		fail("creating the hash map", 1);
}

/* The key operation j of insert100's worker 0 adds: "new-%02u-%07u". */
static size_t insert_key(char *key, uint64_t j)
{
	return (size_t)snprintf(key, 32, "new-%02u-%07u", 0u, (unsigned)j);
}

/*
 * Unmeasured edits, 100 per transaction: FILL sets keys FIRST..LAST-1 to their fill values (the
 * value of operation i of worker 0, 100 bytes); else the insert keys FIRST..LAST-1 are removed.
 */
static void kv_edit(int fill, uint64_t first, uint64_t last, const char *what)
{
	unsigned char value[100];
	char key[32];

	for (uint64_t i = first; i < last; i += 100) {
		int rc = tx_begin();

		for (uint64_t k = i; rc == 0 && k < i + 100 && k < last; k++) {
			if (fill) {
				make_value(value, sizeof(value), k, 0, 0);
				rc = kv_put(key, make_key(key, (unsigned)k), value, sizeof(value));
			} else {
				rc = kv_del(key, insert_key(key, k));
			}
		}
		if (tx_finish(rc))
			fail(what, 1);
	}
}

/* Exits 1, saying why, if the map does not hold COUNT entries. */
static void kv_check_count(uint64_t count)
{
	if (root->count != count) {
		fprintf(stderr, "pmdk_bench: the map holds %" PRIu64 " entries, not %" PRIu64 "\n",
			root->count, count);
		exit(1);
	}
}

/*
 * Checks the key space (outside the phases): KEYS entries, each key with a 100-byte value, and
 * with its fill value too when FILLED.
 */
static void kv_check(int filled)
{
	static unsigned char want[100], got[VALUE_MAX];
	char key[16];

	kv_check_count(KEYS);
	for (unsigned i = 0; i < KEYS; i++) {
		size_t key_len = make_key(key, i);

		make_value(want, sizeof(want), i, 0, 0);
		if (kv_get(key, key_len, got) != (long)sizeof(want) ||
		    (filled && memcmp(got, want, sizeof(want)))) {
			fprintf(stderr, "pmdk_bench: key %s lost its value\n", key);
			exit(1);
		}
	}
}

/* The pool with its map filled: created and filled on first use, then kept for every phase. */
static void pool_ready(const char *dir)
{
	if (pool)
		return;
	pool_create(dir);
	kv_edit(1, 0, KEYS, "filling the map");
	kv_check(1);
}

/* ---- Phases ---- */

static uint64_t ops = 2000, ops4k = 500;

/* tx100: TX_ADD of 100 bytes of an object, the bytes written, commit. */
static void phase_tx100(const char *dir)
{
	unsigned char value[100];
	struct counts_phase s;
	unsigned char *p;
	PMEMoid o;

	pool_ready(dir);
	if (pmemobj_zalloc(pool, &o, 256, TYPE_OBJECT))
		fail("pmemobj_zalloc", 1);
	/* The 100 bytes start on a cache line, as persist100's do: both make 2 lines durable. */
	p = (unsigned char *)(((uintptr_t)pmemobj_direct(o) + 63) & ~(uintptr_t)63);
	counts_phase_begin(&s);
	for (uint64_t j = 0; j < ops; j++) {
		int rc = tx_begin();

		if (rc == 0)
			rc = tx_snapshot(p, 100);
		if (rc == 0) {
			make_value(value, sizeof(value), j, 0, 0);
			memcpy(p, value, sizeof(value));
		}
		if (tx_finish(rc))
			fail("tx100 transaction", 1);
	}
	counts_phase_end(&s, "tx100", "pmdk", 1, ops);
	pmemobj_free(&o);
}

/* persist100: 100 bytes stored into a libpmem mapping, then pmem_persist. */
static void phase_persist100(const char *dir)
{
	unsigned char value[100], *p;
	char path[4096];
	size_t mapped;
	struct counts_phase s;
	int is_pmem;

	snprintf(path, sizeof(path), "%s/pmdk-bench.pmem", dir);
	unlink(path);
	p = pmem_map_file(path, 1 << 20, PMEM_FILE_CREATE, 0600, &mapped, &is_pmem);
	if (!p) {
		fprintf(stderr, "pmdk_bench: pmem_map_file %s: %s\n", path, pmem_errormsg());
		exit(1);
	}
	memset(p, 0, 4096); /* the page is allocated and mapped before the phase */
	pmem_persist(p, 4096);
	if (!is_pmem)
		fprintf(stderr, "pmdk_bench: persist100: %s is not pmem to libpmem: pmem_msync instead\n",
			path);
	counts_phase_begin(&s);
	for (uint64_t j = 0; j < ops; j++) {
		make_value(value, sizeof(value), j, 0, 0);
		memcpy(p, value, sizeof(value));
		if (is_pmem)
			pmem_persist(p, sizeof(value));
		else if (pmem_msync(p, sizeof(value)))
			fail("pmem_msync", 0);
	}
	counts_phase_end(&s, "persist100", "pmem", 1, ops);
	pmem_unmap(p, mapped);
	unlink(path);
}

/*
 * The KVS workloads, all on one pool filled once (before the first); after each phase the edits
 * that bring the key space back to its filled shape (insert100's keys removed, put4k's keys
 * refilled with 100-byte values), so every phase starts from the same shape.
 */
enum kv_workload { PUT100, GET100, INSERT100, PUT4K, MIX100 };

static void phase_kv(const char *dir, enum kv_workload w)
{
	static const char *const names[] = { "put100", "get100", "insert100", "put4k", "mix100" };
	static unsigned char value[VALUE_MAX], out[VALUE_MAX];
	uint64_t n = w == PUT4K ? ops4k : ops;
	struct counts_phase s;
	char key[32];

	pool_ready(dir);
	counts_phase_begin(&s);
	for (uint64_t j = 0; j < n; j++) {
		unsigned i = key_index(j, 0);
		size_t len = w == PUT4K ? 4096 : 100, key_len;
		int put = w == PUT100 || w == PUT4K || w == INSERT100 || (w == MIX100 && j % 10 == 0);

		if (w == INSERT100)
			key_len = insert_key(key, j);
		else
			key_len = make_key(key, w == PUT4K ? i % 1000 : i);
		if (put) {
			make_value(value, len, j, 0, 8 * (uint64_t)w + 1); /* procs 1 */
			if (kv_put(key, key_len, value, len))
				fail(names[w], 1);
		} else if (kv_get(key, key_len, out) != 100) {
			fprintf(stderr, "pmdk_bench: %s: key %.*s missing or not 100 bytes long\n",
				names[w], (int)key_len, key);
			exit(1);
		}
	}
	counts_phase_end(&s, names[w], "pmdk", 1, n);
	if (w == INSERT100) {
		kv_check_count(KEYS + n);
		kv_edit(0, 0, n, "removing insert100's keys");
	} else if (w == PUT4K) {
		kv_edit(1, 0, 1000, "refilling put4k's keys");
	}
	kv_check(0);
}

/* ---- Whether libpmem and libpmemobj take their PM path here ---- */

/* The VmFlags of the mapping that holds ADDR (/proc/self/smaps), into FLAGS. */
static void vmflags_of(const void *addr, char *flags, size_t size)
{
	char line[512];
	int inside = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	snprintf(flags, size, "(not found)");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			inside = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
		else if (inside && !strncmp(line, "VmFlags:", 8)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(flags, size, "%s", line + 9);
			break;
		}
	}
	fclose(f);
}

static int env_is_1(const char *name)
{
	const char *v = getenv(name);

	return v && !strcmp(v, "1");
}

/* Prints, once, how libpmem flushes here and whether both libraries see the files as PM. */
static void print_pm_path(const char *dir)
{
	unsigned a, b, c, d, clflush = 0, clflushopt = 0, clwb = 0;
	const char *flush = "none (no clflush)";
	char path[4096], flags[512];
	size_t mapped;
	int is_pmem;
	void *p;

	if (__get_cpuid(1, &a, &b, &c, &d))
		clflush = (d >> 19) & 1;
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
		clflushopt = (b >> 23) & 1;
		clwb = (b >> 24) & 1;
	}
	if (clwb && !env_is_1("PMEM_NO_CLWB"))
		flush = "clwb";
	else if (clflushopt && !env_is_1("PMEM_NO_CLFLUSHOPT"))
		flush = "clflushopt";
	else if (clflush)
		flush = "clflush";
	printf("pmdk_bench: PMDK %s (libpmemobj API %d.%d); CPUID clflush=%u clflushopt=%u clwb=%u: libpmem flushes with %s;"
	       " pmem_has_auto_flush=%d (1 would skip flushes)\n",
	       PMDK_VERSION, PMEMOBJ_MAJOR_VERSION, PMEMOBJ_MINOR_VERSION, clflush, clflushopt, clwb, flush,
	       pmem_has_auto_flush());
	snprintf(path, sizeof(path), "%s/pmdk-bench.probe", dir);
	p = pmem_map_file(path, 1 << 20, PMEM_FILE_CREATE, 0600, &mapped, &is_pmem);
	if (!p) {
		printf("pmdk_bench: pmem_map_file %s: %s\n", path, pmem_errormsg());
	} else {
		vmflags_of(p, flags, sizeof(flags));
		printf("pmdk_bench: pmem_map_file: is_pmem=%d pmem_is_pmem=%d VmFlags: %s\n", is_pmem,
		       pmem_is_pmem(p, mapped), flags);
		pmem_unmap(p, mapped);
	}
	unlink(path);
	pool_ready(dir);
	vmflags_of(pool, flags, sizeof(flags));
	printf("pmdk_bench: pool mapping VmFlags: %s (%s: libpmemobj %s)\n", flags,
	       strstr(flags, " sf") || !strncmp(flags, "sf", 2) ? "sf, MAP_SYNC" : "no sf, no MAP_SYNC",
	       strstr(flags, " sf") || !strncmp(flags, "sf", 2) ? "flushes with the CPU" : "uses msync");
	fflush(stdout);
}

/* ---- main ---- */

static const char *const phases[] = { "tx100", "persist100", "put100", "get100", "insert100", "put4k",
				      "mix100" };
#define NPHASES (sizeof(phases) / sizeof(phases[0]))

static void run_phase(const char *dir, const char *name)
{
	if (!strcmp(name, "tx100"))
		phase_tx100(dir);
	else if (!strcmp(name, "persist100"))
		phase_persist100(dir);
	else
		for (unsigned i = 2; i < NPHASES; i++)
			if (!strcmp(name, phases[i]))
				phase_kv(dir, (enum kv_workload)(i - 2));
}

static int usage(void)
{
	fprintf(stderr, "usage: pmdk_bench DIR [--ops N] [--ops4k N] [PHASE...]\nphases:");
	for (unsigned i = 0; i < NPHASES; i++)
		fprintf(stderr, " %s", phases[i]);
	fprintf(stderr, "\n");
	return 2;
}

static int parse_count(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || end == s || *end || *v == 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *dir, *chosen[NPHASES];
	unsigned n = 0;

	if (argc < 2 || argv[1][0] == '-')
		return usage();
	dir = argv[1];
	for (int i = 2; i < argc; i++) {
		unsigned k;

		if (!strcmp(argv[i], "--ops") || !strcmp(argv[i], "--ops4k")) {
			uint64_t *v = strcmp(argv[i], "--ops") ? &ops4k : &ops;

			if (i + 1 >= argc || parse_count(argv[i + 1], v))
				return usage();
			i++;
			continue;
		}
		for (k = 0; k < NPHASES && strcmp(argv[i], phases[k]); k++)
			;
		if (k == NPHASES || n == NPHASES)
			return usage();
		chosen[n++] = phases[k];
	}
	if (n == 0)
		for (; n < NPHASES; n++)
			chosen[n] = phases[n];
	print_pm_path(dir);
	for (unsigned i = 0; i < n; i++)
		run_phase(dir, chosen[i]);
	if (pool)
		pmemobj_close(pool);
	unlink(pool_path);
	return 0;
}
