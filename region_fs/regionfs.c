// SPDX-License-Identifier: GPL-2.0
/*
 * regionfs.c - the per-region pseudo file system: one inode, and so one address_space and one
 * rmap, per open region, shared by every file descriptor and every mapping of it in every
 * process. The kernel crate has no abstraction for a pseudo file system, inode creation, or
 * vm_operations with fault handlers, so this small C part provides them (as mm/secretmem.c does
 * for its objects) and hands every decision to Rust through the region_rs_* callbacks.
 *
 * Mappings are VM_PFNMAP: faults insert the pmem page frames directly (no page cache, no page
 * references). The first write to a page in an epoch faults (->fault with FAULT_FLAG_WRITE, or
 * ->pfn_mkwrite on a read-only PTE), so Rust can save the page to the undo log first. PMSYNC zaps
 * the PTEs of the dirty pages in the mappings that took a write fault in the epoch (or appeared by
 * copying one, through ->open), region_unmap_page_list: a write fault that raced with it then finds
 * its PTE changed and is retried in the new epoch. Mappings that only read keep their read-only
 * PTEs, and their processes get no TLB flush.
 *
 * Each inode also owns the region's volatile page (i_private): a one-page file of the kernel's
 * shmem, mapped at the mmap offset REGION_VOLATILE_OFFSET of the UAPI, shared by every process that
 * has the region open, for lock words and counters that must never reach persistent memory. Being
 * a file's page (not a bare one), shared futexes work on it. It goes with the inode, after the
 * last file of the region is closed (mappings hold their own references to the shmem file).
 *
 * Lock order: mmap_lock, then the region's lock (Rust), then i_mmap_rwsem, then the PTE lock.
 */
#include <linux/anon_inodes.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/rbtree.h>
#include <linux/shmem_fs.h>
#include <linux/sort.h>

#include "regionfs.h"
#include "../ioctl_uapi/region.h"

#define REGIONFS_MAGIC 0x52474e46 /* "RGNF" */

static struct vfsmount *region_mnt;

/* Drops the inode's volatile page file with the inode. */
static void regionfs_evict_inode(struct inode *inode)
{
	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);
	if (inode->i_private)
		fput(inode->i_private);
	inode->i_private = NULL;
}

static const struct super_operations regionfs_ops = {
	.statfs = simple_statfs,
	.evict_inode = regionfs_evict_inode,
};

static int regionfs_init_fs_context(struct fs_context *fc)
{
	struct pseudo_fs_context *ctx = init_pseudo(fc, REGIONFS_MAGIC);

	if (!ctx)
		return -ENOMEM;
	ctx->ops = &regionfs_ops;
	return 0;
}

/* No .owner: the mount is ours and goes away at unload; files pin the module through fops. */
static struct file_system_type regionfs_type = {
	.name = "regionfs",
	.init_fs_context = regionfs_init_fs_context,
	.kill_sb = kill_anon_super,
};

/* Mounts the pseudo file system; called once at module load. */
int region_fs_mount(void)
{
	region_mnt = kern_mount(&regionfs_type);
	if (IS_ERR(region_mnt)) {
		int err = PTR_ERR(region_mnt);

		region_mnt = NULL;
		return err;
	}
	return 0;
}

/* Unmounts it; called at unload, after every region inode was put. */
void region_fs_unmount(void)
{
	if (region_mnt)
		kern_unmount(region_mnt);
	region_mnt = NULL;
}

/* A new inode for a region of @size bytes in *@out; returns 0 or a negative errno. */
int region_inode_new(u64 size, struct inode **out)
{
	struct file *volatile_file;
	struct inode *inode;

	volatile_file = shmem_kernel_file_setup("region-volatile", REGION_VOLATILE_SIZE,
						EMPTY_VMA_FLAGS);
	if (IS_ERR(volatile_file))
		return PTR_ERR(volatile_file);
	inode = alloc_anon_inode(region_mnt->mnt_sb);
	if (IS_ERR(inode)) {
		fput(volatile_file);
		return PTR_ERR(inode);
	}
	inode->i_private = volatile_file;
	inode->i_mode = S_IFREG | 0600;
	i_size_write(inode, size);
	*out = inode;
	return 0;
}

