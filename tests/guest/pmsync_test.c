// SPDX-License-Identifier: GPL-2.0
/*
 * pmsync_test.c - PMSYNC on region file descriptors: the epochs it returns, what it costs
 * (exactly the dirty pages' lines plus one metadata line, two fences, and one walk of the
 * mappings, whatever the region's size), that it covers every process's stores, that the first
 * write after it faults again, and that running out of undo slots commits automatically instead of losing atomicity. Calls go
 * through libregion, except a PMSYNC given a bad pointer.
 *
 * Expects region.ko loaded on a formatted device with no regions; removes what it creates.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "region.h"
#include "kselftest_harness.h"

#define PAGE 4096UL

/* Creates region @name of @size bytes and opens it read-write; returns the descriptor or -1. */
static int make_region(int dev, const char *name, __u64 size)
{
	if (region_create(dev, name, size, 0600))
		return -1;
	return region_open(dev, name, REGION_OPEN_WRITE);
}

/* Maps the whole region @fd writable; returns its address, or MAP_FAILED. */
static void *map_writable(int fd)
{
	struct region_mapping m;

	return region_map(fd, REGION_MAP_WRITE, &m) ? MAP_FAILED : m.addr;
}

static struct region_counters counters(int dev)
{
	struct region_counters c;

	memset(&c, 0, sizeof(c));
	region_counters(dev, &c);
	return c;
}

FIXTURE(sync) {
	int dev;
};

FIXTURE_SETUP(sync)
{
	self->dev = region_device_open(NULL);
	ASSERT_LE(0, self->dev);
}

FIXTURE_TEARDOWN(sync)
{
	region_device_close(self->dev);
}

TEST_F(sync, pmsync_returns_the_committed_epoch)
{
	struct region_stat st;
	__u64 e0;
	uint64_t e;
	char *p;
	int r = make_region(self->dev, "epochs", 4 * PAGE);

	ASSERT_LE(0, r);
	ASSERT_EQ(0, region_fstat(r, &st));
	e0 = st.epoch;
	/* Nothing written: nothing to commit; the last committed epoch comes back. */
	ASSERT_EQ(0, region_pmsync(r, &e));
	EXPECT_EQ(e0 - 1, e);
	p = map_writable(r);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;
	ASSERT_EQ(0, region_pmsync(r, &e));
	EXPECT_EQ(e0, e);
	ASSERT_EQ(0, region_fstat(r, &st));
	EXPECT_EQ(e0 + 1, st.epoch);
	EXPECT_EQ(-1, ioctl(r, REGION_IOC_PMSYNC, NULL));
	EXPECT_EQ(EFAULT, errno);
	munmap(p, 4 * PAGE);
	close(r);
	region_delete(self->dev, "epochs");
}

/* Dirties pages 0, 5 and 9 of a region of @size and checks what the PMSYNC alone costs. */
static void check_pmsync_cost(struct __test_metadata *_metadata, int dev, __u64 size)
{
	struct region_counters a, b;
	uint64_t e;
	char *p;
	int r = make_region(dev, "cost", size);

	ASSERT_LE(0, r);
	p = map_writable(r);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = p[5 * PAGE] = p[9 * PAGE + 100] = 7;
	a = counters(dev);
	ASSERT_EQ(0, region_pmsync(r, &e));
	b = counters(dev);
	EXPECT_EQ(3U, b.pages_written_back - a.pages_written_back);
	EXPECT_EQ(3 * PAGE / 64 + 1, b.lines_written_back - a.lines_written_back);
	EXPECT_EQ(2U, b.fences - a.fences);
	EXPECT_EQ(1U, b.pmsyncs - a.pmsyncs);
	/* One walk of the mappings, and one mapping (this one) loses its entries: pages 0, 5 and 9
	 * lie close enough for one call, so one TLB flush. */
	EXPECT_EQ(1U, b.unmap_rounds - a.unmap_rounds);
	EXPECT_EQ(1U, b.mappings_unmapped - a.mappings_unmapped);
	munmap(p, size);
	close(r);
	region_delete(dev, "cost");
}

