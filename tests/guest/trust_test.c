// SPDX-License-Identifier: GPL-2.0
/*
 * trust_test.c - the kernel-side bookkeeping under hostile users and reloads: a deleted region's
 * undo slots never reach the next region in its table entry; only descriptors opened for writing
 * commit; /dev/region opened read-only cannot change regions; the details of a region a user may
 * not read are not shown to them; one user cannot take the undo area from another; a shrink then a grow in one
 * epoch never brings back pre-shrink bytes. Each test reproduces a defect found in the module.
 *
 * Expects region.ko loaded on a formatted device with no regions (REGION_PMEM names the device
 * for the reloads); removes what it creates and leaves the module loaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
#include "reload.h"

#define PAGE 4096UL
#define ALICE 1000
#define BOB 2000

FIXTURE(trust) {
	int dev;
};

FIXTURE_SETUP(trust)
{
	self->dev = region_device_open(NULL);
	ASSERT_LE(0, self->dev);
}

FIXTURE_TEARDOWN(trust)
{
	delete_regions_and_close(self->dev);
}

/*
 * Runs @step(@dev, @arg) in a child as @uid (gid the same), keeping @dev; returns 0 when every
 * check of @step held, its failed check's number otherwise, or 200 + the signal that killed it.
 */
static int as_user(unsigned int uid, int dev, int (*step)(int dev, long arg), long arg)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (setgid(uid) || setuid(uid))
			_exit(99);
		_exit(step(dev, arg));
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 100;
	if (WIFSIGNALED(status))
		return 200 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Maps region @fd (@pages pages) shared, writable if @write. */
