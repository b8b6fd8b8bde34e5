// Pyth pull-oracle `PriceUpdateV2` account data (pyth-solana-receiver-sdk's layout: Anchor
// discriminator, write authority, verification level, price message, posted slot; 134 bytes):
// read, and written for local chains and tests (keel-client's `oracle::price_update_v2`).

import { Buffer } from "buffer";
import { PublicKey } from "@solana/web3.js";

/** `sha256("account:PriceUpdateV2")[..8]`. */
export const PRICE_UPDATE_V2_DISCRIMINATOR = Buffer.from([34, 241, 35, 99, 157, 126, 244, 205]);
/** `PriceUpdateV2::LEN`. */
export const PRICE_UPDATE_V2_LEN = 134;

export interface PriceUpdate {
  writeAuthority: PublicKey;
  /** `null`: fully verified; else a partial verification with this many signatures. */
  partialSignatures: number | null;
  feedId: Buffer;
  price: bigint;
  conf: bigint;
  exponent: number;
  publishTime: number;
  prevPublishTime: number;
  emaPrice: bigint;
  emaConf: bigint;
  postedSlot: bigint;
}

/** `PriceUpdateV2` account data, padded to its length. */
export function encodePriceUpdateV2(u: PriceUpdate): Buffer {
  const b = Buffer.alloc(PRICE_UPDATE_V2_LEN);
  let o = 0;
  PRICE_UPDATE_V2_DISCRIMINATOR.copy(b, o);
  o += 8;
  u.writeAuthority.toBuffer().copy(b, o);
  o += 32;
  if (u.partialSignatures === null) {
    b[o++] = 1; // VerificationLevel::Full
  } else {
    b[o++] = 0; // VerificationLevel::Partial { num_signatures }
    b[o++] = u.partialSignatures;
  }
  u.feedId.copy(b, o);
  o += 32;
  o = b.writeBigInt64LE(u.price, o);
  o = b.writeBigUInt64LE(u.conf, o);
  o = b.writeInt32LE(u.exponent, o);
  o = b.writeBigInt64LE(BigInt(u.publishTime), o);
  o = b.writeBigInt64LE(BigInt(u.prevPublishTime), o);
  o = b.writeBigInt64LE(u.emaPrice, o);
  o = b.writeBigUInt64LE(u.emaConf, o);
  b.writeBigUInt64LE(u.postedSlot, o);
  return b;
}

/** Reads `PriceUpdateV2` account data. */
export function decodePriceUpdateV2(data: Buffer | Uint8Array): PriceUpdate {
  const b = Buffer.from(data);
  if (!b.subarray(0, 8).equals(PRICE_UPDATE_V2_DISCRIMINATOR)) throw new Error("not a PriceUpdateV2 account");
  let o = 8;
  const writeAuthority = new PublicKey(b.subarray(o, o + 32));
  o += 32;
  const level = b[o++];
  const partialSignatures = level === 1 ? null : b[o++];
  const feedId = Buffer.from(b.subarray(o, o + 32));
  o += 32;
  const price = b.readBigInt64LE(o);
  const conf = b.readBigUInt64LE(o + 8);
  const exponent = b.readInt32LE(o + 16);
  const publishTime = Number(b.readBigInt64LE(o + 20));
  const prevPublishTime = Number(b.readBigInt64LE(o + 28));
  const emaPrice = b.readBigInt64LE(o + 36);
  const emaConf = b.readBigUInt64LE(o + 44);
  const postedSlot = b.readBigUInt64LE(o + 52);
  return { writeAuthority, partialSignatures, feedId, price, conf, exponent, publishTime, prevPublishTime, emaPrice, emaConf, postedSlot };
}

/** A USD quote with 8 decimals and a confidence of `confBps` of the price (keel-client's `Quote::usd`). */
export function usdQuote(feedId: Buffer, usd: number, confBps: number, publishTime: number): PriceUpdate {
  const price = BigInt(usd) * 100_000_000n;
  const conf = (price * BigInt(confBps)) / 10_000n;
  return {
    writeAuthority: new PublicKey(Buffer.alloc(32, 7)),
    partialSignatures: null,
    feedId,
    price,
    conf,
    exponent: -8,
    publishTime,
    prevPublishTime: publishTime - 1,
    emaPrice: price,
    emaConf: conf,
    postedSlot: 1n,
  };
}
