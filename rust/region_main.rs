// SPDX-License-Identifier: GPL-2.0

//! The Region System: named persistent regions on a pmem device, mapped by many processes, made
//! durable atomically by PMSYNC.
//!
//! This is the crate root. It declares the modules, owns module init and exit, and does little
//! else: at load it attaches the device named by the `pmem` parameter (see [`attach`]) and
//! registers `/dev/region`; at unload the registration goes first, then the device.
//!
//! Folders: `rust/` (this root and the kernel glue), `region_fs/` (layout, `core`-only and shared
//! with the host crates), `ioctl_uapi/` (the user ABI).

use kernel::{
    miscdevice::{MiscDeviceOptions, MiscDeviceRegistration},
    prelude::*,
    sync::Arc,
};

mod control;
mod errname;
// Shared with the host crate `region-layout`, where its items are public API.
#[allow(unreachable_pub)]
#[path = "../region_fs/geometry.rs"]
mod geometry;
mod pmem;
mod uapi;

use control::{ControlFile, RegionDevice};
use errname::ErrName;
use geometry::{check_mapping, device_geometry, GeometryError};
use pmem::{pmem_param, Pmem, PmemStep};

module! {
    type: RegionModule,
    name: "region",
    authors: ["The Region System developers"],
    description: "Named persistent memory regions shared by processes, with atomic PMSYNC",
    license: "GPL",
}

/// The loaded module.
#[pin_data]
pub(crate) struct RegionModule {
    /// `/dev/region`. Declared first so that it is deregistered before the device goes away, and
    /// initialised last so that no file is opened before the device is attached.
    #[pin]
    control: MiscDeviceRegistration<ControlFile>,
    /// The attached device.
    device: Arc<RegionDevice>,
}

impl kernel::InPlaceModule for RegionModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            device: attach()?,
            control <- MiscDeviceRegistration::register(MiscDeviceOptions { name: c"region" }),
        })
    }
}

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
    Ok(Arc::new(RegionDevice { pmem, geometry }, GFP_KERNEL)?)
}
