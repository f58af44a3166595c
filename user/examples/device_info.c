// SPDX-License-Identifier: GPL-2.0
/*
 * device_info - print what /dev/region is attached to: ABI version, device size, page size.
 *
 *   scripts/libregion.sh build   # build/libregion: libregion.a, libregion.so, include/
 *   cc -static -I build/libregion/include -o device_info user/examples/device_info.c \
 *       build/libregion/libregion.a
 *   ./device_info [/dev/region]
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "region.h"

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : REGION_DEVICE_PATH;
	struct region_device_info info;
	int dev = region_device_open(path);

	if (dev < 0) {
		fprintf(stderr, "device_info: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (region_device_info(dev, &info) < 0) {
		fprintf(stderr, "device_info: %s: device info: %s\n", path, region_strerror(errno));
		region_device_close(dev);
		return 1;
	}
	printf("%s: ABI version %u, device %llu bytes (%llu MiB), page size %u\n", path,
	       info.abi_version, (unsigned long long)info.device_size,
	       (unsigned long long)(info.device_size >> 20), info.page_size);
	region_device_close(dev);
	return 0;
}
