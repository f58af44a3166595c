// SPDX-License-Identifier: GPL-2.0
/*
 * device.c - calls on the control device as a whole: open, close, device info, layout, counters,
 * PMSYNC of every open region, format.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"

int region_device_open(const char *path)
{
	return open(path ? path : REGION_DEVICE_PATH, O_RDWR | O_CLOEXEC);
}

int region_device_close(int dev)
{
	return close(dev);
}

int region_device_info(int dev, struct region_device_info *info)
{
	if (!info)
		return region_fail(EINVAL);
	memset(info, 0, sizeof(*info));
	return ioctl(dev, REGION_IOC_DEVICE_INFO, info);
}

int region_layout(int dev, const char *name, struct region_layout *layout)
{
	if (!layout)
		return region_fail(EINVAL);
	memset(layout, 0, sizeof(*layout));
	if (name && region_name_field(layout->name, name))
		return -1;
	return ioctl(dev, REGION_IOC_LAYOUT, layout);
}

int region_counters(int dev, struct region_counters *counters)
{
	if (!counters)
		return region_fail(EINVAL);
	return ioctl(dev, REGION_IOC_COUNTERS, counters);
}

int region_pmsync_all(int dev, uint64_t *count)
{
	__u64 n;

	if (ioctl(dev, REGION_IOC_PMSYNC_ALL, &n))
		return -1;
	if (count)
		*count = n;
	return 0;
}

int region_format(int dev)
{
	struct region_format_args args;

	memset(&args, 0, sizeof(args));
	return ioctl(dev, REGION_IOC_FORMAT, &args);
}
