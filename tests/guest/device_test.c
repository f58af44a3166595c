// SPDX-License-Identifier: GPL-2.0
/*
 * device_test.c - /dev/region, the control device, with the module loaded on a pmem device:
 * the node, the device-info ioctl and every way to call it wrongly, and the file operations the
 * control device does not have. Calls go through libregion, except where a test hands the kernel
 * what the library never would (flags, poisoned reserved fields, bad pointers, wrong numbers).
 *
 * Environment: REGION_PMEM (the block device the module was loaded with) and
 * REGION_EXPECT_DEVICE_SIZE (its size in bytes rounded down to whole pages), set by run-all.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "region.h"
#include "kselftest_harness.h"

#define NOBODY 65534

FIXTURE(control) {
	int fd;
};

FIXTURE_SETUP(control)
{
	self->fd = region_device_open(NULL);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s (is region.ko loaded?)", REGION_DEVICE_PATH,
				      strerror(errno));
}

FIXTURE_TEARDOWN(control)
{
	region_device_close(self->fd);
}

TEST(device_node_is_a_root_only_character_device)
{
	struct stat st;

	ASSERT_EQ(0, stat(REGION_DEVICE_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600U, st.st_mode & 07777);
	EXPECT_EQ(0U, st.st_uid);
	EXPECT_EQ(0U, st.st_gid);
}

TEST(unprivileged_user_cannot_open_the_device)
{
	pid_t pid = fork();
	int status;

	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		_exit(region_device_open(NULL) == -1 && errno == EACCES ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("open as uid %d was not refused with EACCES", NOBODY);
}

TEST(pmem_device_is_held_exclusively)
{
	const char *pmem = getenv("REGION_PMEM");
	int fd;

	ASSERT_NE(NULL, pmem) TH_LOG("REGION_PMEM is not set");
	fd = open(pmem, O_RDWR | O_EXCL);
	EXPECT_EQ(-1, fd) TH_LOG("%s opened exclusively while the module holds it", pmem);
	EXPECT_EQ(EBUSY, errno);
	if (fd >= 0)
		close(fd);
}

TEST_F(control, info_reports_abi_version_and_device_size)
{
	const char *want = getenv("REGION_EXPECT_DEVICE_SIZE");
	struct region_device_info info = { 0 };

	ASSERT_NE(NULL, want) TH_LOG("REGION_EXPECT_DEVICE_SIZE is not set");
	ASSERT_EQ(0, region_device_info(self->fd, &info)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ((__u32)REGION_ABI_VERSION, info.abi_version);
	EXPECT_EQ(4096U, info.page_size);
	EXPECT_EQ(strtoull(want, NULL, 0), info.device_size);
	EXPECT_EQ(0U, info.device_size % info.page_size);
}

TEST_F(control, info_zeroes_reserved_fields)
{
	struct region_device_info info;
	size_t i;

	memset(&info, 0xa5, sizeof(info));
	info.flags = 0;
	ASSERT_EQ(0, ioctl(self->fd, REGION_IOC_DEVICE_INFO, &info));
	EXPECT_EQ(0U, info.reserved32);
	for (i = 0; i < sizeof(info.reserved) / sizeof(info.reserved[0]); i++)
		EXPECT_EQ(0U, info.reserved[i]);
}

TEST_F(control, info_rejects_nonzero_flags)
{
	struct region_device_info info = { .flags = 1 };

	EXPECT_EQ(-1, ioctl(self->fd, REGION_IOC_DEVICE_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	info.flags = 0x80000000u;
	EXPECT_EQ(-1, ioctl(self->fd, REGION_IOC_DEVICE_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(control, info_rejects_bad_pointers)
{
	EXPECT_EQ(-1, ioctl(self->fd, REGION_IOC_DEVICE_INFO, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, REGION_IOC_DEVICE_INFO, (void *)-4096L));
	EXPECT_EQ(EFAULT, errno);
	/* A kernel address must be refused like any other bad pointer. */
	EXPECT_EQ(-1, ioctl(self->fd, REGION_IOC_DEVICE_INFO, (void *)0xffffffff81000000UL));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(control, info_into_read_only_memory_is_efault)
{
	void *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, page);
	EXPECT_EQ(-1, ioctl(self->fd, REGION_IOC_DEVICE_INFO, page));
	EXPECT_EQ(EFAULT, errno);
	munmap(page, 4096);
}

TEST_F(control, info_straddling_the_end_of_a_mapping_is_efault)
{
	char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, pages);
	ASSERT_EQ(0, munmap(pages + 4096, 4096));
	memset(pages, 0, 4096);
	EXPECT_EQ(-1, ioctl(self->fd, REGION_IOC_DEVICE_INFO, pages + 4096 - 8));
	EXPECT_EQ(EFAULT, errno);
	munmap(pages, 4096);
}

TEST_F(control, unknown_ioctls_are_enotty)
{
	char buf[64] = { 0 };
	struct termios t;

	EXPECT_EQ(-1, ioctl(self->fd, _IO(REGION_IOC_MAGIC, 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	/* The right number with a different size is a different ioctl. */
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(REGION_IOC_MAGIC, 0x00, char[8]), buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOR(REGION_IOC_MAGIC, 0x00, struct region_device_info), buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, tcgetattr(self->fd, &t));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(control, read_write_and_mmap_are_refused)
{
	char buf[16];

	EXPECT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd, 0));
	EXPECT_EQ(ENODEV, errno);
}

TEST_HARNESS_MAIN
