// SPDX-License-Identifier: GPL-2.0
/*
 * write_test.c - REGION_IOC_WRITE (writes through the kernel, logged line by line) and the
 * region's volatile page, through the raw ioctls and mmap: what a write shows, what it costs (no
 * fault, no TLB shootdown, a few lines and three fences with its commit), that a reload rolls an
 * uncommitted write back and keeps a committed one, its refusals, and the volatile page's sharing
 * and permissions.
 *
 * Expects region.ko loaded on a formatted device with no regions ($REGION_PMEM names the device
 * for the reload); removes what it creates and leaves the module loaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "region.h"
#include "cleanup.h"
#include "kselftest_harness.h"
#include "reload.h"

#define PAGE 4096UL

/* One REGION_IOC_WRITE of @n ranges; returns the ioctl's result (errno set) and the epoch. */
static int write_ranges(int fd, struct region_write_range *r, __u32 n, __u32 flags, __u64 *epoch)
{
	struct region_write_args a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.ranges = (__u64)(uintptr_t)r;
	a.count = n;
	a.flags = flags;
	ret = ioctl(fd, REGION_IOC_WRITE, &a);
	if (epoch)
		*epoch = a.epoch;
	return ret;
}

/* A range writing @len bytes of @buf at @offset. */
static struct region_write_range range(__u64 offset, const void *buf, __u64 len)
{
	struct region_write_range r = { offset, (__u64)(uintptr_t)buf, len };

	return r;
}

static struct region_counters counters(int dev)
{
	struct region_counters c;

	memset(&c, 0, sizeof(c));
	region_counters(dev, &c);
	return c;
}

/* Reads every page of the mapping once, so that later reads take no fault. */
static void touch_all(const volatile unsigned char *p, unsigned long pages)
{
	unsigned long i;

	for (i = 0; i < pages; i++)
		(void)p[i * PAGE];
}

FIXTURE(write) {
	int dev;
	int fd;
	unsigned char *map;
};

FIXTURE_SETUP(write)
{
	self->dev = region_device_open(NULL);
	ASSERT_LE(0, self->dev);
	ASSERT_EQ(0, region_create(self->dev, "w", 8 * PAGE, 0600));
	self->fd = region_open(self->dev, "w", REGION_OPEN_WRITE);
	ASSERT_LE(0, self->fd);
	self->map = mmap(NULL, 8 * PAGE, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
}

FIXTURE_TEARDOWN(write)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, 8 * PAGE);
	if (self->fd >= 0)
		close(self->fd);
	delete_regions_and_close(self->dev);
}

/*
 * Closes the fixture's region, reloads the module (rolling back what was not committed) and opens
 * and maps the region again, read-only; self->map is MAP_FAILED if any step failed.
 */
static void reload_and_reopen(FIXTURE_DATA(write) *self)
{
	munmap(self->map, 8 * PAGE);
	self->map = MAP_FAILED;
	close(self->fd);
	self->fd = -1;
	self->dev = reload(self->dev);
	if (self->dev < 0)
		return;
	self->fd = region_open(self->dev, "w", 0);
	if (self->fd >= 0)
		self->map = mmap(NULL, 8 * PAGE, PROT_READ, MAP_SHARED, self->fd, 0);
}

TEST_F(write, writes_show_through_every_mapping_at_once)
{
	unsigned char a[10], b[300], big[5000];
	struct region_write_range r[3];
	__u64 epoch;

	memset(a, 0x11, sizeof(a));
	memset(b, 0x22, sizeof(b));
	memset(big, 0x33, sizeof(big));
	r[0] = range(5, a, sizeof(a));
	r[1] = range(PAGE - 100, b, sizeof(b)); /* across a page boundary */
	r[2] = range(3 * PAGE, big, sizeof(big));
	ASSERT_EQ(0, write_ranges(self->fd, r, 3, 0, &epoch));
	EXPECT_EQ(0, memcmp(self->map + 5, a, sizeof(a)));
	EXPECT_EQ(0, memcmp(self->map + PAGE - 100, b, sizeof(b)));
	EXPECT_EQ(0, memcmp(self->map + 3 * PAGE, big, sizeof(big)));
	EXPECT_EQ(0, self->map[4]);
	EXPECT_EQ(0, self->map[15]);
}

