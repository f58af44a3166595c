// SPDX-License-Identifier: GPL-2.0
/*
 * plugin_check - guest program for `scripts/qemu-plugin.sh check`: code of known counts between
 * the protocol's marker instructions, so that the host can compare what the QEMU plugin recorded
 * with what must have run. Each phase is one asm block holding both markers, so the compiler
 * adds nothing between them, and is followed by one line on stdout:
 *
 *   CHECK <phase> <counter> <op> <value>
 *
 * Consecutive CHECK lines with the same phase name check one phase. op "==": the counter's delta between the phase's markers must be exactly value; ">=": at
 * least value (the script prints the excess); "~": hostns, the host's time between the markers,
 * must be within 2% + 2 ms of value, the guest's own CLOCK_MONOTONIC time around the markers.
 * Counter "uinsns" is insns - kinsns: the instructions run in user space, machine-wide. The
 * k-th CHECK line goes with the k-th BEGIN/END pair of the plugin's file.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BEGIN "nopl 0x52474e42(%%rax)\n\t"
#define END "nopl 0x52474e45(%%rax)\n\t"

static void check(const char *phase, const char *counter, const char *op, unsigned long long value)
{
	printf("CHECK %s %s %s %llu\n", phase, counter, op, value);
	fflush(stdout);
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("sched_setaffinity");
}

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* @n iterations of "op (%rdi)" with a dec/jnz loop: 3n + 2 user instructions with the markers' mov. */
#define FLUSH_LOOP(insn, n, p)                                                                                  \
	__asm__ volatile(BEGIN "mov %[cnt], %%ecx\n1:\t" insn " (%[ptr])\n\tdec %%ecx\n\tjnz 1b\n\t" END          \
			 :                                                                                       \
			 : [cnt] "r"(n), [ptr] "r"(p)                                                            \
			 : "rcx", "memory", "cc")

