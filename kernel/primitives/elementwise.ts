// The elementwise primitives, one module for callers: unary ops and conversions (unary.ts),
// binary ops, select_n and clamp (binary.ts); shared rules in elementwise-common.ts.
export * from "./unary";
export * from "./binary";
export { naryShape } from "./elementwise-common";
