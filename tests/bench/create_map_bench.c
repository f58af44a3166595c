// SPDX-License-Identifier: GPL-2.0
/*
 * create_map_bench - the cost of getting persistent memory to write to: create + map + first
 * touch (one store to every page) of 4 KiB, 2 MiB and 256 MiB, as a region and as a file on an
 * ext4 DAX mount of the same kind of pmem. Prints figures; it is a benchmark, not a test.
 *
 *   create_map_bench region OUT     measure regions (region.ko loaded), append results to OUT
 *   create_map_bench ext4 DIR OUT   measure files in DIR (a DAX mount), append results to OUT
 *   create_map_bench report OUT     print the table of both, with ratios
 *   create_map_bench counts region  the protocol's create-touch-2m on regions: COUNTS lines
 *   create_map_bench counts SYSTEM DIR  the same on files in DIR (a DAX mount); SYSTEM is
 *                                   ext4-dax, ext4-dax-4k (file mapped in 4 KiB entries only) or
 *                                   ext4-nojournal, the name its COUNTS lines carry
 *
 * Each size is measured REPS times and the median is kept. Region rows also carry the flushed
 * lines and fences per operation, from REGION_IOC_COUNTERS.
 *
 * create-touch-2m (tests/bench/counts.h; COUNTS_REPS phases of one operation each): create a
 * 2 MiB region or file, map it, store one byte to each page, make it durable: PMSYNC for the
 * region, msync(MS_SYNC) of the mapping and fsync for the file. Deleting it is not measured.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "region.h"
#include "bench.h"
#include "counts.h"

#define REPS 5
#define PAGE 4096UL

static const unsigned long sizes[] = { 4096, 2UL << 20, 256UL << 20 };

static void touch_pages(char *p, unsigned long size)
{
	unsigned long off;

	for (off = 0; off < size; off += PAGE)
		((volatile char *)p)[off] = 1;
}

/* One create + map + touch of a region; times in *create, *map, *touch (microseconds). */
static void region_once(int dev, unsigned long size, double *create, double *map, double *touch)
{
	struct region_create_args c = { .name = "bench", .size = size, .mode = 0600 };
	struct region_open_args o = { .name = "bench", .flags = REGION_OPEN_WRITE };
	struct region_name_args d = { .name = "bench" };
	double t0, t1, t2, t3;
	char *p;
	int fd;

	t0 = now_us();
	if (ioctl(dev, REGION_IOC_CREATE, &c))
		die("create region");
	t1 = now_us();
	fd = ioctl(dev, REGION_IOC_OPEN, &o);
	if (fd < 0)
		die("open region");
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap region");
	t2 = now_us();
	touch_pages(p, size);
	t3 = now_us();
	munmap(p, size);
	close(fd);
	if (ioctl(dev, REGION_IOC_DELETE, &d))
		die("delete region");
	*create = t1 - t0;
	*map = t2 - t1;
	*touch = t3 - t2;
}

/* Whether @fd is a DAX file (STATX_ATTR_DAX). */
static int is_dax(int fd)
{
	struct statx st;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &st))
		die("statx");
	return (st.stx_attributes_mask & STATX_ATTR_DAX) && (st.stx_attributes & STATX_ATTR_DAX);
}

/* One create + map + touch of a file in @dir. */
static void ext4_once(const char *dir, unsigned long size, double *create, double *map, double *touch)
{
	char path[256];
	double t0, t1, t2, t3;
	char *p;
	int fd;

	snprintf(path, sizeof(path), "%s/bench", dir);
	t0 = now_us();
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		die("create file");
	/* Blocks are allocated (and zeroed) by the first-touch faults: no fallocate without extents. */
	if (ftruncate(fd, size))
		die("ftruncate");
	if (fsync(fd))
		die("fsync");
	if (!is_dax(fd)) {
		fprintf(stderr, "create_map_bench: %s is not a DAX file\n", path);
		exit(1);
	}
	t1 = now_us();
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap file");
	t2 = now_us();
	touch_pages(p, size);
	t3 = now_us();
	munmap(p, size);
	close(fd);
	unlink(path);
	*create = t1 - t0;
	*map = t2 - t1;
	*touch = t3 - t2;
}

static void measure(const char *kind, const char *dir, const char *out)
{
	FILE *f = fopen(out, "a");
	int dev = -1;
	size_t s;

	if (!f)
		die(out);
	if (!strcmp(kind, "region")) {
		dev = open(REGION_DEVICE_PATH, O_RDWR);
		if (dev < 0)
			die(REGION_DEVICE_PATH);
	}
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		double c[REPS], m[REPS], t[REPS];
		struct region_counters before = { 0 }, after = { 0 };
		int r;

		if (dev >= 0 && ioctl(dev, REGION_IOC_COUNTERS, &before))
			die("counters");
		for (r = 0; r < REPS; r++) {
			if (dev >= 0)
				region_once(dev, sizes[s], &c[r], &m[r], &t[r]);
			else
				ext4_once(dir, sizes[s], &c[r], &m[r], &t[r]);
		}
		if (dev >= 0 && ioctl(dev, REGION_IOC_COUNTERS, &after))
			die("counters");
		/* Lines and fences per create + delete pair. */
		fprintf(f, "%s %lu %.1f %.1f %.1f %.1f %.1f\n", kind, sizes[s], median(c, REPS), median(m, REPS), median(t, REPS),
			(double)(after.lines_written_back - before.lines_written_back) / REPS,
			(double)(after.fences - before.fences) / REPS);
	}
	fclose(f);
}

