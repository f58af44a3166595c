/* SPDX-License-Identifier: GPL-2.0 */
/*
 * reload.h - unloading and reloading the module from a guest test, as a power cut's recovery or
 * an rmmod/insmod by an operator would: what was committed must come back, nothing else.
 */
#ifndef REGION_TEST_RELOAD_H
#define REGION_TEST_RELOAD_H

#include <stdio.h>
#include <stdlib.h>

#include "region.h"

/*
 * Closes @dev, unloads and reloads the module on $REGION_PMEM (every descriptor on it must be
 * closed); returns a new descriptor of /dev/region, or -1.
 */
static inline int reload(int dev)
{
	char cmd[256];
	const char *pmem = getenv("REGION_PMEM");

	region_device_close(dev);
	snprintf(cmd, sizeof(cmd), "rmmod region && insmod /region/region.ko pmem=%s",
		 pmem ? pmem : "/dev/pmem-nvdimm");
	if (system(cmd))
		return -1;
	return region_device_open(NULL);
}

#endif
