// @keel-protocol/sdk: Keel's TypeScript client on Anchor 1.2's `@anchor-lang/core`, typed from
// the program's IDL.

export * from "./program";
export * from "./pda";
export * from "./fx";
export * from "./accounts";
export * from "./instructions";
export * from "./events";
export * from "./errors";
export * from "./snapshot";
export * from "./engine";
export * from "./oracle";
