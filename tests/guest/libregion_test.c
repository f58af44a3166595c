// SPDX-License-Identifier: GPL-2.0
/*
 * libregion_test.c - libregion (user/libregion) against the module: every call of the library,
 * what it returns, and each error path with its exact errno (missing region ENOENT, another
 * user's region EACCES and EPERM, a full device ENOSPC, busy EBUSY, names too long ENAMETOOLONG
 * before any system call, and so on).
 *
 * Expects region.ko loaded on a formatted device with no regions; removes what it creates.
 * REGION_EXPECT_DEVICE_SIZE (set by run-all.sh) is the device size the module must report.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "region.h"
#include "cleanup.h"
#include "kselftest_harness.h"

#define PAGE 4096UL
#define NOBODY 65534

FIXTURE(lib) {
	int dev;
};

FIXTURE_SETUP(lib)
{
	self->dev = region_device_open(NULL);
	ASSERT_LE(0, self->dev) TH_LOG("open %s: %s", REGION_DEVICE_PATH, strerror(errno));
}

FIXTURE_TEARDOWN(lib)
{
	delete_regions_and_close(self->dev);
}

/*
 * Runs @step(@dev) in a child process as uid and gid NOBODY, with @dev (opened as root) kept;
 * returns the child's exit status: 0 when every check of @step held, else the failed check's
 * number.
 */
static int as_nobody(int dev, int (*step)(int dev))
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(99);
		_exit(step(dev));
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 100;
	return WEXITSTATUS(status);
}

/* A name of @len bytes of 'n'. */
static const char *name_of_length(size_t len)
{
	static char name[256];

	memset(name, 'n', len);
	name[len] = 0;
	return name;
}

TEST(device_open_and_close)
{
	int dev = region_device_open(NULL);

	ASSERT_LE(0, dev) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, region_device_close(dev));
	EXPECT_EQ(-1, region_device_close(dev));
	EXPECT_EQ(EBADF, errno);
	dev = region_device_open(REGION_DEVICE_PATH);
	ASSERT_LE(0, dev);
	EXPECT_EQ(0, region_device_close(dev));
}

TEST(device_open_of_a_missing_path_is_enoent)
{
	EXPECT_EQ(-1, region_device_open("/dev/no-such-region-device"));
	EXPECT_EQ(ENOENT, errno);
}

static int open_device(int dev)
{
	(void)dev;
	return region_device_open(NULL) == -1 && errno == EACCES ? 0 : 1;
}

TEST(device_open_as_another_user_is_eacces)
{
	EXPECT_EQ(0, as_nobody(-1, open_device)) TH_LOG("open as uid %d was not refused with EACCES", NOBODY);
}

