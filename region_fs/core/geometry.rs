// SPDX-License-Identifier: GPL-2.0

//! Device geometry: whether a persistent memory device can hold a Region System, and how much of
//! it is used.
//!
//! Plain `core` Rust shared by the module (through `#[path]`) and the host crate `region-layout`,
//! where it is unit-tested. The decisions live here so the module only reports them.

/// The page size of mappings and of dirty tracking.
pub const PAGE_SIZE: u64 = 4096;

/// The smallest device the module attaches: room for the superblock, the region table, the undo
/// area and a useful amount of region space.
pub const MIN_DEVICE_SIZE: u64 = 16 << 20;

/// The largest device the module attaches (64 TiB): page numbers stay well inside 32 bits of
/// 4 KiB pages times 2^14, and offsets inside 46 bits.
pub const MAX_DEVICE_SIZE: u64 = 64 << 40;

/// The usable span of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Usable bytes: the device size rounded down to whole pages.
    pub size: u64,
    /// Usable pages.
    pub pages: u64,
}

/// Why a device cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeometryError {
    /// The device has fewer than `MIN_DEVICE_SIZE` usable bytes.
    TooSmall {
        /// Usable bytes found.
        size: u64,
    },
    /// The device has more than `MAX_DEVICE_SIZE` bytes.
    TooLarge {
        /// Bytes found.
        size: u64,
    },
    /// The kernel mapped fewer pages of the device than it has.
    PartlyMapped {
        /// Pages the device has.
        pages: u64,
        /// Pages the direct mapping covers.
        mapped: u64,
    },
}

/// Decides whether a device of `size_bytes` bytes can be attached, and what span of it is used.
pub fn device_geometry(size_bytes: u64) -> Result<Geometry, GeometryError> {
    let size = size_bytes - size_bytes % PAGE_SIZE;
    if size < MIN_DEVICE_SIZE {
        return Err(GeometryError::TooSmall { size });
    }
    if size > MAX_DEVICE_SIZE {
        return Err(GeometryError::TooLarge { size: size_bytes });
    }
    Ok(Geometry {
        size,
        pages: size / PAGE_SIZE,
    })
}

/// Checks that a direct mapping of `mapped_pages` contiguous pages covers the whole geometry.
pub fn check_mapping(geometry: &Geometry, mapped_pages: u64) -> Result<(), GeometryError> {
    if mapped_pages < geometry.pages {
        return Err(GeometryError::PartlyMapped {
            pages: geometry.pages,
            mapped: mapped_pages,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smallest_device_is_accepted_one_page_less_is_not() {
        assert_eq!(
            device_geometry(MIN_DEVICE_SIZE),
            Ok(Geometry {
                size: MIN_DEVICE_SIZE,
                pages: MIN_DEVICE_SIZE / PAGE_SIZE
            })
        );
        assert_eq!(
            device_geometry(MIN_DEVICE_SIZE - 1),
            Err(GeometryError::TooSmall {
                size: MIN_DEVICE_SIZE - PAGE_SIZE
            })
        );
        assert_eq!(device_geometry(0), Err(GeometryError::TooSmall { size: 0 }));
    }

    #[test]
    fn partial_page_at_the_end_is_not_used() {
        let g = device_geometry(MIN_DEVICE_SIZE + PAGE_SIZE + 17).expect("large enough");
        assert_eq!(g.size, MIN_DEVICE_SIZE + PAGE_SIZE);
        assert_eq!(g.pages * PAGE_SIZE, g.size);
    }

    #[test]
    fn oversized_device_is_refused() {
        assert!(device_geometry(MAX_DEVICE_SIZE).is_ok());
        assert_eq!(
            device_geometry(MAX_DEVICE_SIZE + PAGE_SIZE),
            Err(GeometryError::TooLarge {
                size: MAX_DEVICE_SIZE + PAGE_SIZE
            })
        );
        assert!(device_geometry(u64::MAX).is_err());
    }

    #[test]
    fn mapping_must_cover_every_page() {
        let g = device_geometry(256 << 20).expect("large enough");
        assert_eq!(check_mapping(&g, g.pages), Ok(()));
        assert_eq!(check_mapping(&g, g.pages + 5), Ok(()));
        assert_eq!(
            check_mapping(&g, g.pages - 1),
            Err(GeometryError::PartlyMapped {
                pages: g.pages,
                mapped: g.pages - 1
            })
        );
    }
}
