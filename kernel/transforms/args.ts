// Arguments of transformed functions: pytrees whose leaves are NDArrays or JS scalars. A JS
// number is a weakly typed float32, a boolean a bool (API.md), so `grad(f)(3)` works.
// Functions on pytrees are turned into functions on flat lists of arrays for the traces.

import { ShapedArray } from "../core/aval";
import { bool, float32 } from "../core/dtype";
import { ArgumentError } from "../core/errors";
import { NDArray, fromStorage } from "../core/ndarray";
import { describeValue } from "../core/shape";
import { PyTreeDef, treeFlatten, treeUnflatten } from "../core/tree";

/** A leaf of a transformed function's arguments as an array. */
export function leafToArray(x: unknown, op: string): NDArray {
  if (x instanceof NDArray) return x;
  if (typeof x === "number") return fromStorage(Float32Array.of(x), new ShapedArray([], float32, true));
  if (typeof x === "boolean") return fromStorage(Uint8Array.of(x ? 1 : 0), new ShapedArray([], bool));
  throw new ArgumentError(`${op}: arguments must be arrays, numbers, booleans or pytrees of them, got ${describeValue(x)}`);
}

/** Flattens a pytree of arguments to arrays. */
export function flattenToArrays(tree: unknown, op: string): [NDArray[], PyTreeDef] {
  const [leaves, def] = treeFlatten(tree);
  return [leaves.map((l) => leafToArray(l, op)), def];
}

/**
 * Wraps f (pytrees in, a pytree out) as a function of flat arrays. The output structure is
 * recorded in `store.outTree` when the wrapped function runs.
 */
export function flatFun(f: (...args: any[]) => unknown, inTree: PyTreeDef, op: string): { fn: (...xs: NDArray[]) => NDArray[]; store: { outTree: PyTreeDef | null } } {
  const store: { outTree: PyTreeDef | null } = { outTree: null };
  const fn = (...xs: NDArray[]): NDArray[] => {
    const args = treeUnflatten(inTree, xs) as unknown[];
    const out = f(...args);
    const [leaves, def] = flattenToArrays(out, op);
    store.outTree = def;
    return leaves;
  };
  return { fn, store };
}

/** Normalises argnums (a number or a list) against the argument count. */
export function normalizeArgnums(op: string, argnums: number | readonly number[] | undefined, nargs: number): { nums: number[]; single: boolean } {
  const single = argnums === undefined || typeof argnums === "number";
  const list = argnums === undefined ? [0] : typeof argnums === "number" ? [argnums] : [...argnums];
  const nums = list.map((a) => {
    if (!Number.isInteger(a) || a < -nargs || a >= nargs)
      throw new ArgumentError(`${op}: argnums ${describeValue(a)} is out of range for a function called with ${nargs} positional arguments`);
    return a < 0 ? a + nargs : a;
  });
  return { nums, single };
}
