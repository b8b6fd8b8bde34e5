//! A push oracle for local chains (solana-test-validator): nobody posts Pyth updates there, so
//! Keel's markets on a local chain read price accounts this program owns.
//!
//! One instruction, `write`: the account to write (writable, **signer**, owned by this program)
//! is the only account; the data is `[0, offset: u32 LE, bytes...]` and `bytes` are copied to
//! `offset` of the account's data. The authority is the price account's own keypair: whoever
//! created the account (system `create_account` with this program as owner, which the account
//! signs) is the only one who can ever write it. The program does not interpret the bytes: the
//! publisher writes a legacy Pyth v2 price account (`keel_client::oracle::legacy_price_account`)
//! for a market whose oracle is `pyth-legacy` with this program as owner — the path Keel's
//! oracle module accepts from any owner program the admin names — or a `PriceUpdateV2` when the
//! program is loaded at the Pyth receiver's address. Keel itself judges every update (owner,
//! pinned account, layout, status, staleness, confidence, forward-only publish times).
//!
//! Errors (custom program error codes): 1 malformed instruction, 2 no account, 3 the account
//! did not sign, 4 not writable, 5 not owned by this program, 6 the write runs past its data.
#![cfg_attr(target_arch = "bpf", no_std)]

/// Instruction tag of `write`.
pub const WRITE: u8 = 0;

/// The error codes.
pub mod error {
    /// Data shorter than the tag and offset, or an unknown tag.
    pub const MALFORMED: u64 = 1;
    /// No account passed.
    pub const NO_ACCOUNT: u64 = 2;
    /// The account is not a signer.
    pub const NOT_SIGNER: u64 = 3;
    /// The account is not writable.
    pub const NOT_WRITABLE: u64 = 4;
    /// The account is not owned by this program.
    pub const WRONG_OWNER: u64 = 5;
    /// `offset + len` exceeds the account's data.
    pub const OUT_OF_BOUNDS: u64 = 6;
}

/// The instruction data of `write` as one buffer (host side).
#[cfg(not(target_arch = "bpf"))]
pub fn encode_write(offset: u32, bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(5 + bytes.len());
    v.push(WRITE);
    v.extend_from_slice(&offset.to_le_bytes());
    v.extend_from_slice(bytes);
    v
}

/// Decodes `write`'s data into (offset, bytes).
pub fn decode_write(data: &[u8]) -> Result<(usize, &[u8]), u64> {
    if data.len() < 5 || data[0] != WRITE {
        return Err(error::MALFORMED);
    }
    let offset = u32::from_le_bytes([data[1], data[2], data[3], data[4]]) as usize;
    Ok((offset, &data[5..]))
}

#[cfg(target_arch = "bpf")]
mod program {
    use crate::{decode_write, error};

    extern "C" {
        fn abort() -> !;
    }

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        unsafe { abort() }
    }

    /// Bytes the loader reserves after each account's data for growth.
    const MAX_PERMITTED_DATA_INCREASE: usize = 10 * 1024;

    /// The program's entrypoint: parses the aligned `bpf_loader` input (accounts, then the
    /// instruction data, then the program id) and runs `write`.
    ///
    /// # Safety
    /// `input` is the loader's serialized input.
    #[no_mangle]
    pub unsafe extern "C" fn entrypoint(input: *mut u8) -> u64 {
        let mut p = input;
        let n = (p as *const u64).read();
        p = p.add(8);
        if n == 0 {
            return error::NO_ACCOUNT;
        }
        // The first account (never a duplicate): dup marker, signer, writable, executable,
        // 4 padding, key, owner, lamports, data length, data, growth room, alignment, rent epoch.
        let first = p;
        let signer = *first.add(1) != 0;
        let writable = *first.add(2) != 0;
        let owner = core::slice::from_raw_parts(first.add(8 + 32), 32);
        let len = (first.add(8 + 32 + 32 + 8) as *const u64).read() as usize;
        let data = first.add(8 + 32 + 32 + 8 + 8);
        // Skip every account to reach the instruction data.
        for i in 0..n {
            if i > 0 && *p != u8::MAX {
                p = p.add(8); // a duplicate: its index and padding
                continue;
            }
            let l = (p.add(8 + 32 + 32 + 8) as *const u64).read() as usize;
            p = p.add(8 + 32 + 32 + 8 + 8 + l + MAX_PERMITTED_DATA_INCREASE);
            p = p.add(p.align_offset(8));
            p = p.add(8);
        }
        let ix_len = (p as *const u64).read() as usize;
        let ix = core::slice::from_raw_parts(p.add(8), ix_len);
        let program_id = core::slice::from_raw_parts(p.add(8 + ix_len), 32);
        let (offset, bytes) = match decode_write(ix) {
            Ok(w) => w,
            Err(e) => return e,
        };
        if !signer {
            return error::NOT_SIGNER;
        }
        if !writable {
            return error::NOT_WRITABLE;
        }
        if owner != program_id {
            return error::WRONG_OWNER;
        }
        match offset.checked_add(bytes.len()) {
            Some(end) if end <= len => {}
            _ => return error::OUT_OF_BOUNDS,
        }
        let dst = core::slice::from_raw_parts_mut(data.add(offset), bytes.len());
        dst.copy_from_slice(bytes);
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_round_trips() {
        let d = encode_write(208, &[1, 2, 3]);
        assert_eq!(decode_write(&d), Ok((208, &[1u8, 2, 3][..])));
        assert_eq!(decode_write(&[0, 1, 0]), Err(error::MALFORMED));
        assert_eq!(decode_write(&[9, 0, 0, 0, 0]), Err(error::MALFORMED));
    }
}