/* Records a new size; mappings beyond it fault with SIGBUS from then on. */
void region_inode_set_size(struct inode *inode, u64 size)
{
	i_size_write(inode, size);
}

/* Drops the reference region_inode_new() returned. */
void region_inode_put(struct inode *inode)
{
	iput(inode);
}

static int region_file_mmap(struct file *file, struct vm_area_struct *vma);
static int region_file_release(struct inode *inode, struct file *file);
static long region_file_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

static const struct file_operations region_fops = {
	.owner = THIS_MODULE,
	.mmap = region_file_mmap,
	.release = region_file_release,
	.unlocked_ioctl = region_file_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/*
 * Opens a new file on @inode whose private data is @private, installs it as a close-on-exec
 * file descriptor, and returns the descriptor or a negative errno. On success the file owns one
 * reference each on the inode and the module; @private is released through region_rs_release()
 * when the file is closed. On failure nothing is taken and @private is not released.
 */
int region_install_fd(struct inode *inode, void *private, bool writable)
{
	struct file *file;
	int fd;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;
	ihold(inode);
	file = alloc_file_pseudo(inode, region_mnt, "region",
				 (writable ? O_RDWR : O_RDONLY) | O_LARGEFILE, &region_fops);
	if (IS_ERR(file)) {
		iput(inode);
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	/* alloc_file_pseudo() takes no module reference, but fput() drops one. */
	__module_get(THIS_MODULE);
	file->private_data = private;
	fd_install(fd, file);
	return fd;
}

static vm_fault_t region_vm_fault(struct vm_fault *vmf)
{
	return region_rs_fault(vmf->vma->vm_private_data, vmf->vma, vmf, vmf->pgoff,
			       vmf->flags & FAULT_FLAG_WRITE);
}

static vm_fault_t region_vm_pfn_mkwrite(struct vm_fault *vmf)
{
	return region_rs_pfn_mkwrite(vmf->vma->vm_private_data, vmf->vma, vmf->pgoff);
}

/*
 * A mapping of the region appeared by copying another (fork, split, mremap): Rust records its
 * pages, and that it may hold the other's writable PTEs.
 */
static void region_vm_open(struct vm_area_struct *vma)
{
	region_rs_vma_opened(vma->vm_private_data, vma, vma->vm_pgoff, vma_pages(vma), true);
}

static void region_vm_close(struct vm_area_struct *vma)
{
	region_rs_vma_closed(vma->vm_private_data, vma);
}

static const struct vm_operations_struct region_vm_ops = {
	.open = region_vm_open,
	.close = region_vm_close,
	.fault = region_vm_fault,
	.pfn_mkwrite = region_vm_pfn_mkwrite,
};

/*
 * Maps the region's volatile page: exactly one page at REGION_VOLATILE_OFFSET, shared. Writable
 * only through a file opened for writing (mmap itself refuses a shared writable mapping of a
 * read-only file).
 */
static int region_volatile_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct file *volatile_file = file_inode(file)->i_private;
	int err;

	if (vma_pages(vma) != REGION_VOLATILE_SIZE / PAGE_SIZE || !volatile_file)
		return -EINVAL;
	/* The mapping becomes the shmem file's, at its start. */
	vma->vm_pgoff = 0;
	err = vfs_mmap(volatile_file, vma);
	if (err)
		return err;
	vma_set_file(vma, volatile_file);
	return 0;
}

static int region_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	/*
	 * Private mappings would copy pages out of persistent memory: refused. (A read-only shared
	 * mapping of a read-only file keeps only VM_MAYSHARE, so that is the bit to test.)
	 */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_pgoff == REGION_VOLATILE_OFFSET >> PAGE_SHIFT)
		return region_volatile_mmap(file, vma);
	vm_flags_set(vma, VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &region_vm_ops;
	vma->vm_private_data = file->private_data;
	/* ->open is not called for the first mapping: record it here (no PTEs yet). */
	region_rs_vma_opened(vma->vm_private_data, vma, vma->vm_pgoff, vma_pages(vma), false);
	return 0;
}

static int region_file_release(struct inode *inode, struct file *file)
{
	region_rs_release(file->private_data);
	return 0;
}

static long region_file_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	return region_rs_ioctl(file->private_data, cmd, arg, file->f_mode & FMODE_WRITE);
}

