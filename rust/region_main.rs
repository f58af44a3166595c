// SPDX-License-Identifier: GPL-2.0

//! The Region System: named persistent regions on a pmem device, mapped by many processes, made
//! durable atomically by PMSYNC.
//!
//! This is the crate root. It declares the modules, owns module init and exit, and does little
//! else: at load it mounts the region pseudo file system, attaches the device named by the `pmem`
//! parameter (see [`attach`]) and registers `/dev/region`; at unload the registration goes first,
//! then the device, then the mount.
//!
//! Folders: `rust/` (this root and the kernel glue), `region_fs/core/` (the on-PM layout and the
//! state machine, `core`-only and shared with the host crate), `region_fs/` (the kernel side of the
//! region manager and the pseudo file system), `pmsync/`
//! (dirty tracking, the first-write undo save, the commit, the undo slot pool), `ioctl_uapi/`
//! (the user ABI).

use kernel::{
    miscdevice::{MiscDeviceOptions, MiscDeviceRegistration},
    prelude::*,
    sync::Arc,
};

mod caller;
mod control;
mod dax_pm;
mod errname;
mod pmem;
mod region_glue_h;
mod sched;
mod uapi;

// The region manager and its pseudo file system: kernel-only.
#[path = "../region_fs/device.rs"]
mod device;
#[path = "../region_fs/region_file.rs"]
mod region_file;
#[path = "../region_fs/regionfs_h.rs"]
mod regionfs_h;

// PMSYNC: kernel-only.
#[path = "../pmsync/dirty.rs"]
mod dirty;
#[path = "../pmsync/epoch.rs"]
mod epoch;
#[path = "../pmsync/undo_pool.rs"]
mod undo_pool;

// The on-PM layout and the state machine: `core`-only, shared with the host crate
// `region-layout` (region_fs/core), where these items are public API. Some items serve the host
// tests only.
#[allow(unreachable_pub, dead_code)]
#[path = "../region_fs/core/alloc.rs"]
mod alloc;
#[allow(unreachable_pub)]
#[path = "../region_fs/core/bytes.rs"]
mod bytes;
#[allow(unreachable_pub)]
#[path = "../region_fs/core/checksum.rs"]
mod checksum;
#[allow(unreachable_pub, dead_code)]
#[path = "../region_fs/core/epoch_state.rs"]
mod epoch_state;
#[allow(unreachable_pub)]
#[path = "../region_fs/core/geometry.rs"]
mod geometry;
#[allow(unreachable_pub, dead_code)]
#[path = "../region_fs/core/line_log.rs"]
mod line_log;
#[allow(unreachable_pub, dead_code)]
#[path = "../region_fs/core/ops.rs"]
mod ops;
#[allow(unreachable_pub, dead_code)]
#[path = "../region_fs/core/pm.rs"]
mod pm;
#[allow(unreachable_pub, dead_code)]
#[path = "../region_fs/core/state.rs"]
mod state;
#[allow(unreachable_pub)]
#[path = "../region_fs/core/superblock.rs"]
mod superblock;
#[allow(unreachable_pub, dead_code)]
#[path = "../region_fs/core/table.rs"]
mod table;
#[allow(unreachable_pub, dead_code)]
#[path = "../region_fs/core/undo.rs"]
mod undo;
#[allow(unreachable_pub, dead_code)]
#[path = "../region_fs/core/undo_share.rs"]
mod undo_share;

use control::ControlFile;
use device::{Format, RegionDevice};
use errname::ErrName;
use geometry::{check_mapping, device_geometry, GeometryError};
use pmem::{pmem_param, Pmem, PmemStep};

module! {
    type: RegionModule,
    name: "region",
    authors: ["The Region System developers"],
    description: "Named persistent memory regions shared by processes, with atomic PMSYNC",
    license: "GPL",
    params: {
        format: bool {
            default: false,
            description: "format the device at load, destroying what it holds",
        },
    },
}

