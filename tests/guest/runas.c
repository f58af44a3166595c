// SPDX-License-Identifier: GPL-2.0
/*
 * runas - run a command as another user: runas UID GID COMMAND [ARGS...]. For tests of what an
 * unprivileged user may do (busybox has no setuidgid).
 */
#include <stdio.h>
#include <stdlib.h>
#include <grp.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: runas UID GID COMMAND [ARGS...]\n");
		return 2;
	}
	if (setgroups(0, NULL) || setgid(atoi(argv[2])) || setuid(atoi(argv[1]))) {
		perror("runas");
		return 2;
	}
	execvp(argv[3], argv + 3);
	perror(argv[3]);
	return 127;
}
