/* SPDX-License-Identifier: GPL-2.0 */
/*
 * region_glue.h - the interface of region_glue.c, mirrored by the one extern "C" block in
 * rust/region_glue_h.rs; a host test (region_fs/core/tests/externs_match_headers.rs) checks the two
 * match.
 */
#ifndef REGION_GLUE_H
#define REGION_GLUE_H

#include <linux/types.h>

struct region_pmem;

const char *region_param_pmem(void);
int region_pmem_open(const char *path, struct region_pmem **out, int *step);
void region_pmem_close(struct region_pmem *pm);
u64 region_pmem_size(const struct region_pmem *pm);
long region_pmem_mapped_pages(const struct region_pmem *pm);
void *region_pmem_kaddr(const struct region_pmem *pm);
unsigned long region_pmem_pfn(const struct region_pmem *pm);
long region_pmem_bad_pages(const struct region_pmem *pm, u64 *pages, long max);
void region_pm_writeback(void *addr, size_t len);
void region_pm_fence(void);
void region_pm_write_nt(void *dst, const void *src, size_t len);
unsigned long region_pm_copy_mc(void *dst, const void *src, size_t len);
void region_notify_attach(const void *target);
void region_notify_detach(void);
int region_pmem_enter(const struct region_pmem *pm);
void region_pmem_exit(int id);

u32 region_current_uid(void);
u32 region_current_gid(void);
int region_may_access(u32 uid, u32 gid, u32 mode, int want);
bool region_capable_admin(void);

/* Provided by Rust (region_fs/device.rs). */
int region_rs_notify_failure(const void *device, u64 offset, u64 len, bool removing);

#endif /* REGION_GLUE_H */
