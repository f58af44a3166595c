/* SPDX-License-Identifier: GPL-2.0 */
/*
 * region.h - the Region System from C: libregion (libregion.so, libregion.a).
 *
 * Named persistent memory regions that any number of processes map and use with plain loads and
 * stores, made durable atomically by region_pmsync(). A thin C layer over the ioctls of
 * /dev/region, whose ABI (structures, flags, ioctl numbers) comes from <linux/region.h>, the
 * kernel's UAPI header (ioctl_uapi/region.h in the source tree; this header's folder holds
 * linux/region.h pointing at it, so one -I of this folder finds both).
 *
 * Conventions, as in libc: a call returns 0 (or a file descriptor) on success and -1 with errno
 * set on failure; errno is the kernel's, or one this library sets before any system call (named
 * under each call). The control device and regions are plain file descriptors: close them with
 * close(2) (or region_device_close()). region_strerror() words an errno for regions.
 *
 *     int dev = region_device_open(NULL);
 *     region_create(dev, "orders", 1 << 20, 0600);
 *     int fd = region_open(dev, "orders", REGION_OPEN_WRITE);
 *     struct region_mapping m;
 *     region_map(fd, REGION_MAP_WRITE, &m);
 *     strcpy(m.addr, "hello");               (plain stores; every mapper sees them)
 *     uint64_t epoch;
 *     region_pmsync(fd, &epoch);             (durable now, all or nothing)
 *
 * Small updates need no mapping: region_write() has the kernel write (and log) a list of ranges
 * and optionally commit them, in one system call; region_map_volatile() maps the region's DRAM
 * page for lock words and counters that must never be committed.
 *
 * Names are 1-63 bytes without '/'. A name of 64 bytes or more fails with ENAMETOOLONG before
 * any system call; any other bad name (empty, or with '/') is the kernel's to refuse (EINVAL).
 * A NULL name or NULL result pointer fails with EINVAL. The errors listed under each call are
 * those of the Region System; EBADF, ENOTTY (fd is not what the call needs) and EFAULT may come
 * from any of them.
 *
 * Compiles with -std=c99 -Wall -Wextra -Werror -pedantic.
 */
#ifndef REGION_LIBREGION_H
#define REGION_LIBREGION_H

#include <stddef.h>
#include <stdint.h>

