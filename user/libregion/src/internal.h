/* SPDX-License-Identifier: GPL-2.0 */
/*
 * internal.h - helpers shared by libregion's source files; not installed.
 */
#ifndef REGION_LIBREGION_INTERNAL_H
#define REGION_LIBREGION_INTERNAL_H

#include "region.h"

/* Sets errno to @errnum and returns -1: the failure of a check made before any system call. */
int region_fail(int errnum);

/*
 * Copies @name into a name field of REGION_NAME_MAX bytes, NUL-padding it. Returns 0, or -1 with
 * errno EINVAL (@name NULL) or ENAMETOOLONG (63 bytes do not hold it). Whether the name is valid
 * otherwise (empty, '/') is the kernel's to say.
 */
int region_name_field(char field[REGION_NAME_MAX], const char *name);

#endif /* REGION_LIBREGION_INTERNAL_H */
