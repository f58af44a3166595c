// SPDX-License-Identifier: GPL-2.0
/*
 * pmsync_bench - what durability costs: PMSYNC of k dirty pages with n processes mapping the
 * region, against the same k pages made durable on an ext4 DAX mount by msync(MS_SYNC) of a
 * shared mapping and by pwrite() + fsync(); the first-write fault of each; PMSYNC of one page in
 * a 1 MiB and a 1 GiB region; PMSYNC while the other mapping processes keep running on the other
 * CPU (so the TLB shootdown has to interrupt them); PMSYNC with other processes that map the
 * region and read the dirty pages but do not write them. Prints figures; it is a benchmark, not a
 * test.
 *
 * Each PMSYNC is timed alone; TLB shootdown interrupts are read from /proc/interrupts before and
 * after a whole series (reading that file between timings would also evict the emulator's TLB and
 * inflate the next timing). msync is given the smallest range that covers the dirty pages (one
 * page for k = 1), as a program that knows what it wrote would.
 *
 *   pmsync_bench region OUT    (region.ko loaded) append region figures to OUT
 *   pmsync_bench ext4 DIR OUT  (DIR on a DAX mount) append ext4 figures to OUT
 *   pmsync_bench ext4-4k DIR OUT  the same with the file mapped in 4 KiB entries only
 *   pmsync_bench ext4-nojournal DIR OUT  the same for an ext4 made without a journal
 *   pmsync_bench report OUT    print the tables
 *
 * Besides OUT's figures, each run prints the shared protocol's COUNTS lines (tests/bench/counts.h)
 * for the workload pmsync-1page: one dirty page made durable (PMSYNC, or msync(MS_SYNC) of the
 * page on ext4), with 1 and with 4 writing processes (4: each of them stored to the page, so each
 * holds a dirty mapping of it, before the one commit). Each commit is a phase of its own (ops=1,
 * COUNTS_OPS of them per series), so the helpers' stores fall between phases and the counts are
 * the commit's alone; the host-side report adds them up.
 *
 * Lines of OUT: "KIND K N median_us lines fences ipis maps" per operation (maps: mappings PMSYNC
 * unmapped, per PMSYNC), where KIND is pmsync,
 * busy (PMSYNC with running helpers), readers (PMSYNC with helpers that only read), msync, fsync,
 * fault_region, fault_ext4 or size_1m/size_1g,
 * K dirty pages, N processes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "region.h"
#include "bench.h"
#include "counts.h"

#define PAGE 4096UL
#define REPS 21 /* the most repetitions any series makes; see reps() */
#define SPAN 4096 /* pages the dirty pages are spread over: k pages at stride SPAN / k */

static const int ks[] = { 1, 16, 256, 4096 };
static const int ns[] = { 1, 2, 4, 8 };
static int dev = -1;
static FILE *out;
/*
 * Appended to the kinds of ext4 figures: "" for ext4 with its journal, "_4k" for the same with the
 * file mapped in 4 KiB entries only (MADV_NOHUGEPAGE), "_nj" for ext4 without a journal.
 */
static const char *ext4_tag = "";
/* The system name of the COUNTS lines: region, ext4-dax, ext4-dax-4k or ext4-nojournal. */
static const char *counts_system = "region";

#define COUNTS_OPS 21 /* commits (phases) per pmsync-1page series */

/* Repetitions of a series of k dirty pages: more for the cheap ones, whose medians are noisier. */
static int reps(int k)
{
	return k <= 16 ? REPS : k <= 256 ? 7 : 5;
}

/* TLB shootdown interrupts so far, summed over CPUs (/proc/interrupts, row "TLB"). */
static unsigned long long tlb_ipis(void)
{
	char line[1024];
	unsigned long long sum = 0;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = line;

		while (*p == ' ')
			p++;
		if (strncmp(p, "TLB:", 4))
			continue;
		p += 4;
		for (;;) {
			char *end;
			unsigned long long v = strtoull(p, &end, 10);

			if (end == p)
				break;
			sum += v;
			p = end;
		}
	}
	fclose(f);
	return sum;
}