TEST_F(sync, pmsync_cost_is_the_dirty_pages_whatever_the_region_size)
{
	check_pmsync_cost(_metadata, self->dev, 1UL << 20);
	check_pmsync_cost(_metadata, self->dev, 64UL << 20);
}

TEST_F(sync, first_write_in_each_epoch_saves_the_page_once)
{
	struct region_counters a, b, c;
	volatile char *p;
	uint64_t e;
	int r = make_region(self->dev, "once", 2 * PAGE);

	ASSERT_LE(0, r);
	p = map_writable(r);
	ASSERT_NE(MAP_FAILED, p);
	a = counters(self->dev);
	p[0] = 1;
	p[1] = 2; /* same page, same epoch: no second save */
	p[100] = 3;
	b = counters(self->dev);
	EXPECT_EQ(1U, b.undo_pages - a.undo_pages);
	ASSERT_EQ(0, region_pmsync(r, &e));
	p[2] = 4; /* new epoch: saved again */
	c = counters(self->dev);
	EXPECT_EQ(1U, c.undo_pages - b.undo_pages);
	EXPECT_LT(b.faults, c.faults);
	EXPECT_EQ(1, p[0]);
	EXPECT_EQ(4, p[2]);
	munmap((void *)p, 2 * PAGE);
	close(r);
	region_delete(self->dev, "once");
}

TEST_F(sync, a_read_mapping_written_later_is_saved_first)
{
	struct region_counters a, b;
	volatile char *p;
	char x;
	int r = make_region(self->dev, "readfirst", PAGE);

	ASSERT_LE(0, r);
	p = map_writable(r);
	ASSERT_NE(MAP_FAILED, p);
	x = p[10]; /* maps the page read-only */
	a = counters(self->dev);
	EXPECT_EQ(0U, a.undo_pages - counters(self->dev).undo_pages);
	p[10] = x + 5; /* write to a read-only mapping: ->pfn_mkwrite */
	b = counters(self->dev);
	EXPECT_EQ(1U, b.undo_pages - a.undo_pages);
	EXPECT_EQ(x + 5, p[10]);
	munmap((void *)p, PAGE);
	close(r);
	region_delete(self->dev, "readfirst");
}

TEST_F(sync, one_pmsync_covers_every_process)
{
	struct region_counters a, b;
	volatile char *p;
	uint64_t e;
	int i, status, r = make_region(self->dev, "procs", 4 * PAGE);

	ASSERT_LE(0, r);
	for (i = 0; i < 2; i++) {
		if (fork() == 0) {
			char *q = map_writable(r);

			if (q == MAP_FAILED)
				_exit(1);
			q[i * PAGE] = 'a' + i;
			_exit(0);
		}
	}
	for (i = 0; i < 2; i++) {
		wait(&status);
		EXPECT_EQ(0, WEXITSTATUS(status));
	}
	a = counters(self->dev);
	ASSERT_EQ(0, region_pmsync(r, &e));
	b = counters(self->dev);
	EXPECT_EQ(2U, b.pages_written_back - a.pages_written_back);
	p = mmap(NULL, 4 * PAGE, PROT_READ, MAP_SHARED, r, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ('a', p[0]);
	EXPECT_EQ('b', p[PAGE]);
	munmap((void *)p, 4 * PAGE);
	close(r);
	region_delete(self->dev, "procs");
}

/*
 * Two mappings of one region: one writes, the other only reads. PMSYNC removes the writer's
 * entries alone; the reader keeps its read-only mapping (no TLB flush for it, no fault after).
 */
TEST_F(sync, a_mapping_that_only_reads_keeps_its_entries)
{
	struct region_counters a, b, c;
	volatile char *w, *rd;
	uint64_t e;
	char x;
	int r = make_region(self->dev, "reader", 2 * PAGE);

	ASSERT_LE(0, r);
	w = map_writable(r);
	ASSERT_NE(MAP_FAILED, w);
	rd = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, r, 0);
	ASSERT_NE(MAP_FAILED, rd);
	x = rd[0]; /* a read-only entry in the reading mapping */
	w[0] = x + 1;
	a = counters(self->dev);
	ASSERT_EQ(0, region_pmsync(r, &e));
	b = counters(self->dev);
	EXPECT_EQ(1U, b.mappings_unmapped - a.mappings_unmapped);
	EXPECT_EQ(x + 1, rd[0]); /* through the entry it kept: no fault */
	c = counters(self->dev);
	EXPECT_EQ(0U, c.faults - b.faults);
	w[0] = x + 2; /* the writer's entry is gone: it faults and saves the page again */
	EXPECT_EQ(1U, counters(self->dev).undo_pages - c.undo_pages);
	EXPECT_EQ(x + 2, rd[0]);
	munmap((void *)rd, 2 * PAGE);
	munmap((void *)w, 2 * PAGE);
	close(r);
	region_delete(self->dev, "reader");
}