#include <linux/region.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * region_device_open - open the control device.
 * @path: its path; NULL means REGION_DEVICE_PATH ("/dev/region").
 *
 * Returns a file descriptor (read-write, close-on-exec) that the other calls take as @dev.
 * Errors: those of open(2): ENOENT (no such device: is region.ko loaded?), EACCES (the device is
 * mode 0600, root's, unless an administrator opened it up).
 */
int region_device_open(const char *path);

/*
 * region_device_close - close a descriptor from region_device_open(). Regions opened through it
 * stay open. Errors: those of close(2).
 */
int region_device_close(int dev);

/*
 * region_device_info - ABI version, device size and page size of the device region.ko manages.
 * Errors: EINVAL (@info is NULL).
 */
int region_device_info(int dev, struct region_device_info *info);

/*
 * region_create - create region @name of @size bytes (rounded up to whole pages), all zeros,
 * with permission bits @mode (0777 at most), owned by the caller's fsuid and fsgid.
 * Errors: EEXIST (a region has that name), EINVAL (size 0, mode above 0777, bad name),
 * ENAMETOOLONG, ENOSPC (no free table entry, or not enough free space), EFBIG.
 */
int region_create(int dev, const char *name, uint64_t size, unsigned int mode);

/*
 * region_open - open region @name; @flags is 0 (read-only) or REGION_OPEN_WRITE (read-write).
 * Returns a region file descriptor (close-on-exec) for region_fstat(), region_map() and
 * region_pmsync(); close it with close(2). Permission is checked as for files against the
 * region's owner, group and mode (CAP_DAC_OVERRIDE passes).
 * Errors: ENOENT (no such region), EACCES (the mode does not allow it), EINVAL (unknown flags),
 * ENAMETOOLONG.
 */
int region_open(int dev, const char *name, unsigned int flags);

/*
 * region_delete - delete region @name and its contents (the owner, or CAP_SYS_ADMIN).
 * Errors: ENOENT, EPERM (not the owner), EBUSY (a file descriptor is open on it; mappings hold
 * theirs), ENAMETOOLONG.
 */
int region_delete(int dev, const char *name);

/*
 * region_stat - describe region @name into @st: size, epoch, owner, mode, table entry, extents,
 * open file descriptors. Errors: ENOENT, ENAMETOOLONG, EINVAL (@st is NULL).
 */
int region_stat(int dev, const char *name, struct region_stat *st);

/*
 * region_fstat - describe the region that @region_fd is open on, as region_stat() does.
 * Errors: EINVAL (@st is NULL); ENOTTY if @region_fd is not a region file descriptor.
 */
int region_fstat(int region_fd, struct region_stat *st);

/*
 * region_resize - give region @name a new size in bytes (rounded up to whole pages; the owner,
 * or CAP_SYS_ADMIN). Growing adds zeroed pages; data below the new size is kept.
 * Errors: ENOENT, EPERM (not the owner), ENOSPC, EFBIG, EINVAL (size 0), EBUSY (shrinking while
 * a mapping in any process covers a page beyond the new size), ENAMETOOLONG.
 */
int region_resize(int dev, const char *name, uint64_t size);

/*
 * region_list_fn - called by region_list() once per region, in table order, with @arg as given
 * to region_list(). Return 0 to go on; anything else stops the listing, and region_list()
 * returns that value.
 */
typedef int (*region_list_fn)(const struct region_stat *st, void *arg);

/*
 * region_list - call @fn for every region, in table order. The list is read in one ioctl into a
 * buffer that grows (and the ioctl is repeated) until every region fits, so @fn sees one
 * consistent snapshot of the table.
 * Returns 0 when @fn saw every region, @fn's non-zero value if it stopped early, or -1 with errno
 * set: ENOMEM, EINVAL (@fn is NULL).
 */
int region_list(int dev, region_list_fn fn, void *arg);

/*
 * region_list_all - every region, in table order, in an array the caller frees with free(3).
 * Stores the array in *@entries (NULL when there is no region) and returns how many regions it
 * holds. Errors: ENOMEM, EINVAL (@entries is NULL).
 */
int region_list_all(int dev, struct region_stat **entries);

/*
 * region_layout - the on-PM layout of the device into @layout, and of region @name's extents when
 * @name is neither NULL nor empty (positions in device pages; see docs/FORMAT.md).
 * Errors: ENOENT (no region @name), ENAMETOOLONG, EINVAL (@layout is NULL).
 */
int region_layout(int dev, const char *name, struct region_layout *layout);

/*
 * region_counters - the device's counters since it was attached (lines written back, fences,
 * regions created and deleted, faults, PMSYNCs, pages written back, undo pages, unmap rounds,
 * REGION_IOC_WRITE calls, logged lines, non-temporal lines).
 * Errors: EINVAL (@counters is NULL).
 */
int region_counters(int dev, struct region_counters *counters);

/* region_map() flags. */
#define REGION_MAP_WRITE 0x1 /* map PROT_READ | PROT_WRITE; the region must be open read-write */

/* A shared mapping of a whole region: @length bytes at @addr. */
struct region_mapping {
	void *addr;
	size_t length;
};

/*
 * region_map - map the whole region @region_fd is open on (its size now), shared, into @map.
 * Stores through a writable mapping go straight to persistent memory and are seen at once by
 * every process that maps the region; region_pmsync() makes them durable. The mapping outlives
 * @region_fd; access beyond a later shrink gives SIGBUS.
 * Errors: EACCES (REGION_MAP_WRITE on a read-only region file descriptor), EINVAL (unknown
 * @flags, @map NULL), ENOMEM; ENOTTY if @region_fd is not a region file descriptor.
 */
int region_map(int region_fd, unsigned int flags, struct region_mapping *map);

/*
 * region_unmap - unmap what region_map() mapped, and clear *@map. Stores made through it are
 * kept for the next PMSYNC. Errors: EINVAL (@map NULL, or not a mapping).
 */
int region_unmap(struct region_mapping *map);

/*
 * region_pmsync - PMSYNC: make every store any process made to the region @region_fd is open on
 * durable, atomically (the guarantee is in <linux/region.h>, REGION_IOC_PMSYNC). Stores the
 * committed epoch in *@epoch unless @epoch is NULL. With nothing written since the last PMSYNC,
 * nothing is written and that PMSYNC's epoch comes back.
 * Errors: ENOTTY if @region_fd is not a region file descriptor.
 */
int region_pmsync(int region_fd, uint64_t *epoch);

/*
 * region_write - write bytes into the region @region_fd is open on through the kernel, in one
 * system call: @count ranges at @ranges, each naming an @offset in the region and @len new bytes
 * at user address @addr (struct region_write_range of <linux/region.h>; set @addr with
 * (__u64)(uintptr_t)pointer). Before a touched 64-byte line is written, its committed contents
 * are logged, so the bytes belong to the current epoch exactly as stores through a mapping do (a
 * power cut before the next PMSYNC takes them back), without a page fault or a TLB shootdown.
 * Every process that maps the region sees them when the call returns.
 * @flags: 0, or REGION_WRITE_COMMIT to commit the region after the bytes are written (as
 * region_pmsync() does: every process's stores with them).
 * @epoch: unless NULL, gets the committed epoch (REGION_WRITE_COMMIT), else the epoch the bytes
 * belong to (durable once a PMSYNC returns it or a later one).
 * Errors: EBADF (@region_fd open read-only), EINVAL (@ranges NULL, @count 0, unknown @flags, a
 * range past the region's end), E2BIG (more than REGION_WRITE_MAX_RANGES ranges or
 * REGION_WRITE_MAX_BYTES bytes in all), ENOSPC (the undo area cannot hold the logged lines),
 * EOVERFLOW (epochs used up), EIO (damaged region).
 */
int region_write(int region_fd, const struct region_write_range *ranges, unsigned int count,
		 unsigned int flags, uint64_t *epoch);

/*
 * region_map_volatile - map the volatile page of the region @region_fd is open on:
 * REGION_VOLATILE_SIZE bytes of DRAM (never persistent memory, never committed), zero when the
 * region is first opened, shared by every process that has the region open, gone when the last
 * one closes it. For lock words and counters; a shared futex word may live there. Mapped
 * read-write if @writable is non-zero, which needs @region_fd open for writing, else read-only.
 * Returns the page's address, or NULL with errno set: EACCES (@writable on a read-only
 * descriptor), ENOMEM, ENODEV/ENOTTY (not a region descriptor). Unmap it with
 * region_unmap_volatile().
 */
void *region_map_volatile(int region_fd, int writable);

/*
 * region_unmap_volatile - unmap a page from region_map_volatile(). Errors: EINVAL (@page NULL,
 * or not a mapping).
 */
int region_unmap_volatile(void *page);

/*
 * region_pmsync_all - a PMSYNC of every region this process has a file descriptor open on (each
 * atomic on its own, not one snapshot across regions). Stores how many regions in *@count unless
 * @count is NULL.
 */
int region_pmsync_all(int dev, uint64_t *count);

/*
 * region_format - erase every region: a new, empty layout of the same geometry.
 * Errors: EPERM (no CAP_SYS_ADMIN), EBUSY (a region is open, or holds stores not yet committed).
 */
int region_format(int dev);

/*
 * region_strerror - a message for @errnum as the Region System's calls return it ("no such
 * region" for ENOENT, "region exists" for EEXIST, ...); strerror(@errnum) for the rest. The
 * string is static: do not modify or free it.
 */
const char *region_strerror(int errnum);

#ifdef __cplusplus
}
#endif

#endif /* REGION_LIBREGION_H */