/// The loaded module.
#[pin_data(PinnedDrop)]
pub(crate) struct RegionModule {
    /// `/dev/region`. Declared first so that it is deregistered before the device goes away, and
    /// initialised last so that no file is opened before the device is attached.
    #[pin]
    control: MiscDeviceRegistration<ControlFile>,
    /// The attached device.
    device: Arc<RegionDevice>,
    /// The region pseudo file system, unmounted after the device (and every region inode) is
    /// gone.
    _mount: RegionFsMount,
}

impl kernel::InPlaceModule for RegionModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _mount: RegionFsMount::new()?,
            device: attach()?,
            control <- MiscDeviceRegistration::register(MiscDeviceOptions { name: c"region" }),
        })
    }
}

#[pinned_drop]
impl PinnedDrop for RegionModule {
    fn drop(self: Pin<&mut Self>) {
        self.device.forget_kept();
    }
}

use regionfs_h::{region_fs_mount, region_fs_unmount};

/// The mount of the region pseudo file system; unmounted on drop.
struct RegionFsMount;

impl RegionFsMount {
    fn new() -> Result<Self> {
        // SAFETY: called once, at init, before any region inode exists.
        let ret = unsafe { region_fs_mount() };
        if ret != 0 {
            pr_err!(
                "cannot mount the region pseudo file system: {}\n",
                ErrName(Error::from_errno(ret))
            );
            return Err(Error::from_errno(ret));
        }
        Ok(Self)
    }
}

impl Drop for RegionFsMount {
    fn drop(&mut self) {
        // SAFETY: dropped after the device, when no region inode is left.
        unsafe { region_fs_unmount() };
    }
}

// The layout's page is the kernel's page: regions are mapped page by page.
const _: () = assert!(geometry::PAGE_SIZE == kernel::page::PAGE_SIZE as u64);

const MIB: u64 = 1 << 20;

/// Attaches the device named by the `pmem` parameter, or says in the kernel log why it cannot.
fn attach() -> Result<Arc<RegionDevice>> {
    let Some(path) = pmem_param() else {
        pr_err!("no device given: load with pmem=/dev/pmemN (an fsdax-mode pmem device)\n");
        return Err(EINVAL);
    };
    let pmem = Pmem::open(path).map_err(|(step, err)| {
        match step {
            PmemStep::Open => pr_err!("cannot open {:?}: {}\n", path, ErrName(err)),
            PmemStep::Dax => pr_err!(
                "{:?} does not support DAX: use a pmem device in fsdax mode\n",
                path
            ),
            PmemStep::Map => pr_err!("cannot map {:?} through DAX: {}\n", path, ErrName(err)),
            PmemStep::Alloc => pr_err!("out of memory attaching {:?}\n", path),
        }
        err
    })?;
    let geometry = device_geometry(pmem.size())
        .and_then(|g| check_mapping(&g, pmem.mapped_pages()).map(|()| g))
        .map_err(|err| match err {
            GeometryError::TooSmall { size } => {
                pr_err!(
                    "{:?} is too small: {} KiB, need at least {} MiB\n",
                    path,
                    size / 1024,
                    geometry::MIN_DEVICE_SIZE / MIB
                );
                ENOSPC
            }
            GeometryError::TooLarge { size } => {
                pr_err!(
                    "{:?} is too large: {} MiB, at most {} MiB\n",
                    path,
                    size / MIB,
                    geometry::MAX_DEVICE_SIZE / MIB
                );
                EFBIG
            }
            GeometryError::PartlyMapped { pages, mapped } => {
                pr_err!(
                    "{:?}: DAX maps only {} of its {} pages contiguously\n",
                    path,
                    mapped,
                    pages
                );
                EIO
            }
        })?;
    pr_info!(
        "attached {:?}: {} MiB ({} pages)\n",
        path,
        geometry.size / MIB,
        geometry.pages
    );
    let format = if *module_parameters::format.value_ref() {
        Format::Now
    } else {
        Format::Never
    };
    let device = RegionDevice::attach(path, pmem, geometry, format)?;
    // Memory failures and the device's removal go to the device from now on, until its drop
    // (`region_notify_detach`, which waits for a notification under way).
    // SAFETY: the pointer stays valid until the device's drop detaches it, first thing.
    unsafe { region_glue_h::region_notify_attach(Arc::as_ptr(&device).cast()) };
    Ok(device)
}
