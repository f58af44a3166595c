// SPDX-License-Identifier: GPL-2.0

//! Symbolic errno names for log lines.
//!
//! `Error`'s own `Debug` prints a name only on kernels built with `CONFIG_SYMBOLIC_ERRNAME`, and
//! the module's messages should read the same everywhere: "cannot open ...: ENOENT".

use kernel::fmt;
use kernel::prelude::*;

/// Displays an [`Error`] as its symbolic name (`ENOENT`), or `errno N` for one not listed.
pub(crate) struct ErrName(pub(crate) Error);

impl fmt::Display for ErrName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errno = -self.0.to_errno();
        let name = match errno {
            1 => "EPERM",
            2 => "ENOENT",
            5 => "EIO",
            6 => "ENXIO",
            12 => "ENOMEM",
            13 => "EACCES",
            15 => "ENOTBLK",
            16 => "EBUSY",
            17 => "EEXIST",
            19 => "ENODEV",
            22 => "EINVAL",
            27 => "EFBIG",
            28 => "ENOSPC",
            30 => "EROFS",
            61 => "ENODATA",
            95 => "EOPNOTSUPP",
            117 => "EUCLEAN",
            _ => return write!(f, "errno {errno}"),
        };
        f.write_str(name)
    }
}
