//! A persistent vector of plain data: a two-word descriptor (`data`, `len`) pointing to a buffer
//! that starts with its capacity.
//!
//! A push writes the element, then publishes it by storing the new length; growing copies into
//! a new buffer, then publishes it by storing `data`. A holder that dies at any point leaves
//! the vector as it was before or after the operation (and at worst one leaked buffer).

use crate::arena::bad_pointer;
use crate::guard::Guard;
use crate::persistent::{PPtr, Persistent};
use std::io;
use std::marker::PhantomData;
use std::mem::size_of;

/// The descriptor, stored in the heap.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct VecDesc {
    data: u64,
    len: u64,
}

// SAFETY: two 8-byte integers, `repr(C)`: no padding.
unsafe impl Persistent for VecDesc {}

/// Bytes before the elements in a buffer: its capacity.
const CAP_BYTES: u64 = 8;

/// A vector of `T` in a heap, named by the persistent pointer to its descriptor. Every method
/// takes the heap's [`Guard`].
#[derive(Debug)]
pub struct PVec<T> {
    desc: PPtr<VecDesc>,
    _elements: PhantomData<fn() -> T>,
}

impl<T> Clone for PVec<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for PVec<T> {}

fn index_error(index: u64, len: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("index {index} is out of bounds (length {len})"),
    )
}

impl<T: Persistent> PVec<T> {
    /// A new, empty vector.
    pub fn new(g: &mut Guard<'_>) -> io::Result<Self> {
        let desc = g.alloc(VecDesc { data: 0, len: 0 })?;
        Ok(Self::at(desc))
    }

    /// The vector whose descriptor is at `desc`.
    pub fn at(desc: PPtr<VecDesc>) -> Self {
        Self {
            desc,
            _elements: PhantomData,
        }
    }

    /// Where the descriptor is: store this to find the vector again.
    pub fn as_ptr(self) -> PPtr<VecDesc> {
        self.desc
    }

    /// The number of elements.
    pub fn len(self, g: &Guard<'_>) -> io::Result<u64> {
        Ok(g.read(self.desc)?.len)
    }

    /// Whether the vector is empty.
    pub fn is_empty(self, g: &Guard<'_>) -> io::Result<bool> {
        Ok(self.len(g)? == 0)
    }

    fn slot(data: u64, index: u64) -> PPtr<T> {
        PPtr::from_offset(data + CAP_BYTES + index * size_of::<T>() as u64)
    }

    /// The element at `index`.
    pub fn get(self, g: &Guard<'_>, index: u64) -> io::Result<T> {
        let d = g.read(self.desc)?;
        if index >= d.len {
            return Err(index_error(index, d.len));
        }
        g.read(Self::slot(d.data, index))
    }

    /// Replaces the element at `index`.
    pub fn set(self, g: &mut Guard<'_>, index: u64, value: T) -> io::Result<()> {
        let d = g.read(self.desc)?;
        if index >= d.len {
            return Err(index_error(index, d.len));
        }
        g.write(Self::slot(d.data, index), value)
    }

    /// Appends `value`.
    pub fn push(self, g: &mut Guard<'_>, value: T) -> io::Result<()> {
        let mut d = g.read(self.desc)?;
        let cap = if d.data == 0 {
            0
        } else {
            g.read(PPtr::<u64>::from_offset(d.data))?
        };
        if d.len == cap {
            d.data = self.grow(g, d, cap)?;
        }
        g.write(Self::slot(d.data, d.len), value)?;
        g.write(
            self.desc,
            VecDesc {
                data: d.data,
                len: d.len + 1,
            },
        )
    }

    /// Moves the elements into a buffer of twice the capacity; returns it.
    fn grow(self, g: &mut Guard<'_>, d: VecDesc, cap: u64) -> io::Result<u64> {
        let new_cap = cap.saturating_mul(2).max(4);
        let elem = size_of::<T>() as u64;
        let bytes = new_cap
            .checked_mul(elem)
            .and_then(|b| b.checked_add(CAP_BYTES));
        let bytes = bytes.ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        let data = g.alloc_bytes(bytes)?.offset();
        g.write(PPtr::<u64>::from_offset(data), new_cap)?;
        if d.len > 0 {
            // Checked against the heap's size before the buffer is made: `len` may be corrupt.
            let bytes = d
                .len
                .checked_mul(elem)
                .filter(|&b| b <= g.heap().arena.len());
            let bytes = bytes.ok_or_else(|| bad_pointer(d.data + CAP_BYTES, d.len))?;
            let mut old = vec![0u8; bytes as usize];
            g.read_bytes(PPtr::from_offset(d.data + CAP_BYTES), &mut old)?;
            g.write_bytes(PPtr::from_offset(data + CAP_BYTES), &old)?;
        }
        g.write(self.desc, VecDesc { data, len: d.len })?;
        if d.data != 0 {
            g.free(PPtr::<u8>::from_offset(d.data))?;
        }
        Ok(data)
    }

    /// Removes and returns the last element.
    pub fn pop(self, g: &mut Guard<'_>) -> io::Result<Option<T>> {
        let d = g.read(self.desc)?;
        if d.len == 0 {
            return Ok(None);
        }
        let value = g.read(Self::slot(d.data, d.len - 1))?;
        g.write(
            self.desc,
            VecDesc {
                data: d.data,
                len: d.len - 1,
            },
        )?;
        Ok(Some(value))
    }

    /// Every element, copied out.
    pub fn to_vec(self, g: &Guard<'_>) -> io::Result<Vec<T>> {
        let d = g.read(self.desc)?;
        (0..d.len).map(|i| g.read(Self::slot(d.data, i))).collect()
    }

    /// Frees the vector's buffer and descriptor.
    pub fn destroy(self, g: &mut Guard<'_>) -> io::Result<()> {
        let d = g.read(self.desc)?;
        g.free(self.desc)?;
        if d.data != 0 {
            g.free(PPtr::<u8>::from_offset(d.data))?;
        }
        Ok(())
    }
}
