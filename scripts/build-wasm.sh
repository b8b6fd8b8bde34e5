#!/usr/bin/env bash
# Builds the margin engine for the browser (crates/wasm: keel-state + keel-risk compiled to
# WebAssembly, release) and copies it to sdk/ts/wasm/keel_wasm.wasm, where the SDK's tests and
# the dashboard's build read it. Installs the wasm32-unknown-unknown target of the pinned
# toolchain when missing. OUT is $CARGO_TARGET_DIR when set, else target/.
set -euo pipefail
cd "$(dirname "$0")/.."
toolchain=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
if ! rustup target list --installed --toolchain "$toolchain" | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown --toolchain "$toolchain"
fi
out=${CARGO_TARGET_DIR:-target}
cargo build --locked --release -p keel-wasm --lib --target wasm32-unknown-unknown
mkdir -p sdk/ts/wasm
cp "$out/wasm32-unknown-unknown/release/keel_wasm.wasm" sdk/ts/wasm/keel_wasm.wasm
echo "build-wasm: sdk/ts/wasm/keel_wasm.wasm ($(wc -c < sdk/ts/wasm/keel_wasm.wasm) bytes)"
