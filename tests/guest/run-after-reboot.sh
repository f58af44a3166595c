#!/bin/sh
# run-after-reboot.sh - the guest side of the second boot in scripts/test.sh, on the pmem image
# run-all.sh left behind: the regions it wrote must have survived the reboot.
. /tests/suite.sh

insmod /region/region.ko pmem=/dev/pmem-nvdimm
run persistence_reboot sh /tests/persistence.sh check
rmmod region
