// SPDX-License-Identifier: GPL-2.0
/*
 * region_glue.c - the C side of the Region System module: what the Rust kernel crate of Linux 7.3
 * does not reach.
 *
 * - The `pmem` module parameter: the kernel crate's module! macro has integer and bool
 *   parameters only, and this one is a path.
 * - Attaching the persistent memory device: open the block device exclusively, take its DAX
 *   device, and map all of it with dax_direct_access(). <linux/dax.h> is not in the kernel
 *   crate's bindings, so these calls live here, type-checked against the real headers.
 *
 * The Rust side (rust/pmem.rs) calls these through one extern "C" block and owns every decision
 * and every message; this file only performs the steps and says which one failed.
 */
#include <linux/badblocks.h>
#include <linux/blkdev.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/dax.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/libnvdimm.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "region_glue.h"

static char *pmem;
module_param(pmem, charp, 0444);
MODULE_PARM_DESC(pmem, "path of the persistent memory block device to manage, e.g. /dev/pmem0");

/* Steps of region_pmem_open(), reported on failure; mirrored by PmemStep in rust/pmem.rs. */
enum region_pmem_step {
	REGION_PMEM_OPEN = 1,   /* opening the block device */
	REGION_PMEM_DAX = 2,    /* getting its DAX device */
	REGION_PMEM_MAP = 3,    /* mapping it with dax_direct_access() */
	REGION_PMEM_ALLOC = 4,  /* allocating the handle */
};

/* An attached device. Opaque to Rust, which reaches it through the accessors below. */
struct region_pmem {
	struct file *bdev_file;
	struct dax_device *dax;
	void *kaddr;
	unsigned long pfn;
	u64 size;
	long mapped_pages;
};

/* Distinct address handed to the block and DAX layers as the exclusive holder. */
static char region_holder;

/*
 * The attached Rust device that hears of memory failures and of the device going away, set by
 * region_notify_attach() once it is attached and cleared by region_notify_detach() before it goes.
 * The rwsem keeps it alive while a notification runs.
 */
static DECLARE_RWSEM(region_notify_sem);
static const void *region_notify_target;

/*
 * ->notify_failure of the DAX holder: a memory failure in [@offset, @offset + @len) of the device,
 * or (MF_MEM_PRE_REMOVE) the device going away. Handed to Rust, which marks what it touches and
 * removes the user mappings; -EOPNOTSUPP while no device is attached.
 */
static int region_notify_failure(struct dax_device *dax_dev, u64 offset, u64 len, int mf_flags)
{
	int ret = -EOPNOTSUPP;

	down_read(&region_notify_sem);
	if (region_notify_target)
		ret = region_rs_notify_failure(region_notify_target, offset, len,
					       mf_flags & MF_MEM_PRE_REMOVE);
	up_read(&region_notify_sem);
	return ret;
}

static const struct dax_holder_operations region_holder_ops = {
	.notify_failure = region_notify_failure,
};

/* From now on, failures and the device's removal are told to @target (a RegionDevice). */
void region_notify_attach(const void *target)
{
	down_write(&region_notify_sem);
	region_notify_target = target;
	up_write(&region_notify_sem);
}

/* No more notifications; waits for one that is running. */
void region_notify_detach(void)
{
	down_write(&region_notify_sem);
	region_notify_target = NULL;
	up_write(&region_notify_sem);
}

/*
 * Starts an access to the device's memory: returns a token for region_pmem_exit(), or -ENXIO when
 * the device is going away (its memory may be unmapped any time after that). Between the two, the
 * memory stays mapped: removal waits for every access under way (dax_read_lock is SRCU).
 */
int region_pmem_enter(const struct region_pmem *pm)
{
	int id = dax_read_lock();

	if (!dax_alive(pm->dax)) {
		dax_read_unlock(id);
		return -ENXIO;
	}
	return id;
}

/* Ends an access region_pmem_enter() started. */
void region_pmem_exit(int id)
{
	dax_read_unlock(id);
}

/* Returns the `pmem` parameter, or NULL when it was not given. */
const char *region_param_pmem(void)
{
	return pmem;
}

/*
 * Opens and maps the block device at @path. On success stores a handle in *@out and returns 0;
 * on failure returns a negative errno and stores the failed step in *@step.
 */
int region_pmem_open(const char *path, struct region_pmem **out, int *step)
{
	struct region_pmem *pm;
	u64 start_off = 0;
	long mapped;
	int err, id;

	*step = REGION_PMEM_ALLOC;
	pm = kzalloc(sizeof(*pm), GFP_KERNEL);
	if (!pm)
		return -ENOMEM;

	*step = REGION_PMEM_OPEN;
	pm->bdev_file = bdev_file_open_by_path(path, BLK_OPEN_READ | BLK_OPEN_WRITE,
					       &region_holder, NULL);
	if (IS_ERR(pm->bdev_file)) {
		err = PTR_ERR(pm->bdev_file);
		goto free;
	}

	*step = REGION_PMEM_DAX;
	pm->dax = fs_dax_get_by_bdev(file_bdev(pm->bdev_file), &start_off, &region_holder,
				     &region_holder_ops);
	if (!pm->dax) {
		err = -EOPNOTSUPP;
		goto close;
	}
	pm->size = bdev_nr_bytes(file_bdev(pm->bdev_file));

	/*
	 * The mapping stays valid while the DAX device is alive; a forced driver unbind kills it,
	 * after telling us (region_notify_failure, MF_MEM_PRE_REMOVE) and waiting for every access
	 * under region_pmem_enter().
	 */
	*step = REGION_PMEM_MAP;
	id = dax_read_lock();
	mapped = dax_direct_access(pm->dax, PHYS_PFN(start_off), PHYS_PFN(pm->size), DAX_ACCESS,
				   &pm->kaddr, &pm->pfn);
	if (mapped == -EHWPOISON) {
		/*
		 * Bad blocks somewhere: DAX_ACCESS refuses any range that holds one. The device is
		 * still mapped linearly (pmem maps its whole namespace at probe); ask for its first
		 * page in recovery mode, which maps in spite of them, and take the whole device. The
		 * bad pages are listed by region_pmem_bad_pages() and kept out of use by Rust.
		 */
		mapped = dax_direct_access(pm->dax, PHYS_PFN(start_off), 1, DAX_RECOVERY_WRITE,
					   &pm->kaddr, &pm->pfn);
		if (mapped > 0)
			mapped = PHYS_PFN(pm->size);
	}
	dax_read_unlock(id);
	if (mapped < 0) {
		err = mapped;
		goto put;
	}
	pm->mapped_pages = mapped;
	*out = pm;
	*step = 0;
	return 0;

put:
	fs_put_dax(pm->dax, &region_holder);
close:
	fput(pm->bdev_file);
free:
	kfree(pm);
	return err;
}

