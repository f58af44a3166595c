/* SPDX-License-Identifier: GPL-2.0 */
/*
 * counts.h - the shared benchmark protocol for C programs (README, "Benchmarks": counts).
 *
 * Every measured phase does, in this order:
 *
 *	struct counts_phase ph;
 *
 *	counts_phase_begin(&ph);    snapshot "before" (the TLB and CAL totals of /proc/interrupts,
 *	                            REGION_IOC_COUNTERS, rusage of self and children, CLOCK_MONOTONIC
 *	                            last), then the BEGIN marker instruction
 *	... the workload: workers are forked and waited for in here, so their rusage lands in
 *	    RUSAGE_CHILDREN ...
 *	counts_phase_end(&ph, "put100", "kvs", procs, ops);
 *	                            the END marker instruction, snapshot "after" (CLOCK_MONOTONIC
 *	                            and rusage first), then one line on stdout, flushed:
 *
 *	COUNTS <workload> <system> <procs> ops=N ns=T minflt=d majflt=d csw=d tlb=d cal=d rlines=d
 *	       rfences=d rundo=d rfaults=d rpmsyncs=d runmaps=d rlogged=d rnt=d
 *
 * (one line), the d being after-minus-before deltas. The marker instructions are no-ops to the
 * CPU; the QEMU plugin (tests/bench/plugin) recognises their bytes and records its machine-wide
 * counters at each, and the host-side report (tests/bench/report) pairs the k-th BEGIN/END pair
 * with the k-th COUNTS line of the console. So a program executes the markers only through these
 * two functions, from the process that prints the COUNTS line, exactly once each per phase.
 *
 * Needs <linux/region.h> on the include path (user/libregion/include has it). When /dev/region
 * cannot be opened (module not loaded, ext4 runs) the region counters read as zeros.
 */
#ifndef REGION_BENCH_COUNTS_H
#define REGION_BENCH_COUNTS_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <linux/region.h>

/* The BEGIN marker: bytes 0f 1f 80 42 4e 47 52 ("nopl 0x52474e42(%rax)"; 'BNGR' little-endian). */
#define COUNTS_MARK_BEGIN() __asm__ volatile("nopl 0x52474e42(%%rax)" ::: "memory")
/* The END marker: bytes 0f 1f 80 45 4e 47 52. */
#define COUNTS_MARK_END() __asm__ volatile("nopl 0x52474e45(%%rax)" ::: "memory")

/* What one snapshot holds. */
struct counts_snap {
	struct rusage self, children;
	unsigned long long tlb, cal; /* /proc/interrupts rows, summed over CPUs */
	struct region_counters region; /* zeros without /dev/region */
	int region_ok; /* whether region holds the device's counters */
	struct timespec clock; /* CLOCK_MONOTONIC */
};

/* One measured phase: the snapshot taken before it. */
struct counts_phase {
	struct counts_snap before;
};

/*
 * The sum over CPUs of the /proc/interrupts rows named "TLB:" and "CAL:" (TLB shootdowns and
 * function call interrupts), into *tlb and *cal; zeros when the file cannot be read.
 */
static inline void counts_interrupts(unsigned long long *tlb, unsigned long long *cal)
{
	char line[2048];
	FILE *f = fopen("/proc/interrupts", "r");

	*tlb = *cal = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long *sum = NULL;
		char *p = line;

		while (*p == ' ')
			p++;
		if (!strncmp(p, "TLB:", 4))
			sum = tlb;
		else if (!strncmp(p, "CAL:", 4))
			sum = cal;
		if (!sum)
			continue;
		p += 4;
		for (;;) {
			char *end;
			unsigned long long v = strtoull(p, &end, 10);

			if (end == p)
				break;
			*sum += v;
			p = end;
		}
	}
	fclose(f);
}

/*
 * A descriptor of /dev/region for REGION_IOC_COUNTERS, opened on first use and kept; -1 when it
 * cannot be opened (then the region counters are zeros). Opened again if it was not open, so a
 * program that loads the module between phases still gets the counters.
 */
static inline int counts_region_dev(void)
{
	static int dev = -1;

	if (dev < 0)
		dev = open(REGION_DEVICE_PATH, O_RDONLY | O_CLOEXEC);
	return dev;
}