static struct region_counters counters(void)
{
	struct region_counters c = { 0 };

	if (dev >= 0 && ioctl(dev, REGION_IOC_COUNTERS, &c))
		die("counters");
	return c;
}

static int region_fd(const char *name, unsigned long pages)
{
	struct region_create_args c = { .size = pages * PAGE, .mode = 0600 };
	struct region_open_args o = { .flags = REGION_OPEN_WRITE };

	strcpy(c.name, name);
	strcpy(o.name, name);
	if (ioctl(dev, REGION_IOC_CREATE, &c))
		die("create");
	return ioctl(dev, REGION_IOC_OPEN, &o);
}

static void region_remove(const char *name)
{
	struct region_name_args d = { 0 };

	strcpy(d.name, name);
	ioctl(dev, REGION_IOC_DELETE, &d);
}

static void dirty(volatile char *p, int k, int round)
{
	int i;

	for (i = 0; i < k; i++)
		p[(unsigned long)i * (SPAN / k) * PAGE] = (char)round;
}

/* Pins the calling process to CPU @cpu (of the guest's two), if it can. */
static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* What the processes of one series share (an anonymous shared page). */
struct control {
	volatile int round; /* the round the helpers are to dirty; -1: quit */
	volatile int done;  /* helpers that dirtied their pages this round */
};

/*
 * A helper: each round, stores to each of the k pages (so it has them mapped writable, and the
 * shootdown must reach it), then waits for the next round. With @busy it waits by spinning over
 * reads of the region on the other CPU, so that its address space is live there when PMSYNC
 * removes its mappings (a TLB shootdown interrupt); without, it sleeps on a pipe read, so it
 * takes no CPU time from the timed process (and its CPU goes lazy, which the kernel does not
 * interrupt). With @reads it only reads the k pages each round (read-only mappings of them).
 */
static void helper(volatile char *p, int k, struct control *c, int go, int done, int busy, int reads)
{
	int seen = 0;
	char byte;

	pin(1);
	for (;;) {
		volatile unsigned long sum = 0;
		int i;

		if (busy) {
			while (c->round == seen)
				for (i = 0; i < k; i++)
					sum += p[(unsigned long)i * (SPAN / k) * PAGE + 64];
		} else if (read(go, &byte, 1) != 1) {
			_exit(1);
		}
		if (c->round < 0)
			_exit(0);
		seen = c->round;
		if (reads)
			for (i = 0; i < k; i++)
				sum += p[(unsigned long)i * (SPAN / k) * PAGE];
		else
			dirty(p, k, seen);
		__atomic_add_fetch(&c->done, 1, __ATOMIC_SEQ_CST);
		if (!busy && write(done, &byte, 1) != 1)
			_exit(1);
	}
}

/*
 * A process that does not map the region and answers every byte written to @in on @out: each
 * timed PMSYNC comes right after a round trip to it, for every n alike. (With n > 1 the timed
 * process sleeps while the helpers store, and under TCG a PMSYNC right after a sleep costs more
 * than one right after its own stores: the emulator's TLB and code caches are colder. Without
 * the round trip, n = 1 alone would be timed warm.) It runs on CPU 0, beside the timed process.
 */
static pid_t echo_start(int fds[2][2])
{
	pid_t pid;

	if (pipe(fds[0]) || pipe(fds[1]))
		die("pipe");
	pid = fork();
	if (pid == 0) {
		char byte;

		close(fds[0][1]);
		close(fds[1][0]);
		pin(0); /* beside the timed process */
		while (read(fds[0][0], &byte, 1) == 1 && write(fds[1][1], &byte, 1) == 1)
			;
		_exit(0);
	}
	close(fds[0][0]);
	close(fds[1][1]);
	return pid;
}

