// SPDX-License-Identifier: GPL-2.0

//! `/dev/region`, the control device: the ioctls that act on the device and on regions by name.
//! This file only moves structures across the user boundary and checks their reserved fields;
//! the operations are `RegionDevice`'s (`region_fs/device.rs`).
//!
//! Every open file holds a reference to the attached device, so the device stays attached while
//! any file is open (the module cannot be unloaded then either: the file operations pin it).

use crate::{
    device::{parse_name, RegionDevice},
    epoch,
    geometry::PAGE_SIZE,
    uapi::*,
    RegionModule,
};
use kernel::{
    container_of,
    fs::{file::flags, File},
    miscdevice::{MiscDevice, MiscDeviceRegistration},
    prelude::*,
    sync::Arc,
    transmute::{AsBytes, FromBytes},
    uaccess::{UserPtr, UserSlice},
};

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

    fn ioctl(me: &ControlFile, file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let arg = UserPtr::from_addr(arg);
        let dev = &me.device;
        dev.alive()?;
        // Changing what regions exist is a write: it needs the device opened for writing.
        if CHANGES_REGIONS.contains(&cmd) && !opened_for_writing(file) {
            return Err(EBADF);
        }
        match cmd {
            REGION_IOC_DEVICE_INFO => {
                let mut info: RegionDeviceInfo = read_in(arg)?;
                if info.flags != 0 {
                    return Err(EINVAL);
                }
                info = RegionDeviceInfo {
                    abi_version: REGION_ABI_VERSION,
                    device_size: dev.size(),
                    page_size: PAGE_SIZE as u32,
                    ..RegionDeviceInfo::default()
                };
                write_out(arg, &info)
            }
            REGION_IOC_CREATE => {
                let a: RegionCreateArgs = read_in(arg)?;
                zero_reserved(a.flags == 0 && a.reserved == [0; 4])?;
                dev.create(parse_name(&a.name)?, a.size, a.mode)?;
                Ok(0)
            }
            REGION_IOC_OPEN => {
                let a: RegionOpenArgs = read_in(arg)?;
                zero_reserved(
                    a.flags & !REGION_OPEN_WRITE == 0 && a.reserved32 == 0 && a.reserved == [0; 3],
                )?;
                let fd = dev
                    .as_arc_borrow()
                    .open(parse_name(&a.name)?, a.flags & REGION_OPEN_WRITE != 0)?;
                Ok(fd as isize)
            }
            REGION_IOC_DELETE => {
                let a: RegionNameArgs = read_in(arg)?;
                zero_reserved(a.reserved == [0; 2])?;
                dev.delete(parse_name(&a.name)?)?;
                Ok(0)
            }
            REGION_IOC_STAT => {
                let a: RegionStat = read_in(arg)?;
                let stat = dev.stat(parse_name(&a.name)?)?;
                write_out(arg, &stat)
            }
            REGION_IOC_LIST => {
                let mut a: RegionListArgs = read_in(arg)?;
                zero_reserved(a.reserved == [0; 2])?;
                let all = dev.list()?;
                let n = all.len().min(a.capacity as usize);
                let size = core::mem::size_of::<RegionStat>();
                let mut w =
                    UserSlice::new(UserPtr::from_addr(a.entries as usize), n * size).writer();
                for stat in &all[..n] {
                    w.write(stat)?;
                }
                a.count = all.len() as u32;
                write_out(arg, &a)
            }
            REGION_IOC_RESIZE => {
                let a: RegionResizeArgs = read_in(arg)?;
                zero_reserved(a.reserved == [0; 3])?;
                dev.resize(parse_name(&a.name)?, a.size)?;
                Ok(0)
            }
            REGION_IOC_LAYOUT => {
                let mut l: RegionLayout = read_in(arg)?;
                let name = if l.name[0] == 0 {
                    &[][..]
                } else {
                    parse_name(&l.name)?
                };
                let mut out = RegionLayout {
                    name: l.name,
                    ..RegionLayout::default()
                };
                dev.layout(name, &mut out)?;
                l = out;
                write_out(arg, &l)
            }
            REGION_IOC_COUNTERS => write_out(arg, &dev.counters()),
            REGION_IOC_PMSYNC_ALL => write_out(arg, &epoch::pmsync_all_open()?),
            REGION_IOC_FORMAT => {
                let a: RegionFormatArgs = read_in(arg)?;
                zero_reserved(a.flags == 0 && a.reserved32 == 0 && a.reserved == [0; 3])?;
                dev.format()?;
                Ok(0)
            }
            _ => Err(ENOTTY),
        }
    }
}

/// The control ioctls that create, change or erase regions: `EBADF` on a descriptor of
/// `/dev/region` opened read-only.
const CHANGES_REGIONS: [u32; 4] = [
    REGION_IOC_CREATE,
    REGION_IOC_DELETE,
    REGION_IOC_RESIZE,
    REGION_IOC_FORMAT,
];

/// Whether `file` was opened for writing (`O_WRONLY` or `O_RDWR`).
fn opened_for_writing(file: &File) -> bool {
    file.flags() & flags::O_ACCMODE != flags::O_RDONLY
}

/// Reads the ioctl's structure from user memory.
fn read_in<T: FromBytes>(arg: UserPtr) -> Result<T> {
    UserSlice::new(arg, core::mem::size_of::<T>())
        .reader()
        .read()
}

/// Writes the ioctl's structure back to user memory.
fn write_out<T: AsBytes>(arg: UserPtr, value: &T) -> Result<isize> {
    UserSlice::new(arg, core::mem::size_of::<T>())
        .writer()
        .write(value)?;
    Ok(0)
}

/// `EINVAL` unless every input flag and reserved field the caller set is zero.
fn zero_reserved(ok: bool) -> Result {
    if ok {
        Ok(())
    } else {
        Err(EINVAL)
    }
}