TEST_F(lib, device_info_reports_abi_version_and_geometry)
{
	const char *want = getenv("REGION_EXPECT_DEVICE_SIZE");
	struct region_device_info info;

	memset(&info, 0xa5, sizeof(info)); /* the library clears flags and reserved fields */
	ASSERT_EQ(0, region_device_info(self->dev, &info)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ((__u32)REGION_ABI_VERSION, info.abi_version);
	EXPECT_EQ(4096U, info.page_size);
	if (want)
		EXPECT_EQ(strtoull(want, NULL, 0), info.device_size);
	EXPECT_EQ(0U, info.device_size % info.page_size);
	EXPECT_EQ(-1, region_device_info(self->dev, NULL));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(lib, create_rounds_up_and_stat_describes_the_region)
{
	struct region_stat st;

	ASSERT_EQ(0, region_create(self->dev, "orders", 5000, 0640)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, region_stat(self->dev, "orders", &st));
	EXPECT_STREQ("orders", st.name);
	EXPECT_EQ(2 * PAGE, st.size);
	EXPECT_EQ(0640U, st.mode);
	EXPECT_EQ(0U, st.uid);
	EXPECT_EQ(0U, st.gid);
	EXPECT_EQ(0U, st.open_files);
	EXPECT_LE(1U, st.nr_extents);
	EXPECT_LE(1ULL, st.epoch);
	/* The longest name there is: 63 bytes. */
	EXPECT_EQ(0, region_create(self->dev, name_of_length(63), PAGE, 0600));
	EXPECT_EQ(0, region_stat(self->dev, name_of_length(63), &st));
}

TEST_F(lib, create_of_an_existing_name_is_eexist)
{
	ASSERT_EQ(0, region_create(self->dev, "twice", PAGE, 0600));
	EXPECT_EQ(-1, region_create(self->dev, "twice", PAGE, 0600));
	EXPECT_EQ(EEXIST, errno);
}

TEST_F(lib, create_with_a_bad_size_mode_or_name_is_einval)
{
	EXPECT_EQ(-1, region_create(self->dev, "zero", 0, 0600));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, region_create(self->dev, "sticky", PAGE, 01600));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, region_create(self->dev, "", PAGE, 0600));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, region_create(self->dev, "a/b", PAGE, 0600));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(lib, names_of_64_bytes_are_enametoolong_before_any_call)
{
	const char *name = name_of_length(64);
	struct region_layout l;
	struct region_stat st;
	int fd;

	EXPECT_EQ(-1, region_create(self->dev, name, PAGE, 0600));
	EXPECT_EQ(ENAMETOOLONG, errno);
	EXPECT_EQ(-1, region_open(self->dev, name, 0));
	EXPECT_EQ(ENAMETOOLONG, errno);
	EXPECT_EQ(-1, region_delete(self->dev, name));
	EXPECT_EQ(ENAMETOOLONG, errno);
	EXPECT_EQ(-1, region_stat(self->dev, name, &st));
	EXPECT_EQ(ENAMETOOLONG, errno);
	EXPECT_EQ(-1, region_resize(self->dev, name, PAGE));
	EXPECT_EQ(ENAMETOOLONG, errno);
	EXPECT_EQ(-1, region_layout(self->dev, name, &l));
	EXPECT_EQ(ENAMETOOLONG, errno);
	/* No system call: a closed descriptor would have said EBADF. */
	fd = region_device_open(NULL);
	ASSERT_LE(0, fd);
	region_device_close(fd);
	EXPECT_EQ(-1, region_create(fd, name, PAGE, 0600));
	EXPECT_EQ(ENAMETOOLONG, errno);
}

TEST_F(lib, null_arguments_are_einval)
{
	struct region_stat *entries;

	EXPECT_EQ(-1, region_create(self->dev, NULL, PAGE, 0600));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, region_open(self->dev, NULL, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, region_stat(self->dev, "x", NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, region_layout(self->dev, NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, region_counters(self->dev, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, region_list(self->dev, NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, region_list_all(self->dev, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, region_list_all(self->dev, &entries));
	EXPECT_EQ(NULL, entries);
}

TEST_F(lib, create_beyond_the_free_space_is_enospc)
{
	struct region_device_info info;

	ASSERT_EQ(0, region_device_info(self->dev, &info));
	EXPECT_EQ(-1, region_create(self->dev, "huge", info.device_size, 0600));
	EXPECT_EQ(ENOSPC, errno);
}

TEST_F(lib, a_full_device_is_enospc)
{
	struct region_layout l;

	ASSERT_EQ(0, region_layout(self->dev, NULL, &l));
	ASSERT_EQ(0, region_create(self->dev, "most", (l.free_pages - 1) * PAGE, 0600))
		TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, region_create(self->dev, "last", PAGE, 0600));
	ASSERT_EQ(0, region_layout(self->dev, NULL, &l));
	EXPECT_EQ(0U, l.free_pages);
	EXPECT_EQ(-1, region_create(self->dev, "more", PAGE, 0600));
	EXPECT_EQ(ENOSPC, errno);
	EXPECT_EQ(-1, region_resize(self->dev, "last", 2 * PAGE));
	EXPECT_EQ(ENOSPC, errno);
}

TEST_F(lib, a_missing_region_is_enoent_in_every_call)
{
	struct region_layout l;
	struct region_stat st;

	EXPECT_EQ(-1, region_open(self->dev, "nope", 0));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, region_delete(self->dev, "nope"));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, region_stat(self->dev, "nope", &st));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, region_resize(self->dev, "nope", PAGE));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, region_layout(self->dev, "nope", &l));
	EXPECT_EQ(ENOENT, errno);
}

TEST_F(lib, open_gives_a_region_descriptor_read_only_or_read_write)
{
	struct region_stat st;
	int ro, rw;

	ASSERT_EQ(0, region_create(self->dev, "opened", PAGE, 0600));
	ro = region_open(self->dev, "opened", 0);
	ASSERT_LE(0, ro) TH_LOG("%s", strerror(errno));
	rw = region_open(self->dev, "opened", REGION_OPEN_WRITE);
	ASSERT_LE(0, rw) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, region_fstat(rw, &st));
	EXPECT_STREQ("opened", st.name);
	EXPECT_EQ(2U, st.open_files);
	close(ro);
	close(rw);
	ASSERT_EQ(0, region_stat(self->dev, "opened", &st));
	EXPECT_EQ(0U, st.open_files);
}

