// SPDX-License-Identifier: GPL-2.0

//! `/dev/region`, the control device: the ioctls that act on the device as a whole.
//!
//! Every open file holds a reference to the attached [`RegionDevice`], so the device stays
//! attached while any file is open (the module cannot be unloaded then either: the file
//! operations pin it).

use crate::{
    geometry::{Geometry, PAGE_SIZE},
    pmem::Pmem,
    uapi::{RegionDeviceInfo, REGION_ABI_VERSION, REGION_IOC_DEVICE_INFO},
    RegionModule,
};
use kernel::{
    container_of,
    fs::File,
    miscdevice::{MiscDevice, MiscDeviceRegistration},
    prelude::*,
    sync::Arc,
    uaccess::{UserPtr, UserSlice},
};

/// The persistent memory device the module manages, shared by all open files.
pub(crate) struct RegionDevice {
    /// The mapped device.
    #[allow(dead_code)] // Read by the layout code of the next stage.
    pub(crate) pmem: Pmem,
    /// The span of it in use.
    pub(crate) geometry: Geometry,
}

/// One open file of `/dev/region`.
pub(crate) struct ControlFile {
    device: Arc<RegionDevice>,
}

#[vtable]
impl MiscDevice for ControlFile {
    type Ptr = KBox<Self>;

    fn open(_file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<KBox<Self>> {
        // SAFETY: the only registration of this type is the `control` field of the module's
        // `RegionModule`, so the containing structure is in the same allocation.
        let module = unsafe { container_of!(core::ptr::from_ref(misc), RegionModule, control) };
        // SAFETY: `open` runs only while the registration is live, that is, between the end of
        // `RegionModule`'s initialisation (the registration is initialised last) and its drop
        // (the registration is dropped first), so every field of the module is initialised.
        let device = unsafe { (*module).device.clone() };
        Ok(KBox::new(Self { device }, GFP_KERNEL)?)
    }

    fn ioctl(me: &ControlFile, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            REGION_IOC_DEVICE_INFO => me.device_info(UserPtr::from_addr(arg)),
            _ => Err(ENOTTY),
        }
    }
}

impl ControlFile {
    /// `REGION_IOC_DEVICE_INFO`: the ABI version and the device's geometry.
    fn device_info(&self, arg: UserPtr) -> Result<isize> {
        let (mut reader, mut writer) =
            UserSlice::new(arg, core::mem::size_of::<RegionDeviceInfo>()).reader_writer();
        let request: RegionDeviceInfo = reader.read()?;
        if request.flags != 0 {
            return Err(EINVAL);
        }
        let info = RegionDeviceInfo {
            abi_version: REGION_ABI_VERSION,
            device_size: self.device.geometry.size,
            page_size: PAGE_SIZE as u32,
            ..RegionDeviceInfo::default()
        };
        writer.write(&info)?;
        Ok(0)
    }
}
