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
	SIZE(region_create_args);
	FIELD(region_create_args, name);
	FIELD(region_create_args, size);
	FIELD(region_create_args, mode);
	FIELD(region_create_args, flags);
	FIELD(region_create_args, reserved);
	SIZE(region_open_args);
	FIELD(region_open_args, name);
	FIELD(region_open_args, flags);
	FIELD(region_open_args, reserved32);
	FIELD(region_open_args, reserved);
	SIZE(region_name_args);
	FIELD(region_name_args, name);
	FIELD(region_name_args, reserved);
	SIZE(region_stat);
	FIELD(region_stat, name);
	FIELD(region_stat, size);
	FIELD(region_stat, epoch);
	FIELD(region_stat, uid);
	FIELD(region_stat, gid);
	FIELD(region_stat, mode);
	FIELD(region_stat, index);
	FIELD(region_stat, nr_extents);
	FIELD(region_stat, open_files);
	FIELD(region_stat, flags);
	FIELD(region_stat, reserved32);
	FIELD(region_stat, reserved);
	SIZE(region_list_args);
	FIELD(region_list_args, entries);
	FIELD(region_list_args, capacity);
	FIELD(region_list_args, count);
	FIELD(region_list_args, reserved);
	SIZE(region_resize_args);
	FIELD(region_resize_args, name);
	FIELD(region_resize_args, size);
	FIELD(region_resize_args, reserved);
	SIZE(region_extent);
	FIELD(region_extent, start);
	FIELD(region_extent, pages);
	SIZE(region_layout);
	FIELD(region_layout, name);
	FIELD(region_layout, device_pages);
	FIELD(region_layout, table_start);
	FIELD(region_layout, table_pages);
	FIELD(region_layout, undo_header_start);
	FIELD(region_layout, undo_header_pages);
	FIELD(region_layout, undo_data_start);
	FIELD(region_layout, data_start);
	FIELD(region_layout, data_pages);
	FIELD(region_layout, free_pages);
	FIELD(region_layout, table_entries);
	FIELD(region_layout, undo_slots);
	FIELD(region_layout, regions);
	FIELD(region_layout, nr_extents);
	FIELD(region_layout, extents);
	FIELD(region_layout, undo_share);
	FIELD(region_layout, reserved32);
	FIELD(region_layout, reserved);
	SIZE(region_counters);
	FIELD(region_counters, lines_written_back);
	FIELD(region_counters, fences);
	FIELD(region_counters, regions_created);
	FIELD(region_counters, regions_deleted);
	FIELD(region_counters, faults);
	FIELD(region_counters, pmsyncs);
	FIELD(region_counters, pages_written_back);
	FIELD(region_counters, undo_pages);
	FIELD(region_counters, unmap_rounds);
	FIELD(region_counters, mappings_unmapped);
	FIELD(region_counters, reserved);
	NUMBER(REGION_IOC_MAGIC);
	NUMBER(REGION_ABI_VERSION);
	NUMBER(REGION_NAME_MAX);
	NUMBER(REGION_MAX_EXTENTS);
	NUMBER(REGION_OPEN_WRITE);
	NUMBER(REGION_STAT_DAMAGED);
	NUMBER(REGION_IOC_DEVICE_INFO);
	NUMBER(REGION_IOC_CREATE);
	NUMBER(REGION_IOC_OPEN);
	NUMBER(REGION_IOC_DELETE);
	NUMBER(REGION_IOC_STAT);
	NUMBER(REGION_IOC_LIST);
	NUMBER(REGION_IOC_RESIZE);
	NUMBER(REGION_IOC_LAYOUT);
	NUMBER(REGION_IOC_COUNTERS);
	NUMBER(REGION_IOC_FSTAT);
	NUMBER(REGION_IOC_PMSYNC);
	NUMBER(REGION_IOC_PMSYNC_ALL);
	NUMBER(REGION_IOC_FORMAT);
	SIZE(region_format_args);
	FIELD(region_format_args, flags);
	FIELD(region_format_args, reserved32);
	FIELD(region_format_args, reserved);
	return 0;
}