TEST_F(lib, open_with_unknown_flags_is_einval)
{
	ASSERT_EQ(0, region_create(self->dev, "flags", PAGE, 0600));
	EXPECT_EQ(-1, region_open(self->dev, "flags", 0x2));
	EXPECT_EQ(EINVAL, errno);
}

/* As NOBODY, on "private" (0600, root's) and "readable" (0644, root's). */
static int another_users_calls(int dev)
{
	struct region_stat st;
	int fd;

	if (region_open(dev, "private", 0) != -1 || errno != EACCES)
		return 1;
	fd = region_open(dev, "readable", 0);
	if (fd < 0)
		return 2;
	if (region_open(dev, "readable", REGION_OPEN_WRITE) != -1 || errno != EACCES)
		return 3;
	if (region_delete(dev, "readable") != -1 || errno != EPERM)
		return 4;
	if (region_resize(dev, "readable", 2 * PAGE) != -1 || errno != EPERM)
		return 5;
	/* The details of a region this user may not read are not theirs to learn. */
	if (region_stat(dev, "private", &st) != -1 || errno != EACCES)
		return 6;
	if (region_stat(dev, "readable", &st) || st.mode != 0644)
		return 8;
	close(fd);
	if (region_format(dev) != -1 || errno != EPERM)
		return 7;
	return 0;
}

TEST_F(lib, another_user_gets_eacces_and_eperm)
{
	int failed;

	ASSERT_EQ(0, region_create(self->dev, "private", PAGE, 0600));
	ASSERT_EQ(0, region_create(self->dev, "readable", PAGE, 0644));
	failed = as_nobody(self->dev, another_users_calls);
	EXPECT_EQ(0, failed) TH_LOG("failed check %d (see another_users_calls)", failed);
}

TEST_F(lib, delete_removes_the_region)
{
	struct region_stat st;

	ASSERT_EQ(0, region_create(self->dev, "gone", PAGE, 0600));
	EXPECT_EQ(0, region_delete(self->dev, "gone"));
	EXPECT_EQ(-1, region_stat(self->dev, "gone", &st));
	EXPECT_EQ(ENOENT, errno);
}

TEST_F(lib, delete_of_an_open_region_is_ebusy)
{
	int fd;

	ASSERT_EQ(0, region_create(self->dev, "held", PAGE, 0600));
	fd = region_open(self->dev, "held", 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, region_delete(self->dev, "held"));
	EXPECT_EQ(EBUSY, errno);
	close(fd);
	EXPECT_EQ(0, region_delete(self->dev, "held"));
}

TEST_F(lib, fstat_of_a_non_region_descriptor_fails)
{
	struct region_stat st;

	EXPECT_EQ(-1, region_fstat(self->dev, &st));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, region_fstat(-1, &st));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, region_fstat(self->dev, NULL));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(lib, resize_grows_and_shrinks)
{
	struct region_stat st;

	ASSERT_EQ(0, region_create(self->dev, "sized", PAGE, 0600));
	EXPECT_EQ(0, region_resize(self->dev, "sized", 3 * PAGE + 1));
	ASSERT_EQ(0, region_stat(self->dev, "sized", &st));
	EXPECT_EQ(4 * PAGE, st.size);
	EXPECT_EQ(0, region_resize(self->dev, "sized", PAGE));
	ASSERT_EQ(0, region_stat(self->dev, "sized", &st));
	EXPECT_EQ(PAGE, st.size);
	EXPECT_EQ(-1, region_resize(self->dev, "sized", 0));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(lib, shrink_under_a_mapping_is_ebusy)
{
	struct region_mapping m;
	int fd;

	ASSERT_EQ(0, region_create(self->dev, "mapped", 4 * PAGE, 0600));
	fd = region_open(self->dev, "mapped", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, region_map(fd, 0, &m));
	EXPECT_EQ(-1, region_resize(self->dev, "mapped", PAGE));
	EXPECT_EQ(EBUSY, errno);
	region_unmap(&m);
	EXPECT_EQ(0, region_resize(self->dev, "mapped", PAGE));
	close(fd);
}

/* More regions than the library's first list buffer holds (32). */
#define MANY 40

struct seen {
	int count;
	int in_order;
	int stop_at;
};

static int note_region(const struct region_stat *st, void *arg)
{
	struct seen *seen = arg;
	char want[16];

	snprintf(want, sizeof(want), "many%02d", seen->count);
	seen->in_order += strcmp(st->name, want) == 0;
	seen->count++;
	return seen->count == seen->stop_at ? 42 : 0;
}

TEST_F(lib, list_calls_back_for_every_region_in_table_order)
{
	struct seen seen = { 0, 0, -1 };
	struct region_stat *all;
	char name[16];
	int i, n;

	for (i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "many%02d", i);
		ASSERT_EQ(0, region_create(self->dev, name, PAGE, 0600)) TH_LOG("%s: %s", name, strerror(errno));
	}
	EXPECT_EQ(0, region_list(self->dev, note_region, &seen));
	EXPECT_EQ(MANY, seen.count);
	EXPECT_EQ(MANY, seen.in_order);
	n = region_list_all(self->dev, &all);
	ASSERT_EQ(MANY, n);
	EXPECT_STREQ("many00", all[0].name);
	EXPECT_STREQ("many39", all[MANY - 1].name);
	EXPECT_EQ(PAGE, all[MANY - 1].size);
	free(all);
}