/*
 * Maps page frame @pfn at the faulting address: writable when @writable (the page is saved for
 * this epoch), read-only otherwise, so that the first write faults again.
 */
vm_fault_t region_vmf_insert(struct vm_fault *vmf, unsigned long pfn, bool writable)
{
	struct vm_area_struct *vma = vmf->vma;
	pgprot_t prot = writable ? vm_get_page_prot(vma->vm_flags) : vma->vm_page_prot;

	return vmf_insert_pfn_prot(vma, vmf->address, pfn, prot);
}

/* Removes every mapping of pages [@first, @first + @count) of the region, in every process. */
void region_unmap_pages(struct inode *inode, u64 first, u64 count)
{
	unmap_mapping_pages(inode->i_mapping, first, count, false);
}

static int region_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * Removes the page table entries of @pages (@npages page offsets, in any order: sorted here in
 * place) from the mappings listed in @vmas (@n addresses of vm_area_structs; every mapping if
 * @vmas is NULL), walking the inode's rmap once. In each mapping, pages at most REGION_UNMAP_GAP apart go in one call, so
 * that pages close together cost one TLB flush per mapping (the clean pages between them lose
 * their entries too, and fault again on their next access). Returns how many mappings lost
 * entries. It walks the rmap under i_mmap_rwsem, as unmap_mapping_pages() does, so every mapping
 * it touches is live with its page tables in place: a listed address is only compared with the
 * rmap's, never followed.
 */
#define REGION_UNMAP_GAP 8
unsigned long region_unmap_page_list(struct inode *inode, u64 *pages, size_t npages,
				     const unsigned long *vmas, size_t n)
{
	struct address_space *mapping = inode->i_mapping;
	unsigned long unmapped = 0;
	struct rb_node *node;
	size_t i, k;

	sort(pages, npages, sizeof(*pages), region_cmp_u64, NULL);
	i_mmap_lock_read(mapping);
	for (node = rb_first_cached(&mapping->i_mmap); node; node = rb_next(node)) {
		struct vm_area_struct *vma = rb_entry(node, struct vm_area_struct, shared.rb);
		u64 first = vma->vm_pgoff, last = vma_last_pgoff(vma);
		bool any = false;

		if (vmas) {
			for (i = 0; i < n && vmas[i] != (unsigned long)vma; i++)
				;
			if (i == n)
				continue;
		}
		for (k = 0; k < npages && pages[k] <= last; k++) {
			u64 start = pages[k], end = start;

			if (start < first)
				continue;
			while (k + 1 < npages && pages[k + 1] <= last &&
			       pages[k + 1] - end <= REGION_UNMAP_GAP)
				end = pages[++k];
			zap_vma_range(vma, vma->vm_start + ((start - first) << PAGE_SHIFT),
				      (end - start + 1) << PAGE_SHIFT);
			any = true;
		}
		unmapped += any;
	}
	i_mmap_unlock_read(mapping);
	return unmapped;
}

struct region_found {
	struct file *file;
	unsigned int fd;
};

/*
 * iterate_fd() callback (under the file table's spinlock): stops at the first region file open
 * for writing (committing is a write; read-only descriptors are passed over).
 */
static int region_match_file(const void *arg, struct file *file, unsigned int fd)
{
	struct region_found *found = (struct region_found *)arg;

	if (file->f_op != &region_fops || !(file->f_mode & FMODE_WRITE))
		return 0;
	get_file(file);
	found->file = file;
	found->fd = fd;
	return 1;
}

/*
 * The next region file the calling process has open for writing at a descriptor >= *@next: returns its
 * private data and stores a reference to the file in *@file (drop it with region_put_file()), and
 * moves *@next past it; NULL when there is none.
 */
void *region_next_open_region(unsigned int *next, struct file **file)
{
	struct region_found found = { 0 };

	if (!iterate_fd(current->files, *next, region_match_file, &found))
		return NULL;
	*next = found.fd + 1;
	*file = found.file;
	return found.file->private_data;
}

/* Drops the file reference region_next_open_region() took. */
void region_put_file(struct file *file)
{
	fput(file);
}

/* Lets other tasks run during a long loop; process context, no spinlock held. */
void region_cond_resched(void)
{
	cond_resched();
}

/* Whether the calling task has been killed: long loops stop early then. */
bool region_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}
