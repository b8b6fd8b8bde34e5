// Program-derived addresses of Keel's accounts: the same derivations as keel-client's `pda`
// (the program derives every account from these seeds; keel_state::seeds).

import { Buffer } from "buffer";
import { PublicKey } from "@solana/web3.js";
import { PROGRAM_ID } from "./program";

/** The BPF upgradeable loader (owner of the program's ProgramData account). */
export const BPF_LOADER_UPGRADEABLE = new PublicKey("BPFLoaderUpgradeab1e11111111111111111111111");
/** Pyth's push-oracle program: the sponsored price feed accounts of the pull oracle. */
export const PYTH_PUSH_ORACLE = new PublicKey("pythWSnswVUd12oZpeFP8e9CVaEqJg25g1Vtc2biRsT");
/** Pyth's pull-oracle receiver program (owner of `PriceUpdateV2` accounts). */
export const PYTH_RECEIVER = new PublicKey("rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ");

const utf8 = (s: string) => Buffer.from(s, "utf8");

function le(value: number, bytes: 2 | 4): Buffer {
  const b = Buffer.alloc(bytes);
  if (bytes === 2) b.writeUInt16LE(value);
  else b.writeUInt32LE(value);
  return b;
}

function find(seeds: Buffer[], program = PROGRAM_ID): PublicKey {
  return PublicKey.findProgramAddressSync(seeds, program)[0];
}

/** `["exchange"]`: one exchange per deployment. */
export function exchangePda(): PublicKey {
  return find([utf8("exchange")]);
}

/** The program's ProgramData account (`init_exchange` reads its upgrade authority). */
export function programDataPda(): PublicKey {
  return find([PROGRAM_ID.toBuffer()], BPF_LOADER_UPGRADEABLE);
}

/** `["vault", exchange]`: the quote token account. */
export function vaultPda(exchange: PublicKey): PublicKey {
  return find([utf8("vault"), exchange.toBuffer()]);
}

/** Ledger shards per exchange (keel_state::LEDGER_SHARDS). */
export const LEDGER_SHARDS = 4;

/** `["ledger", exchange, index u8]`: ledger shard `index` (keel_state::ledger). */
export function ledgerPda(exchange: PublicKey, index: number): PublicKey {
  return find([utf8("ledger"), exchange.toBuffer(), Buffer.from([index])]);
}

/** Every ledger shard of `exchange`, index 0 first. */
export function ledgerPdas(exchange: PublicKey): PublicKey[] {
  return Array.from({ length: LEDGER_SHARDS }, (_, i) => ledgerPda(exchange, i));
}

/** `["market", exchange, index u16 LE]`. */
export function marketPda(exchange: PublicKey, index: number): PublicKey {
  return find([utf8("market"), exchange.toBuffer(), le(index, 2)]);
}

/** `["series", market, index u32 LE]`. */
export function seriesPda(market: PublicKey, index: number): PublicKey {
  return find([utf8("series"), market.toBuffer(), le(index, 4)]);
}

/** `["margin", exchange, owner, account_id u32 LE]`. */
export function marginAccountPda(exchange: PublicKey, owner: PublicKey, accountId: number): PublicKey {
  return find([utf8("margin"), exchange.toBuffer(), owner.toBuffer(), le(accountId, 4)]);
}

/** `["correlation", market_a, market_b]` (a's index < b's). */
export function correlationPda(marketA: PublicKey, marketB: PublicKey): PublicKey {
  return find([utf8("correlation"), marketA.toBuffer(), marketB.toBuffer()]);
}

/** The Pyth sponsored price feed account of `feedId` on `shard` (push-oracle PDA). */
export function pythFeedAccount(feedId: Uint8Array | number[], shard = 0): PublicKey {
  return find([le(shard, 2), Buffer.from(feedId)], PYTH_PUSH_ORACLE);
}
