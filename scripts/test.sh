#!/usr/bin/env bash
# The project's test command: README's second command, and what .ci/run runs after fmt and clippy.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked
