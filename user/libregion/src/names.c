// SPDX-License-Identifier: GPL-2.0
/*
 * names.c - region names as the ABI carries them, and failures before any system call.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

int region_fail(int errnum)
{
	errno = errnum;
	return -1;
}

int region_name_field(char field[REGION_NAME_MAX], const char *name)
{
	size_t len;

	if (!name)
		return region_fail(EINVAL);
	len = strlen(name);
	if (len >= REGION_NAME_MAX)
		return region_fail(ENAMETOOLONG);
	memset(field, 0, REGION_NAME_MAX);
	memcpy(field, name, len);
	return 0;
}
