// SPDX-License-Identifier: GPL-2.0
/*
 * load_module - load a module with finit_module(2) and report the exact result, for tests that
 * check which errno a refused load returns (busybox insmod rewrites some of them).
 *
 *   load_module MODULE.ko [PARAMS]
 *
 * Prints "ok" or "errno NAME" (the symbolic name of the errno) and exits 0 or with the errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *errno_name(int err)
{
	switch (err) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case ENOTBLK: return "ENOTBLK";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case EFBIG: return "EFBIG";
	case ENOSPC: return "ENOSPC";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EUCLEAN: return "EUCLEAN";
	case ENODATA: return "ENODATA";
	default: return "other";
	}
}

int main(int argc, char **argv)
{
	int fd;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: load_module MODULE.ko [PARAMS]\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "load_module: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	if (syscall(SYS_finit_module, fd, argc == 3 ? argv[2] : "", 0) != 0) {
		int err = errno;

		printf("errno %s\n", errno_name(err));
		return err;
	}
	printf("ok\n");
	return 0;
}
