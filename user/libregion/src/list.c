// SPDX-License-Identifier: GPL-2.0
/*
 * list.c - every region. REGION_IOC_LIST fills at most the caller's capacity and says how many
 * regions exist, so the buffer grows to that count and the ioctl is repeated until all fit (a
 * region created between two calls just means one more round).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

/* The buffer's first size, in entries: enough for most devices in one ioctl. */
#define FIRST_CAPACITY 32

int region_list_all(int dev, struct region_stat **entries)
{
	struct region_list_args args;
	struct region_stat *buf = NULL, *bigger;
	__u32 capacity = FIRST_CAPACITY;

	if (!entries)
		return region_fail(EINVAL);
	for (;;) {
		bigger = realloc(buf, capacity * sizeof(*buf));
		if (!bigger) {
			free(buf);
			return region_fail(ENOMEM);
		}
		buf = bigger;
		memset(buf, 0, capacity * sizeof(*buf));
		memset(&args, 0, sizeof(args));
		args.entries = (__u64)(uintptr_t)buf;
		args.capacity = capacity;
		if (ioctl(dev, REGION_IOC_LIST, &args)) {
			int saved = errno;

			free(buf);
			return region_fail(saved);
		}
		if (args.count <= capacity)
			break;
		capacity = args.count;
	}
	if (args.count == 0) {
		free(buf);
		buf = NULL;
	}
	*entries = buf;
	return (int)args.count;
}

int region_list(int dev, region_list_fn fn, void *arg)
{
	struct region_stat *entries;
	int count, i, stop = 0;

	if (!fn)
		return region_fail(EINVAL);
	count = region_list_all(dev, &entries);
	if (count < 0)
		return -1;
	for (i = 0; i < count && !stop; i++)
		stop = fn(&entries[i], arg);
	free(entries);
	return stop;
}