int main(void)
{
	static char buf[8192] __attribute__((aligned(64)));
	volatile int *shared;
	unsigned int n;
	long long t0, t1;
	char *pages;
	pid_t child;

	pin(0);
	memset(buf, 1, sizeof(buf));

	/* A loop of known length: mov + 2n (dec, jnz) + the END marker. */
	n = 10000000;
	__asm__ volatile(BEGIN "mov %[cnt], %%ecx\n1:\tdec %%ecx\n\tjnz 1b\n\t" END : : [cnt] "r"(n) : "rcx", "memory", "cc");
	check("loop", "uinsns", "==", 2ULL * n + 2);

	n = 100;
	FLUSH_LOOP("clwb", n, buf);
	check("clwb100", "clwb", "==", n);
	FLUSH_LOOP("clflushopt", n, buf);
	check("clflushopt100", "clflushopt", "==", n);
	FLUSH_LOOP("clflush", n, buf);
	check("clflush100", "clflush", "==", n);
	FLUSH_LOOP("clwb", n, buf);
	check("clwb100-insns", "uinsns", "==", 3ULL * n + 2);

	__asm__ volatile(BEGIN "mov %[cnt], %%ecx\n1:\tsfence\n\tdec %%ecx\n\tjnz 1b\n\t" END : : [cnt] "r"(n) : "rcx", "memory", "cc");
	check("sfence100", "sfence", "==", n);
	__asm__ volatile(BEGIN "mov %[cnt], %%ecx\n1:\tmfence\n\tdec %%ecx\n\tjnz 1b\n\t" END : : [cnt] "r"(n) : "rcx", "memory", "cc");
	check("mfence100", "mfence", "==", n);

	/* Non-temporal stores: 1000 movnti of 8 bytes, 100 movntdq of 16. */
	n = 1000;
	__asm__ volatile(BEGIN "mov %[cnt], %%ecx\n\tmov %[ptr], %%rdx\n1:\tmovnti %%rcx, (%%rdx)\n\tadd $8, %%rdx\n\t"
			       "dec %%ecx\n\tjnz 1b\n\tsfence\n\t" END
			 :
			 : [cnt] "r"(n), [ptr] "r"(buf)
			 : "rcx", "rdx", "memory", "cc");
	check("movnti1000", "ntbytes", "==", 8ULL * n);
	n = 100;
	__asm__ volatile(BEGIN "mov %[cnt], %%ecx\n\tmov %[ptr], %%rdx\n\tpxor %%xmm0, %%xmm0\n1:\tmovntdq %%xmm0, (%%rdx)\n\t"
			       "add $16, %%rdx\n\tdec %%ecx\n\tjnz 1b\n\tsfence\n\t" END
			 :
			 : [cnt] "r"(n), [ptr] "r"(buf)
			 : "rcx", "rdx", "xmm0", "memory", "cc");
	check("movntdq100", "ntbytes", "==", 16ULL * n);
	/* rep stos is not non-temporal. */
	__asm__ volatile(BEGIN "mov %[ptr], %%rdi\n\tmov $4096, %%ecx\n\txor %%eax, %%eax\n\trep stosb\n\t" END
			 :
			 : [ptr] "r"(buf)
			 : "rax", "rcx", "rdi", "memory", "cc");
	check("repstos4096", "ntbytes", "==", 0);

	/* 1000 system calls (getppid). */
	n = 1000;
	__asm__ volatile(BEGIN "mov %[cnt], %%r12d\n1:\tmov $110, %%eax\n\tsyscall\n\tdec %%r12d\n\tjnz 1b\n\t" END
			 :
			 : [cnt] "r"(n)
			 : "rax", "rcx", "r11", "r12", "memory", "cc");
	check("syscall1000", "syscalls", "==", n);
	check("syscall1000", "uinsns", "==", 4ULL * n + 2);

	/*
	 * Both vCPUs at once: this process and a child on the other CPU each run a million clwb; the
	 * per-vCPU counters must lose none.
	 */
	shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return 1;
	shared[0] = shared[1] = 0;
	n = 1000000;
	child = fork();
	if (child == 0) {
		pin(1);
		shared[1] = 1; /* ready */
		while (!shared[0])
			;
		__asm__ volatile("mov %[cnt], %%ecx\n1:\tclwb (%[ptr])\n\tdec %%ecx\n\tjnz 1b\n\t"
				 :
				 : [cnt] "r"(n), [ptr] "r"(buf)
				 : "rcx", "memory", "cc");
		shared[1] = 2; /* done */
		_exit(0);
	}
	while (shared[1] != 1)
		;
	__asm__ volatile(BEGIN "movl $1, (%[go])\n\tmov %[cnt], %%ecx\n1:\tclwb (%[ptr])\n\tdec %%ecx\n\tjnz 1b\n2:\t"
			       "cmpl $2, 4(%[go])\n\tjne 2b\n\t" END
			 :
			 : [cnt] "r"(n), [ptr] "r"(buf), [go] "r"(shared)
			 : "rcx", "memory", "cc");
	waitpid(child, NULL, 0);
	check("clwb-2vcpus", "clwb", "==", 2ULL * n);

	/*
	 * Page faults: one store to each of 1000 fresh pages (4 user instructions a page). Each
	 * fault may add the rest of its translation block in mode=tb: the excess is printed.
	 */
	n = 1000;
	pages = mmap(NULL, (size_t)n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED)
		return 1;
	__asm__ volatile(BEGIN "mov %[cnt], %%ecx\n\tmov %[ptr], %%rdx\n1:\tmovb $1, (%%rdx)\n\tadd $4096, %%rdx\n\t"
			       "dec %%ecx\n\tjnz 1b\n\t" END
			 :
			 : [cnt] "r"(n), [ptr] "r"(pages)
			 : "rcx", "rdx", "memory", "cc");
	check("faults1000", "uinsns", ">=", 4ULL * n + 3);

	/* The host's time between the markers against the guest's. */
	t0 = now_ns();
	__asm__ volatile(BEGIN ::: "memory");
	usleep(300000);
	__asm__ volatile(END ::: "memory");
	t1 = now_ns();
	check("sleep300ms", "hostns", "~", (unsigned long long)(t1 - t0));
	t0 = now_ns();
	__asm__ volatile(BEGIN "mov %[cnt], %%ecx\n1:\tdec %%ecx\n\tjnz 1b\n\t" END : : [cnt] "r"(50000000) : "rcx", "memory", "cc");
	t1 = now_ns();
	check("spin", "hostns", "~", (unsigned long long)(t1 - t0));
	printf("plugin_check: done\n");
	return 0;
}