static unsigned char *map(int fd, unsigned long pages, int write)
{
	return mmap(NULL, pages * PAGE, PROT_READ | (write ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
}

/* How many bytes of @pages pages at @p are not @byte. */
static unsigned long differ(const unsigned char *p, unsigned long pages, unsigned char byte)
{
	unsigned long i, n = 0;

	for (i = 0; i < pages * PAGE; i++)
		n += p[i] != byte;
	return n;
}

/* The epoch region @name is at now. */
static __u64 epoch_of(int dev, const char *name)
{
	struct region_stat st;

	return region_stat(dev, name, &st) ? 0 : st.epoch;
}

/*
 * Alice's region "a" (4 pages): @commits PMSYNCs of 'A' while open, then 'a' over every page
 * (undo slots saved in the current epoch), closed without PMSYNC, deleted.
 */
static int alice_commits_then_scribbles_and_deletes(int dev, long commits)
{
	unsigned char *p;
	uint64_t e;
	long i;
	int fd;

	if (region_create(dev, "a", 4 * PAGE, 0600))
		return 1;
	fd = region_open(dev, "a", REGION_OPEN_WRITE);
	p = fd < 0 ? MAP_FAILED : map(fd, 4, 1);
	if (p == MAP_FAILED)
		return 2;
	for (i = 0; i < commits; i++) {
		memset(p, 'A', 4 * PAGE);
		if (region_pmsync(fd, &e))
			return 3;
	}
	memset(p, 'a', 4 * PAGE);
	munmap(p, 4 * PAGE);
	close(fd);
	return region_delete(dev, "a") ? 4 : 0;
}

/*
 * Bob's region "b" (4 pages) in the entry Alice's had: @commits PMSYNCs of 'B' into its first
 * page (one undo slot: Alice's other slots stay as she left them).
 */
static int bob_creates_and_commits(int dev, long commits)
{
	unsigned char *p;
	uint64_t e;
	long i;
	int fd;

	if (region_create(dev, "b", 4 * PAGE, 0644))
		return 1;
	fd = region_open(dev, "b", REGION_OPEN_WRITE);
	p = fd < 0 ? MAP_FAILED : map(fd, 4, 1);
	if (p == MAP_FAILED)
		return 2;
	for (i = 0; i < commits; i++) {
		memset(p, 'B', PAGE);
		if (region_pmsync(fd, &e))
			return 3;
	}
	munmap(p, 4 * PAGE);
	close(fd);
	return 0;
}

/* After the reload, "b" must hold what Bob committed: @first over page 0, zeros elsewhere. */
static void check_b(struct __test_metadata *_metadata, int dev, unsigned char first)
{
	unsigned char *p;
	int fd = region_open(dev, "b", 0);

	ASSERT_LE(0, fd);
	p = map(fd, 4, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0UL, differ(p, 1, first)) TH_LOG("Alice's bytes reached Bob's region");
	EXPECT_EQ(0UL, differ(p + PAGE, 3, 0)) TH_LOG("Alice's bytes reached Bob's region");
	munmap(p, 4 * PAGE);
	close(fd);
}

TEST_F(trust, a_deleted_regions_undo_slots_never_reach_the_next_region)
{
	ASSERT_EQ(0, as_user(ALICE, self->dev, alice_commits_then_scribbles_and_deletes, 1));
	ASSERT_EQ(0, as_user(BOB, self->dev, bob_creates_and_commits, 0));
	self->dev = reload(self->dev);
	ASSERT_LE(0, self->dev);
	check_b(_metadata, self->dev, 0);
}

TEST_F(trust, a_deleted_regions_undo_slots_never_overwrite_the_next_regions_commits)
{
	ASSERT_EQ(0, as_user(ALICE, self->dev, alice_commits_then_scribbles_and_deletes, 2));
	ASSERT_EQ(0, as_user(BOB, self->dev, bob_creates_and_commits, 1));
	self->dev = reload(self->dev);
	ASSERT_LE(0, self->dev);
	check_b(_metadata, self->dev, 'B');
}

/*
 * Bob, who may read "w", tries to commit it: through a read-only descriptor, and PMSYNC_ALL.
 * @writer_fd is the descriptor the fork left him of the writer's: closed first.
 */
static int reader_tries_to_commit(int dev, long writer_fd)
{
	uint64_t e, n = 99;
	int fd;

	close((int)writer_fd);
	fd = region_open(dev, "w", 0);
	if (fd < 0)
		return 1;
	if (region_pmsync(fd, &e) != -1 || errno != EBADF)
		return 2;
	if (region_pmsync_all(dev, &n) || n != 0)
		return 3;
	close(fd);
	return 0;
}

TEST_F(trust, only_a_descriptor_open_for_writing_commits)
{
	unsigned char *p;
	__u64 before;
	int fd;

	ASSERT_EQ(0, region_create(self->dev, "w", 2 * PAGE, 0644));
	fd = region_open(self->dev, "w", REGION_OPEN_WRITE);
	ASSERT_LE(0, fd);
	p = map(fd, 2, 1);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1; /* half of an update */
	before = epoch_of(self->dev, "w");
	EXPECT_EQ(0, as_user(BOB, self->dev, reader_tries_to_commit, fd));
	EXPECT_EQ(before, epoch_of(self->dev, "w")) TH_LOG("a reader committed the writer's stores");
	munmap(p, 2 * PAGE);
	close(fd);
}

TEST_F(trust, a_read_only_control_descriptor_cannot_change_regions)
{
	struct region_stat st;
	struct region_format_args f;
	int ro = open(REGION_DEVICE_PATH, O_RDONLY | O_CLOEXEC);

	ASSERT_LE(0, ro);
	ASSERT_EQ(0, region_create(self->dev, "kept", PAGE, 0600));
	EXPECT_EQ(-1, region_create(ro, "new", PAGE, 0600));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, region_resize(ro, "kept", 2 * PAGE));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, region_delete(ro, "kept"));
	EXPECT_EQ(EBADF, errno);
	memset(&f, 0, sizeof(f));
	EXPECT_EQ(-1, ioctl(ro, REGION_IOC_FORMAT, &f));
	EXPECT_EQ(EBADF, errno);
	/* Reading is fine. */
	EXPECT_EQ(0, region_stat(ro, "kept", &st));
	close(ro);
}

