// SPDX-License-Identifier: GPL-2.0

//! Checksums of the on-PM format: CRC-32C for the superblock and undo slot headers, CRC-16/CCITT
//! for the check bits folded into the region table's 8-byte commit words.
//!
//! Plain `core` Rust, table-driven with tables built at compile time.

const fn crc32c_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

const fn crc16_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

static CRC32C: [u32; 256] = crc32c_table();
static CRC16: [u16; 256] = crc16_table();

/// A running CRC-32C (Castagnoli), fed in pieces.
#[derive(Clone, Copy)]
pub struct Crc32c(u32);

impl Crc32c {
    /// A new computation.
    pub fn new() -> Self {
        Self(!0)
    }

    /// Feeds `bytes`.
    pub fn update(mut self, bytes: &[u8]) -> Self {
        for &b in bytes {
            self.0 = (self.0 >> 8) ^ CRC32C[((self.0 ^ u32::from(b)) & 0xff) as usize];
        }
        self
    }

    /// The checksum of everything fed.
    pub fn finish(self) -> u32 {
        !self.0
    }
}

impl Default for Crc32c {
    fn default() -> Self {
        Self::new()
    }
}

/// CRC-32C of `bytes`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    Crc32c::new().update(bytes).finish()
}

/// A running CRC-16/CCITT-FALSE, fed in pieces.
#[derive(Clone, Copy)]
pub struct Crc16(u16);

impl Crc16 {
    /// A new computation.
    pub fn new() -> Self {
        Self(0xffff)
    }

    /// Feeds `bytes`.
    pub fn update(mut self, bytes: &[u8]) -> Self {
        for &b in bytes {
            self.0 = (self.0 << 8) ^ CRC16[(((self.0 >> 8) as u8) ^ b) as usize];
        }
        self
    }

    /// The checksum of everything fed.
    pub fn finish(self) -> u16 {
        self.0
    }
}

impl Default for Crc16 {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        // The standard check value of CRC-32C over "123456789".
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(
            Crc32c::new().update(b"1234").update(b"56789").finish(),
            0xe306_9283
        );
    }

    #[test]
    fn crc16_check_value() {
        // The standard check value of CRC-16/CCITT-FALSE over "123456789".
        assert_eq!(Crc16::new().update(b"123456789").finish(), 0x29b1);
    }

    #[test]
    fn every_single_bit_flip_changes_the_crcs() {
        let data = *b"region table entry: 32 bytes ok!";
        let (c32, c16) = (crc32c(&data), Crc16::new().update(&data).finish());
        for bit in 0..data.len() * 8 {
            let mut d = data;
            d[bit / 8] ^= 1 << (bit % 8);
            assert_ne!(crc32c(&d), c32, "bit {bit}");
            assert_ne!(Crc16::new().update(&d).finish(), c16, "bit {bit}");
        }
    }
}
