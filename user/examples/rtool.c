// SPDX-License-Identifier: GPL-2.0
/*
 * rtool - a small C client of /dev/region, for trying regions out and for the guest tests
 * (regionctl, in Rust, is the full command-line tool).
 *
 *   rtool create NAME SIZE [MODE]   create a region of SIZE bytes (mode octal, default 600)
 *   rtool rm NAME                   delete it
 *   rtool ls                        list regions: name, size, mode, owner, epoch
 *   rtool fill NAME BYTE            map it, set every byte to BYTE (0-255), PMSYNC
 *   rtool scribble NAME BYTE        the same without the PMSYNC: lost at the next attach
 *   rtool sync NAME                 PMSYNC the region; prints the committed epoch
 *   rtool check NAME BYTE           map it read-only; exit 1 unless every byte is BYTE
 *   rtool share NAME PROCS          PROCS processes map it; each writes its slot and waits to see
 *                                   every other's (prints what each saw)
 *
 * Built on libregion (user/libregion; scripts/libregion.sh builds it):
 *   cc -static -I build/libregion/include -o rtool user/examples/rtool.c build/libregion/libregion.a
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "region.h"

static int dev;

static void fail(const char *what, const char *name)
{
	fprintf(stderr, "rtool: region '%s': %s: %s\n", name, what, region_strerror(errno));
	exit(1);
}

static int open_fd(const char *name, int writable)
{
	int fd = region_open(dev, name, writable ? REGION_OPEN_WRITE : 0);

	if (fd < 0)
		fail("open", name);
	return fd;
}

static unsigned long long pmsync(const char *name)
{
	uint64_t epoch;
	int fd = open_fd(name, 1);

	if (region_pmsync(fd, &epoch))
		fail("PMSYNC", name);
	close(fd);
	return epoch;
}

/* Maps the whole region; the mapping outlives the descriptor, closed here. */
static void *map_region(const char *name, int writable, size_t *len)
{
	struct region_mapping m;
	int fd = open_fd(name, writable);

	if (region_map(fd, writable ? REGION_MAP_WRITE : 0, &m))
		fail("mmap", name);
	close(fd);
	*len = m.length;
	return m.addr;
}

static int print_entry(const struct region_stat *st, void *arg)
{
	(void)arg;
	printf("%-20s %12llu %5o %6u %6u %6llu\n", st->name, (unsigned long long)st->size, st->mode,
	       st->uid, st->gid, (unsigned long long)st->epoch);
	return 0;
}

static int share(const char *name, int procs)
{
	int i, status, failed = 0;

	for (i = 0; i < procs; i++) {
		if (fork() == 0) {
			size_t len;
			volatile uint64_t *s = map_region(name, 1, &len);
			time_t end = time(NULL) + 30;
			int j, seen;

			s[i] = 0x1000 + i;
			do {
				for (seen = 0, j = 0; j < procs; j++)
					seen += s[j] == (uint64_t)(0x1000 + j);
			} while (seen < procs && time(NULL) < end);
			printf("process %d (pid %d) wrote slot %d and sees:", i, getpid(), i);
			for (j = 0; j < procs; j++)
				printf(" %#llx", (unsigned long long)s[j]);
			printf("\n");
			_exit(seen == procs ? 0 : 1);
		}
	}
	for (i = 0; i < procs; i++) {
		wait(&status);
		failed += !WIFEXITED(status) || WEXITSTATUS(status);
	}
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	dev = region_device_open(NULL);
	if (dev < 0) {
		fprintf(stderr, "rtool: %s: %s\n", REGION_DEVICE_PATH, strerror(errno));
		return 1;
	}
	if (!strcmp(cmd, "create") && (argc == 4 || argc == 5)) {
		unsigned int mode = argc == 5 ? strtoul(argv[4], NULL, 8) : 0600;

		if (region_create(dev, argv[2], strtoull(argv[3], NULL, 0), mode))
			fail("create", argv[2]);
		return 0;
	}
	if (!strcmp(cmd, "rm") && argc == 3) {
		if (region_delete(dev, argv[2]))
			fail("delete", argv[2]);
		return 0;
	}
	if (!strcmp(cmd, "ls") && argc == 2) {
		printf("%-20s %12s %5s %6s %6s %6s\n", "NAME", "SIZE", "MODE", "UID", "GID", "EPOCH");
		if (region_list(dev, print_entry, NULL))
			fail("list", "*");
		return 0;
	}
	if (!strcmp(cmd, "sync") && argc == 3) {
		printf("region '%s': PMSYNC committed epoch %llu\n", argv[2], pmsync(argv[2]));
		return 0;
	}
	if ((!strcmp(cmd, "fill") || !strcmp(cmd, "scribble") || !strcmp(cmd, "check")) && argc == 4) {
		int writing = strcmp(cmd, "check") != 0;
		unsigned char byte = strtoul(argv[3], NULL, 0);
		size_t len, i, bad = 0;
		unsigned char *p = map_region(argv[2], writing, &len);

		if (writing) {
			memset(p, byte, len);
			if (!strcmp(cmd, "fill"))
				printf("region '%s': filled with %#x, PMSYNC committed epoch %llu\n", argv[2],
				       byte, pmsync(argv[2]));
			return 0;
		}
		for (i = 0; i < len; i++)
			bad += p[i] != byte;
		if (bad)
			printf("region '%s': %zu of %zu bytes are not %#x\n", argv[2], bad, len, byte);
		else
			printf("region '%s': all %zu bytes are %#x\n", argv[2], len, byte);
		return bad ? 1 : 0;
	}
	if (!strcmp(cmd, "share") && argc == 4)
		return share(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: rtool create NAME SIZE [MODE] | rm NAME | ls | fill NAME BYTE | scribble NAME BYTE | sync NAME | check NAME BYTE | share NAME PROCS\n");
	return 2;
}