/* Bob looks at Alice's regions: "secret" (0600) is not listed nor described, "open" (0644) is. */
static int bob_looks(int dev, long unused)
{
	struct region_stat *all, st;
	struct region_layout l;
	int i, n, seen_open = 0;

	(void)unused;
	if (region_stat(dev, "secret", &st) != -1 || errno != EACCES)
		return 1;
	if (region_layout(dev, "secret", &l) != -1 || errno != EACCES)
		return 2;
	n = region_list_all(dev, &all);
	if (n < 0)
		return 3;
	for (i = 0; i < n; i++) {
		if (!strcmp(all[i].name, "secret"))
			return 4;
		seen_open += !strcmp(all[i].name, "open");
	}
	if (!seen_open || region_stat(dev, "open", &st))
		return 5;
	if (region_delete(dev, "secret") != -1 || errno != EPERM)
		return 6;
	return 0;
}

static int alice_creates_secret_and_open(int dev, long unused)
{
	(void)unused;
	if (region_create(dev, "secret", PAGE, 0600) || region_create(dev, "open", PAGE, 0644))
		return 1;
	return 0;
}

TEST_F(trust, a_region_another_user_may_not_read_is_not_described_to_them)
{
	ASSERT_EQ(0, as_user(ALICE, self->dev, alice_creates_secret_and_open, 0));
	EXPECT_EQ(0, as_user(BOB, self->dev, bob_looks, 0));
}

/*
 * Alice writes every page of a region as large as the undo area, then closes it without PMSYNC:
 * the region is kept with what she holds of the undo area (at most her share).
 */
static int alice_writes_everything_and_leaves(int dev, long unused)
{
	struct region_layout l;
	unsigned char *p;
	unsigned long i;
	int fd;

	(void)unused;
	if (region_layout(dev, NULL, &l) || region_create(dev, "hog", l.undo_slots * PAGE, 0600))
		return 1;
	fd = region_open(dev, "hog", REGION_OPEN_WRITE);
	p = fd < 0 ? MAP_FAILED : map(fd, l.undo_slots, 1);
	if (p == MAP_FAILED)
		return 2;
	for (i = 0; i < l.undo_slots; i++)
		p[i * PAGE] = 1;
	munmap(p, l.undo_slots * PAGE);
	close(fd);
	return 0;
}

/* Bob writes every page of his own 16-page region: no SIGBUS, no automatic commit needed. */
static int bob_writes_his_own_region(int dev, long unused)
{
	struct region_counters a, b;
	unsigned char *p;
	unsigned long i;
	int fd;

	(void)unused;
	if (region_create(dev, "mine", 16 * PAGE, 0600))
		return 1;
	fd = region_open(dev, "mine", REGION_OPEN_WRITE);
	p = fd < 0 ? MAP_FAILED : map(fd, 16, 1);
	if (p == MAP_FAILED)
		return 2;
	region_counters(dev, &a);
	for (i = 0; i < 16; i++)
		p[i * PAGE] = 2; /* SIGBUS here if Alice's kept region holds every slot */
	region_counters(dev, &b);
	if (b.pmsyncs != a.pmsyncs)
		return 3;
	return 0;
}

TEST_F(trust, one_user_cannot_take_the_undo_area_from_another)
{
	struct region_layout l;

	ASSERT_EQ(0, region_layout(self->dev, NULL, &l));
	EXPECT_LE(1U, l.undo_share);
	EXPECT_GE(l.undo_slots / 4 + 1, l.undo_share);
	ASSERT_EQ(0, as_user(ALICE, self->dev, alice_writes_everything_and_leaves, 0));
	EXPECT_EQ(0, as_user(BOB, self->dev, bob_writes_his_own_region, 0))
		TH_LOG("Alice's kept region starved Bob's writes (200 + 7 is SIGBUS)");
}

