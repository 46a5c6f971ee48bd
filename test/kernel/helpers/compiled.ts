// Helpers of the compiler tests (compiler-*.test.ts): the compiled record of a jitted call, the
// same call run eagerly (jit disabled, every primitive on its own), an exact comparison of
// arrays (shape, dtype, weak type, every element with Object.is: the sign of zero counts, any
// NaN equals any NaN), and a seeded random number generator.

import { NDArray } from "../../../kernel/core/ndarray";
import { disableJit } from "../../../kernel/transforms/jit";
import { compiledRecordOf } from "../../../kernel/lower/jit-runner";
import { CompiledRecord } from "../../../kernel/lower/inspect";
import { treeLeaves } from "../../../kernel/core/tree";
import { rng } from "./rng";
export { rng };

type Fn = (...args: any[]) => any;

/** The compiled record of `j` for these arguments (it must have been compiled, not interpreted). */
export function recordOf(j: { lower(...args: any[]): any }, ...args: unknown[]): CompiledRecord {
  const r = compiledRecordOf(j.lower(...args));
  if (!r) throw new Error("expected the program to be compiled, got an interpreted one (PRIMAL_DEBUG=3 says why)");
  return r;
}

/** `f(...args)` with jit turned into the identity: every primitive runs eagerly. */
export function eager<T>(f: Fn, ...args: unknown[]): T {
  return disableJit(() => f(...args));
}

/** The first difference between two arrays, exactly (Object.is per element), or null when they agree. */
export function exactDiff(got: NDArray, want: NDArray): string | null {
  if (got.dtype !== want.dtype) return `dtype ${got.dtype.name} vs ${want.dtype.name}`;
  if (got.weakType !== want.weakType) return `weak type ${got.weakType} vs ${want.weakType}`;
  if (got.shape.join() !== want.shape.join()) return `shape [${got.shape}] vs [${want.shape}]`;
  const a = got.dataSync();
  const b = want.dataSync();
  for (let i = 0; i < a.length; i++) {
    const x = Number(a[i]);
    const y = Number(b[i]);
    if (!Object.is(x, y) && !(Number.isNaN(x) && Number.isNaN(y))) return `element ${i}: ${x} vs ${y}`;
  }
  return null;
}

/** The first difference between two pytrees of arrays (leaf by leaf), or null. */
export function exactTreeDiff(got: unknown, want: unknown): string | null {
  const g = treeLeaves<NDArray>(got);
  const w = treeLeaves<NDArray>(want);
  if (g.length !== w.length) return `${g.length} leaves vs ${w.length}`;
  for (let i = 0; i < g.length; i++) {
    const d = exactDiff(g[i], w[i]);
    if (d) return `leaf ${i}: ${d}`;
  }
  return null;
}

/** Largest |got - want| / max(|want|, tiny) over two float arrays of the same shape. */
export function maxRelDiff(got: NDArray, want: NDArray): number {
  const a = got.dataSync();
  const b = want.dataSync();
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(Number(a[i]) - Number(b[i])) / Math.max(Math.abs(Number(b[i])), 1e-30));
  return m;
}
