// SPDX-License-Identifier: GPL-2.0

//! The user ABI inside the module: `ioctl_uapi/region_uapi.rs`, plus the marker traits that let
//! its structures cross the user boundary through `UserSlice`.

use kernel::transmute::{AsBytes, FromBytes};

// The file is the whole ABI, public in the user-space crate; the module uses what it implements.
#[allow(dead_code, unreachable_pub)]
#[path = "../ioctl_uapi/region_uapi.rs"]
mod region_uapi;

pub(crate) use region_uapi::*;

// Every ABI structure is `repr(C)` with only integer fields (and arrays of them) and no padding:
// its fields' sizes add up to its size (checked here), so every byte is initialized and every bit
// pattern is a valid value.
macro_rules! user_struct {
    ($($t:ty = $size:expr;)*) => {$(
        const _: () = assert!(core::mem::size_of::<$t>() == $size);
        // SAFETY: see above: integer fields only.
        unsafe impl FromBytes for $t {}
        // SAFETY: see above: integer fields only, no padding.
        unsafe impl AsBytes for $t {}
    )*};
}

user_struct! {
    RegionDeviceInfo = 4 + 4 + 8 + 4 + 4 + 5 * 8;
    RegionCreateArgs = 64 + 8 + 4 + 4 + 4 * 8;
    RegionOpenArgs = 64 + 4 + 4 + 3 * 8;
    RegionNameArgs = 64 + 2 * 8;
    RegionStat = 64 + 8 + 8 + 6 * 4 + 4 * 8;
    RegionListArgs = 8 + 4 + 4 + 2 * 8;
    RegionResizeArgs = 64 + 8 + 3 * 8;
    RegionExtent = 16;
    RegionLayout = 64 + 9 * 8 + 4 * 4 + 12 * 16 + 2 * 4 + 3 * 8;
    RegionCounters = 16 * 8;
    RegionFormatArgs = 4 + 4 + 3 * 8;
    RegionWriteRange = 3 * 8;
    RegionWriteArgs = 8 + 4 + 4 + 8 + 2 * 8;
}
