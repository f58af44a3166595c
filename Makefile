# SPDX-License-Identifier: GPL-2.0
# User-facing targets of the Region System. Kbuild reads ./Kbuild, not this file, when it builds
# the module, so nothing here is seen by the kernel build.
#
#   make demo     build everything needed, boot a pmem guest and show the module working
#   make test     every test: host, lint, and the guest suite; ends with "N passed, N failed"
#   make module   build region.ko against the cached guest kernel (inside the toolchain root)
#   make lint     clippy and rustfmt on the module, zero warnings required
#   make bench    benchmarks in one guest boot under the counting QEMU plugin (ext4-DAX, LMDB, PMDK,
#                 regions, the KVS; BENCH_RUNS rounds); prints counts, modelled and TCG figures
#                 and the TARGET lines
#   make torture  CUTS power cuts (default 1000) with a check after each; prints how many it survived
#   make fuzz     the kernel fuzzer on the KASAN/UBSAN kernel: FUZZ_CALLS calls (default 1000000),
#                 FUZZ_SEED to replay a seed; then unload, reload, check; prints calls, rate, seed, time
#   make load     the load test on the test kernel (lockdep): LOAD_PROCS processes (default 64), some
#                 with several threads, mixing every operation on shared regions for LOAD_SECONDS
#                 (default 300), data verified, then unload, reload, check; LOAD_SEED to run a seed
#                 again; prints operations, rate, seed, time
#   make model    the state machine's model-based test on the host: MODEL_STEPS steps (default
#                 10000000) from MODEL_SEED (default 1); prints steps and time, or a seed and a
#                 shrunk failing sequence
#   make guest    boot the guest with the module and a shell command: make guest CMD='ls /dev'
#   make clean    remove build output in this tree (caches stay; see README to clear them)
#
# With KDIR=/path/to/linux, `make module` builds against that tree with the tools on your PATH:
# make -C $(KDIR) M=$(CURDIR) LLVM=1.

KDIR ?=
CMD ?= dmesg | tail -5

.PHONY: all module demo test lint bench torture fuzz load model guest clean

all: module

ifeq ($(KDIR),)
module:
	bash scripts/module.sh
else
module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=1 modules
endif

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

lint:
	bash scripts/lint.sh

bench:
	bash scripts/bench.sh

CUTS ?= 1000
torture:
	bash scripts/crash-torture.sh $(CUTS)

FUZZ_CALLS ?= 1000000
FUZZ_SEED ?=
fuzz:
	bash scripts/fuzz.sh $(FUZZ_CALLS) $(FUZZ_SEED)

LOAD_SECONDS ?= 300
LOAD_PROCS ?= 64
LOAD_SEED ?=
load:
	bash scripts/load.sh $(LOAD_SECONDS) $(LOAD_PROCS) $(LOAD_SEED)

MODEL_STEPS ?= 10000000
MODEL_SEED ?= 1
model:
	MODEL_STEPS=$(MODEL_STEPS) MODEL_SEED=$(MODEL_SEED) cargo test --release -p region-layout \
		model_tests -- --nocapture

guest: module
	bash scripts/run-guest.sh --add $(CURDIR)/region.ko:/region/region.ko -- '$(CMD)'

clean:
	-bash scripts/module.sh clean
	cargo clean
