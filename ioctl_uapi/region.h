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

/*
 * Bytes of a name field: a name is 1-63 bytes without '/' or NUL, then NUL padding; create takes
 * only names that are valid UTF-8.
 */
#define REGION_NAME_MAX 64

/* Extents one region can have (see docs/FORMAT.md). */
#define REGION_MAX_EXTENTS 12

/* struct region_open_args.flags */
#define REGION_OPEN_WRITE 0x1 /* open for reading and writing; default is read-only */

/*
 * struct region_create_args - REGION_IOC_CREATE: a new region, all zeros.
 * @name:  in: the region's name.
 * @size:  in: bytes, 1 or more; rounded up to whole pages.
 * @mode:  in: permission bits, 0777 at most. The owner is the caller's fsuid and fsgid.
 * @flags: in: 0.
 */
struct region_create_args {
	char name[REGION_NAME_MAX];
	__u64 size;
	__u32 mode;
	__u32 flags;
	__u64 reserved[4];
};

/*
 * struct region_open_args - REGION_IOC_OPEN: a file descriptor for a region; the ioctl returns
 * it. Reading needs read permission, REGION_OPEN_WRITE also write permission, checked like file
 * permissions against the region's owner, group and mode (CAP_DAC_OVERRIDE passes).
 */
struct region_open_args {
	char name[REGION_NAME_MAX];
	__u32 flags;
	__u32 reserved32;
	__u64 reserved[3];
};

/* struct region_name_args - REGION_IOC_DELETE: the region to delete (owner or CAP_SYS_ADMIN). */
struct region_name_args {
	char name[REGION_NAME_MAX];
	__u64 reserved[2];
};

/*
 * struct region_stat - one region: REGION_IOC_STAT (by @name, on /dev/region), REGION_IOC_FSTAT
 * (on a region file descriptor), and the entries of REGION_IOC_LIST.
 * @name:       in for REGION_IOC_STAT, out otherwise.
 * @size:       bytes.
 * @epoch:      the epoch the region's stores go to: the number of the next PMSYNC snapshot.
 * @uid, @gid:  owner.
 * @mode:       permission bits.
 * @index:      region table entry.
 * @nr_extents: extents of device pages the region lives in.
 * @open_files: file descriptors open on it now.
 * @flags:      REGION_STAT_DAMAGED: a media error (poisoned memory, a bad block) makes part of
 *              the region unreadable or its last commit unrecoverable; it cannot be opened (EIO),
 *              only deleted.
 */
#define REGION_STAT_DAMAGED 1U
struct region_stat {
	char name[REGION_NAME_MAX];
	__u64 size;
	__u64 epoch;
	__u32 uid;
	__u32 gid;
	__u32 mode;
	__u32 index;
	__u32 nr_extents;
	__u32 open_files;
	__u32 flags;
	__u32 reserved32;
	__u64 reserved[3];
};

/*
 * struct region_list_args - REGION_IOC_LIST: every region, in table order.
 * @entries:  in: user address of an array of @capacity struct region_stat.
 * @capacity: in: elements of that array.
 * @count:    out: regions that exist; min(@count, @capacity) entries were filled.
 */
struct region_list_args {
	__u64 entries;
	__u32 capacity;
	__u32 count;
	__u64 reserved[2];
};

/*
 * struct region_resize_args - REGION_IOC_RESIZE (owner or CAP_SYS_ADMIN). Growing adds zeroed
 * pages; shrinking fails with EBUSY while any mapping covers a page beyond the new size.
 */
struct region_resize_args {
	char name[REGION_NAME_MAX];
	__u64 size;
	__u64 reserved[3];
};

/* A run of device pages. */
struct region_extent {
	__u64 start;
	__u64 pages;
};

/*
 * struct region_layout - REGION_IOC_LAYOUT: the on-PM layout of the device and, when @name is not
 * empty, of that region. Positions are in device pages (see docs/FORMAT.md).
 */
