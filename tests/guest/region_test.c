// SPDX-License-Identifier: GPL-2.0
/*
 * region_test.c - the region lifecycle on /dev/region: create, open, stat, list, resize, delete,
 * layout and counters, each with its errors; mapping a region (shared only, SIGBUS past the end,
 * zeros in a new region), several processes sharing one region, and access control. Calls go
 * through libregion, except where a test hands the kernel what the library never would (a name
 * without NUL, flags, reserved fields, bad pointers, partial mappings, a list capacity).
 *
 * Expects region.ko loaded on a freshly formatted device and no regions; removes what it creates.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
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
#include "cleanup.h"
#include "kselftest_harness.h"

#define PAGE 4096UL
#define NOBODY 65534

/* Runs @fn in a child process; returns the signal that ended it, or 0 if it exited. */
static int signal_of_child(void (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

FIXTURE(dev) {
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = region_device_open(NULL);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", REGION_DEVICE_PATH, strerror(errno));
}

FIXTURE_TEARDOWN(dev)
{
	delete_regions_and_close(self->fd);
}

TEST_F(dev, create_rounds_size_up_and_stat_reports_it)
{
	struct region_stat st;

	ASSERT_EQ(0, region_create(self->fd, "orders", 5000, 0640));
	ASSERT_EQ(0, region_stat(self->fd, "orders", &st));
	EXPECT_STREQ("orders", st.name);
	EXPECT_EQ(2 * PAGE, st.size);
	EXPECT_EQ(0640U, st.mode);
	EXPECT_EQ(0U, st.uid);
	EXPECT_EQ(0U, st.gid);
	EXPECT_EQ(0U, st.open_files);
	EXPECT_EQ(1U, st.nr_extents);
	EXPECT_LE(1ULL, st.epoch);
}

TEST_F(dev, create_existing_name_is_eexist)
{
	ASSERT_EQ(0, region_create(self->fd, "a", PAGE, 0600));
	EXPECT_EQ(-1, region_create(self->fd, "a", PAGE, 0600));
	EXPECT_EQ(EEXIST, errno);
}

TEST_F(dev, names_are_checked)
{
	struct region_create_args a = { .size = PAGE, .mode = 0600 };
	char name63[64];

	memset(name63, 'n', 63);
	name63[63] = 0;
	EXPECT_EQ(0, region_create(self->fd, name63, PAGE, 0600));
	EXPECT_EQ(-1, region_create(self->fd, "", PAGE, 0600));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, region_create(self->fd, "a/b", PAGE, 0600));
	EXPECT_EQ(EINVAL, errno);
	memset(a.name, 'x', sizeof(a.name)); /* 64 bytes, no NUL */
	EXPECT_EQ(-1, ioctl(self->fd, REGION_IOC_CREATE, &a));
	EXPECT_EQ(ENAMETOOLONG, errno);
}

TEST_F(dev, create_refuses_bad_arguments)
{
	struct region_create_args a = { .name = "x", .size = PAGE, .mode = 0600, .flags = 1 };

	EXPECT_EQ(-1, region_create(self->fd, "x", 0, 0600));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, region_create(self->fd, "x", PAGE, 01600));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, REGION_IOC_CREATE, &a));
	EXPECT_EQ(EINVAL, errno);
	a.flags = 0;
	a.reserved[3] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, REGION_IOC_CREATE, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, REGION_IOC_CREATE, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* New names are UTF-8 text. */
	EXPECT_EQ(-1, region_create(self->fd, "\x80\x81", PAGE, 0600));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, region_create(self->fd, "caf\xc3\xa9", PAGE, 0600));
	EXPECT_EQ(0, region_delete(self->fd, "caf\xc3\xa9"));
}

TEST_F(dev, create_beyond_free_space_is_enospc)
{
	struct region_device_info info = { 0 };

	ASSERT_EQ(0, region_device_info(self->fd, &info));
	EXPECT_EQ(-1, region_create(self->fd, "huge", info.device_size, 0600));
	EXPECT_EQ(ENOSPC, errno);
}

