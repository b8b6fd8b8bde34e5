#!/usr/bin/env bash
# Keel's integration scenarios against the SBF bytecode: builds keel.so
# (scripts/build-program-sbf.sh, installing its pinned toolchain when missing), runs tests/sbf
# in LiteSVM 0.16 -- the lifecycle, bankruptcy, pump and random scenarios, the fuzzer's
# deterministic slice, and the compute-unit sweep at 1/8/16/32 series over 1 and 4 markets
# (tests/scenario), conservation after every step, every instruction's CU against
# tests/sbf/budgets.toml -- then the same runs on the bank (the program registered natively),
# which must give the same events, outcomes and final balances byte for byte.
#
#   scripts/test-sbf.sh                 build and check (what CI runs)
#   scripts/test-sbf.sh --record        print the measured figures as a budget file instead
#   scripts/test-sbf.sh --shapes 8x1    only these sweep shapes
#   (with options, the bank comparison is skipped)
#
# Target dirs: keel.so under $CARGO_TARGET_DIR (default target/), the harness (its own
# workspace: LiteSVM's agave 4.x graph) under $KEEL_SBF_HARNESS_TARGET_DIR (default
# <that>/sbf-harness); the bank comparison reuses the main workspace's test build (the one
# scripts/test.sh makes). From a fresh machine on 2 cores: ~5 min toolchain, ~3 min keel.so,
# ~6 min harness; later runs take seconds plus the scenarios (~15 s).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build-program-sbf.sh
out=${CARGO_TARGET_DIR:-target}
harness_target=${KEEL_SBF_HARNESS_TARGET_DIR:-$out/sbf-harness}
transcripts=$out/sbf-transcripts
# The harness's own lock file pins the LiteSVM graph; the main toolchain builds it.
CARGO_TARGET_DIR="$harness_target" cargo test --locked --quiet --manifest-path tests/sbf/Cargo.toml
CARGO_TARGET_DIR="$harness_target" cargo build --locked --quiet --manifest-path tests/sbf/Cargo.toml
rm -rf "$transcripts"
"$harness_target/debug/keel-sbf-tests" --so "$out/deploy/keel.so" --budgets tests/sbf/budgets.toml \
  --transcripts "$transcripts" "$@"
# With options (--record, --shapes) this is a measurement run: no bank comparison.
[ $# -eq 0 ] || exit 0

# --workspace: the same features, so the same artifacts, as scripts/test.sh's build.
KEEL_SBF_TRANSCRIPTS="$(cd "$transcripts" && pwd)" \
  cargo test --workspace --locked --test bank shared_scenarios