TEST_F(trust, shrink_then_grow_in_one_epoch_never_brings_back_old_bytes)
{
	unsigned char *p;
	uint64_t e;
	int fd;

	ASSERT_EQ(0, region_create(self->dev, "sg", 4 * PAGE, 0600));
	fd = region_open(self->dev, "sg", REGION_OPEN_WRITE);
	ASSERT_LE(0, fd);
	p = map(fd, 4, 1);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 'C', 4 * PAGE);
	ASSERT_EQ(0, region_pmsync(fd, &e));
	p[3 * PAGE] = 'X'; /* page 3 saved to an undo slot in this epoch */
	munmap(p, 4 * PAGE);
	ASSERT_EQ(0, region_resize(self->dev, "sg", 2 * PAGE));
	ASSERT_EQ(0, region_resize(self->dev, "sg", 4 * PAGE));
	p = map(fd, 4, 1);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0UL, differ(p + 2 * PAGE, 2, 0)) TH_LOG("grown pages are not zero");
	p[3 * PAGE] = 'Y'; /* must save the zero page, not reuse the pre-shrink slot */
	munmap(p, 4 * PAGE);
	close(fd); /* kept uncommitted; the reload rolls 'Y' back */
	self->dev = reload(self->dev);
	ASSERT_LE(0, self->dev);
	fd = region_open(self->dev, "sg", 0);
	ASSERT_LE(0, fd);
	p = map(fd, 4, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0UL, differ(p, 2, 'C'));
	EXPECT_EQ(0UL, differ(p + 2 * PAGE, 1, 0));
	EXPECT_EQ(0UL, differ(p + 3 * PAGE, 1, 0)) TH_LOG("page 3 holds its pre-shrink bytes");
	munmap(p, 4 * PAGE);
	close(fd);
}

/* Creates "huge" of @pages pages (the child's whole job). */
static int create_huge(int dev, long pages)
{
	return region_create(dev, "huge", (__u64)pages * PAGE, 0600) ? 1 : 0;
}

/*
 * A create clears its pages outside the table lock: while a child creates a region of most of the
 * device (seconds of clearing under TCG), another user's stat, list and open go on. Then the same
 * create killed halfway leaves nothing behind.
 */
TEST_F(trust, a_long_create_does_not_hold_up_others_and_dies_cleanly)
{
	struct region_layout l;
	struct region_stat st;
	struct timespec t0s, t0, t1, t2;
	long pages, waited, after;
	int status, fd;
	pid_t child;

	ASSERT_EQ(0, region_create(self->dev, "small", PAGE, 0644));
	ASSERT_EQ(0, region_layout(self->dev, NULL, &l));
	pages = (long)l.free_pages - 64;
	ASSERT_LT(1000, pages);
	child = fork();
	if (child == 0)
		_exit(create_huge(self->dev, pages));
	ASSERT_LT(0, child);
	usleep(50000);
	clock_gettime(CLOCK_MONOTONIC, &t0s);
	ASSERT_EQ(0, region_stat(self->dev, "small", &st));
	fd = region_open(self->dev, "small", 0);
	ASSERT_LE(0, fd);
	close(fd);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	clock_gettime(CLOCK_MONOTONIC, &t2);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	waited = (t1.tv_sec - t0s.tv_sec) * 1000 + (t1.tv_nsec - t0s.tv_nsec) / 1000000;
	after = (t2.tv_sec - t0.tv_sec) * 1000 + (t2.tv_nsec - t0.tv_nsec) / 1000000;
	printf("# stat and open took %ld ms; the create went on for %ld ms after them\n", waited,
	       after);
	/* Today: a few ms against seconds; with the lock held they waited the whole create. */
	EXPECT_LT(waited * 4, after)
		TH_LOG("stat and open waited for the create of %ld pages", pages);
	ASSERT_EQ(0, region_delete(self->dev, "huge"));

	/* Killed while it clears: nothing is created, and every page is free again. */
	child = fork();
	if (child == 0)
		_exit(create_huge(self->dev, pages));
	ASSERT_LT(0, child);
	usleep(200000);
	kill(child, SIGKILL);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	if (WIFSIGNALED(status)) {
		EXPECT_EQ(-1, region_stat(self->dev, "huge", &st)) TH_LOG("a killed create left its region");
		EXPECT_EQ(ENOENT, errno);
	} else {
		ASSERT_EQ(0, region_delete(self->dev, "huge")); /* it finished before the kill */
	}
	ASSERT_EQ(0, region_layout(self->dev, NULL, &l));
	EXPECT_EQ((__u64)pages + 64, l.free_pages) TH_LOG("pages lost by a killed create");
}

TEST_HARNESS_MAIN