/*
 * Takes a snapshot. Before a phase (@after == 0) the clock and rusage are read last, after it
 * (@after == 1) first, so that the faults of reading /proc/interrupts fall outside the deltas.
 */
static inline void counts_snapshot(struct counts_snap *s, int after)
{
	int dev;

	memset(s, 0, sizeof(*s));
	if (after) {
		clock_gettime(CLOCK_MONOTONIC, &s->clock);
		getrusage(RUSAGE_SELF, &s->self);
		getrusage(RUSAGE_CHILDREN, &s->children);
	}
	counts_interrupts(&s->tlb, &s->cal);
	dev = counts_region_dev();
	s->region_ok = dev >= 0 && !ioctl(dev, REGION_IOC_COUNTERS, &s->region);
	if (!s->region_ok)
		memset(&s->region, 0, sizeof(s->region));
	if (!after) {
		getrusage(RUSAGE_SELF, &s->self);
		getrusage(RUSAGE_CHILDREN, &s->children);
		clock_gettime(CLOCK_MONOTONIC, &s->clock);
	}
}

/* Starts a phase: the "before" snapshot, then the BEGIN marker. */
static inline void counts_phase_begin(struct counts_phase *p)
{
	counts_snapshot(&p->before, 0);
	COUNTS_MARK_BEGIN();
}

/* Minor faults, major faults and context switches (voluntary + involuntary) of self + children. */
static inline unsigned long long counts_minflt(const struct counts_snap *s)
{
	return (unsigned long long)s->self.ru_minflt + (unsigned long long)s->children.ru_minflt;
}

static inline unsigned long long counts_majflt(const struct counts_snap *s)
{
	return (unsigned long long)s->self.ru_majflt + (unsigned long long)s->children.ru_majflt;
}

static inline unsigned long long counts_csw(const struct counts_snap *s)
{
	return (unsigned long long)s->self.ru_nvcsw + s->self.ru_nivcsw + s->children.ru_nvcsw + s->children.ru_nivcsw;
}

/*
 * Ends a phase: the END marker, the "after" snapshot, and the COUNTS line on stdout (flushed).
 * @workload and @system are lower-case words ('-' allowed), @procs the workers, @ops the
 * operations of the phase summed over all workers.
 */
static inline void counts_phase_end(struct counts_phase *p, const char *workload, const char *system, int procs,
				    unsigned long long ops)
{
	const struct counts_snap *b = &p->before;
	struct counts_snap a;
	long long ns;

	COUNTS_MARK_END();
	counts_snapshot(&a, 1);
	if (!b->region_ok || !a.region_ok) /* the device came or went: no deltas */
		a.region = b->region;
	ns = (long long)(a.clock.tv_sec - b->clock.tv_sec) * 1000000000LL + (a.clock.tv_nsec - b->clock.tv_nsec);
	printf("COUNTS %s %s %d ops=%llu ns=%lld minflt=%llu majflt=%llu csw=%llu tlb=%llu cal=%llu rlines=%llu "
	       "rfences=%llu rundo=%llu rfaults=%llu rpmsyncs=%llu runmaps=%llu rlogged=%llu rnt=%llu\n",
	       workload, system, procs, ops, ns, counts_minflt(&a) - counts_minflt(b), counts_majflt(&a) - counts_majflt(b),
	       counts_csw(&a) - counts_csw(b), a.tlb - b->tlb, a.cal - b->cal,
	       (unsigned long long)(a.region.lines_written_back - b->region.lines_written_back),
	       (unsigned long long)(a.region.fences - b->region.fences),
	       (unsigned long long)(a.region.undo_pages - b->region.undo_pages),
	       (unsigned long long)(a.region.faults - b->region.faults),
	       (unsigned long long)(a.region.pmsyncs - b->region.pmsyncs),
	       (unsigned long long)(a.region.unmap_rounds - b->region.unmap_rounds),
	       (unsigned long long)(a.region.lines_logged - b->region.lines_logged),
	       (unsigned long long)(a.region.lines_nt - b->region.lines_nt));
	fflush(stdout);
}

#endif /* REGION_BENCH_COUNTS_H */