/* Releases everything region_pmem_open() took. */
void region_pmem_close(struct region_pmem *pm)
{
	fs_put_dax(pm->dax, &region_holder);
	fput(pm->bdev_file);
	kfree(pm);
}

/*
 * The device pages that hold a bad block (a known media error), in order: writes the first @max
 * of them to @pages and returns how many there are (call again with room for all when that is
 * more than @max).
 */
long region_pmem_bad_pages(const struct region_pmem *pm, u64 *pages, long max)
{
	struct badblocks *bb = file_bdev(pm->bdev_file)->bd_disk->bb;
	sector_t s = 0, end = pm->size >> SECTOR_SHIFT, first, n;
	const unsigned int shift = PAGE_SHIFT - SECTOR_SHIFT;
	u64 last = U64_MAX, p;
	long count = 0;

	if (!bb)
		return 0;
	while (s < end && badblocks_check(bb, s, end - s, &first, &n)) {
		sector_t a = max(first, s), b = min(first + n, end);

		if (b <= a)
			break;
		for (p = a >> shift; p <= (b - 1) >> shift; p++) {
			if (p == last)
				continue;
			if (count < max)
				pages[count] = p;
			count++;
			last = p;
		}
		s = b;
	}
	return count;
}

/* Size of the block device in bytes. */
u64 region_pmem_size(const struct region_pmem *pm)
{
	return pm->size;
}

/* Pages that the direct mapping at region_pmem_kaddr() covers contiguously. */
long region_pmem_mapped_pages(const struct region_pmem *pm)
{
	return pm->mapped_pages;
}

/* Kernel virtual address of the device's first byte. */
void *region_pmem_kaddr(const struct region_pmem *pm)
{
	return pm->kaddr;
}

/* Page frame number of the device's first page. */
unsigned long region_pmem_pfn(const struct region_pmem *pm)
{
	return pm->pfn;
}

/* Starts writing back the cache lines of [addr, addr + len) to persistent memory (clwb). */
void region_pm_writeback(void *addr, size_t len)
{
	arch_wb_cache_pmem(addr, len);
}

/*
 * Copies @len bytes from persistent memory at @src to @dst with a machine-check-safe copy: a
 * poisoned line stops it instead of crashing the kernel. Returns how many bytes were not copied
 * (0 on success).
 */
unsigned long region_pm_copy_mc(void *dst, const void *src, size_t len)
{
	return copy_mc_to_kernel(dst, src, len);
}

/*
 * Copies @len bytes from @src to persistent memory at @dst with non-temporal stores (movnti on
 * x86): no line is left in the cache, so nothing needs writing back, and the next
 * region_pm_fence() makes them durable. With @src NULL, writes zeros.
 */
void region_pm_write_nt(void *dst, const void *src, size_t len)
{
	while (src == NULL && len > 0) {
		size_t n = min_t(size_t, len, PAGE_SIZE);

		memcpy_flushcache(dst, page_address(ZERO_PAGE(0)), n);
		dst += n;
		len -= n;
	}
	if (src)
		memcpy_flushcache(dst, src, len);
}

/* Orders every earlier write-back before every later store (sfence on x86). */
void region_pm_fence(void)
{
	pmem_wmb();
}

/* The caller's filesystem uid, as a number in the initial user namespace. */
u32 region_current_uid(void)
{
	return from_kuid_munged(&init_user_ns, current_fsuid());
}

/* The caller's filesystem gid, as a number in the initial user namespace. */
u32 region_current_gid(void)
{
	return from_kgid_munged(&init_user_ns, current_fsgid());
}

/*
 * Whether the caller may access a region owned by @uid:@gid with permission bits @mode as @want
 * (MAY_READ, MAY_WRITE or both), checked as for files: the owner's bits if the caller owns it,
 * else the group's if the caller is in the group, else the others'; CAP_DAC_OVERRIDE passes.
 * Returns 0 or -EACCES.
 */
int region_may_access(u32 uid, u32 gid, u32 mode, int want)
{
	u32 granted;

	if (uid_eq(current_fsuid(), make_kuid(&init_user_ns, uid)))
		granted = mode >> 6;
	else if (in_group_p(make_kgid(&init_user_ns, gid)))
		granted = mode >> 3;
	else
		granted = mode;
	if ((granted & want & (MAY_READ | MAY_WRITE)) == (want & (MAY_READ | MAY_WRITE)))
		return 0;
	return capable(CAP_DAC_OVERRIDE) ? 0 : -EACCES;
}

/* Whether the caller has CAP_SYS_ADMIN. */
bool region_capable_admin(void)
{
	return capable(CAP_SYS_ADMIN);
}
