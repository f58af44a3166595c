#!/bin/sh
# run-all.sh - the guest side of the test suite: runs every guest test in order, each printing
# its own TAP, between "# REGION-TEST-BEGIN name" and "# REGION-TEST-END name rc=N" lines that
# scripts/tap-summary.sh reads on the host.
#
# Layout inside the guest: /region/region.ko, /tests/*.sh, /tests/bin/* (static binaries).
KO=/region/region.ko
PMEM=/dev/pmem-nvdimm

. /tests/suite.sh

# The device's size as the block layer states it, rounded down to whole pages: what the module
# must report.
dev=$(basename "$(readlink -f $PMEM)")
REGION_EXPECT_DEVICE_SIZE=$(($(cat /sys/block/"$dev"/size) * 512 / 4096 * 4096))
export REGION_PMEM=$PMEM REGION_EXPECT_DEVICE_SIZE

run module_load sh /tests/module_load.sh

insmod $KO pmem=$PMEM
run device_test /tests/bin/device_test
run region_test /tests/bin/region_test
run pmsync_test /tests/bin/pmsync_test
run write_test /tests/bin/write_test
run trust_test /tests/bin/trust_test
run libregion_test /tests/bin/libregion_test
run lib_test /tests/bin/lib_test
run regionctl sh /tests/regionctl.sh
run containers_test /tests/bin/containers_test
run kvs sh /tests/kvs.sh
run persistence_write sh /tests/persistence.sh write
run persistence_reload sh /tests/persistence.sh reload
rmmod region
run corruption sh /tests/corruption.sh