TEST_F(lib, list_stops_when_the_callback_says_so)
{
	struct seen seen = { 0, 0, 2 };
	char name[16];
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "many%02d", i);
		ASSERT_EQ(0, region_create(self->dev, name, PAGE, 0600));
	}
	EXPECT_EQ(42, region_list(self->dev, note_region, &seen));
	EXPECT_EQ(2, seen.count);
	EXPECT_EQ(-1, region_list(-1, note_region, &seen));
	EXPECT_EQ(EBADF, errno);
}

TEST_F(lib, layout_of_the_device_and_of_a_region)
{
	struct region_layout dev, reg;
	__u64 pages = 0;
	__u32 i;

	ASSERT_EQ(0, region_create(self->dev, "laid", 10 * PAGE, 0600));
	ASSERT_EQ(0, region_layout(self->dev, NULL, &dev));
	EXPECT_EQ(0U, dev.nr_extents);
	EXPECT_EQ(1U, dev.regions);
	EXPECT_EQ(dev.device_pages, dev.data_start + dev.data_pages);
	EXPECT_EQ(dev.data_pages - 10, dev.free_pages);
	ASSERT_EQ(0, region_layout(self->dev, "laid", &reg));
	EXPECT_EQ(dev.data_start, reg.data_start);
	EXPECT_LE(1U, reg.nr_extents);
	for (i = 0; i < reg.nr_extents; i++)
		pages += reg.extents[i].pages;
	EXPECT_EQ(10U, pages);
	/* An empty name is the device alone, as NULL is. */
	ASSERT_EQ(0, region_layout(self->dev, "", &reg));
	EXPECT_EQ(0U, reg.nr_extents);
}

TEST_F(lib, counters_count_creates_deletes_and_pmsyncs)
{
	struct region_counters a, b;
	struct region_mapping m;
	int fd;

	ASSERT_EQ(0, region_counters(self->dev, &a));
	ASSERT_EQ(0, region_create(self->dev, "counted", PAGE, 0600));
	fd = region_open(self->dev, "counted", REGION_OPEN_WRITE);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, region_map(fd, REGION_MAP_WRITE, &m));
	((char *)m.addr)[0] = 1;
	ASSERT_EQ(0, region_pmsync(fd, NULL));
	region_unmap(&m);
	close(fd);
	ASSERT_EQ(0, region_delete(self->dev, "counted"));
	ASSERT_EQ(0, region_counters(self->dev, &b));
	EXPECT_EQ(1U, b.regions_created - a.regions_created);
	EXPECT_EQ(1U, b.regions_deleted - a.regions_deleted);
	EXPECT_EQ(1U, b.pmsyncs - a.pmsyncs);
	EXPECT_EQ(1U, b.pages_written_back - a.pages_written_back);
	EXPECT_LT(a.fences, b.fences);
}

