/* SPDX-License-Identifier: GPL-2.0 */
/*
 * regionfs.h - the interface of regionfs.c, mirrored by the one extern "C" block in
 * region_fs/regionfs_h.rs, and the callbacks regionfs.c makes into Rust (region_file.rs). A host
 * test (region_fs/core/tests/externs_match_headers.rs) checks that they match.
 */
#ifndef REGION_REGIONFS_H
#define REGION_REGIONFS_H

#include <linux/fs.h>
#include <linux/mm_types.h>
#include <linux/types.h>

/* Provided by regionfs.c. */
int region_fs_mount(void);
void region_fs_unmount(void);
int region_inode_new(u64 size, struct inode **out);
void region_inode_set_size(struct inode *inode, u64 size);
void region_inode_put(struct inode *inode);
int region_install_fd(struct inode *inode, void *private, bool writable);
vm_fault_t region_vmf_insert(struct vm_fault *vmf, unsigned long pfn, bool writable);
void region_unmap_pages(struct inode *inode, u64 first, u64 count);
unsigned long region_unmap_page_list(struct inode *inode, u64 *pages, size_t npages,
				     const unsigned long *vmas, size_t n);
void *region_next_open_region(unsigned int *next, struct file **file);
void region_put_file(struct file *file);
void region_cond_resched(void);
bool region_fatal_signal_pending(void);

/* Provided by Rust (region_fs/region_file.rs). */
vm_fault_t region_rs_fault(void *region, struct vm_area_struct *vma, struct vm_fault *vmf,
			   u64 pgoff, bool write);
vm_fault_t region_rs_pfn_mkwrite(void *region, struct vm_area_struct *vma, u64 pgoff);
long region_rs_ioctl(void *region, unsigned int cmd, unsigned long arg, bool writable);
void region_rs_release(void *region);
void region_rs_vma_opened(void *region, struct vm_area_struct *vma, u64 pgoff, u64 pages,
			  bool copied);
void region_rs_vma_closed(void *region, struct vm_area_struct *vma);

#endif /* REGION_REGIONFS_H */
