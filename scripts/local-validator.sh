#!/usr/bin/env bash
# A local solana-test-validator (agave 4.2.2) with the Keel program as built here (keel.so,
# upgradeable, with a known upgrade authority: init_exchange accepts only that key) and the local
# push oracle (localnet/oracle) loaded. For the tests, `keel demo --validator`, and anyone who
# wants a chain to point the CLI, the keeper or an SDK at.
#
#   scripts/local-validator.sh                 start in the background, wait until it serves,
#                                              print what it is (key=value lines, below)
#   scripts/local-validator.sh --foreground    run attached (Ctrl-C stops it)
#   scripts/local-validator.sh --stop          stop the one started with the same --ledger
#
# Options:
#   --ledger DIR            ledger directory (default: $OUT/local-validator/ledger); reset on start
#   --authority KEYPAIR     Keel's upgrade authority, funded with 500M SOL at genesis (default:
#                           DIR/../authority.json, created when missing)
#   --so PATH               keel.so (default: $OUT/deploy/keel.so, built when missing)
#   --rpc-port N            JSON-RPC port (default 8899; websocket on N+1)
#   --faucet-port N         faucet port (default 9900)
#   --gossip-port N         gossip port (default 8001)
#   --dynamic-port-range A-B  (default 8002-8035)
#   -- ARGS                 passed to solana-test-validator (e.g. --account ADDRESS FILE)
#
# Printed on success: rpc_url, ws_url, pid, ledger, authority (keypair file), authority_pubkey,
# keel_program, local_oracle_program, keel_so. The validator's own log is DIR/validator.log.
#
# The binary: $KEEL_TEST_VALIDATOR, else solana-test-validator on PATH. Build it once (about 21
# minutes on 2 cores):
#   apt-get install -y libclang-dev protobuf-compiler libudev-dev pkg-config libssl-dev cmake
#   cargo install agave-validator --version 4.2.2 --locked --bin solana-test-validator
# OUT is $CARGO_TARGET_DIR when set, else target/. keel.so is built by
# scripts/build-program-sbf.sh, the oracle by scripts/build-local-oracle.sh (both install their
# pinned toolchain when missing; later runs take seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

log() { echo "local-validator: $*" >&2; }

out=${CARGO_TARGET_DIR:-target}
mkdir -p "$out"
out=$(cd "$out" && pwd)
ledger=$out/local-validator/ledger
authority=""
so=""
rpc_port=8899
faucet_port=9900
gossip_port=8001
dynamic_range=8002-8035
mode=background
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --ledger) ledger=$2; shift 2 ;;
    --authority) authority=$2; shift 2 ;;
    --so) so=$2; shift 2 ;;
    --rpc-port) rpc_port=$2; shift 2 ;;
    --faucet-port) faucet_port=$2; shift 2 ;;
    --gossip-port) gossip_port=$2; shift 2 ;;
    --dynamic-port-range) dynamic_range=$2; shift 2 ;;
    --foreground) mode=foreground; shift ;;
    --stop) mode=stop; shift ;;
    --) shift; extra=("$@"); break ;;
    *) log "unknown option $1 (see the head of $0)"; exit 2 ;;
  esac
done
mkdir -p "$(dirname "$ledger")"
ledger=$(cd "$(dirname "$ledger")" && pwd)/$(basename "$ledger")
pidfile=$ledger.pid