TEST_F(dev, full_table_is_enospc)
{
	struct region_layout l;
	char name[32];
	__u32 i;

	ASSERT_EQ(0, region_layout(self->fd, NULL, &l));
	for (i = 0; i < l.table_entries; i++) {
		snprintf(name, sizeof(name), "r%u", i);
		ASSERT_EQ(0, region_create(self->fd, name, PAGE, 0600)) TH_LOG("region %u: %s", i, strerror(errno));
	}
	EXPECT_EQ(-1, region_create(self->fd, "one-too-many", PAGE, 0600));
	EXPECT_EQ(ENOSPC, errno);
	for (i = 0; i < l.table_entries; i++) {
		snprintf(name, sizeof(name), "r%u", i);
		ASSERT_EQ(0, region_delete(self->fd, name));
	}
}

TEST_F(dev, missing_regions_are_enoent)
{
	struct region_stat st;

	EXPECT_EQ(-1, region_open(self->fd, "nope", 0));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, region_delete(self->fd, "nope"));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, region_stat(self->fd, "nope", &st));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, region_resize(self->fd, "nope", PAGE));
	EXPECT_EQ(ENOENT, errno);
}

TEST_F(dev, list_counts_every_region_and_fills_what_fits)
{
	struct region_stat st[4];
	struct region_list_args l = { .entries = (uintptr_t)st, .capacity = 2 };

	ASSERT_EQ(0, region_create(self->fd, "l1", PAGE, 0600));
	ASSERT_EQ(0, region_create(self->fd, "l2", PAGE, 0600));
	ASSERT_EQ(0, region_create(self->fd, "l3", PAGE, 0600));
	memset(st, 0, sizeof(st));
	ASSERT_EQ(0, ioctl(self->fd, REGION_IOC_LIST, &l));
	EXPECT_EQ(3U, l.count);
	EXPECT_STREQ("l1", st[0].name);
	EXPECT_STREQ("l2", st[1].name);
	EXPECT_EQ(0, st[2].name[0]) TH_LOG("wrote past the capacity");
	l.capacity = 4;
	ASSERT_EQ(0, ioctl(self->fd, REGION_IOC_LIST, &l));
	EXPECT_STREQ("l3", st[2].name);
	l.entries = 16; /* a bad pointer */
	EXPECT_EQ(-1, ioctl(self->fd, REGION_IOC_LIST, &l));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(dev, new_region_reads_zeros_after_a_deleted_one)
{
	struct region_mapping m;
	unsigned char *p;
	size_t i, nonzero = 0;
	int r;

	ASSERT_EQ(0, region_create(self->fd, "old", 64 * PAGE, 0600));
	r = region_open(self->fd, "old", REGION_OPEN_WRITE);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, region_map(r, REGION_MAP_WRITE, &m));
	ASSERT_EQ(64 * PAGE, m.length);
	memset(m.addr, 0xab, 64 * PAGE);
	region_unmap(&m);
	close(r);
	ASSERT_EQ(0, region_delete(self->fd, "old"));

	ASSERT_EQ(0, region_create(self->fd, "new", 64 * PAGE, 0600));
	r = region_open(self->fd, "new", 0);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, region_map(r, 0, &m));
	p = m.addr;
	for (i = 0; i < 64 * PAGE; i++)
		nonzero += p[i] != 0;
	EXPECT_EQ(0U, nonzero);
	region_unmap(&m);
	close(r);
}

TEST_F(dev, private_mappings_are_einval)
{
	int r;

	ASSERT_EQ(0, region_create(self->fd, "p", PAGE, 0600));
	r = region_open(self->fd, "p", REGION_OPEN_WRITE);
	ASSERT_LE(0, r);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, r, 0));
	EXPECT_EQ(EINVAL, errno);
	close(r);
}

TEST_F(dev, read_only_open_cannot_map_writable)
{
	struct region_mapping m;
	int r;

	ASSERT_EQ(0, region_create(self->fd, "ro", PAGE, 0600));
	r = region_open(self->fd, "ro", 0);
	ASSERT_LE(0, r);
	EXPECT_EQ(-1, region_map(r, REGION_MAP_WRITE, &m));
	EXPECT_EQ(EACCES, errno);
	close(r);
}

static void touch_byte(void *p)
{
	*(volatile char *)p = 1;
}

TEST_F(dev, access_past_the_end_is_sigbus)
{
	char *p;
	int r;

	ASSERT_EQ(0, region_create(self->fd, "short", PAGE, 0600));
	r = region_open(self->fd, "short", REGION_OPEN_WRITE);
	ASSERT_LE(0, r);
	p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, r, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, signal_of_child(touch_byte, p));
	EXPECT_EQ(SIGBUS, signal_of_child(touch_byte, p + PAGE));
	munmap(p, 2 * PAGE);
	close(r);
}

