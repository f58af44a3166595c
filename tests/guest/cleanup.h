/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cleanup.h - what every guest test fixture does on teardown: leave no region behind for the
 * next test.
 */
#ifndef REGION_TEST_CLEANUP_H
#define REGION_TEST_CLEANUP_H

#include <stdlib.h>

#include "region.h"

/* Deletes every region of the device open as `dev`, then closes it. */
static inline void delete_regions_and_close(int dev)
{
	struct region_stat *st;
	int i, n;

	n = region_list_all(dev, &st);
	for (i = 0; i < n; i++)
		region_delete(dev, st[i].name);
	if (n > 0)
		free(st);
	region_device_close(dev);
}

#endif
