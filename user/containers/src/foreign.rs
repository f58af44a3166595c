//! Pointers into other regions: each heap keeps a small table of the regions it points into, and
//! a [`GlobalPtr`] is a table index plus an offset. The target is opened and mapped the first
//! time a pointer into it is followed, and stays mapped while the heap is open.
//!
//! Other processes may store to a foreign region at any time, so what a pointer points to is
//! copied out ([`Guard::read_foreign`]), never lent as a slice.

use crate::arena::bad_pointer;
use crate::guard::Guard;
use crate::header::{foreign_name, FOREIGN_NAME, FOREIGN_SLOTS};
use crate::persistent::GlobalPtr;
use region::Access;
use std::io;

/// The name in a foreign-table field, if the field is in use.
fn name_in(field: &[u8]) -> Option<&str> {
    let len = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    (len > 0)
        .then(|| std::str::from_utf8(&field[..len]).ok())
        .flatten()
}

impl Guard<'_> {
    /// The foreign-table index of region `name`, entered in the table if it is not there yet
    /// (committed with the heap's next PMSYNC). Index 0 is the heap's own region.
    pub fn link_region(&mut self, name: &str) -> io::Result<u16> {
        if name == self.heap.name() {
            return Ok(0);
        }
        if name.is_empty() || name.len() >= FOREIGN_NAME as usize || name.contains('\0') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("region name '{name}' cannot be linked"),
            ));
        }
        let mut free = None;
        for index in 1..=FOREIGN_SLOTS {
            match self.linked_region(index)? {
                Some(n) if n == name => return Ok(index),
                None if free.is_none() => free = Some(index),
                _ => {}
            }
        }
        let index = free.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!(
                    "heap '{}': its {FOREIGN_SLOTS} foreign regions are all in use",
                    self.heap.name()
                ),
            )
        })?;
        // The name is written before anything can point through the index, and commits with it.
        self.put_bytes(foreign_name(index), name.as_bytes())?;
        Ok(index)
    }

    /// The region at foreign-table index `index` (1..=15), if that entry is in use.
    pub fn linked_region(&self, index: u16) -> io::Result<Option<String>> {
        if !(1..=FOREIGN_SLOTS).contains(&index) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("foreign index {index} is not in 1..={FOREIGN_SLOTS}"),
            ));
        }
        let mut field = [0u8; FOREIGN_NAME as usize];
        self.get_bytes(foreign_name(index), &mut field)?;
        Ok(name_in(&field).map(str::to_string))
    }

    /// Copies the `buf.len()` bytes that `p` points to into `buf`: in the heap's region
    /// (index 0) or in a foreign region, mapped read-only on first use. The foreign region's
    /// own writers may store to those bytes meanwhile (its heap lock is not taken): then the copy
    /// holds unspecified bytes, as [`region::Mapping::read`] says.
    pub fn read_foreign(&self, p: GlobalPtr, buf: &mut [u8]) -> io::Result<()> {
        if p.index() == 0 {
            return self.get_bytes(p.offset(), buf);
        }
        let name = self.linked_region(p.index())?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "foreign index {} of heap '{}' names no region",
                    p.index(),
                    self.heap.name()
                ),
            )
        })?;
        let slot = usize::from(p.index() - 1);
        let mut maps = self
            .heap
            .foreign
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?;
        if maps.len() <= slot {
            maps.resize_with(slot + 1, || None);
        }
        let (region, map) = match &mut maps[slot] {
            Some(entry) => &*entry,
            entry => {
                let region = self.heap.device()?.open_region(&name, Access::ReadOnly)?;
                let map = region.map()?;
                &*entry.insert((region, map))
            }
        };
        if region.name() != name {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "foreign index {} changed from '{}' to '{name}'",
                    p.index(),
                    region.name()
                ),
            ));
        }
        let len = buf.len() as u64;
        let end = p
            .offset()
            .checked_add(len)
            .filter(|&e| e <= map.len() as u64);
        end.ok_or_else(|| bad_pointer(p.offset(), len))?;
        map.read(p.offset() as usize, buf)
    }
}
