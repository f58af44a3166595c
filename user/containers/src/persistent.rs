//! Plain data that may live in a region, and pointers that mean the same thing wherever (and in
//! whichever process) the region is mapped.

use std::fmt;
use std::marker::PhantomData;

/// Plain data that may be stored in a heap and read back by any process, after any crash.
///
/// # Safety
///
/// Implementors must be `Copy` plain data with a fixed layout (`repr(C)` or a primitive), valid
/// for every bit pattern (a torn or corrupt region must not make a value undefined), with no
/// padding bytes (values are copied to and from the region as bytes, and padding is
/// uninitialised), no references, no host pointers and no `Drop`.
pub unsafe trait Persistent: Copy + 'static {}

/// A `T` of zero bytes.
pub(crate) fn zeroed<T: Persistent>() -> T {
    // SAFETY: a `Persistent` type is valid for every bit pattern, zeros included.
    unsafe { std::mem::zeroed() }
}

/// The bytes of `value`.
pub(crate) fn bytes_of<T: Persistent>(value: &T) -> &[u8] {
    // SAFETY: `value` is `size_of::<T>()` readable bytes for the borrow, and a `Persistent` type
    // has no padding, so every one of them is initialised.
    unsafe {
        std::slice::from_raw_parts((value as *const T).cast::<u8>(), std::mem::size_of::<T>())
    }
}

/// The bytes of `value`, writable.
pub(crate) fn bytes_of_mut<T: Persistent>(value: &mut T) -> &mut [u8] {
    // SAFETY: as in `bytes_of`, and the borrow is exclusive; whatever bytes are stored leave a
    // valid `T`, since a `Persistent` type is valid for every bit pattern.
    unsafe {
        std::slice::from_raw_parts_mut((value as *mut T).cast::<u8>(), std::mem::size_of::<T>())
    }
}

macro_rules! persistent_primitives {
    ($($t:ty),*) => { $(
        // SAFETY: a primitive integer is valid for every bit pattern, has no padding and holds no
        // pointer.
        unsafe impl Persistent for $t {}
    )* };
}
persistent_primitives!(u8, u16, u32, u64, i8, i16, i32, i64);

// SAFETY: an array of plain data is plain data; arrays add no padding between elements.
unsafe impl<T: Persistent, const N: usize> Persistent for [T; N] {}

/// A pointer to a `T` inside the same region: its byte offset from the region's start (0 is
/// null). It stays valid when the region is mapped at another address, in another process or
/// after a reboot; every dereference through a [`crate::Guard`] is bounds-checked.
#[repr(transparent)]
pub struct PPtr<T> {
    offset: u64,
    _points_to: PhantomData<fn() -> T>,
}

impl<T> PPtr<T> {
    /// The null pointer.
    pub const fn null() -> Self {
        Self::from_offset(0)
    }

    /// The pointer to byte `offset` of the region.
    pub const fn from_offset(offset: u64) -> Self {
        Self {
            offset,
            _points_to: PhantomData,
        }
    }

    /// The byte offset from the region's start.
    pub const fn offset(self) -> u64 {
        self.offset
    }

    /// Whether this is the null pointer.
    pub const fn is_null(self) -> bool {
        self.offset == 0
    }

    /// The same address, seen as a pointer to another type.
    pub const fn cast<U>(self) -> PPtr<U> {
        PPtr::from_offset(self.offset)
    }
}

impl<T> Clone for PPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for PPtr<T> {}
impl<T> PartialEq for PPtr<T> {
    fn eq(&self, other: &Self) -> bool {
        self.offset == other.offset
    }
}
impl<T> Eq for PPtr<T> {}
impl<T> fmt::Debug for PPtr<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PPtr({:#x})", self.offset)
    }
}

// SAFETY: an offset is a plain integer (`repr(transparent)`); it is checked on every use.
unsafe impl<T: 'static> Persistent for PPtr<T> {}

/// Bits of a [`GlobalPtr`] that hold the offset; the bits above name the region.
pub const GLOBAL_OFFSET_BITS: u32 = 48;

/// A pointer that may point into another region: the 16 high bits are an index into the heap's
/// table of foreign regions (0: this region), the 48 low bits a byte offset in that region.
/// Resolved by [`crate::Guard::read_foreign`], which maps the target region when needed.
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct GlobalPtr(u64);

impl GlobalPtr {
    /// The pointer to byte `offset` of the region at table index `index`; `None` if the offset
    /// does not fit in 48 bits.
    pub const fn new(index: u16, offset: u64) -> Option<Self> {
        if offset >> GLOBAL_OFFSET_BITS != 0 {
            return None;
        }
        Some(Self(((index as u64) << GLOBAL_OFFSET_BITS) | offset))
    }

    /// The foreign-table index (0: the heap's own region).
    pub const fn index(self) -> u16 {
        (self.0 >> GLOBAL_OFFSET_BITS) as u16
    }

    /// The byte offset in the target region.
    pub const fn offset(self) -> u64 {
        self.0 & ((1 << GLOBAL_OFFSET_BITS) - 1)
    }

    /// The 64 bits as stored.
    pub const fn to_bits(self) -> u64 {
        self.0
    }

    /// A pointer from its stored 64 bits.
    pub const fn from_bits(bits: u64) -> Self {
        Self(bits)
    }
}

impl fmt::Debug for GlobalPtr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GlobalPtr({}:{:#x})", self.index(), self.offset())
    }
}

// SAFETY: a plain integer (`repr(transparent)`), checked on every use.
unsafe impl Persistent for GlobalPtr {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_pointers_split_into_index_and_offset() {
        let p = GlobalPtr::new(3, 0x1234_5678).expect("fits");
        assert_eq!((p.index(), p.offset()), (3, 0x1234_5678));
        assert_eq!(GlobalPtr::from_bits(p.to_bits()), p);
        assert!(GlobalPtr::new(1, 1 << 48).is_none());
        assert_eq!(
            GlobalPtr::new(0xffff, (1 << 48) - 1).expect("fits").index(),
            0xffff
        );
    }

    #[test]
    fn typed_pointers_are_offsets() {
        let p: PPtr<u64> = PPtr::from_offset(4096);
        assert_eq!(p.cast::<u8>().offset(), 4096);
        assert!(PPtr::<u32>::null().is_null());
        assert_eq!(format!("{p:?}"), "PPtr(0x1000)");
    }
}
