// SPDX-License-Identifier: GPL-2.0
/*
 * torture - the guest side of the crash torture (scripts/crash-torture.sh).
 *
 *   torture init NAME PAGES PROCS   create the region; write generation 0 everywhere; PMSYNC
 *   torture verify NAME PROCS       check that the region holds one whole generation; print it
 *   torture run NAME PROCS          rounds until killed: PROCS processes each write the next
 *                                   generation into their slot of every page, then one PMSYNC
 *
 * Every page is shared: it holds one slot per process, and each process writes only its own slot,
 * word by word, so a power cut during a round leaves pages with some slots of the new generation
 * and some of the old unless PMSYNC's rollback works. A slot is [generation, process, page, then
 * words derived from those three]; verify checks every word of every slot and that all slots of
 * all pages carry the same generation. After each PMSYNC, `run` prints "TORTURE-COMMITTED G" on
 * the console, outside the region, so the host can check that no committed PMSYNC was lost.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "region.h"

#define PAGE 4096UL

static int dev;

static void die(const char *what)
{
	fprintf(stderr, "torture: %s: %s\n", what, strerror(errno));
	exit(2);
}

static uint64_t word(uint64_t gen, uint64_t proc, uint64_t page, uint64_t k)
{
	uint64_t x = gen * 0x9e3779b97f4a7c15ULL ^ proc << 48 ^ page << 20 ^ k;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	return x ^ x >> 29;
}

static size_t slot_words(int procs)
{
	return PAGE / 8 / procs;
}

static void write_slot(uint64_t *page_base, uint64_t page, int proc, int procs, uint64_t gen)
{
	volatile uint64_t *s = page_base + proc * slot_words(procs);
	size_t k;

	s[1] = proc;
	s[2] = page;
	for (k = 3; k < slot_words(procs); k++)
		s[k] = word(gen, proc, page, k);
	s[0] = gen;
}

/* The generation slot @proc of @page holds, or -1 if the slot is not one whole generation. */
static int64_t read_slot(const uint64_t *page_base, uint64_t page, int proc, int procs)
{
	const uint64_t *s = page_base + proc * slot_words(procs);
	size_t k;

	if (s[1] != (uint64_t)proc || s[2] != page)
		return -1;
	for (k = 3; k < slot_words(procs); k++)
		if (s[k] != word(s[0], proc, page, k))
			return -1;
	return s[0];
}

static int open_region(const char *name, size_t *len)
{
	struct region_open_args a = { .flags = REGION_OPEN_WRITE };
	struct region_stat st = { 0 };
	int fd;

	strncpy(a.name, name, sizeof(a.name) - 1);
	strncpy(st.name, name, sizeof(st.name) - 1);
	if (ioctl(dev, REGION_IOC_STAT, &st))
		die("stat");
	*len = st.size;
	fd = ioctl(dev, REGION_IOC_OPEN, &a);
	if (fd < 0)
		die("open");
	return fd;
}

static uint64_t pmsync(int fd)
{
	__u64 epoch;

	if (ioctl(fd, REGION_IOC_PMSYNC, &epoch))
		die("PMSYNC");
	return epoch;
}

/* Checks the region; returns its generation, or -1 (having printed what is wrong). */
static int64_t verify(uint64_t *base, size_t pages, int procs)
{
	int64_t gen = -2;
	size_t p, bad = 0;
	int i;

	for (p = 0; p < pages; p++) {
		for (i = 0; i < procs; i++) {
			int64_t g = read_slot(base + p * PAGE / 8, p, i, procs);

			if (gen == -2)
				gen = g;
			if (g < 0 || g != gen) {
				if (bad++ < 10)
					printf("TORTURE-BAD page %zu slot %d holds generation %lld, page 0 slot 0 %lld\n",
					       p, i, (long long)g, (long long)gen);
			}
		}
	}
	if (bad) {
		printf("TORTURE-BAD %zu slots of %zu are not generation %lld\n", bad, pages * procs, (long long)gen);
		return -1;
	}
	return gen;
}

struct barrier {
	volatile uint64_t round;
	volatile int done;
};

static void run(uint64_t *base, size_t pages, int procs, int fd, int64_t start)
{
	struct barrier *b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int i;

	if (b == MAP_FAILED)
		die("mmap barrier");
	b->round = start + 1;
	b->done = 0;
	for (i = 1; i < procs; i++)
		if (fork() == 0)
			break;
	if (i == procs)
		i = 0;
	for (;;) {
		uint64_t gen = b->round;
		size_t p;

		for (p = 0; p < pages; p++)
			write_slot(base + p * PAGE / 8, p, i, procs, gen);
		__atomic_add_fetch(&b->done, 1, __ATOMIC_SEQ_CST);
		if (i == 0) {
			uint64_t epoch;

			while (__atomic_load_n(&b->done, __ATOMIC_SEQ_CST) < procs)
				sched_yield();
			epoch = pmsync(fd);
			printf("TORTURE-COMMITTED %llu epoch %llu\n", (unsigned long long)gen, (unsigned long long)epoch);
			fflush(stdout);
			b->done = 0;
			__atomic_store_n(&b->round, gen + 1, __ATOMIC_SEQ_CST);
		} else {
			while (__atomic_load_n(&b->round, __ATOMIC_SEQ_CST) == gen)
				sched_yield();
		}
	}
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	size_t len, p;
	uint64_t *base;
	int fd, procs, i;

	dev = open(REGION_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		die(REGION_DEVICE_PATH);
	if (!strcmp(cmd, "init") && argc == 5) {
		struct region_create_args c = { .size = strtoull(argv[3], NULL, 0) * PAGE, .mode = 0600 };

		strncpy(c.name, argv[2], sizeof(c.name) - 1);
		if (ioctl(dev, REGION_IOC_CREATE, &c))
			die("create");
	} else if (!((!strcmp(cmd, "verify") || !strcmp(cmd, "run")) && argc == 4)) {
		fprintf(stderr, "usage: torture init NAME PAGES PROCS | verify NAME PROCS | run NAME PROCS\n");
		return 2;
	}
	procs = atoi(argv[argc - 1]);
	if (procs < 1 || procs > 16)
		return 2;
	fd = open_region(argv[2], &len);
	base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		die("mmap");
	if (!strcmp(cmd, "init")) {
		for (p = 0; p < len / PAGE; p++)
			for (i = 0; i < procs; i++)
				write_slot(base + p * PAGE / 8, p, i, procs, 0);
		printf("TORTURE-COMMITTED 0 epoch %llu\n", (unsigned long long)pmsync(fd));
		return 0;
	}
	{
		int64_t gen = verify(base, len / PAGE, procs);

		if (gen < 0)
			return 1;
		printf("TORTURE-RECOVERED %lld\n", (long long)gen);
		fflush(stdout);
		if (!strcmp(cmd, "run"))
			run(base, len / PAGE, procs, fd, gen);
	}
	return 0;
}
