//! Measurement builds only (feature `cu-trace`, scripts/measure-margin-check.sh): the VM's
//! remaining-units log around a section, so the section's compute units are read from the
//! transaction log of the real bytecode. Off-chain it does nothing.

/// Logs `Program consumption: N units remaining` (the `sol_log_compute_units_` syscall, which
/// itself costs the VM's syscall base cost, 100 CU in agave 4.2).
#[inline(always)]
pub fn log_compute_units() {
    #[cfg(target_os = "solana")]
    // SAFETY: a syscall without arguments; it only writes to the transaction log.
    unsafe {
        anchor_lang::compat::solana_define_syscall::definitions::sol_log_compute_units_()
    };
}
