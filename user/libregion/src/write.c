// SPDX-License-Identifier: GPL-2.0
/*
 * write.c - writes through the kernel (REGION_IOC_WRITE) and the region's volatile page.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "internal.h"

int region_write(int region_fd, const struct region_write_range *ranges, unsigned int count,
		 unsigned int flags, uint64_t *epoch)
{
	struct region_write_args args;

	if (!ranges)
		return region_fail(EINVAL);
	memset(&args, 0, sizeof(args));
	args.ranges = (__u64)(uintptr_t)ranges;
	args.count = count;
	args.flags = flags;
	if (ioctl(region_fd, REGION_IOC_WRITE, &args))
		return -1;
	if (epoch)
		*epoch = args.epoch;
	return 0;
}

void *region_map_volatile(int region_fd, int writable)
{
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	void *addr = mmap(NULL, REGION_VOLATILE_SIZE, prot, MAP_SHARED, region_fd,
			  (off_t)REGION_VOLATILE_OFFSET);

	return addr == MAP_FAILED ? NULL : addr;
}

int region_unmap_volatile(void *page)
{
	if (!page)
		return region_fail(EINVAL);
	return munmap(page, REGION_VOLATILE_SIZE);
}
