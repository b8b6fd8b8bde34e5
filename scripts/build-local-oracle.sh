#!/usr/bin/env bash
# Builds the local push oracle (localnet/oracle: a no_std program whose price accounts the holder
# of their keypair writes) to Solana bytecode, into $OUT/deploy/keel_local_oracle.so, the way
# scripts/build-sbf.sh builds the CU benchmark: Rust 1.99.0's BPF target with -Z build-std,
# linked by sbpf-linker (installed, pinned, by scripts/sbf-toolchain.sh when missing).
#
# OUT is $CARGO_TARGET_DIR when set, else target/. A no-change rebuild takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."

SBF_LOG_TAG=build-local-oracle
# shellcheck source=scripts/sbf-toolchain.sh
. scripts/sbf-toolchain.sh
sbf_install_toolchain

out=${CARGO_TARGET_DIR:-target}
mkdir -p "$out/deploy"
out=$(cd "$out" && pwd)
RUSTC_BOOTSTRAP=1 CARGO_PROFILE_RELEASE_LTO=false CARGO_TARGET_DIR="$out/sbf-local-oracle" \
  RUSTFLAGS="-C linker=sbpf-linker -C panic=abort -C relocation-model=static -C link-arg=--llvm-args=-bpf-stack-size=4096" \
  cargo "+$RUST_SBF" build --locked --release --quiet \
    --manifest-path localnet/oracle/Cargo.toml \
    --target bpfel-unknown-none -Z build-std=core,alloc
cp "$out/sbf-local-oracle/bpfel-unknown-none/release/libkeel_local_oracle.so" "$out/deploy/keel_local_oracle.so"
sbf_log "built $out/deploy/keel_local_oracle.so ($(wc -c < "$out/deploy/keel_local_oracle.so") bytes)"
