#!/bin/sh
# run-after-reboot.sh - the guest side of the second boot in scripts/test.sh, on the pmem image
# run-all.sh left behind: the regions it wrote must have survived the reboot.
run() {
	local name=$1
	shift
	echo "# REGION-TEST-BEGIN $name"
	"$@"
	echo "# REGION-TEST-END $name rc=$?"
}

insmod /region/region.ko pmem=/dev/pmem-nvdimm
run persistence_reboot sh /tests/persistence.sh check
rmmod region
