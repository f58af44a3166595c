// SPDX-License-Identifier: GPL-2.0
/*
 * sync_race.c - stores racing with PMSYNC. Writer processes store without pause while the parent
 * runs PMSYNCs and reader processes keep reading; one writer keeps splitting its mapping
 * (madvise), another keeps replacing it (munmap + mmap). After the last PMSYNC the writers go on
 * storing for a while and are then killed, uncommitted. A module reload rolls the region back to
 * the last PMSYNC. Each writer stores an increasing count to its own pages in turn (count c to its
 * page c % OWN), so in any snapshot they hold a run of consecutive counts. A store that a PMSYNC's
 * shootdown missed (a writable mapping left in place) does not fault, so its page is not saved
 * (no other process writes it), survives the rollback, and breaks that run. The parent writes
 * every page before it forks the writers, so their mappings start as copies holding writable
 * entries.
 *
 *   sync_race run NAME     create NAME and race; prints each writer's counts, and keeps the count
 *                          each had reached when the last PMSYNC returned in /tmp/sync_race-NAME
 *   sync_race check NAME   (after a reload) checks every writer's run, and that it ends at or
 *                          before that count (the rollback happened); exit 0 when all hold
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "region.h"

#define PAGE 4096UL
#define WRITERS 3
#define OWN 8 /* pages of each writer */
#define PAGES (WRITERS * OWN)
#define READERS 2
#define PMSYNCS 200

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static volatile uint64_t *map_region(int fd, int prot)
{
	void *p = mmap(NULL, PAGES * PAGE, prot, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

/* Slot @w of page @p. */
static volatile uint64_t *slot(volatile uint64_t *base, unsigned long p, int w)
{
	return base + p * (PAGE / 8) + w;
}

/* The page writer @w stores count @c to. */
static unsigned long page_of(int w, uint64_t c)
{
	return (unsigned long)w * OWN + c % OWN;
}

/*
 * Writer @w: stores 1, 2, 3, ... to its page c % OWN, forever. Writer 1 also keeps splitting its
 * mapping in two and back (madvise flags: the split falls inside its own pages); writer 2 keeps
 * replacing its mapping. The last count it stored is published in @last (shared memory).
 */
static void writer(int fd, volatile uint64_t *base, int w, volatile uint64_t *last)
{
	uint64_t c;

	for (c = 1;; c++) {
		*slot(base, page_of(w, c), w) = c;
		last[w] = c;
		if (c % 512 != 0)
			continue;
		if (w == 1 && madvise((void *)base, (OWN + OWN / 2) * PAGE, (c / 512) % 2 ? MADV_RANDOM : MADV_NORMAL))
			die("madvise");
		if (w == 2) {
			volatile uint64_t *again = map_region(fd, PROT_READ | PROT_WRITE);

			munmap((void *)base, PAGES * PAGE);
			base = again;
		}
	}
}

/* A reader: keeps reading every page (its mapping is read-only), forever. */
static void reader(volatile uint64_t *base)
{
	volatile uint64_t sum = 0;
	unsigned long p;

	for (;;)
		for (p = 0; p < PAGES; p++)
			sum += *slot(base, p, 0);
}

static void pause_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

static FILE *counts_file(const char *name, const char *mode)
{
	char path[300];

	snprintf(path, sizeof(path), "/tmp/sync_race-%s", name);
	return fopen(path, mode);
}

static int save_counts(const char *name, const uint64_t *counts)
{
	FILE *f = counts_file(name, "w");
	int w;

	if (!f)
		return -1;
	for (w = 0; w < WRITERS; w++)
		fprintf(f, "%llu\n", (unsigned long long)counts[w]);
	return fclose(f);
}

static int run(int dev, const char *name)
{
	pid_t pids[WRITERS + READERS];
	volatile uint64_t *base, *last;
	uint64_t epoch, at_sync[WRITERS];
	int fd, i, n = 0;

	if (region_create(dev, name, PAGES * PAGE, 0600))
		die("create");
	fd = region_open(dev, name, REGION_OPEN_WRITE);
	if (fd < 0)
		die("open");
	base = map_region(fd, PROT_READ | PROT_WRITE);
	last = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (last == MAP_FAILED)
		die("mmap");
	if (region_pmsync(fd, &epoch))
		die("PMSYNC");
	for (i = 0; i < PAGES; i++)
		*slot(base, i, WRITERS) = 1; /* every page writable here, and in the copies */
	/* The writers' mappings are copies of this one (fork), the readers' their own. */
	for (i = 0; i < WRITERS + READERS; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork");
		if (pids[i] == 0) {
			if (i < WRITERS)
				writer(fd, base, i, last);
			reader(map_region(fd, PROT_READ));
		}
	}
	for (n = 0; n < PMSYNCS; n++) {
		if (region_pmsync(fd, &epoch))
			die("PMSYNC");
		pause_ms(1); /* let the writers run, so that most PMSYNCs have stores to commit */
	}
	for (i = 0; i < WRITERS; i++)
		at_sync[i] = last[i];
	pause_ms(100); /* the writers go on, uncommitted */
	for (i = 0; i < WRITERS + READERS; i++)
		kill(pids[i], SIGKILL);
	for (i = 0; i < WRITERS + READERS; i++)
		waitpid(pids[i], NULL, 0);
	if (save_counts(name, at_sync))
		die("saving the counts");
	for (i = 0; i < WRITERS; i++) {
		printf("writer %d: count %llu at the last PMSYNC (epoch %llu), %llu when killed\n", i,
		       (unsigned long long)at_sync[i], (unsigned long long)epoch, (unsigned long long)last[i]);
		if (last[i] <= at_sync[i] + OWN) {
			printf("writer %d stored too little after the last PMSYNC for the check to mean anything\n", i);
			return 1;
		}
	}
	return 0;
}

/*
 * Writer @w's pages must hold the counts m - OWN + 1 ... m (those above 0), each in its page,
 * with m at most @limit, the count it had reached when the last PMSYNC returned.
 */
static int check_writer(volatile uint64_t *base, int w, uint64_t limit)
{
	uint64_t m = 0, want;
	unsigned long i, p;
	int bad = 0;

	for (i = 0; i < OWN; i++)
		if (*slot(base, page_of(w, i), w) > m)
			m = *slot(base, page_of(w, i), w);
	for (i = 0; i < OWN; i++) {
		p = page_of(w, i);
		/* The largest count <= m that goes to page p, or 0 if none does yet. */
		want = m >= i ? m - (m - i) % OWN : 0;
		if (*slot(base, p, w) != want) {
			printf("writer %d: page %lu holds %llu, its run ending at %llu needs %llu\n", w, p,
			       (unsigned long long)*slot(base, p, w), (unsigned long long)m,
			       (unsigned long long)want);
			bad = 1;
		}
	}
	if (m > limit) {
		printf("writer %d: counts up to %llu, past %llu: stores after the last PMSYNC survived\n", w,
		       (unsigned long long)m, (unsigned long long)limit);
		bad = 1;
	}
	printf("writer %d: counts up to %llu (at most %llu), %s\n", w, (unsigned long long)m,
	       (unsigned long long)limit, bad ? "BROKEN" : "whole");
	return bad;
}

static int check(int dev, const char *name)
{
	int fd = region_open(dev, name, 0), w, bad = 0;
	unsigned long long limit[WRITERS];
	volatile uint64_t *base;
	FILE *f = counts_file(name, "r");

	if (fd < 0)
		die("open");
	for (w = 0; w < WRITERS; w++)
		if (!f || fscanf(f, "%llu", &limit[w]) != 1)
			die("reading the counts of the run");
	fclose(f);
	base = map_region(fd, PROT_READ);
	for (w = 0; w < WRITERS; w++)
		bad |= check_writer(base, w, limit[w]);
	return bad;
}

int main(int argc, char **argv)
{
	int dev;

	if (argc != 3 || (strcmp(argv[1], "run") && strcmp(argv[1], "check"))) {
		fprintf(stderr, "usage: sync_race run|check NAME\n");
		return 2;
	}
	dev = region_device_open(NULL);
	if (dev < 0)
		die("/dev/region");
	setvbuf(stdout, NULL, _IOLBF, 0);
	return strcmp(argv[1], "run") ? check(dev, argv[2]) : run(dev, argv[2]);
}