#define SHARERS 4

TEST_F(dev, forked_processes_see_each_others_stores)
{
	struct region_mapping m;
	volatile __u64 *slots;
	pid_t pids[SHARERS];
	int i, r, status;

	ASSERT_EQ(0, region_create(self->fd, "shared", PAGE, 0600));
	for (i = 0; i < SHARERS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			/* Each process opens and maps the region on its own. */
			int fd = region_open(self->fd, "shared", REGION_OPEN_WRITE), j, seen;
			struct region_mapping m;
			volatile __u64 *s;
			time_t end = time(NULL) + 30;

			if (fd < 0)
				_exit(10);
			if (region_map(fd, REGION_MAP_WRITE, &m))
				_exit(11);
			s = m.addr;
			s[i] = 1000 + i;
			do {
				for (seen = 0, j = 0; j < SHARERS; j++)
					seen += s[j] == (__u64)(1000 + j);
			} while (seen < SHARERS && time(NULL) < end);
			_exit(seen == SHARERS ? 0 : 12);
		}
	}
	for (i = 0; i < SHARERS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("process %d", i);
	}
	/* And this process sees all of it through its own mapping. */
	r = region_open(self->fd, "shared", 0);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, region_map(r, 0, &m));
	slots = m.addr;
	for (i = 0; i < SHARERS; i++)
		EXPECT_EQ((__u64)(1000 + i), slots[i]);
	region_unmap(&m);
	close(r);
}

TEST_F(dev, open_region_cannot_be_deleted)
{
	struct region_stat st;
	int r;

	ASSERT_EQ(0, region_create(self->fd, "busy", PAGE, 0600));
	r = region_open(self->fd, "busy", 0);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, region_fstat(r, &st));
	EXPECT_STREQ("busy", st.name);
	EXPECT_EQ(1U, st.open_files);
	EXPECT_EQ(-1, region_delete(self->fd, "busy"));
	EXPECT_EQ(EBUSY, errno);
	close(r);
	EXPECT_EQ(0, region_delete(self->fd, "busy"));
}

TEST_F(dev, resize_grows_with_zeros_and_keeps_data)
{
	struct region_mapping m;
	struct region_stat st;
	unsigned char *p;
	int r;
	size_t i, bad = 0;

	ASSERT_EQ(0, region_create(self->fd, "grow", PAGE, 0600));
	r = region_open(self->fd, "grow", REGION_OPEN_WRITE);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, region_map(r, REGION_MAP_WRITE, &m));
	memset(m.addr, 0x5a, PAGE);
	region_unmap(&m);
	ASSERT_EQ(0, region_resize(self->fd, "grow", 3 * PAGE));
	ASSERT_EQ(0, region_stat(self->fd, "grow", &st));
	EXPECT_EQ(3 * PAGE, st.size);
	ASSERT_EQ(0, region_map(r, 0, &m));
	ASSERT_EQ(3 * PAGE, m.length);
	p = m.addr;
	for (i = 0; i < 3 * PAGE; i++)
		bad += p[i] != (i < PAGE ? 0x5a : 0);
	EXPECT_EQ(0U, bad);
	region_unmap(&m);
	close(r);
}

TEST_F(dev, shrink_is_ebusy_only_while_a_mapping_covers_the_cut)
{
	struct region_mapping m;
	char *p, *head;
	int r;

	ASSERT_EQ(0, region_create(self->fd, "shrink", 4 * PAGE, 0600));
	r = region_open(self->fd, "shrink", REGION_OPEN_WRITE);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, region_map(r, REGION_MAP_WRITE, &m));
	p = m.addr;
	p[3 * PAGE] = 1;
	EXPECT_EQ(-1, region_resize(self->fd, "shrink", PAGE));
	EXPECT_EQ(EBUSY, errno);
	region_unmap(&m);
	/* A mapping of the first page only does not reach the cut. */
	head = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, r, 0);
	ASSERT_NE(MAP_FAILED, head);
	head[0] = 7;
	EXPECT_EQ(0, region_resize(self->fd, "shrink", PAGE)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(7, head[0]);
	munmap(head, PAGE);
	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, r, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, signal_of_child(touch_byte, p));
	EXPECT_EQ(SIGBUS, signal_of_child(touch_byte, p + 3 * PAGE));
	munmap(p, 4 * PAGE);
	close(r);
}