TEST_F(lib, map_shares_the_whole_region)
{
	struct region_mapping w, r;
	int wfd, rfd;

	ASSERT_EQ(0, region_create(self->dev, "shared", 3 * PAGE, 0600));
	wfd = region_open(self->dev, "shared", REGION_OPEN_WRITE);
	rfd = region_open(self->dev, "shared", 0);
	ASSERT_LE(0, wfd);
	ASSERT_LE(0, rfd);
	ASSERT_EQ(0, region_map(wfd, REGION_MAP_WRITE, &w)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, region_map(rfd, 0, &r)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(3 * PAGE, w.length);
	EXPECT_EQ(3 * PAGE, r.length);
	EXPECT_NE(w.addr, r.addr);
	strcpy((char *)w.addr + 2 * PAGE, "hello");
	EXPECT_STREQ("hello", (char *)r.addr + 2 * PAGE);
	close(wfd); /* the mappings outlive the descriptors */
	close(rfd);
	((char *)w.addr)[0] = 'x';
	EXPECT_EQ('x', ((char *)r.addr)[0]);
	EXPECT_EQ(0, region_unmap(&w));
	EXPECT_EQ(0, region_unmap(&r));
}

TEST_F(lib, map_writable_of_a_read_only_descriptor_is_eacces)
{
	struct region_mapping m;
	int fd;

	ASSERT_EQ(0, region_create(self->dev, "ro", PAGE, 0600));
	fd = region_open(self->dev, "ro", 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, region_map(fd, REGION_MAP_WRITE, &m));
	EXPECT_EQ(EACCES, errno);
	close(fd);
}

TEST_F(lib, map_with_unknown_flags_or_of_a_non_region_fails)
{
	struct region_mapping m;
	int fd;

	ASSERT_EQ(0, region_create(self->dev, "flagged", PAGE, 0600));
	fd = region_open(self->dev, "flagged", REGION_OPEN_WRITE);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, region_map(fd, 0x2, &m));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, region_map(fd, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, region_map(self->dev, 0, &m));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

TEST_F(lib, unmap_clears_the_mapping)
{
	struct region_mapping m;
	int fd;

	ASSERT_EQ(0, region_create(self->dev, "unmapped", PAGE, 0600));
	fd = region_open(self->dev, "unmapped", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, region_map(fd, 0, &m));
	EXPECT_EQ(0, region_unmap(&m));
	EXPECT_EQ(NULL, m.addr);
	EXPECT_EQ(0U, m.length);
	EXPECT_EQ(-1, region_unmap(&m));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, region_unmap(NULL));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

TEST_F(lib, pmsync_returns_the_committed_epoch)
{
	struct region_mapping m;
	struct region_stat st;
	uint64_t epoch = 0;
	int fd;

	ASSERT_EQ(0, region_create(self->dev, "synced", PAGE, 0600));
	fd = region_open(self->dev, "synced", REGION_OPEN_WRITE);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, region_fstat(fd, &st));
	/* Nothing written: the last committed epoch comes back. */
	ASSERT_EQ(0, region_pmsync(fd, &epoch));
	EXPECT_EQ(st.epoch - 1, epoch);
	ASSERT_EQ(0, region_map(fd, REGION_MAP_WRITE, &m));
	((char *)m.addr)[7] = 7;
	ASSERT_EQ(0, region_pmsync(fd, &epoch));
	EXPECT_EQ(st.epoch, epoch);
	ASSERT_EQ(0, region_fstat(fd, &st));
	EXPECT_EQ(epoch + 1, st.epoch);
	EXPECT_EQ(0, region_pmsync(fd, NULL)); /* the epoch is optional */
	region_unmap(&m);
	close(fd);
}

TEST_F(lib, pmsync_of_a_non_region_descriptor_fails)
{
	uint64_t epoch;

	EXPECT_EQ(-1, region_pmsync(self->dev, &epoch));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, region_pmsync(-1, &epoch));
	EXPECT_EQ(EBADF, errno);
}

/* A range of @len bytes at @buf for region offset @offset. */
static struct region_write_range range_of(uint64_t offset, const void *buf, size_t len)
{
	struct region_write_range r;

	r.offset = offset;
	r.addr = (__u64)(uintptr_t)buf;
	r.len = len;
	return r;
}

