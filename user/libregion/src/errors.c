// SPDX-License-Identifier: GPL-2.0
/*
 * errors.c - messages for the errnos the Region System's calls return, in its own words.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <string.h>

#include "internal.h"

const char *region_strerror(int errnum)
{
	switch (errnum) {
	case ENOENT:
		return "no such region";
	case EEXIST:
		return "region exists";
	case EACCES:
		return "permission denied by the region's mode";
	case EPERM:
		return "not permitted: only the region's owner (or CAP_SYS_ADMIN) may do this";
	case EBUSY:
		return "region busy: open, mapped beyond the new size, or holding uncommitted stores";
	case ENOSPC:
		return "no space left on the region device";
	case EFBIG:
		return "region too large for the device";
	case ENAMETOOLONG:
		return "region name longer than 63 bytes";
	case EINVAL:
		return "invalid argument (a region name is 1-63 bytes without '/'; size above 0; mode 0777 at most)";
	case ENOTTY:
		return "not a Region System device or region file descriptor";
	default:
		return strerror(errnum);
	}
}
