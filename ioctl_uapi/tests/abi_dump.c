// SPDX-License-Identifier: GPL-2.0
/*
 * Prints every size, field offset, constant and ioctl number of region.h, one "key value" line
 * each, for the host test abi_matches_header.rs to compare with the Rust mirror. Built with
 * -std=c99 -Wall -Wextra -Werror, which also checks that the header stands on its own.
 */
#include <stddef.h>
#include <stdio.h>

#include "../region.h"

#define SIZE(s) printf("sizeof %s %zu\n", #s, sizeof(struct s))
#define FIELD(s, f) printf("offsetof %s.%s %zu\n", #s, #f, offsetof(struct s, f))
#define NUMBER(n) printf("const %s %llu\n", #n, (unsigned long long)(n))

int main(void)
{
	SIZE(region_device_info);
	FIELD(region_device_info, flags);
	FIELD(region_device_info, abi_version);
	FIELD(region_device_info, device_size);
	FIELD(region_device_info, page_size);
	FIELD(region_device_info, reserved32);
	FIELD(region_device_info, reserved);

	NUMBER(REGION_IOC_MAGIC);
	NUMBER(REGION_ABI_VERSION);
	NUMBER(REGION_IOC_DEVICE_INFO);
	return 0;
}
