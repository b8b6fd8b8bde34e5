#!/usr/bin/env bash
# Runs Keel's compute-unit benchmark in the Solana VM (LiteSVM): every case for 1, 8, 16 and 32
# series, one JSON line per run on stdout, every result checked bit-for-bit against native
# keel-risk on the same account bytes. Exits non-zero on any mismatch or failed run.
#
#   scripts/bench-cu.sh                     build (scripts/build-sbf.sh) and run everything
#   scripts/bench-cu.sh --case margin --series 32
#   scripts/bench-cu.sh --profile DIR       CU profile of every run into DIR/<case>-<n>.txt
#                                           (by function and source line; builds the profile
#                                           variant with scripts/build-sbf.sh --profile)
#
# The harness (bench/cu-harness) is its own workspace (LiteSVM's agave 4.x graph conflicts with
# the main workspace's Anchor/Solana 3.x crates) built with the main toolchain into
# $KEEL_CU_HARNESS_TARGET_DIR (default: tests/sbf's harness directory, $KEEL_SBF_HARNESS_TARGET_DIR
# or OUT/sbf-harness, OUT being $CARGO_TARGET_DIR or target/, where scripts/build-sbf.sh puts the
# program). The two harnesses pin the same LiteSVM graph, so sharing the directory builds it
# once (and keeps a fresh CI run's disk down); its first build takes several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

profile_dir=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile_dir="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

out=${CARGO_TARGET_DIR:-target}
if [ -n "$profile_dir" ]; then
  scripts/build-sbf.sh --profile
  so=$out/sbf-profile/keel_cu_bench.so
  args+=(--profile "$profile_dir" --asm "$out/sbf-profile/keel_cu_bench.s")
  mkdir -p "$profile_dir"
else
  scripts/build-sbf.sh
  so=$out/deploy/keel_cu_bench.so
fi

harness_target="${KEEL_CU_HARNESS_TARGET_DIR:-${KEEL_SBF_HARNESS_TARGET_DIR:-$out/sbf-harness}}"
CARGO_TARGET_DIR="$harness_target" cargo build --locked --quiet --manifest-path bench/cu-harness/Cargo.toml
exec "$harness_target/debug/keel-cu-harness" --so "$so" "${args[@]}"
