//! The protocol's marker instructions, which a QEMU TCG plugin recognises by their bytes and at
//! which it records its machine-wide counters. One BEGIN and one END per COUNTS line, executed by
//! the process that runs the phase, nowhere else.

/// Marks the start of a measured phase for the QEMU plugin: `nopl 0x52474e42(%rax)`, whose bytes
/// are `0f 1f 80 42 4e 47 52`. Executed only by the process that runs the phase, once per phase.
#[inline(never)]
pub fn begin_marker() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a multi-byte no-op; it reads nothing (the address is not dereferenced). Without
    // `nomem` the compiler treats it as touching memory, like C's "memory" clobber.
    unsafe {
        core::arch::asm!(
            "nop dword ptr [rax + 0x52474e42]",
            options(nostack, preserves_flags)
        );
    }
}

/// Marks the end of a measured phase: `nopl 0x52474e45(%rax)`, bytes `0f 1f 80 45 4e 47 52`.
#[inline(never)]
pub fn end_marker() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as in `begin_marker`.
    unsafe {
        core::arch::asm!(
            "nop dword ptr [rax + 0x52474e45]",
            options(nostack, preserves_flags)
        );
    }
}
