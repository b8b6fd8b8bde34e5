#!/usr/bin/env bash
# Builds Keel's compute-unit benchmark program (bench/cu-program: keel-risk on keel-state account
# bytes, no_std) to Solana bytecode, into $OUT/deploy/keel_cu_bench.so.
#
#   scripts/build-sbf.sh             install what is missing, build $OUT/deploy/keel_cu_bench.so
#   scripts/build-sbf.sh --profile   also build $OUT/sbf-profile/keel_cu_bench.{so,s}: the same
#                                    program with line info and without the sbpf assembler's
#                                    peephole pass, plus its assembly listing, for
#                                    `scripts/bench-cu.sh --profile DIR` (a CU profile by
#                                    function and source line)
#
# Solana's own toolchain (platform-tools, `cargo build-sbf`) cannot be downloaded on our build
# machines, so this uses the upstream route (docs/performance.md, "How it is built"): Rust
# 1.99.0's BPF target with `-Z build-std`, linked by sbpf-linker into an SBPF v3 program.
# Installing is idempotent and pinned (scripts/sbf-toolchain.sh, shared with
# scripts/build-program-sbf.sh): Rust 1.99.0 with rust-src and llvm-tools, sbpf-linker 0.2.6.
#
# OUT is $CARGO_TARGET_DIR when set, else target/ (as scripts/build-program-sbf.sh). Cache-friendly:
# everything is built under OUT (OUT/sbf, OUT/sbf-profile) and reused when present.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=0
case "${1:-}" in
  "") ;;
  --profile) profile=1 ;;
  *) echo "usage: scripts/build-sbf.sh [--profile]" >&2; exit 2 ;;
esac

SBF_LOG_TAG=build-sbf
# shellcheck source=scripts/sbf-toolchain.sh
. scripts/sbf-toolchain.sh
log() { sbf_log "$@"; }
out=${CARGO_TARGET_DIR:-target}

# --- toolchain -------------------------------------------------------------------------------
sbf_install_toolchain

# --- build -----------------------------------------------------------------------------------
# -Z build-std needs RUSTC_BOOTSTRAP on a stable toolchain. rustc's own LTO stays off: sbpf-linker
# links the crates' bitcode itself (with LTO on, the link loses compiler-builtins symbols).
# The stack frame is Solana's 4 KiB.
export RUSTC_BOOTSTRAP=1
export CARGO_PROFILE_RELEASE_LTO=false
base_flags="-C linker=sbpf-linker -C panic=abort -C relocation-model=static -C link-arg=--llvm-args=-bpf-stack-size=4096"

build() { # target-dir extra-rustflags
  CARGO_TARGET_DIR="$1" RUSTFLAGS="$base_flags $2" \
    cargo "+$RUST_SBF" build --locked --release \
      --manifest-path bench/cu-program/Cargo.toml \
      --target bpfel-unknown-none -Z build-std=core,alloc
}

build "$out/sbf" ""
mkdir -p "$out/deploy"
cp "$out/sbf/bpfel-unknown-none/release/libkeel_cu_bench.so" "$out/deploy/keel_cu_bench.so"
log "built $out/deploy/keel_cu_bench.so ($(wc -c < "$out/deploy/keel_cu_bench.so") bytes)"

if [ "$profile" = 1 ]; then
  export CARGO_PROFILE_RELEASE_DEBUG=2
  prof_flags="-C link-arg=--btf -C link-arg=--sbpf-optimize=false"
  mkdir -p "$out/sbf-profile"
  build "$out/sbf-profile/so" "$prof_flags"
  cp "$out/sbf-profile/so/bpfel-unknown-none/release/libkeel_cu_bench.so" "$out/sbf-profile/keel_cu_bench.so"
  # sbpf-linker writes the listing to the output path and then fails to read it back as an
  # object: the listing is what we want, so that failure is expected here.
  build "$out/sbf-profile/asm" "$prof_flags -C link-arg=--emit=asm" >/dev/null 2>&1 || true
  listing="$out/sbf-profile/asm/bpfel-unknown-none/release/deps/libkeel_cu_bench.so"
  if ! head -c 200 "$listing" 2>/dev/null | grep -q '\.file'; then
    log "no assembly listing was produced"
    exit 1
  fi
  cp "$listing" "$out/sbf-profile/keel_cu_bench.s"
  # 128-bit and soft-float libcalls: the SBF VM faults inside them with this toolchain, and in
  # Solana's they are slow. Report every call from Keel's code (compiler-builtins' own are fine).
  calls=$(awk '/@function/ { f = $2 } /\tcall (__multi3|__[a-z]*ti3|__[a-z]*df[0-9]|__fix[a-z]*|__float[a-z]*)$/ { print f " -> " $2 }' \
    "$out/sbf-profile/keel_cu_bench.s" | grep -v '^__\|compiler_builtins' || true)
  if [ -n "$calls" ]; then
    log "128-bit/float libcalls from Keel code:"
    echo "$calls" >&2
  else
    log "no 128-bit or float libcalls in Keel code"
  fi
  log "built $out/sbf-profile/keel_cu_bench.{so,s}"
fi