TEST_F(lib, write_lands_in_the_region_and_reads_back_through_mappings)
{
	struct region_write_range r[3];
	struct region_counters c0, c1;
	struct region_mapping own, other;
	struct region_stat st;
	unsigned char pattern[300];
	uint64_t epoch = 0;
	int fd, rfd;
	size_t i;

	for (i = 0; i < sizeof(pattern); i++)
		pattern[i] = (unsigned char)(i * 7 + 1);
	ASSERT_EQ(0, region_create(self->dev, "written", 2 * PAGE, 0600));
	fd = region_open(self->dev, "written", REGION_OPEN_WRITE);
	rfd = region_open(self->dev, "written", 0);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, rfd);
	/* The writer maps read-only: it changes the region only through the kernel. */
	ASSERT_EQ(0, region_map(fd, 0, &own));
	ASSERT_EQ(0, region_map(rfd, 0, &other));
	ASSERT_EQ(0, region_fstat(fd, &st));
	r[0] = range_of(10, "hello", 5);
	r[1] = range_of(PAGE - 100, pattern, sizeof(pattern)); /* across the page boundary */
	r[2] = range_of(2 * PAGE - 1, "z", 1);                /* the last byte */
	ASSERT_EQ(0, region_counters(self->dev, &c0));
	ASSERT_EQ(0, region_write(fd, r, 3, 0, &epoch)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, region_counters(self->dev, &c1));
	EXPECT_EQ(st.epoch, epoch) TH_LOG("the bytes belong to the current epoch");
	EXPECT_EQ(0, memcmp((char *)own.addr + 10, "hello", 5));
	EXPECT_EQ(0, memcmp((char *)own.addr + PAGE - 100, pattern, sizeof(pattern)));
	EXPECT_EQ('z', ((char *)own.addr)[2 * PAGE - 1]);
	EXPECT_EQ(0, ((char *)own.addr)[9]) TH_LOG("bytes outside the ranges are untouched");
	EXPECT_EQ(0, ((char *)own.addr)[15]);
	EXPECT_EQ(0, memcmp((char *)other.addr + PAGE - 100, pattern, sizeof(pattern)));
	EXPECT_EQ(1U, c1.logged_writes - c0.logged_writes);
	EXPECT_EQ(0U, c1.faults - c0.faults) TH_LOG("no page fault");
	/* Zero-length ranges are allowed and write nothing. */
	r[0] = range_of(0, "", 0);
	EXPECT_EQ(0, region_write(fd, r, 1, 0, NULL)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, ((char *)own.addr)[0]);
	region_unmap(&own);
	region_unmap(&other);
	close(fd);
	close(rfd);
}

TEST_F(lib, write_with_commit_returns_a_newer_epoch_each_time)
{
	struct region_write_range r;
	struct region_stat st;
	uint64_t first = 0, second = 0, plain = 0;
	int fd;

	ASSERT_EQ(0, region_create(self->dev, "committed", PAGE, 0600));
	fd = region_open(self->dev, "committed", REGION_OPEN_WRITE);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, region_fstat(fd, &st));
	r = range_of(64, "one", 3);
	ASSERT_EQ(0, region_write(fd, &r, 1, REGION_WRITE_COMMIT, &first)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(st.epoch, first);
	r = range_of(128, "two", 3);
	ASSERT_EQ(0, region_write(fd, &r, 1, REGION_WRITE_COMMIT, &second));
	EXPECT_LT(first, second);
	ASSERT_EQ(0, region_fstat(fd, &st));
	EXPECT_EQ(second + 1, st.epoch) TH_LOG("the region's epoch moved past the commit");
	r = range_of(192, "three", 5);
	ASSERT_EQ(0, region_write(fd, &r, 1, 0, &plain));
	EXPECT_EQ(st.epoch, plain) TH_LOG("without a commit: the epoch the bytes belong to");
	ASSERT_EQ(0, region_pmsync(fd, &second));
	EXPECT_EQ(plain, second) TH_LOG("the PMSYNC after it commits that epoch");
	close(fd);
}

TEST_F(lib, write_on_a_read_only_descriptor_is_ebadf)
{
	struct region_write_range r = range_of(0, "x", 1);
	int fd;

	ASSERT_EQ(0, region_create(self->dev, "readonly", PAGE, 0600));
	fd = region_open(self->dev, "readonly", 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, region_write(fd, &r, 1, 0, NULL));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, region_write(fd, &r, 1, REGION_WRITE_COMMIT, NULL));
	EXPECT_EQ(EBADF, errno);
	close(fd);
}

