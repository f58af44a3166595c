// SPDX-License-Identifier: GPL-2.0
/*
 * mapping.c - shared mappings of whole regions.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#include "internal.h"

int region_map(int region_fd, unsigned int flags, struct region_mapping *map)
{
	struct region_stat st;
	int prot = PROT_READ;
	void *addr;

	if (!map || (flags & ~(unsigned int)REGION_MAP_WRITE))
		return region_fail(EINVAL);
	if (flags & REGION_MAP_WRITE)
		prot |= PROT_WRITE;
	if (region_fstat(region_fd, &st))
		return -1;
	if (st.size > SIZE_MAX)
		return region_fail(ENOMEM);
	addr = mmap(NULL, (size_t)st.size, prot, MAP_SHARED, region_fd, 0);
	if (addr == MAP_FAILED)
		return -1;
	map->addr = addr;
	map->length = (size_t)st.size;
	return 0;
}

int region_unmap(struct region_mapping *map)
{
	if (!map || !map->addr)
		return region_fail(EINVAL);
	if (munmap(map->addr, map->length))
		return -1;
	map->addr = NULL;
	map->length = 0;
	return 0;
}
