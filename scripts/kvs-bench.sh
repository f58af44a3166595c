#!/usr/bin/env bash
# kvs-bench.sh - the key-value stores alone: LMDB and PMDK on an ext4-DAX file system, then the KVS
# in a region, with the same workloads, in one guest boot under the counting plugin, and the
# host-side report with its TARGET lines. It is scripts/bench.sh with BENCH_ONLY=kvs (`make bench`
# runs everything in one boot); the settings are bench.sh's (BENCH_RUNS, KVS_BENCH_OPS, ...).
BENCH_ONLY=kvs exec bash "$(dirname "$0")/bench.sh" "$@"