TEST_F(lib, write_past_the_end_or_with_bad_arguments_is_einval)
{
	struct region_write_range r[2];
	int fd;

	ASSERT_EQ(0, region_create(self->dev, "bounded", PAGE, 0600));
	fd = region_open(self->dev, "bounded", REGION_OPEN_WRITE);
	ASSERT_LE(0, fd);
	r[0] = range_of(0, "ok", 2);
	r[1] = range_of(PAGE - 4, "12345678", 8);
	EXPECT_EQ(-1, region_write(fd, r, 2, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	r[1] = range_of(UINT64_MAX - 2, "12345678", 8); /* offset + len overflows */
	EXPECT_EQ(-1, region_write(fd, r, 2, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, region_write(fd, r, 0, 0, NULL)) TH_LOG("no range");
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, region_write(fd, r, 1, 0x80, NULL)) TH_LOG("unknown flag");
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, region_write(fd, NULL, 1, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, region_write(self->dev, r, 1, 0, NULL)) TH_LOG("the control device");
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

TEST_F(lib, write_over_the_limits_is_e2big)
{
	static struct region_write_range many[REGION_WRITE_MAX_RANGES + 1];
	struct region_write_range big;
	char *bytes = calloc(1, REGION_WRITE_MAX_BYTES + 1);
	unsigned int i;
	int fd;

	ASSERT_NE(NULL, bytes);
	ASSERT_EQ(0, region_create(self->dev, "large", 2 * REGION_WRITE_MAX_BYTES, 0600));
	fd = region_open(self->dev, "large", REGION_OPEN_WRITE);
	ASSERT_LE(0, fd);
	for (i = 0; i <= REGION_WRITE_MAX_RANGES; i++)
		many[i] = range_of(64 * i, bytes, 1);
	EXPECT_EQ(-1, region_write(fd, many, REGION_WRITE_MAX_RANGES + 1, 0, NULL));
	EXPECT_EQ(E2BIG, errno);
	EXPECT_EQ(0, region_write(fd, many, REGION_WRITE_MAX_RANGES, 0, NULL))
		TH_LOG("the most ranges: %s", strerror(errno));
	big = range_of(0, bytes, REGION_WRITE_MAX_BYTES + 1);
	EXPECT_EQ(-1, region_write(fd, &big, 1, 0, NULL));
	EXPECT_EQ(E2BIG, errno);
	big.len = REGION_WRITE_MAX_BYTES;
	EXPECT_EQ(0, region_write(fd, &big, 1, REGION_WRITE_COMMIT, NULL))
		TH_LOG("the most bytes: %s", strerror(errno));
	free(bytes);
	close(fd);
}

TEST_F(lib, the_volatile_page_is_shared_zeroed_and_never_committed)
{
	struct region_mapping data;
	volatile uint64_t *w, *r;
	int fd, rfd;

	ASSERT_EQ(0, region_create(self->dev, "volatile", PAGE, 0600));
	fd = region_open(self->dev, "volatile", REGION_OPEN_WRITE);
	rfd = region_open(self->dev, "volatile", 0);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, rfd);
	w = region_map_volatile(fd, 1);
	ASSERT_NE(NULL, w) TH_LOG("%s", strerror(errno));
	r = region_map_volatile(rfd, 0);
	ASSERT_NE(NULL, r) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(NULL, region_map_volatile(rfd, 1)) TH_LOG("writable needs a writer");
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0U, w[0]);
	EXPECT_EQ(0U, w[REGION_VOLATILE_SIZE / 8 - 1]);
	w[0] = 42;
	w[REGION_VOLATILE_SIZE / 8 - 1] = 43;
	EXPECT_EQ(42U, r[0]) TH_LOG("one page for every opener");
	EXPECT_EQ(43U, r[REGION_VOLATILE_SIZE / 8 - 1]);
	/* A commit leaves it alone, and writes none of it to the region. */
	ASSERT_EQ(0, region_pmsync(fd, NULL));
	EXPECT_EQ(42U, r[0]);
	ASSERT_EQ(0, region_map(rfd, 0, &data));
	EXPECT_EQ(0U, *(volatile uint64_t *)data.addr);
	region_unmap(&data);
	/* Gone once nothing holds the region open: a new opener finds zeros. */
	EXPECT_EQ(0, region_unmap_volatile((void *)w));
	EXPECT_EQ(0, region_unmap_volatile((void *)r));
	close(fd);
	close(rfd);
	fd = region_open(self->dev, "volatile", REGION_OPEN_WRITE);
	ASSERT_LE(0, fd);
	w = region_map_volatile(fd, 1);
	ASSERT_NE(NULL, w) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0U, w[0]) TH_LOG("the last close forgot the page");
	EXPECT_EQ(0, region_unmap_volatile((void *)w));
	close(fd);
}

