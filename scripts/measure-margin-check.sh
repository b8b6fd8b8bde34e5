#!/usr/bin/env bash
# Issue 18's margin-check target measured on the program's own bytecode: builds a measurement
# variant of keel.so (scripts/build-program-sbf.sh --cu-trace: margin_report logs the remaining
# compute units just before it loads the markets, oracles and pages and just after the margin is
# computed), runs the tests/sbf sweep in LiteSVM and prints that section's compute units at each
# shape, failing above the target. A benchmark, not part of CI (it builds a second keel.so).
#
#   scripts/measure-margin-check.sh                 every sweep shape, target 50,000 CU
#   scripts/measure-margin-check.sh 32x1,32x4       these shapes
#   MAX=49000 scripts/measure-margin-check.sh ...   another target
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build-program-sbf.sh --cu-trace
out=${CARGO_TARGET_DIR:-target}
harness_target=${KEEL_SBF_HARNESS_TARGET_DIR:-$out/sbf-harness}
CARGO_TARGET_DIR="$harness_target" cargo build --locked --quiet --manifest-path tests/sbf/Cargo.toml
"$harness_target/debug/keel-sbf-tests" --so "$out/deploy/keel-cu-trace.so" \
  --margin-check "${MAX:-50000}" --shapes "${1:-1x1,8x1,16x1,32x1,8x4,16x4,32x4}"
