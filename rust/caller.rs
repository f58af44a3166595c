// SPDX-License-Identifier: GPL-2.0

//! Who is calling: the current task's filesystem ids and capabilities, through `region_glue.c`.

use kernel::{ffi::c_int, prelude::*};

use crate::region_glue_h::{
    region_capable_admin, region_current_gid, region_current_uid, region_may_access,
};

/// Read permission (`MAY_READ`, the same bit as in a mode's `r`).
pub(crate) const MAY_READ: c_int = 4;
/// Write permission (`MAY_WRITE`, the same bit as in a mode's `w`).
pub(crate) const MAY_WRITE: c_int = 2;

/// The caller's filesystem uid in the initial user namespace.
pub(crate) fn uid() -> u32 {
    // SAFETY: reads the current task's credentials, which are always valid in process context.
    unsafe { region_current_uid() }
}

/// The caller's filesystem gid in the initial user namespace.
pub(crate) fn gid() -> u32 {
    // SAFETY: as for `uid`.
    unsafe { region_current_gid() }
}

/// Checks that the caller may access an object owned by `uid:gid` with permission bits `mode`
/// as `want` (`MAY_READ`, `MAY_WRITE` or both), as for files; `EACCES` otherwise.
pub(crate) fn may_access(uid: u32, gid: u32, mode: u32, want: c_int) -> Result {
    // SAFETY: reads the current task's credentials; no pointers are passed.
    let ret = unsafe { region_may_access(uid, gid, mode, want) };
    if ret == 0 {
        Ok(())
    } else {
        Err(Error::from_errno(ret))
    }
}

/// Checks that the caller has `CAP_SYS_ADMIN`; `EPERM` otherwise.
pub(crate) fn require_admin() -> Result {
    // SAFETY: reads the current task's credentials; no pointers are passed.
    if unsafe { region_capable_admin() } {
        Ok(())
    } else {
        Err(EPERM)
    }
}