TEST_F(lib, the_volatile_page_is_shared_with_other_processes)
{
	volatile uint64_t *w;
	int status, fd;
	pid_t pid;

	ASSERT_EQ(0, region_create(self->dev, "volshared", PAGE, 0600));
	fd = region_open(self->dev, "volshared", REGION_OPEN_WRITE);
	ASSERT_LE(0, fd);
	w = region_map_volatile(fd, 1);
	ASSERT_NE(NULL, w) TH_LOG("%s", strerror(errno));
	w[0] = 7;
	pid = fork();
	if (pid == 0) {
		/* A process of its own, with a descriptor and a mapping of its own. */
		int dev = region_device_open(NULL), cfd;
		volatile uint64_t *c;

		cfd = region_open(dev, "volshared", REGION_OPEN_WRITE);
		c = cfd < 0 ? NULL : region_map_volatile(cfd, 1);
		if (!c)
			_exit(1);
		__atomic_fetch_add(&c[1], 5, __ATOMIC_SEQ_CST);
		_exit(c[0] == 7 ? 0 : 2);
	}
	ASSERT_LT(0, pid);
	__atomic_fetch_add(&w[1], 1, __ATOMIC_SEQ_CST);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("status %d", status);
	EXPECT_EQ(6U, w[1]);
	region_unmap_volatile((void *)w);
	close(fd);
}

TEST_F(lib, pmsync_all_commits_every_open_region)
{
	struct region_mapping a, b;
	struct region_counters c0, c1;
	uint64_t count = 0;
	int fa, fb;

	ASSERT_EQ(0, region_create(self->dev, "all-a", PAGE, 0600));
	ASSERT_EQ(0, region_create(self->dev, "all-b", PAGE, 0600));
	fa = region_open(self->dev, "all-a", REGION_OPEN_WRITE);
	fb = region_open(self->dev, "all-b", REGION_OPEN_WRITE);
	ASSERT_LE(0, fa);
	ASSERT_LE(0, fb);
	ASSERT_EQ(0, region_map(fa, REGION_MAP_WRITE, &a));
	ASSERT_EQ(0, region_map(fb, REGION_MAP_WRITE, &b));
	((char *)a.addr)[0] = ((char *)b.addr)[0] = 1;
	ASSERT_EQ(0, region_counters(self->dev, &c0));
	ASSERT_EQ(0, region_pmsync_all(self->dev, &count));
	ASSERT_EQ(0, region_counters(self->dev, &c1));
	EXPECT_EQ(2U, count);
	EXPECT_EQ(2U, c1.pmsyncs - c0.pmsyncs);
	EXPECT_EQ(0, region_pmsync_all(self->dev, NULL)); /* the count is optional */
	region_unmap(&a);
	region_unmap(&b);
	close(fa);
	close(fb);
}

TEST_F(lib, format_erases_every_region)
{
	struct region_stat *entries;
	struct region_layout before, after;

	ASSERT_EQ(0, region_layout(self->dev, NULL, &before));
	ASSERT_EQ(0, region_create(self->dev, "erased-1", PAGE, 0600));
	ASSERT_EQ(0, region_create(self->dev, "erased-2", 2 * PAGE, 0600));
	ASSERT_EQ(0, region_format(self->dev)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, region_list_all(self->dev, &entries));
	ASSERT_EQ(0, region_layout(self->dev, NULL, &after));
	EXPECT_EQ(0U, after.regions);
	EXPECT_EQ(before.free_pages, after.free_pages);
}

TEST_F(lib, format_while_a_region_is_open_is_ebusy)
{
	int fd;

	ASSERT_EQ(0, region_create(self->dev, "kept", PAGE, 0600));
	fd = region_open(self->dev, "kept", 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, region_format(self->dev));
	EXPECT_EQ(EBUSY, errno);
	close(fd);
}

TEST(strerror_words_the_region_errnos)
{
	EXPECT_STREQ("no such region", region_strerror(ENOENT));
	EXPECT_STREQ("region exists", region_strerror(EEXIST));
	EXPECT_STREQ("permission denied by the region's mode", region_strerror(EACCES));
	EXPECT_STREQ("no space left on the region device", region_strerror(ENOSPC));
	EXPECT_STREQ("region name longer than 63 bytes", region_strerror(ENAMETOOLONG));
	EXPECT_STREQ(strerror(EIO), region_strerror(EIO));
}

TEST_HARNESS_MAIN
