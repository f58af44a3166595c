// SPDX-License-Identifier: GPL-2.0
/*
 * host_check.c - libregion on a host without the module: linked against libregion.so, it checks
 * the errnos the library gives without a Region System device (a missing device path, names too
 * long, NULL arguments, descriptors that are not the device) and region_strerror's words.
 * Prints one line per failed check; exits 1 if any failed. (The guest test of every call against
 * the module is tests/guest/libregion_test.c.)
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <unistd.h>

#include "region.h"

static int failures;

/* Checks that @ret is -1 with errno @want; prints what it got otherwise. */
static void expect_errno(const char *what, int ret, int want)
{
	int got = errno;

	if (ret == -1 && got == want)
		return;
	printf("%s: returned %d, errno %d (%s); wanted -1, errno %d (%s)\n", what, ret, got,
	       strerror(got), want, strerror(want));
	failures++;
}

static void expect_text(const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return;
	printf("%s: \"%s\", wanted \"%s\"\n", what, got, want);
	failures++;
}

int main(void)
{
	char long_name[REGION_NAME_MAX + 1];
	struct region_mapping map = { NULL, 0 };
	struct region_stat *entries, st;
	struct region_write_range range = { 0, 0, 0 };
	int null_fd = open("/dev/null", O_RDONLY);

	memset(long_name, 'x', REGION_NAME_MAX);
	long_name[REGION_NAME_MAX] = 0;

	expect_errno("open of a missing device path", region_device_open("/nonexistent/region"), ENOENT);
	expect_errno("create with a 64-byte name", region_create(-1, long_name, 4096, 0600), ENAMETOOLONG);
	expect_errno("open with a 64-byte name", region_open(-1, long_name, 0), ENAMETOOLONG);
	expect_errno("create with a NULL name", region_create(-1, NULL, 4096, 0600), EINVAL);
	expect_errno("stat into NULL", region_stat(-1, "a", NULL), EINVAL);
	expect_errno("list without a callback", region_list(-1, NULL, NULL), EINVAL);
	expect_errno("unmap of nothing", region_unmap(&map), EINVAL);
	expect_errno("map with unknown flags", region_map(-1, 0x80, &map), EINVAL);
	expect_errno("create on a closed descriptor", region_create(-1, "a", 4096, 0600), EBADF);
	expect_errno("list on a closed descriptor", region_list_all(-1, &entries), EBADF);
	expect_errno("pmsync on a closed descriptor", region_pmsync(-1, NULL), EBADF);
	expect_errno("write of NULL ranges", region_write(-1, NULL, 1, 0, NULL), EINVAL);
	expect_errno("write on a closed descriptor", region_write(-1, &range, 1, 0, NULL), EBADF);
	expect_errno("volatile page of a closed descriptor",
		     region_map_volatile(-1, 0) ? 0 : -1, EBADF);
	expect_errno("unmap of no volatile page", region_unmap_volatile(NULL), EINVAL);
	/* A descriptor that is not the device: the kernel says ENOTTY, through the library. */
	expect_errno("fstat of /dev/null", region_fstat(null_fd, &st), ENOTTY);
	expect_errno("pmsync of /dev/null", region_pmsync(null_fd, NULL), ENOTTY);
	expect_errno("write to /dev/null", region_write(null_fd, &range, 1, 0, NULL), ENOTTY);
	close(null_fd);
	expect_text("region_strerror(ENOENT)", region_strerror(ENOENT), "no such region");
	expect_text("region_strerror(EIO)", region_strerror(EIO), strerror(EIO));
	return failures ? 1 : 0;
}