struct region_layout {
	char name[REGION_NAME_MAX];
	__u64 device_pages;
	__u64 table_start;
	__u64 table_pages;
	__u64 undo_header_start;
	__u64 undo_header_pages;
	__u64 undo_data_start;
	__u64 data_start;
	__u64 data_pages;
	__u64 free_pages;
	__u32 table_entries;
	__u32 undo_slots;
	__u32 regions;
	__u32 nr_extents;
	struct region_extent extents[REGION_MAX_EXTENTS];
	__u32 undo_share;     /* undo slots the regions of one owner may hold at once */
	__u32 reserved32;
	__u64 reserved[3];
};

/* struct region_counters - REGION_IOC_COUNTERS: totals since the device was attached. */
struct region_counters {
	__u64 lines_written_back; /* cache lines written back to PM */
	__u64 fences;             /* store fences */
	__u64 regions_created;
	__u64 regions_deleted;
	__u64 faults;             /* page faults on region mappings */
	__u64 pmsyncs;            /* PMSYNCs that committed an epoch */
	__u64 pages_written_back; /* dirty region pages written back by PMSYNC */
	__u64 undo_pages;         /* pages saved to undo slots by first writes */
	__u64 unmap_rounds;       /* unmap calls of PMSYNC: each one a TLB shootdown round */
	__u64 mappings_unmapped;  /* mappings (in all processes) whose PTEs PMSYNC removed */
	__u64 logged_writes;      /* REGION_IOC_WRITE calls that wrote */
	__u64 lines_logged;       /* committed lines saved to line records by REGION_IOC_WRITE */
	__u64 lines_nt;           /* cache lines written to PM with non-temporal stores */
	__u64 reserved[3];
};

/*
 * struct region_write_range - one range of REGION_IOC_WRITE.
 * @offset: where in the region the bytes go.
 * @addr:   user address of the @len new bytes.
 * @len:    bytes; 0 is allowed and writes nothing.
 */
struct region_write_range {
	__u64 offset;
	__u64 addr;
	__u64 len;
};

/* The most ranges, and bytes in all, that one REGION_IOC_WRITE takes (more: E2BIG). */
#define REGION_WRITE_MAX_RANGES 256
#define REGION_WRITE_MAX_BYTES (1U << 20)
/* REGION_IOC_WRITE flag: commit the region (a PMSYNC) after the bytes are written. */
#define REGION_WRITE_COMMIT 0x1

/*
 * struct region_write_args - REGION_IOC_WRITE.
 * @ranges: in: user address of @count struct region_write_range.
 * @count:  in: 1 .. REGION_WRITE_MAX_RANGES.
 * @flags:  in: 0 or REGION_WRITE_COMMIT.
 * @epoch:  out: with REGION_WRITE_COMMIT the epoch committed (as REGION_IOC_PMSYNC writes it);
 *          without, the epoch the bytes belong to (durable once a PMSYNC returns it or later).
 */
struct region_write_args {
	__u64 ranges;
	__u32 count;
	__u32 flags;
	__u64 epoch;
	__u64 reserved[2];
};

/*
 * The mmap offset of a region's volatile page: REGION_VOLATILE_SIZE bytes of DRAM, zero when the
 * region is first opened, shared by every process that has the region open and gone when the
 * last one closes it (never on PM: for lock words and counters that must not be committed).
 * Map it MAP_SHARED at this offset; PROT_WRITE needs a descriptor open for writing.
 */
#define REGION_VOLATILE_OFFSET (1ULL << 52)
#define REGION_VOLATILE_SIZE 4096

/*
 * struct region_format_args - REGION_IOC_FORMAT: erase every region and write a new, empty layout
 * of the same geometry. Needs CAP_SYS_ADMIN (EPERM); EBUSY while any region is open or holds
 * stores not yet committed.
 * @flags: in: 0.
 */
struct region_format_args {
	__u32 flags;
	__u32 reserved32;
	__u64 reserved[3];
};

