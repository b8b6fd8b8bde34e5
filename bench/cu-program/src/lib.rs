//! Keel's compute-unit benchmark: keel-risk run on account bytes in keel-state's layout, inside
//! the SBF VM.
//!
//! Built for SBF by `scripts/build-sbf.sh` into `target/deploy/keel_cu_bench.so`, the program
//! ([`program`], only on `target_arch = "bpf"`) reads a margin account, its markets, their Pyth
//! `PriceUpdateV2` oracle accounts, the markets' risk-array pages and the exchange zero-copy,
//! exactly as `programs/keel` does (`controller::margin`, `crank_arrays`), runs one benchmark
//! [`Case`] and writes the result words and the compute units the measured section used into an
//! output account. The harness (`bench/cu-harness`)
//! recomputes every result natively and compares the words bit for bit.
//!
//! This library half ([`request`]) is what both sides share: the case numbers, the instruction
//! data and account order, the output layout, how elementary-function inputs are derived from
//! position bytes, and how results are flattened into words.
#![cfg_attr(target_arch = "bpf", no_std)]
#![deny(missing_docs)]

pub mod request;

#[cfg(target_arch = "bpf")]
mod mem;
#[cfg(target_arch = "bpf")]
mod program;

pub use request::*;
