// SPDX-License-Identifier: GPL-2.0

//! The user ABI inside the module: `ioctl_uapi/region_uapi.rs`, plus the marker traits that let
//! its structures cross the user boundary through `UserSlice`.

use kernel::transmute::{AsBytes, FromBytes};

// The file is the whole ABI, public in the user-space crate; the module uses what it implements.
#[allow(dead_code, unreachable_pub)]
#[path = "../ioctl_uapi/region_uapi.rs"]
mod region_uapi;

pub(crate) use region_uapi::*;

// No padding: the fields' sizes add up to the structure's size.
const _: () = assert!(core::mem::size_of::<RegionDeviceInfo>() == 4 + 4 + 8 + 4 + 4 + 5 * 8);

// SAFETY: `RegionDeviceInfo` is `repr(C)` with only integer fields, so every bit pattern is a
// valid value.
unsafe impl FromBytes for RegionDeviceInfo {}
// SAFETY: `RegionDeviceInfo` is `repr(C)` with only integer fields and no padding (checked above),
// so all of its bytes are initialized.
unsafe impl AsBytes for RegionDeviceInfo {}
