// SPDX-License-Identifier: GPL-2.0
/*
 * device_info - print what /dev/region is attached to: ABI version, device size, page size.
 *
 *   cc -static -I ioctl_uapi -o device_info user/examples/device_info.c
 *   ./device_info [/dev/region]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "region.h"

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : REGION_DEVICE_PATH;
	struct region_device_info info = { 0 };
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "device_info: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (ioctl(fd, REGION_IOC_DEVICE_INFO, &info) < 0) {
		fprintf(stderr, "device_info: %s: REGION_IOC_DEVICE_INFO: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	printf("%s: ABI version %u, device %llu bytes (%llu MiB), page size %u\n", path,
	       info.abi_version, (unsigned long long)info.device_size,
	       (unsigned long long)(info.device_size >> 20), info.page_size);
	close(fd);
	return 0;
}