static void echo_round_trip(int fds[2][2])
{
	char byte = 0;

	if (write(fds[0][1], &byte, 1) != 1 || read(fds[1][0], &byte, 1) != 1)
		die("echo");
}

static void echo_stop(int fds[2][2], pid_t pid)
{
	close(fds[0][1]);
	close(fds[1][0]);
	waitpid(pid, NULL, 0);
}

/*
 * PMSYNC of k dirty pages with n processes mapping the region: every process stores to each of
 * the k pages (with @reads, the others only read them), then this process times the PMSYNC alone.
 * The other processes wait meanwhile: blocked (@busy == 0: they do not compete for the CPUs), or
 * spinning on the other CPU. With @warm (n = 1) the PMSYNC follows this process's own stores
 * directly, with no round trip first: timed the way the ext4 figures are.
 */
static void bench_pmsync(int k, int n, int busy, int reads, int warm)
{
	struct region_counters a, b, sum = { 0 };
	unsigned long long ipis;
	int go[8][2], done[2], echo[2][2], i, r, nr = reps(k);
	double t[REPS];
	pid_t echo_pid = echo_start(echo);
	int fd = region_fd("bench", SPAN);
	struct control *c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *p, byte = 0;

	if (fd < 0 || c == MAP_FAILED || pipe(done))
		die("setup");
	p = mmap(NULL, SPAN * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	c->round = 0;
	c->done = 0;
	for (i = 1; i < n; i++) {
		if (pipe(go[i]))
			die("pipe");
		if (fork() == 0)
			helper(p, k, c, go[i][0], done[1], busy, reads);
	}
	if (reads) {
		/* The readers map the k pages (read-only) once, then sleep through the timed rounds. */
		__atomic_store_n(&c->round, 1, __ATOMIC_SEQ_CST);
		for (i = 1; i < n; i++)
			if (write(go[i][1], &byte, 1) != 1 || read(done[0], &byte, 1) != 1)
				die("readers");
	}
	ipis = tlb_ipis();
	for (r = 0; r < nr; r++) {
		double t0;

		c->done = 0;
		__atomic_store_n(&c->round, r + 1, __ATOMIC_SEQ_CST);
		for (i = 1; !busy && !reads && i < n; i++)
			if (write(go[i][1], &byte, 1) != 1)
				die("go");
		dirty(p, k, r + 1);
		for (i = 1; !busy && !reads && i < n; i++)
			if (read(done[0], &byte, 1) != 1)
				die("done");
		while (!reads && __atomic_load_n(&c->done, __ATOMIC_SEQ_CST) < n - 1)
			;
		if (!warm)
			echo_round_trip(echo);
		a = counters();
		t0 = now_us();
		if (ioctl(fd, REGION_IOC_PMSYNC, &(__u64){ 0 }))
			die("PMSYNC");
		t[r] = now_us() - t0;
		b = counters();
		sum.lines_written_back += b.lines_written_back - a.lines_written_back;
		sum.fences += b.fences - a.fences;
		sum.mappings_unmapped += b.mappings_unmapped - a.mappings_unmapped;
	}
	ipis = tlb_ipis() - ipis;
	__atomic_store_n(&c->round, -1, __ATOMIC_SEQ_CST);
	for (i = 1; i < n; i++)
		if (!busy && write(go[i][1], &byte, 1) != 1)
			die("quit");
	for (i = 1; i < n; i++)
		wait(NULL);
	echo_stop(echo, echo_pid);
	for (i = 1; i < n; i++) {
		close(go[i][0]);
		close(go[i][1]);
	}
	close(done[0]);
	close(done[1]);
	/* Lines, fences and unmapped mappings of the PMSYNCs alone (read around each one). */
	fprintf(out, "%s %d %d %.1f %.1f %.1f %.1f %.1f\n", busy ? "busy" : reads ? "readers" : warm ? "solo" : "pmsync", k, n, median(t, nr),
		(double)sum.lines_written_back / nr, (double)sum.fences / nr, (double)ipis / nr,
		(double)sum.mappings_unmapped / nr);
	munmap(c, sizeof(*c));
	munmap(p, SPAN * PAGE);
	close(fd);
	region_remove("bench");
}

/* The first write to each of 256 pages after a PMSYNC: the fault that saves the page. */
static void bench_region_fault(void)
{
	double t[REPS];
	int fd = region_fd("fault", SPAN), r;
	char *p = mmap(NULL, SPAN * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		die("mmap");
	dirty(p, 256, 0);
	for (r = 0; r < REPS; r++) {
		double t0;

		if (ioctl(fd, REGION_IOC_PMSYNC, &(__u64){ 0 }))
			die("PMSYNC");
		t0 = now_us();
		dirty(p, 256, r + 1);
		t[r] = (now_us() - t0) / 256;
	}
	fprintf(out, "fault_region 1 1 %.2f 0 0 0 0\n", median(t, REPS));
	munmap(p, SPAN * PAGE);
	close(fd);
	region_remove("fault");
}

/* PMSYNC of one dirty page in a region of @pages pages. */
static void bench_size(const char *kind, unsigned long pages)
{
	double t[REPS];
	int fd = region_fd("size", pages), r;
	char *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	unsigned long i;

	if (p == MAP_FAILED)
		die("mmap");
	for (i = 0; i < pages; i += 64)
		((volatile char *)p)[i * PAGE] = 1; /* map much of it, all clean after the PMSYNC */
	if (ioctl(fd, REGION_IOC_PMSYNC, &(__u64){ 0 }))
		die("PMSYNC");
	for (r = 0; r < REPS; r++) {
		double t0;

		p[PAGE * 7] = (char)r;
		t0 = now_us();
		if (ioctl(fd, REGION_IOC_PMSYNC, &(__u64){ 0 }))
			die("PMSYNC");
		t[r] = now_us() - t0;
	}
	fprintf(out, "%s 1 1 %.1f 0 0 0 0\n", kind, median(t, REPS));
	munmap(p, pages * PAGE);
	close(fd);
	region_remove("size");
}

/* Makes the page at @p durable: PMSYNC of the region @fd, or msync(MS_SYNC) of the file's page. */
static void commit_page(int fd, char *p)
{
	if (!strcmp(counts_system, "region") ? ioctl(fd, REGION_IOC_PMSYNC, &(__u64){ 0 }) : msync(p, PAGE, MS_SYNC))
		die("commit");
}

/*
 * The protocol's pmsync-1page with @procs writing processes: for each of COUNTS_OPS commits, every
 * process stores to the first page of the mapping @p of @fd (the helpers on CPU 1, woken through
 * pipes, then asleep again), then this process commits the page inside a COUNTS phase of its own.
 */
static void counts_pmsync(int fd, char *p, int procs)
{
	int go[4][2], done[2], i, r;
	char byte = 0;

	if (pipe(done))
		die("pipe");
	for (i = 1; i < procs; i++) {
		if (pipe(go[i]))
			die("pipe");
		if (fork() == 0) {
			pin(1);
			while (read(go[i][0], &byte, 1) == 1 && byte) {
				((volatile char *)p)[0] = byte;
				if (write(done[1], &byte, 1) != 1)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (r = 0; r < COUNTS_OPS; r++) {
		struct counts_phase ph;

		byte = (char)(r % 100 + 1);
		for (i = 1; i < procs; i++)
			if (write(go[i][1], &byte, 1) != 1)
				die("go");
		((volatile char *)p)[0] = byte;
		for (i = 1; i < procs; i++)
			if (read(done[0], &byte, 1) != 1)
				die("done");
		counts_phase_begin(&ph);
		commit_page(fd, p);
		counts_phase_end(&ph, "pmsync-1page", counts_system, procs, 1);
	}
	byte = 0;
	for (i = 1; i < procs; i++) {
		if (write(go[i][1], &byte, 1) != 1)
			die("quit");
		wait(NULL);
		close(go[i][0]);
		close(go[i][1]);
	}
	close(done[0]);
	close(done[1]);
}

/* The region side of pmsync-1page: 1 and 4 writers on a region of SPAN pages. */
static void counts_region(void)
{
	int fd = region_fd("counts", SPAN);
	char *p = mmap(NULL, SPAN * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		die("mmap");
	counts_pmsync(fd, p, 1);
	counts_pmsync(fd, p, 4);
	munmap(p, SPAN * PAGE);
	close(fd);
	region_remove("counts");
}

static void measure_region(void)
{
	size_t a, b;

	dev = open(REGION_DEVICE_PATH, O_RDWR);
	if (dev < 0)
		die(REGION_DEVICE_PATH);
	pin(0); /* every timed operation on CPU 0, helpers on CPU 1: the same placement each series */
	for (a = 0; a < sizeof(ks) / sizeof(ks[0]); a++) {
		for (b = 0; b < sizeof(ns) / sizeof(ns[0]); b++)
			bench_pmsync(ks[a], ns[b], 0, 0, 0);
		bench_pmsync(ks[a], 2, 1, 0, 0);
		bench_pmsync(ks[a], 4, 1, 0, 0);
		bench_pmsync(ks[a], 4, 0, 1, 0);
		bench_pmsync(ks[a], 1, 0, 0, 1);
	}
	bench_region_fault();
	bench_size("size_1m", 256);
	bench_size("size_1g", 262144);
	counts_region();
}

static void measure_ext4(const char *dir)
{
	char path[256];
	double tm[REPS], tf[REPS], tw[REPS];
	char buf[PAGE];
	size_t a;
	int fd, r, i;
	char *p;

	pin(0); /* as for the regions */
	snprintf(path, sizeof(path), "%s/bench", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, SPAN * PAGE))
		die(path);
	p = mmap(NULL, SPAN * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	/* DAX maps 2 MiB-aligned extents with 2 MiB entries, and msync writes back whole entries. */
	if (!strcmp(ext4_tag, "_4k") && madvise(p, SPAN * PAGE, MADV_NOHUGEPAGE))
		die("madvise");
	memset(p, 1, SPAN * PAGE); /* allocate every block first */
	msync(p, SPAN * PAGE, MS_SYNC);
	memset(buf, 2, sizeof(buf));
	for (a = 0; a < sizeof(ks) / sizeof(ks[0]); a++) {
		int k = ks[a];
		/* The smallest range that covers the k pages dirty() stores to. */
		size_t range = ((size_t)(k - 1) * (SPAN / k) + 1) * PAGE;

		for (r = 0; r < reps(k); r++) {
			double t0;

			dirty(p, k, r);
			t0 = now_us();
			if (msync(p, range, MS_SYNC))
				die("msync");
			tm[r] = now_us() - t0;
			t0 = now_us();
			for (i = 0; i < k; i++)
				if (pwrite(fd, buf, PAGE, (off_t)i * (SPAN / k) * PAGE) != (ssize_t)PAGE)
					die("pwrite");
			if (fsync(fd))
				die("fsync");
			tf[r] = now_us() - t0;
		}
		fprintf(out, "msync%s %d 1 %.1f 0 0 0 0\n", ext4_tag, k, median(tm, reps(k)));
		fprintf(out, "fsync%s %d 1 %.1f 0 0 0 0\n", ext4_tag, k, median(tf, reps(k)));
	}
	/* One dirty page, msync of the whole mapping (what a program that does not track its
	 * stores must do). */
	for (r = 0; r < REPS; r++) {
		double t0;

		dirty(p, 1, r + 5);
		t0 = now_us();
		if (msync(p, SPAN * PAGE, MS_SYNC))
			die("msync");
		tm[r] = now_us() - t0;
	}
	fprintf(out, "msync_all%s 1 1 %.1f 0 0 0 0\n", ext4_tag, median(tm, REPS));
	/* The first write after msync: DAX write-protects clean pages to track them again. */
	for (r = 0; r < REPS; r++) {
		double t0;

		if (msync(p, SPAN * PAGE, MS_SYNC))
			die("msync");
		t0 = now_us();
		dirty(p, 256, r + 3);
		tw[r] = (now_us() - t0) / 256;
	}
	fprintf(out, "fault_ext4%s 1 1 %.2f 0 0 0 0\n", ext4_tag, median(tw, REPS));
	/* The protocol's pmsync-1page on this file (its other pages clean after the last msync). */
	if (msync(p, SPAN * PAGE, MS_SYNC))
		die("msync");
	counts_pmsync(fd, p, 1);
	counts_pmsync(fd, p, 4);
	munmap(p, SPAN * PAGE);
	close(fd);
	unlink(path);
}

#define RUNS 9 /* the most runs report() combines */

/* One figure of OUT, combined over the runs that appended it: us is the median of their medians. */
struct row {
	char kind[16];
	int k, n;
	double us, lines, fences, ipis, maps;
	double runs_us[RUNS];
	int runs;
};

static struct row rows[256];
static int nrows;

static struct row *find(const char *kind, int k, int n)
{
	int i;

	for (i = 0; i < nrows; i++)
		if (!strcmp(rows[i].kind, kind) && rows[i].k == k && rows[i].n == n)
			return &rows[i];
	return NULL;
}

/* Prints " (runs: x, y, ...)": the ratio @top / @bottom in each run, when there are several. */
static void per_run(const struct row *top, const struct row *bottom)
{
	int i;

	if (!top || !bottom || top->runs < 2 || top->runs != bottom->runs)
		return;
	printf(" (runs:");
	for (i = 0; i < top->runs; i++)
		printf("%s %.2f", i ? "," : "", bottom->runs_us[i] > 0 ? top->runs_us[i] / bottom->runs_us[i] : 0);
	printf(")");
}

static void report(const char *file)
{
	FILE *f = fopen(file, "r");
	struct row *r, *m, *s, *one;
	size_t a, b;

	struct row in;
	int i, runs = 0;

	if (!f)
		die(file);
	/* The counts are the same in every run; times are combined as the median over the runs. */
	while (nrows < 256 && fscanf(f, "%15s %d %d %lf %lf %lf %lf %lf", in.kind, &in.k, &in.n, &in.us, &in.lines,
				     &in.fences, &in.ipis, &in.maps) == 8) {
		r = find(in.kind, in.k, in.n);
		if (!r) {
			r = &rows[nrows++];
			*r = in;
			r->runs = 0;
		}
		if (r->runs < RUNS)
			r->runs_us[r->runs++] = in.us;
	}
	fclose(f);
	for (i = 0; i < nrows; i++) {
		double sorted[RUNS];

		if (rows[i].runs > runs)
			runs = rows[i].runs;
		memcpy(sorted, rows[i].runs_us, sizeof(sorted));
		rows[i].us = median(sorted, rows[i].runs);
	}
	printf("PMSYNC latency (median of %d/%d/%d timings for k<=16/256/4096, then the median over %d run%s;\n"
	       "microseconds; TCG guest) by dirty pages k\n", reps(1), reps(256), reps(4096), runs, runs == 1 ? "" : "s");
	printf("%5s | %7s %7s %7s %7s | %7s %7s %7s | %7s %6s | %6s %6s %6s | %6s %7s %8s | %6s %6s\n", "k",
	       "n=1", "n=2", "n=4", "n=8", "busy2", "busy4", "read4", "lines", "fences", "IPIs8", "IPIsB2", "IPIsB4",
	       "solo", "msync", "wr+fsync", "msync/", "fsync/");
	for (a = 0; a < sizeof(ks) / sizeof(ks[0]); a++) {
		struct row *b2 = find("busy", ks[a], 2), *b4 = find("busy", ks[a], 4);
		struct row *r4 = find("readers", ks[a], 4);
		double lat[4] = { 0 };

		for (b = 0; b < 4; b++)
			lat[b] = (r = find("pmsync", ks[a], ns[b])) ? r->us : 0;
		struct row *solo = find("solo", ks[a], 1);
		double w = solo ? solo->us : 0;

		one = find("pmsync", ks[a], 1);
		r = find("pmsync", ks[a], 8);
		m = find("msync", ks[a], 1);
		s = find("fsync", ks[a], 1);
		printf("%5d | %7.0f %7.0f %7.0f %7.0f | %7.0f %7.0f %7.0f | %7.0f %6.0f | %6.1f %6.1f %6.1f | %6.0f %7.0f %8.0f | %5.1fx %5.1fx\n",
		       ks[a], lat[0], lat[1], lat[2], lat[3], b2 ? b2->us : 0, b4 ? b4->us : 0, r4 ? r4->us : 0,
		       one ? one->lines : 0, one ? one->fences : 0, r ? r->ipis : 0, b2 ? b2->ipis : 0,
		       b4 ? b4->ipis : 0, w, m ? m->us : 0, s ? s->us : 0, m && w > 0 ? m->us / w : 0,
		       s && w > 0 ? s->us / w : 0);
	}
	printf("n=N: N processes map the region and stored to the k pages; the other N-1 sleep during PMSYNC.\n");
	printf("busyN: the same with N processes whose N-1 helpers keep reading the region on the other CPU.\n");
	printf("read4: 4 processes map the region; 3 read the k pages once and sleep; this one writes them.\n");
	printf("IPIs8, IPIsB2, IPIsB4: TLB shootdown interrupts per PMSYNC for n=8, busy2 and busy4.\n");
	printf("msync, wr+fsync: ext4-DAX as mkfs.ext4 makes it (with its journal); DAX maps the file with\n"
	       "2 MiB entries where its extents allow, and msync then writes back whole 2 MiB entries.\n");
	printf("solo: PMSYNC right after this process's stores (n=1, no round trip first), as msync and fsync are timed.\n");
	printf("msync/, fsync/: how many times longer ext4-DAX takes than the solo PMSYNC (msync of the\n"
	       "smallest range covering the dirty pages: one page for k=1).\n");
	printf("\nmsync4k: the same ext4 with the file mapped in 4 KiB entries only (MADV_NOHUGEPAGE); nj: ext4\n"
	       "without a journal (busybox mke2fs); maps4, mapsR4: mappings unmapped per PMSYNC for n=4 and read4:\n");
	printf("%5s | %7s %6s | %7s %8s %6s %6s | %6s %6s\n", "k", "msync4k", "/PMSYNC", "msyncnj", "wr+fsnj",
	       "msync/", "fsync/", "maps4", "mapsR4");
	for (a = 0; a < sizeof(ks) / sizeof(ks[0]); a++) {
		struct row *w4 = find("pmsync", ks[a], 4), *r4 = find("readers", ks[a], 4);
		struct row *m4 = find("msync_4k", ks[a], 1);

		one = find("solo", ks[a], 1);
		m = find("msync_nj", ks[a], 1);
		s = find("fsync_nj", ks[a], 1);
		printf("%5d | %7.0f %6.1fx | %7.0f %8.0f %5.1fx %5.1fx | %6.1f %6.1f\n", ks[a], m4 ? m4->us : 0,
		       m4 && one && one->us > 0 ? m4->us / one->us : 0, m ? m->us : 0, s ? s->us : 0,
		       m && one && one->us > 0 ? m->us / one->us : 0, s && one && one->us > 0 ? s->us / one->us : 0,
		       w4 ? w4->maps : 0, r4 ? r4->maps : 0);
	}
	printf("\n");
	one = find("pmsync", 1, 1);
	r = find("pmsync", 1, 4);
	printf("4 processes writing against 1, one dirty page: %.2fx (target: at most 1.5x)",
	       one && r && one->us > 0 ? r->us / one->us : 0);
	per_run(r, one);
	r = find("readers", 1, 4);
	printf("\n4 processes mapping it (3 only reading) against 1, one dirty page: %.2fx (target: at most 1.5x)",
	       one && r && one->us > 0 ? r->us / one->us : 0);
	per_run(r, one);
	printf("\n");
	r = find("busy", 1, 4);
	printf("4 processes (3 running on the other CPU) against 1, one dirty page: %.2fx\n",
	       one && r && one->us > 0 ? r->us / one->us : 0);
	m = find("size_1m", 1, 1);
	s = find("size_1g", 1, 1);
	printf("one dirty page in a 1 GiB region against a 1 MiB one: %.0f us vs %.0f us, %.2fx (target: within 1.2x)",
	       s ? s->us : 0, m ? m->us : 0, m && s && m->us > 0 ? s->us / m->us : 0);
	per_run(s, m);
	printf("\n");
	one = find("solo", 1, 1);
	m = find("msync", 1, 1);
	printf("msync of one page against PMSYNC of one page (solo): %.1fx (target: at least 5x)",
	       m && one && one->us > 0 ? m->us / one->us : 0);
	per_run(m, one);
	m = find("msync_4k", 1, 1);
	printf("\nthe same with the file in 4 KiB entries: %.1fx", m && one && one->us > 0 ? m->us / one->us : 0);
	per_run(m, one);
	m = find("msync_nj", 1, 1);
	printf("\non ext4 without a journal: %.1fx", m && one && one->us > 0 ? m->us / one->us : 0);
	per_run(m, one);
	printf("\n");
	m = find("msync_all", 1, 1);
	printf("msync of the whole 16 MiB mapping with one dirty page: %.0f us, %.1fx PMSYNC of one page\n",
	       m ? m->us : 0, m && one && one->us > 0 ? m->us / one->us : 0);
	m = find("fault_region", 1, 1);
	s = find("fault_ext4", 1, 1);
	r = find("fault_ext4_nj", 1, 1);
	printf("first write to a page after a commit: region %.1f us (saves the page), ext4-DAX %.1f us,",
	       m ? m->us : 0, s ? s->us : 0);
	s = find("fault_ext4_4k", 1, 1);
	printf(" in 4 KiB entries %.1f us, without a journal %.1f us\n", s ? s->us : 0, r ? r->us : 0);
	printf("lines, fences: per PMSYNC, undo saves of first writes excluded (target: lines = 64 k + 1)\n");
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "report")) {
		report(argv[2]);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "ext4")) {
		counts_system = "ext4-dax";
	} else if (argc == 4 && !strcmp(argv[1], "ext4-nojournal")) {
		ext4_tag = "_nj";
		counts_system = "ext4-nojournal";
	} else if (argc == 4 && !strcmp(argv[1], "ext4-4k")) {
		ext4_tag = "_4k";
		counts_system = "ext4-dax-4k";
	}
	if ((argc == 3 && !strcmp(argv[1], "region")) || (argc == 4 && !strncmp(argv[1], "ext4", 4))) {
		out = fopen(argv[argc - 1], "a");
		if (!out)
			die(argv[argc - 1]);
		setvbuf(out, NULL, _IOLBF, 0);
		if (argc == 3)
			measure_region();
		else
			measure_ext4(argv[2]);
		fclose(out);
		return 0;
	}
	fprintf(stderr, "usage: pmsync_bench region OUT | ext4[-4k|-nojournal] DIR OUT | report OUT\n");
	return 2;
}