/* On /dev/region. Errors: see README, "The user ABI". */
#define REGION_IOC_CREATE _IOW(REGION_IOC_MAGIC, 0x01, struct region_create_args)
#define REGION_IOC_OPEN _IOW(REGION_IOC_MAGIC, 0x02, struct region_open_args)
#define REGION_IOC_DELETE _IOW(REGION_IOC_MAGIC, 0x03, struct region_name_args)
#define REGION_IOC_STAT _IOWR(REGION_IOC_MAGIC, 0x04, struct region_stat)
#define REGION_IOC_LIST _IOWR(REGION_IOC_MAGIC, 0x05, struct region_list_args)
#define REGION_IOC_RESIZE _IOW(REGION_IOC_MAGIC, 0x06, struct region_resize_args)
#define REGION_IOC_LAYOUT _IOWR(REGION_IOC_MAGIC, 0x07, struct region_layout)
#define REGION_IOC_COUNTERS _IOR(REGION_IOC_MAGIC, 0x08, struct region_counters)
/*
 * PMSYNC of every region the calling process has a file descriptor open on, one after another
 * (each atomic on its own, as REGION_IOC_PMSYNC; not one snapshot across regions). Writes to *arg
 * how many regions that was.
 */
#define REGION_IOC_PMSYNC_ALL _IOR(REGION_IOC_MAGIC, 0x09, __u64)
#define REGION_IOC_FORMAT _IOW(REGION_IOC_MAGIC, 0x0a, struct region_format_args)

/* On a region file descriptor. */
#define REGION_IOC_FSTAT _IOR(REGION_IOC_MAGIC, 0x10, struct region_stat)

/*
 * REGION_IOC_PMSYNC - make every store that any process made to the region durable, atomically.
 *
 * Writes to *arg the epoch it committed. Guarantee: when it returns, the region's contents at the
 * instant its TLB shootdown completed are durable as one snapshot, numbered by that epoch: every
 * store any process completed, in any mapping, before the PMSYNC removed that process's writable
 * mappings (no new write can start from the instant it takes the region's lock; a thread whose
 * mapping is still writable can store until it is removed). After a power cut or crash
 * (or an rmmod without PMSYNC) the region is, at the next attach, exactly the snapshot of the last
 * completed PMSYNC: never a mix of two snapshots, whichever processes wrote. Stores made after that
 * belong to the next epoch; a writer that faults while a PMSYNC runs waits for it.
 * Concurrent PMSYNCs on one region run one after the other; PMSYNCs on different regions run in
 * parallel. If nothing was written since the last PMSYNC, nothing is written and the last epoch
 * is returned. Errors: EFAULT.
 *
 * Undo area exhaustion: when the first write to a page finds no free undo slot, the region is
 * committed then and there (an automatic PMSYNC, counted in pmsyncs) and the write proceeds in the
 * next epoch; if the region itself holds no slot to free, the writer gets SIGBUS and the kernel
 * log says why. Atomicity is never given up.
 */
#define REGION_IOC_PMSYNC _IOR(REGION_IOC_MAGIC, 0x11, __u64)

/*
 * REGION_IOC_WRITE - write bytes into the region through the kernel, logged line by line.
 *
 * For every 64-byte line the ranges touch whose page was not saved in this epoch, the line's
 * committed contents go to a line record in the undo area first (non-temporal stores, one fence
 * for all of them); then the new bytes are written with non-temporal stores. The bytes belong to
 * the current epoch exactly as stores through a mapping do: a power cut before the next PMSYNC
 * takes them back. With REGION_WRITE_COMMIT the call then commits the region as REGION_IOC_PMSYNC
 * does (every process's stores with it), so a small update costs one system call, no page fault,
 * no TLB shootdown, and about one written line per changed line plus its record.
 * Needs a descriptor open for writing (EBADF). Errors: EFAULT, EINVAL (flags, reserved fields,
 * count 0 or a range past the region's end), E2BIG (more than REGION_WRITE_MAX_RANGES ranges or
 * REGION_WRITE_MAX_BYTES bytes), ENOSPC (the undo area cannot hold the records even after
 * committing the region), EOVERFLOW (epochs used up), EIO (damaged region or device gone).
 */
#define REGION_IOC_WRITE _IOWR(REGION_IOC_MAGIC, 0x12, struct region_write_args)

#endif /* _UAPI_LINUX_REGION_H */