static void hold_mapping(void *arg)
{
	(void)arg;
	sleep(3);
}

TEST_F(dev, a_forked_copy_of_a_mapping_blocks_shrink)
{
	struct region_mapping m;
	int r, status;
	pid_t pid;

	ASSERT_EQ(0, region_create(self->fd, "forked", 4 * PAGE, 0600));
	r = region_open(self->fd, "forked", REGION_OPEN_WRITE);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, region_map(r, REGION_MAP_WRITE, &m));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		hold_mapping(NULL);
		_exit(0);
	}
	region_unmap(&m); /* the child still maps all four pages */
	EXPECT_EQ(-1, region_resize(self->fd, "forked", PAGE));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, region_resize(self->fd, "forked", PAGE));
	close(r);
}

struct perm_case {
	int dev;
};

static void as_nobody(void *arg)
{
	int dev = ((struct perm_case *)arg)->dev;

	if (setgid(NOBODY) || setuid(NOBODY))
		_exit(90);
	/* Mode 0600, owned by root: no access for others. */
	if (region_open(dev, "private", 0) != -1 || errno != EACCES)
		_exit(91);
	/* Mode 0644: others read, but do not write. */
	if (region_open(dev, "readable", 0) < 0)
		_exit(92);
	if (region_open(dev, "readable", REGION_OPEN_WRITE) != -1 || errno != EACCES)
		_exit(93);
	/* Only the owner (or CAP_SYS_ADMIN) deletes and resizes. */
	if (region_delete(dev, "readable") != -1 || errno != EPERM)
		_exit(94);
	if (region_resize(dev, "readable", 2 * PAGE) != -1 || errno != EPERM)
		_exit(95);
	/* A region this user creates is its own. */
	if (region_create(dev, "nobodys", PAGE, 0600) != 0)
		_exit(96);
	if (region_delete(dev, "nobodys") != 0)
		_exit(97);
	_exit(0);
}

TEST_F(dev, other_users_get_what_the_mode_allows)
{
	struct perm_case c = { .dev = self->fd };
	int status;
	pid_t pid;

	ASSERT_EQ(0, region_create(self->fd, "private", PAGE, 0600));
	ASSERT_EQ(0, region_create(self->fd, "readable", PAGE, 0644));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		as_nobody(&c);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("failed step %d (see as_nobody)", WEXITSTATUS(status));
}

TEST_F(dev, layout_and_counters_describe_the_device)
{
	struct region_counters before, after;
	struct region_layout l;
	__u64 pages = 0;
	__u32 i;

	ASSERT_EQ(0, region_counters(self->fd, &before));
	ASSERT_EQ(0, region_create(self->fd, "lay", 10 * PAGE, 0600));
	ASSERT_EQ(0, region_counters(self->fd, &after));
	EXPECT_EQ(before.regions_created + 1, after.regions_created);
	EXPECT_LT(before.fences, after.fences);
	ASSERT_EQ(0, region_layout(self->fd, "lay", &l));
	EXPECT_STREQ("lay", l.name);
	EXPECT_EQ(1U, l.table_start);
	EXPECT_EQ(l.undo_data_start + l.undo_slots, l.data_start);
	EXPECT_EQ(l.device_pages, l.data_start + l.data_pages);
	EXPECT_EQ(1U, l.regions);
	EXPECT_EQ(l.data_pages - 10, l.free_pages);
	for (i = 0; i < l.nr_extents; i++) {
		EXPECT_LE(l.data_start, l.extents[i].start);
		pages += l.extents[i].pages;
	}
	EXPECT_EQ(10U, pages);
	EXPECT_EQ(-1, region_layout(self->fd, "nope", &l));
	EXPECT_EQ(ENOENT, errno);
}

TEST_F(dev, format_is_refused_while_a_region_is_open)
{
	struct region_format_args f = { 0 };
	int r;

	ASSERT_EQ(0, region_create(self->fd, "fmt", PAGE, 0600));
	r = region_open(self->fd, "fmt", 0);
	ASSERT_LE(0, r);
	EXPECT_EQ(-1, region_format(self->fd));
	EXPECT_EQ(EBUSY, errno);
	f.flags = 1;
	EXPECT_EQ(-1, ioctl(self->fd, REGION_IOC_FORMAT, &f));
	EXPECT_EQ(EINVAL, errno);
	close(r);
}

TEST_HARNESS_MAIN