if [ "$mode" = stop ]; then
  if [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null; then
    log "stopped $(cat "$pidfile")"
  fi
  rm -f "$pidfile"
  exit 0
fi

validator=${KEEL_TEST_VALIDATOR:-$(command -v solana-test-validator || true)}
if [ -z "$validator" ] || [ ! -x "$validator" ]; then
  log "solana-test-validator not found: set KEEL_TEST_VALIDATOR, or build it (about 21 minutes):"
  log "  apt-get install -y libclang-dev protobuf-compiler libudev-dev pkg-config libssl-dev cmake"
  log "  cargo install agave-validator --version 4.2.2 --locked --bin solana-test-validator"
  exit 3
fi

if [ -z "$so" ]; then
  so=$out/deploy/keel.so
  [ -f "$so" ] || scripts/build-program-sbf.sh >&2
fi
[ -f "$out/deploy/keel_local_oracle.so" ] || scripts/build-local-oracle.sh >&2
oracle_so=$out/deploy/keel_local_oracle.so

# A keypair file (Solana CLI format: a JSON array of the 32-byte seed and the 32-byte public
# key) made with openssl; its public key in base58.
new_keypair() {
  local der
  der=$(mktemp)
  openssl genpkey -algorithm ed25519 -outform DER -out "$der" 2>/dev/null
  python3 - "$der" "$1" <<'PY'
import json, subprocess, sys
der = open(sys.argv[1], "rb").read()
pub = subprocess.run(["openssl", "pkey", "-inform", "DER", "-pubout", "-outform", "DER"],
                     input=der, capture_output=True, check=True).stdout
json.dump(list(der[-32:] + pub[-32:]), open(sys.argv[2], "w"))
PY
  rm -f "$der"
}
pubkey_of() {
  python3 - "$1" <<'PY'
import json, sys
A = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
b = bytes(json.load(open(sys.argv[1]))[32:64])
n = int.from_bytes(b, "big"); s = ""
while n:
    n, r = divmod(n, 58); s = A[r] + s
print("1" * (len(b) - len(b.lstrip(b"\0"))) + s)
PY
}

if [ -z "$authority" ]; then
  authority=$(dirname "$ledger")/authority.json
  [ -f "$authority" ] || new_keypair "$authority"
fi
authority_pubkey=$(pubkey_of "$authority")
keel_id=$(sed -n 's/^declare_id!("\([1-9A-HJ-NP-Za-km-z]*\)");$/\1/p' programs/keel/src/lib.rs)
oracle_id=$(cat localnet/oracle/program-id)

args=(--ledger "$ledger" --reset --quiet --bind-address 127.0.0.1
  --rpc-port "$rpc_port" --faucet-port "$faucet_port" --gossip-port "$gossip_port"
  --dynamic-port-range "$dynamic_range"
  --mint "$authority_pubkey"
  --upgradeable-program "$keel_id" "$so" "$authority_pubkey"
  --bpf-program "$oracle_id" "$oracle_so"
  "${extra[@]}")

info() {
  echo "rpc_url=http://127.0.0.1:$rpc_port"
  echo "ws_url=ws://127.0.0.1:$((rpc_port + 1))"
  echo "pid=$1"
  echo "ledger=$ledger"
  echo "authority=$authority"
  echo "authority_pubkey=$authority_pubkey"
  echo "keel_program=$keel_id"
  echo "local_oracle_program=$oracle_id"
  echo "keel_so=$so"
}

if [ "$mode" = foreground ]; then
  info $$ >&2
  exec "$validator" "${args[@]}"
fi

rm -rf "$ledger"
mkdir -p "$ledger"
"$validator" "${args[@]}" > "$ledger.out" 2>&1 &
pid=$!
echo "$pid" > "$pidfile"
rpc() {
  curl -s -m 2 -X POST -H 'content-type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\"}" "http://127.0.0.1:$rpc_port"
}
# Serving, and past slot 1: programs in the genesis (SPL Token, keel.so) answer
# UnsupportedProgramId until then.
health() {
  rpc getHealth | grep -q '"ok"' &&
    [ "$(rpc getSlot | sed -n 's/.*"result":\([0-9]*\).*/\1/p')" -ge 2 ] 2>/dev/null
}
for _ in $(seq 1 240); do
  if health; then
    info "$pid"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    log "the validator exited:"
    tail -20 "$ledger.out" >&2 || true
    tail -20 "$ledger/validator.log" >&2 2>/dev/null || true
    rm -f "$pidfile"
    exit 1
  fi
  sleep 0.5
done
log "the validator did not serve within 120 s (log: $ledger/validator.log)"
kill "$pid" 2>/dev/null || true
rm -f "$pidfile"
exit 1