TEST_F(write, a_committed_write_costs_no_fault_no_shootdown_and_three_fences)
{
	unsigned char v[100];
	struct region_write_range r = range(10, v, sizeof(v)); /* lines 0 and 1 */
	struct region_counters before, after;
	struct region_stat st;
	__u64 epoch;

	memset(v, 0x5a, sizeof(v));
	touch_all(self->map, 8);
	ASSERT_EQ(0, region_fstat(self->fd, &st));
	before = counters(self->dev);
	ASSERT_EQ(0, write_ranges(self->fd, &r, 1, REGION_WRITE_COMMIT, &epoch));
	after = counters(self->dev);
	EXPECT_EQ(st.epoch, epoch);
	EXPECT_EQ(0, memcmp(self->map + 10, v, sizeof(v)));
	EXPECT_EQ(0ULL, after.faults - before.faults);
	EXPECT_EQ(0ULL, after.unmap_rounds - before.unmap_rounds);
	EXPECT_EQ(1ULL, after.logged_writes - before.logged_writes);
	EXPECT_EQ(2ULL, after.lines_logged - before.lines_logged);
	EXPECT_EQ(1ULL, after.pmsyncs - before.pmsyncs);
	EXPECT_EQ(3ULL, after.fences - before.fences);
	/* Written back: the slot header, the descriptor line, the epoch word; non-temporal: the two
	 * saved lines and the two new ones. */
	EXPECT_EQ(3ULL, after.lines_written_back - before.lines_written_back);
	EXPECT_EQ(4ULL, after.lines_nt - before.lines_nt);
	ASSERT_EQ(0, region_fstat(self->fd, &st));
	EXPECT_EQ(epoch + 1, st.epoch);
}

TEST_F(write, a_reload_rolls_back_an_uncommitted_write_and_keeps_a_committed_one)
{
	unsigned char one[64], two[64];
	struct region_write_range r;

	memset(one, 0x01, sizeof(one));
	memset(two, 0x02, sizeof(two));
	r = range(PAGE, one, sizeof(one));
	ASSERT_EQ(0, write_ranges(self->fd, &r, 1, REGION_WRITE_COMMIT, NULL));
	r = range(PAGE + 32, two, sizeof(two)); /* half over the committed line */
	ASSERT_EQ(0, write_ranges(self->fd, &r, 1, 0, NULL));
	r = range(6 * PAGE, two, sizeof(two));
	ASSERT_EQ(0, write_ranges(self->fd, &r, 1, 0, NULL));
	reload_and_reopen(self);
	ASSERT_NE(MAP_FAILED, self->map);
	EXPECT_EQ(0, memcmp(self->map + PAGE, one, sizeof(one)));
	EXPECT_EQ(0, self->map[PAGE + 64]);
	EXPECT_EQ(0, self->map[PAGE + 95]);
	EXPECT_EQ(0, self->map[6 * PAGE]);
}

