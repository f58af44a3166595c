// SPDX-License-Identifier: GPL-2.0
/*
 * flipbit - flip one bit of a file or block device in place: flipbit PATH OFFSET BIT.
 * Used to corrupt one field of the on-PM format at a time (tests/guest/corruption.sh).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned char b;
	off_t off;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: flipbit PATH OFFSET BIT\n");
		return 2;
	}
	off = strtoll(argv[2], NULL, 0);
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || pread(fd, &b, 1, off) != 1) {
		perror(argv[1]);
		return 1;
	}
	b ^= 1u << (atoi(argv[3]) & 7);
	if (pwrite(fd, &b, 1, off) != 1 || fsync(fd)) {
		perror(argv[1]);
		return 1;
	}
	close(fd);
	return 0;
}
