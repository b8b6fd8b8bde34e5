#!/usr/bin/env bash
# Builds the Keel program itself (programs/keel, Anchor 1.2.2, full std) to Solana bytecode: an
# SBPF v3 keel.so, with upstream Rust 1.99.0, a patched copy of its std sources and sbpf-linker
# 0.2.6 instead of Solana's platform-tools (toolchain/sbf/README.md says what is patched and why).
#
#   scripts/build-program-sbf.sh        install what is missing, build $OUT/deploy/keel.so
#   scripts/build-program-sbf.sh --asm  also write $OUT/deploy/keel.s (the linker's assembly
#                                       listing) and print the largest stack frames
#   scripts/build-program-sbf.sh --cu-trace
#                                       a measurement build instead: $OUT/deploy/keel-cu-trace.so,
#                                       with the feature `cu-trace` (margin_report logs the
#                                       remaining units around its margin check)
#
# OUT is $CARGO_TARGET_DIR when set, else target/ (so CI can point every build at one cached
# target dir). Under OUT/sbf-program it keeps the patched library, the assembled i128 shims and
# the cargo target dir of this build; later runs reuse them (a no-change rebuild takes seconds).
#
# Installing is idempotent and pinned (scripts/sbf-toolchain.sh): Rust 1.99.0 with rust-src and
# llvm-tools, sbpf-linker 0.2.6. The deploy path stays `anchor build` with Solana's toolchain
# (toolchain/sbf/README.md, "What differs from anchor build").
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

asm=0
features=()
name=keel
case "${1:-}" in
  "") ;;
  --asm) asm=1 ;;
  # Its own cargo target dir: the deployable keel.so must never be the traced build's output.
  --cu-trace) features=(--features cu-trace); name=keel-cu-trace ;;
  *) echo "usage: scripts/build-program-sbf.sh [--asm | --cu-trace]" >&2; exit 2 ;;
esac

SBF_LOG_TAG=build-program-sbf
# shellcheck source=scripts/sbf-toolchain.sh
. scripts/sbf-toolchain.sh
sbf_install_toolchain

out=${CARGO_TARGET_DIR:-$repo/target}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$out/sbf-program
spec=$repo/toolchain/sbf/sbf-solana-solana.json
patch=$repo/toolchain/sbf/rust-src-solana.patch
shims=$repo/toolchain/sbf/sbf-i128-shims.ll
sysroot=$(rustc "+$RUST_SBF" --print sysroot)
target_dir=$work/target
[ "$name" = keel ] || target_dir=$work/target-$name

# --- patched std sources: re-made whenever the patch or the toolchain changes ------------------
stamp="$RUST_SBF $(sha256sum "$patch" | cut -d' ' -f1)"
marker=$work/rust-src/library/std/src/sys/pal/solana/mod.rs  # a file the patch creates
if [ "$(cat "$work/rust-src/.patched" 2>/dev/null)" != "$stamp" ] || [ ! -f "$marker" ]; then
  sbf_log "patching a copy of Rust ${RUST_SBF}'s library sources"
  rm -rf "$work/rust-src"
  mkdir -p "$work/rust-src"
  cp -a "$sysroot/lib/rustlib/src/rust/library" "$work/rust-src/"
  # GIT_CEILING_DIRECTORIES: when the target dir lies inside a git work tree (target/ of a
  # clone), git apply would treat the copy as part of that repository and silently skip every
  # file of the patch as outside the index ("Skipped patch", exit 0). Stop git from finding it.
  (cd "$work/rust-src" && GIT_CEILING_DIRECTORIES="$work" git apply -p1 "$patch")
  if [ ! -f "$marker" ]; then
    sbf_log "the std patch did not apply ($patch)"
    exit 1
  fi
  # Cargo does not track the library sources of -Z build-std: drop the std crates' fingerprints
  # so they are rebuilt from the new copy.
  rm -rf "$target_dir"/sbf-solana-solana/release/.fingerprint/{std,alloc,core,panic_abort,compiler_builtins}-*
  echo "$stamp" > "$work/rust-src/.patched"
fi

# --- i128 libcall shims ------------------------------------------------------------------------
"$sysroot/lib/rustlib/x86_64-unknown-linux-gnu/bin/llvm-as" "$shims" -o "$work/sbf-i128-shims.bc"

# --- build -------------------------------------------------------------------------------------
# -Z build-std and a JSON target spec need RUSTC_BOOTSTRAP on a stable toolchain;
# __CARGO_TESTS_ONLY_SRC_ROOT (a cargo-internal hook) points build-std at the patched library.
# rustc's LTO stays off: sbpf-linker links the crates' bitcode itself. lower-atomic turns the
# atomics std uses into plain loads/stores (single-threaded VM; the BPF backend cannot select
# them). The stack frame is Solana's 4 KiB.
export RUSTC_BOOTSTRAP=1 RUSTC_BOOTSTRAP_SYNTHETIC_TARGET=1 CARGO_PROFILE_RELEASE_LTO=false
export __CARGO_TESTS_ONLY_SRC_ROOT="$work/rust-src/library"
export RUSTFLAGS="-C linker=sbpf-linker -C panic=abort -C relocation-model=static -C passes=lower-atomic -C link-arg=--llvm-args=-bpf-stack-size=4096 -C link-arg=$work/sbf-i128-shims.bc"
CARGO_TARGET_DIR="$target_dir" cargo "+$RUST_SBF" build --release --locked -p keel \
  "${features[@]}" \
  --target "$spec" -Z build-std=std,panic_abort -Z build-std-features=compiler-builtins-mem \
  -Z json-target-spec

mkdir -p "$out/deploy"
cp "$target_dir/sbf-solana-solana/release/libkeel.so" "$out/deploy/$name.so"
sbf_log "built $out/deploy/$name.so ($(wc -c < "$out/deploy/$name.so") bytes)"

if [ "$asm" = 1 ]; then
  # sbpf-linker writes the listing to the output path and then fails to read it back as an
  # object: the listing is what we want, so that failure is expected. `cargo rustc` gives the
  # flag to keel's link only (other cdylibs in the graph would stop the build first).
  CARGO_TARGET_DIR="$work/asm" cargo "+$RUST_SBF" rustc --release --locked -p keel --lib \
    --target "$spec" -Z build-std=std,panic_abort -Z build-std-features=compiler-builtins-mem \
    -Z json-target-spec -- -C link-arg=--emit=asm >/dev/null 2>&1 || true
  listing="$work/asm/sbf-solana-solana/release/deps/libkeel.so"
  if ! head -c 200 "$listing" 2>/dev/null | grep -q '\.file'; then
    sbf_log "no assembly listing was produced"
    exit 1
  fi
  cp "$listing" "$out/deploy/keel.s"
  sbf_log "wrote $out/deploy/keel.s; largest stack frames (bytes below r10, of 4096; arguments"
  sbf_log "past the fifth are r11-relative and not counted):"
  awk '/\.type.*@function/ { sub(/^[ \t]*\.type[ \t]*/, ""); sub(/,@function.*/, ""); f = $0 }
       { s = $0; while (match(s, /r10 - [0-9]+/)) { n = substr(s, RSTART + 6, RLENGTH - 6) + 0;
           if (n > max[f]) max[f] = n; s = substr(s, RSTART + RLENGTH) } }
       END { for (f in max) print max[f], f }' "$out/deploy/keel.s" | sort -rn | head -5 >&2
fi