TEST_F(write, bad_requests_are_refused_and_write_nothing)
{
	unsigned char v[64];
	struct region_write_range r[REGION_WRITE_MAX_RANGES + 1];
	struct region_write_args a;
	int ro = region_open(self->dev, "w", 0);
	unsigned int i;

	memset(v, 0x77, sizeof(v));
	ASSERT_LE(0, ro);
	r[0] = range(0, v, sizeof(v));
	EXPECT_EQ(-1, write_ranges(ro, r, 1, 0, NULL));
	EXPECT_EQ(EBADF, errno);
	close(ro);
	r[0] = range(8 * PAGE - 8, v, 16);
	EXPECT_EQ(-1, write_ranges(self->fd, r, 1, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	r[0] = range(~0ULL - 4, v, 16);
	EXPECT_EQ(-1, write_ranges(self->fd, r, 1, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write_ranges(self->fd, r, 0, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	r[0] = range(0, v, sizeof(v));
	EXPECT_EQ(-1, write_ranges(self->fd, r, 1, 0x80, NULL));
	EXPECT_EQ(EINVAL, errno);
	for (i = 0; i <= REGION_WRITE_MAX_RANGES; i++)
		r[i] = range(0, v, 1);
	EXPECT_EQ(-1, write_ranges(self->fd, r, REGION_WRITE_MAX_RANGES + 1, 0, NULL));
	EXPECT_EQ(E2BIG, errno);
	r[0] = range(0, v, REGION_WRITE_MAX_BYTES + 1ULL);
	EXPECT_EQ(-1, write_ranges(self->fd, r, 1, 0, NULL));
	EXPECT_EQ(E2BIG, errno);
	/* A bad address in the second range: the first is not written either. */
	r[0] = range(0, v, sizeof(v));
	r[1] = range(PAGE, (void *)16, 64);
	EXPECT_EQ(-1, write_ranges(self->fd, r, 2, 0, NULL));
	EXPECT_EQ(EFAULT, errno);
	memset(&a, 0, sizeof(a));
	a.ranges = 16;
	a.count = 1;
	EXPECT_EQ(-1, ioctl(self->fd, REGION_IOC_WRITE, &a));
	EXPECT_EQ(EFAULT, errno);
	a.ranges = (__u64)(uintptr_t)r;
	a.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, REGION_IOC_WRITE, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, self->map[0]);
	EXPECT_EQ(0, self->map[8 * PAGE - 1]);
}

TEST_F(write, a_write_and_a_store_through_a_mapping_share_the_epoch)
{
	unsigned char v[64];
	struct region_write_range r = range(2 * PAGE + 64, v, sizeof(v));
	unsigned char *w = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);

	ASSERT_NE(MAP_FAILED, w);
	memset(v, 0x44, sizeof(v));
	ASSERT_EQ(0, write_ranges(self->fd, &r, 1, 0, NULL));
	w[2 * PAGE] = 0x55; /* the page is saved now, holding the write's bytes */
	ASSERT_EQ(0, write_ranges(self->fd, &r, 1, 0, NULL));
	munmap(w, 8 * PAGE);
	reload_and_reopen(self);
	ASSERT_NE(MAP_FAILED, self->map);
	EXPECT_EQ(0, self->map[2 * PAGE]);
	EXPECT_EQ(0, self->map[2 * PAGE + 64]);
}

/* The volatile page: shared by the region's openers, zero when first opened, never on PM. */
TEST_F(write, the_volatile_page_is_shared_and_starts_at_zero)
{
	volatile uint64_t *v = mmap(NULL, REGION_VOLATILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
				    self->fd, REGION_VOLATILE_OFFSET);
	int status, ro;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, (void *)v);
	EXPECT_EQ(0ULL, v[0]);
	v[0] = 42;
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Another descriptor, another mapping: the same page. */
		int fd = region_open(self->dev, "w", REGION_OPEN_WRITE);
		volatile uint64_t *u = mmap(NULL, REGION_VOLATILE_SIZE, PROT_READ | PROT_WRITE,
					    MAP_SHARED, fd, REGION_VOLATILE_OFFSET);

		if (fd < 0 || u == MAP_FAILED || u[0] != 42)
			_exit(1);
		u[1] = 7;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	EXPECT_EQ(7ULL, v[1]);
	/* A file's page: shared futexes work on it (a wake finds no one; a wait on a changed value
	 * returns at once). */
	EXPECT_EQ(0, syscall(SYS_futex, (uint32_t *)&v[2], FUTEX_WAKE, 1, NULL, NULL, 0));
	EXPECT_EQ(-1, syscall(SYS_futex, (uint32_t *)&v[2], FUTEX_WAIT, 1, NULL, NULL, 0));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, self->map[0]); /* not the region's bytes */
	ro = region_open(self->dev, "w", 0);
	ASSERT_LE(0, ro);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, REGION_VOLATILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
				   ro, REGION_VOLATILE_OFFSET));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 2 * REGION_VOLATILE_SIZE, PROT_READ, MAP_SHARED, ro,
				   REGION_VOLATILE_OFFSET));
	EXPECT_EQ(EINVAL, errno);
	close(ro);
	munmap((void *)v, REGION_VOLATILE_SIZE);
	/* Every descriptor closed: the next opener starts from zero. */
	munmap(self->map, 8 * PAGE);
	self->map = MAP_FAILED;
	close(self->fd);
	self->fd = region_open(self->dev, "w", REGION_OPEN_WRITE);
	ASSERT_LE(0, self->fd);
	v = mmap(NULL, REGION_VOLATILE_SIZE, PROT_READ, MAP_SHARED, self->fd,
		 REGION_VOLATILE_OFFSET);
	ASSERT_NE(MAP_FAILED, (void *)v);
	EXPECT_EQ(0ULL, v[0]);
	munmap((void *)v, REGION_VOLATILE_SIZE);
}

TEST_HARNESS_MAIN