#define COUNTS_REPS 5
#define COUNTS_SIZE (2UL << 20)

/* One create-touch-2m phase on a region. */
static void region_counts_once(int dev)
{
	struct region_create_args c = { .name = "bench", .size = COUNTS_SIZE, .mode = 0600 };
	struct region_open_args o = { .name = "bench", .flags = REGION_OPEN_WRITE };
	struct region_name_args d = { .name = "bench" };
	struct counts_phase ph;
	char *p;
	int fd;

	counts_phase_begin(&ph);
	if (ioctl(dev, REGION_IOC_CREATE, &c))
		die("create region");
	fd = ioctl(dev, REGION_IOC_OPEN, &o);
	if (fd < 0)
		die("open region");
	p = mmap(NULL, COUNTS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap region");
	touch_pages(p, COUNTS_SIZE);
	if (ioctl(fd, REGION_IOC_PMSYNC, &(__u64){ 0 }))
		die("PMSYNC");
	counts_phase_end(&ph, "create-touch-2m", "region", 1, 1);
	munmap(p, COUNTS_SIZE);
	close(fd);
	if (ioctl(dev, REGION_IOC_DELETE, &d))
		die("delete region");
}

/* One create-touch-2m phase on a file in @dir; @small: map it in 4 KiB entries only. */
static void file_counts_once(const char *system, const char *dir, int small)
{
	struct counts_phase ph;
	char path[256];
	char *p;
	int fd;

	snprintf(path, sizeof(path), "%s/bench", dir);
	counts_phase_begin(&ph);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		die("create file");
	if (ftruncate(fd, COUNTS_SIZE))
		die("ftruncate");
	p = mmap(NULL, COUNTS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap file");
	if (small && madvise(p, COUNTS_SIZE, MADV_NOHUGEPAGE))
		die("madvise");
	touch_pages(p, COUNTS_SIZE);
	if (msync(p, COUNTS_SIZE, MS_SYNC) || fsync(fd))
		die("msync + fsync");
	counts_phase_end(&ph, "create-touch-2m", system, 1, 1);
	if (!is_dax(fd)) {
		fprintf(stderr, "create_map_bench: %s is not a DAX file\n", path);
		exit(1);
	}
	munmap(p, COUNTS_SIZE);
	close(fd);
	unlink(path);
}

/* create-touch-2m, COUNTS_REPS times, on regions (@dir NULL) or files in @dir. */
static void counts(const char *system, const char *dir)
{
	int dev = -1, r;

	if (!dir) {
		dev = open(REGION_DEVICE_PATH, O_RDWR);
		if (dev < 0)
			die(REGION_DEVICE_PATH);
	}
	for (r = 0; r < COUNTS_REPS; r++) {
		if (dev >= 0)
			region_counts_once(dev);
		else
			file_counts_once(system, dir, !strcmp(system, "ext4-dax-4k"));
	}
	if (dev >= 0)
		close(dev);
}

static void report(const char *out)
{
	char kind[16];
	unsigned long size;
	double c, m, t, lines, fences;
	double rc[3] = { 0 }, rt[3] = { 0 }, rl[3] = { 0 }, rf[3] = { 0 }, ec[3] = { 0 }, et[3] = { 0 };
	FILE *f = fopen(out, "r");
	size_t s;

	if (!f)
		die(out);
	while (fscanf(f, "%15s %lu %lf %lf %lf %lf %lf", kind, &size, &c, &m, &t, &lines, &fences) == 7) {
		for (s = 0; s < 3; s++) {
			if (sizes[s] != size)
				continue;
			if (!strcmp(kind, "region")) {
				rc[s] = c + m;
				rt[s] = t;
				rl[s] = lines;
				rf[s] = fences;
			} else {
				ec[s] = c + m;
				et[s] = t;
			}
		}
	}
	fclose(f);
	printf("create + map + first touch of every page (median of %d, microseconds, TCG guest)\n", REPS);
	printf("%-9s | %12s %12s %12s | %12s %12s %12s | %7s | %12s %8s\n", "size", "region c+m", "touch",
	       "total", "ext4dax c+m", "touch", "total", "ratio", "lines/op", "fences/op");
	for (s = 0; s < 3; s++) {
		double rtot = rc[s] + rt[s], etot = ec[s] + et[s];

		printf("%-9lu | %12.0f %12.0f %12.0f | %12.0f %12.0f %12.0f | %6.2fx | %12.0f %8.0f\n", sizes[s],
		       rc[s], rt[s], rtot, ec[s], et[s], etot, rtot > 0 ? etot / rtot : 0, rl[s], rf[s]);
	}
	printf("ratio = ext4-DAX total / region total (above 1: the region is faster).\n");
	printf("lines/op and fences/op: per region create + delete, from REGION_IOC_COUNTERS.\n");
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "region"))
		measure("region", NULL, argv[2]);
	else if (argc == 4 && !strcmp(argv[1], "ext4"))
		measure("ext4", argv[2], argv[3]);
	else if (argc == 3 && !strcmp(argv[1], "report"))
		report(argv[2]);
	else if (argc == 3 && !strcmp(argv[1], "counts") && !strcmp(argv[2], "region"))
		counts("region", NULL);
	else if (argc == 4 && !strcmp(argv[1], "counts") && !strncmp(argv[2], "ext4-", 5))
		counts(argv[2], argv[3]);
	else {
		fprintf(stderr, "usage: create_map_bench region OUT | ext4 DIR OUT | report OUT | counts region | "
				"counts ext4-dax|ext4-dax-4k|ext4-nojournal DIR\n");
		return 2;
	}
	return 0;
}
