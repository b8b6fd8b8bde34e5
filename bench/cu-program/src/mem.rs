//! `memcpy`, `memmove`, `memset` and `memcmp` as Solana's toolchain provides them, so that
//! copying and zeroing cost in this benchmark what they cost in a program built by
//! `cargo build-sbf` / `anchor build`.
//!
//! Upstream compiler-builtins (what `-Z build-std` links for `bpfel-unknown-none`) implements
//! these as plain loops, about three instructions per 8 bytes; Solana's fork
//! (anza-xyz/compiler-builtins, `src/mem/mod.rs`, for `target_arch = "bpf"`/`"sbf"`) copies
//! short runs with 8-byte stores and hands anything that would take more than 15 stores to the
//! VM's memory syscalls, which cost max(10, n/250) CU. The same rule is written here (our own
//! code; the syscalls are the runtime's). Upstream's versions are weak symbols, so these
//! replace them at link time (the profile build's listing shows which ones the program calls).
//!
//! The short paths use volatile accesses so that LLVM cannot turn them back into calls to the
//! very functions they implement.

use core::ptr::{read_volatile, write_volatile};

extern "C" {
    fn sol_memcpy_(dest: *mut u8, src: *const u8, n: u64);
    fn sol_memmove_(dest: *mut u8, src: *const u8, n: u64);
    fn sol_memset_(s: *mut u8, c: u8, n: u64);
    fn sol_memcmp_(s1: *const u8, s2: *const u8, n: u64, result: *mut i32);
}

/// Runs of more stores than this go to the syscall (Solana's threshold).
const MAX_INLINE_STORES: usize = 15;

/// Stores an 8-byte-chunked loop needs for `n` bytes: n/8 words and n%8 bytes.
#[inline(always)]
fn stores(n: usize) -> usize {
    n / 8 + n % 8
}

/// Whether both pointers allow 8-byte accesses (the VM allows unaligned ones; Rust does not).
#[inline(always)]
fn aligned(a: usize, b: usize) -> bool {
    (a | b) % 8 == 0
}

/// # Safety
/// As C's `memcpy`: `dest` and `src` valid for `n` bytes and not overlapping.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if stores(n) > MAX_INLINE_STORES {
        sol_memcpy_(dest, src, n as u64);
        return dest;
    }
    let mut i = 0;
    if aligned(dest as usize, src as usize) {
        while n - i >= 8 {
            write_volatile(
                dest.add(i) as *mut u64,
                read_volatile(src.add(i) as *const u64),
            );
            i += 8;
        }
    }
    while i < n {
        write_volatile(dest.add(i), read_volatile(src.add(i)));
        i += 1;
    }
    dest
}

/// # Safety
/// As C's `memmove`: `dest` and `src` valid for `n` bytes (they may overlap).
#[no_mangle]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if stores(n) > MAX_INLINE_STORES {
        sol_memmove_(dest, src, n as u64);
        return dest;
    }
    // Short: byte by byte, in the direction that never reads a byte already overwritten.
    if (src as usize) < (dest as usize) {
        let mut i = n;
        while i > 0 {
            i -= 1;
            write_volatile(dest.add(i), read_volatile(src.add(i)));
        }
    } else {
        let mut i = 0;
        while i < n {
            write_volatile(dest.add(i), read_volatile(src.add(i)));
            i += 1;
        }
    }
    dest
}

/// # Safety
/// As C's `memset`: `s` valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memset(s: *mut u8, c: i32, n: usize) -> *mut u8 {
    let byte = c as u8;
    if stores(n) > MAX_INLINE_STORES {
        sol_memset_(s, byte, n as u64);
        return s;
    }
    let mut i = 0;
    if aligned(s as usize, 0) {
        let word = u64::from_ne_bytes([byte; 8]);
        while n - i >= 8 {
            write_volatile(s.add(i) as *mut u64, word);
            i += 8;
        }
    }
    while i < n {
        write_volatile(s.add(i), byte);
        i += 1;
    }
    s
}

/// # Safety
/// As C's `memcmp`: `s1` and `s2` valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memcmp(s1: *const u8, s2: *const u8, n: usize) -> i32 {
    if stores(n) > MAX_INLINE_STORES {
        let mut result = 0i32;
        sol_memcmp_(s1, s2, n as u64, &mut result);
        return result;
    }
    let mut i = 0;
    while i < n {
        let (a, b) = (read_volatile(s1.add(i)), read_volatile(s2.add(i)));
        if a != b {
            return a as i32 - b as i32;
        }
        i += 1;
    }
    0
}
