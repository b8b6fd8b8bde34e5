//! Coverage-guided instruction sequences: libFuzzer's bytes decoded into Keel actions by
//! `keel_fuzz::next_action`, run on a fresh bank, every invariant checked after every step.
//!
//!   cd fuzz/cargo-fuzz && cargo +nightly fuzz run sequence ../corpus -- -max_len=12000
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    keel_fuzz::run_bytes(data, 500);
});