/*
 * A forked child inherits its parent's writable entries; PMSYNC must remove them too, so that the
 * child's first store after it faults and saves the page. The same for a mapping split in two.
 */
TEST_F(sync, copied_mappings_lose_their_writable_entries_at_pmsync)
{
	struct region_counters a, b;
	int go[2], done[2], status;
	volatile char *p;
	uint64_t e;
	char byte = 0;
	pid_t pid;
	int r = make_region(self->dev, "copied", 2 * PAGE);

	ASSERT_LE(0, r);
	p = map_writable(r);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	p[0] = 1; /* writable here, and in the child after fork */
	p[PAGE] = 1;
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (read(go[0], &byte, 1) != 1)
			_exit(1);
		p[0] = 2; /* after the parent's PMSYNC */
		_exit(write(done[1], &byte, 1) == 1 ? 0 : 1);
	}
	a = counters(self->dev);
	ASSERT_EQ(0, region_pmsync(r, &e));
	b = counters(self->dev);
	EXPECT_EQ(2U, b.mappings_unmapped - a.mappings_unmapped); /* the 2 processes' mappings */
	ASSERT_EQ(1, write(go[1], &byte, 1));
	ASSERT_EQ(1, read(done[0], &byte, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(1U, counters(self->dev).undo_pages - b.undo_pages);
	EXPECT_EQ(2, p[0]);

	/* Split: page 1 ends up in a new mapping, a copy of the first. */
	ASSERT_EQ(0, region_pmsync(r, &e));
	p[PAGE] = 3;
	ASSERT_EQ(0, mprotect((void *)p, PAGE, PROT_READ));
	a = counters(self->dev);
	ASSERT_EQ(0, region_pmsync(r, &e));
	p[PAGE] = 4;
	EXPECT_EQ(1U, counters(self->dev).undo_pages - a.undo_pages);
	EXPECT_EQ(4, p[PAGE]);
	munmap((void *)p, 2 * PAGE);
	close(go[0]);
	close(go[1]);
	close(done[0]);
	close(done[1]);
	close(r);
	region_delete(self->dev, "copied");
}

TEST_F(sync, stores_through_a_closed_file_wait_for_the_next_pmsync)
{
	struct region_counters a, b;
	struct region_stat st;
	uint64_t e;
	char *p;
	int r = make_region(self->dev, "closed", 2 * PAGE);

	ASSERT_LE(0, r);
	ASSERT_EQ(0, region_fstat(r, &st));
	p = map_writable(r);
	ASSERT_NE(MAP_FAILED, p);
	p[PAGE] = 9;
	munmap(p, 2 * PAGE);
	close(r); /* the last file: the stores are not committed, and not forgotten either */
	r = region_open(self->dev, "closed", REGION_OPEN_WRITE);
	ASSERT_LE(0, r);
	a = counters(self->dev);
	ASSERT_EQ(0, region_pmsync(r, &e));
	b = counters(self->dev);
	EXPECT_EQ(st.epoch, e);
	EXPECT_EQ(1U, b.pages_written_back - a.pages_written_back);
	close(r);
	region_delete(self->dev, "closed");
}

TEST_F(sync, deleting_a_region_with_uncommitted_stores_frees_its_undo_slots)
{
	struct region_layout l;
	struct region_counters a, b;
	unsigned long round, i;
	char *p;
	int r;

	ASSERT_EQ(0, region_layout(self->dev, NULL, &l));
	/* Each round holds 64 slots when it is deleted: leaked slots would run out. */
	for (round = 0; round < 2 * l.undo_slots / 64 + 2; round++) {
		r = make_region(self->dev, "leak", 64 * PAGE);
		ASSERT_LE(0, r);
		p = map_writable(r);
		ASSERT_NE(MAP_FAILED, p);
		for (i = 0; i < 64; i++)
			p[i * PAGE] = 1;
		munmap(p, 64 * PAGE);
		close(r);
		region_delete(self->dev, "leak");
	}
	/* A writer that needs its owner's whole share of slots still gets it. */
	r = make_region(self->dev, "after", l.undo_share * PAGE);
	ASSERT_LE(0, r);
	p = map_writable(r);
	ASSERT_NE(MAP_FAILED, p);
	a = counters(self->dev);
	for (i = 0; i < l.undo_share; i++)
		p[i * PAGE] = 2;
	b = counters(self->dev);
	EXPECT_EQ(0U, b.pmsyncs - a.pmsyncs) TH_LOG("undo slots leaked: an automatic commit was needed");
	munmap(p, l.undo_share * PAGE);
	close(r);
	region_delete(self->dev, "after");
}

TEST_F(sync, pmsync_all_commits_every_region_this_process_has_open)
{
	struct region_counters c0, c1;
	struct region_stat st;
	uint64_t n = 0;
	char *a, *b;
	int ra = make_region(self->dev, "all-a", 4 * PAGE), rb = make_region(self->dev, "all-b", 4 * PAGE);
	int ra2 = region_open(self->dev, "all-a", REGION_OPEN_WRITE); /* a second descriptor on it */

	ASSERT_LE(0, ra);
	ASSERT_LE(0, rb);
	ASSERT_LE(0, ra2);
	a = map_writable(ra);
	b = map_writable(rb);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	a[0] = a[2 * PAGE] = b[PAGE] = 1;
	c0 = counters(self->dev);
	ASSERT_EQ(0, region_pmsync_all(self->dev, &n));
	c1 = counters(self->dev);
	EXPECT_EQ(2U, n);
	EXPECT_EQ(3U, c1.pages_written_back - c0.pages_written_back);
	EXPECT_EQ(2U, c1.pmsyncs - c0.pmsyncs);
	ASSERT_EQ(0, region_fstat(rb, &st));
	EXPECT_EQ(0U, st.open_files - 1);
	munmap(a, 4 * PAGE);
	munmap(b, 4 * PAGE);
	close(ra);
	close(ra2);
	close(rb);
	region_delete(self->dev, "all-a");
	region_delete(self->dev, "all-b");
}

TEST_F(sync, undo_area_exhaustion_commits_automatically)
{
	struct region_layout l;
	struct region_counters a, b;
	unsigned long pages, i, bad = 0;
	char *p;
	int r;

	ASSERT_EQ(0, region_layout(self->dev, NULL, &l));
	pages = l.undo_slots + 100;
	r = make_region(self->dev, "big", pages * PAGE);
	ASSERT_LE(0, r);
	p = map_writable(r);
	ASSERT_NE(MAP_FAILED, p);
	a = counters(self->dev);
	for (i = 0; i < pages; i++)
		p[i * PAGE] = (char)(i | 1);
	b = counters(self->dev);
	EXPECT_LE(1U, b.pmsyncs - a.pmsyncs) TH_LOG("no automatic commit");
	for (i = 0; i < pages; i++)
		bad += p[i * PAGE] != (char)(i | 1);
	EXPECT_EQ(0U, bad);
	munmap(p, pages * PAGE);
	close(r);
	region_delete(self->dev, "big");
}

TEST_HARNESS_MAIN
