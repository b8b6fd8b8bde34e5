//! keel-wasm: the margin engine (keel-state's `compute_margin` on keel-risk) for the browser,
//! with a plain C ABI so the page needs no generated glue (`sdk/ts/src/engine.ts` loads it).
//!
//! - [`frame`]: the input, account bytes exactly as fetched from the chain, length-prefixed.
//! - [`whatif`]: the computation keel-client's `Snapshot::margin_detail` performs, optionally
//!   with every oracle price moved and every market's vol scaled.
//! - [`report`]: the result as JSON in the shape of the program's `MarginReport` event.
//!
//! Built by `scripts/build-wasm.sh` (`wasm32-unknown-unknown`, release). The same code runs
//! natively in this crate's tests, which compare it with keel-client's figures; the SDK's tests
//! compare the WebAssembly build with the native outputs (`sdk/ts/test/fixtures/engine.json`).

pub mod frame;
pub mod report;
pub mod whatif;

use std::alloc::{alloc, dealloc, Layout};

/// Allocates `len` bytes for the caller to write an input into.
#[no_mangle]
pub extern "C" fn keel_alloc(len: usize) -> *mut u8 {
    if len == 0 {
        return core::ptr::NonNull::dangling().as_ptr();
    }
    // SAFETY: non-zero size, alignment 1.
    unsafe { alloc(Layout::from_size_align(len, 1).expect("layout")) }
}

/// Frees what [`keel_alloc`] (or an output of this module) allocated.
///
/// # Safety
/// `ptr`/`len` must come from [`keel_alloc`] or an output pointer/length of this module.
#[no_mangle]
pub unsafe extern "C" fn keel_free(ptr: *mut u8, len: usize) {
    if len != 0 {
        dealloc(ptr, Layout::from_size_align(len, 1).expect("layout"));
    }
}

/// Leaks `s` into memory the caller frees with [`keel_free`]; returns `ptr << 32 | len`.
fn output(s: String) -> u64 {
    let bytes = s.into_bytes().into_boxed_slice();
    let len = bytes.len();
    let ptr = Box::into_raw(bytes) as *mut u8;
    ((ptr as usize as u64) << 32) | len as u64
}

/// The margin of the account in the frame at `ptr`/`len` ([`frame::Frame`]), as JSON
/// ([`report`]); `{"error": …}` when it cannot be computed. Returns `ptr << 32 | len`.
///
/// # Safety
/// `ptr`/`len` must describe readable memory.
#[no_mangle]
pub unsafe extern "C" fn keel_margin(ptr: *const u8, len: usize) -> u64 {
    let input = core::slice::from_raw_parts(ptr, len);
    output(whatif::margin_json(input))
}

/// The oracle price per contract of each market in the frame (identity checked as the program
/// checks it), as JSON. Returns `ptr << 32 | len`.
///
/// # Safety
/// `ptr`/`len` must describe readable memory.
#[no_mangle]
pub unsafe extern "C" fn keel_prices(ptr: *const u8, len: usize) -> u64 {
    let input = core::slice::from_raw_parts(ptr, len);
    output(whatif::prices_json(input))
}

/// Every scenario number's description (keel-risk's `ScenarioName`, as `keel margin` prints
/// them), as a JSON array indexed by scenario number. Returns `ptr << 32 | len`.
#[no_mangle]
pub extern "C" fn keel_scenario_names() -> u64 {
    output(report::scenario_names())
}
