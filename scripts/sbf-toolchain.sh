# Sourced by the SBF build scripts (scripts/build-sbf.sh, scripts/build-program-sbf.sh): installs,
# once and pinned, what building Solana bytecode with upstream Rust needs. Idempotent: each step
# checks first and does nothing when its piece is present.
#   - Rust 1.99.0 (rustup, minimal profile) with rust-src (for -Z build-std) and llvm-tools (its
#     llvm-as assembles toolchain/sbf/sbf-i128-shims.ll);
#   - sbpf-linker 0.2.6 (cargo install --locked, built with a nightly toolchain, which it needs).
# The main workspace keeps its own toolchain (rust-toolchain.toml); `+1.99.0` applies to these
# builds only. rustup and cargo install write to ~/.rustup and ~/.cargo/bin.

RUST_SBF=1.99.0
SBPF_LINKER=0.2.6

sbf_log() { echo "${SBF_LOG_TAG:-sbf}: $*" >&2; }

sbf_install_toolchain() {
  if ! rustup toolchain list | grep -q "^${RUST_SBF}-"; then
    sbf_log "installing Rust ${RUST_SBF} (minimal, rust-src, llvm-tools)"
    rustup toolchain install "$RUST_SBF" --profile minimal -c rust-src -c llvm-tools
  fi
  local installed
  installed=$(rustup component list --toolchain "$RUST_SBF" --installed)
  for c in rust-src llvm-tools; do
    if ! grep -q "^${c}" <<<"$installed"; then
      sbf_log "adding ${c} to Rust ${RUST_SBF}"
      rustup component add "$c" --toolchain "$RUST_SBF"
    fi
  done

  if ! sbpf-linker --version 2>/dev/null | grep -q " ${SBPF_LINKER}\$"; then
    if ! rustup toolchain list | grep -q '^nightly-'; then
      sbf_log "installing a nightly toolchain (sbpf-linker needs it to build)"
      rustup toolchain install nightly --profile minimal
    fi
    sbf_log "installing sbpf-linker ${SBPF_LINKER} (about 4 minutes on 2 cores)"
    # A target dir of its own, removed after: a CARGO_TARGET_DIR of the caller is left alone.
    local tmp
    tmp=$(mktemp -d)
    CARGO_TARGET_DIR="$tmp" cargo +nightly install sbpf-linker --version "$SBPF_LINKER" --locked
    rm -rf "$tmp"
  fi
}
