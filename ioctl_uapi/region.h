/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * region.h - user ABI of the Region System (/dev/region).
 *
 * Usable from user space with only <linux/types.h> and <linux/ioctl.h>; compiles with
 * -std=c99 -Wall -Wextra -Werror. The Rust mirror is region_uapi.rs in this folder, and a host
 * test fails if the two disagree on any size, offset or ioctl number.
 *
 * Conventions: every structure has a fixed size and only fixed-width fields; fields marked "in"
 * are read by the kernel, "out" are written by it. Input flags and reserved fields must be zero,
 * otherwise the call fails with EINVAL, so that later ABI versions can give them a meaning.
 */
#ifndef _UAPI_LINUX_REGION_H
#define _UAPI_LINUX_REGION_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* The ioctl type byte of the Region System (unused in ioctl-number.rst as of Linux 7.3). */
#define REGION_IOC_MAGIC 0xBE

/* The ABI version this header describes, as REGION_IOC_DEVICE_INFO reports it. */
#define REGION_ABI_VERSION 1

/* The path of the control device. */
#define REGION_DEVICE_PATH "/dev/region"

/*
 * struct region_device_info - what the module is attached to.
 * @flags:       in: must be 0.
 * @abi_version: out: REGION_ABI_VERSION of the running module.
 * @device_size: out: usable bytes of the persistent memory device the module manages.
 * @page_size:   out: the granule of mappings and of dirty tracking, in bytes.
 * @reserved:    out: zero.
 */
struct region_device_info {
	__u32 flags;
	__u32 abi_version;
	__u64 device_size;
	__u32 page_size;
	__u32 reserved32;
	__u64 reserved[5];
};

/* Reports the ABI version and the device's geometry. Errors: EFAULT, EINVAL (flags not 0). */
#define REGION_IOC_DEVICE_INFO _IOWR(REGION_IOC_MAGIC, 0x00, struct region_device_info)

#endif /* _UAPI_LINUX_REGION_H */
