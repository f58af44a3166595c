// SPDX-License-Identifier: GPL-2.0
/*
 * regions.c - calls on one region: create, open, delete, stat, fstat, resize, PMSYNC.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

int region_create(int dev, const char *name, uint64_t size, unsigned int mode)
{
	struct region_create_args args;

	memset(&args, 0, sizeof(args));
	if (region_name_field(args.name, name))
		return -1;
	args.size = size;
	args.mode = mode;
	return ioctl(dev, REGION_IOC_CREATE, &args);
}

int region_open(int dev, const char *name, unsigned int flags)
{
	struct region_open_args args;

	memset(&args, 0, sizeof(args));
	if (region_name_field(args.name, name))
		return -1;
	args.flags = flags;
	return ioctl(dev, REGION_IOC_OPEN, &args);
}

int region_delete(int dev, const char *name)
{
	struct region_name_args args;

	memset(&args, 0, sizeof(args));
	if (region_name_field(args.name, name))
		return -1;
	return ioctl(dev, REGION_IOC_DELETE, &args);
}

int region_stat(int dev, const char *name, struct region_stat *st)
{
	if (!st)
		return region_fail(EINVAL);
	memset(st, 0, sizeof(*st));
	if (region_name_field(st->name, name))
		return -1;
	return ioctl(dev, REGION_IOC_STAT, st);
}

int region_fstat(int region_fd, struct region_stat *st)
{
	if (!st)
		return region_fail(EINVAL);
	return ioctl(region_fd, REGION_IOC_FSTAT, st);
}

int region_resize(int dev, const char *name, uint64_t size)
{
	struct region_resize_args args;

	memset(&args, 0, sizeof(args));
	if (region_name_field(args.name, name))
		return -1;
	args.size = size;
	return ioctl(dev, REGION_IOC_RESIZE, &args);
}

int region_pmsync(int region_fd, uint64_t *epoch)
{
	__u64 committed;

	if (ioctl(region_fd, REGION_IOC_PMSYNC, &committed))
		return -1;
	if (epoch)
		*epoch = committed;
	return 0;
}
