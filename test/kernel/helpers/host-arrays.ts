// Host-side helpers of the collective and pmap tests: seeded float32 arrays with their float64
// copies, row-major indexing and construction of host references, and an element-wise
// comparison that names the first element off.

import { expect } from "vitest";
import { NDArray } from "../../../kernel/core/ndarray";
import { np } from "../../../kernel/index";
import { rng } from "./rng";

/** The values of an array as float64 numbers. */
export const vals = (x: unknown): number[] => Array.from((x as NDArray).dataSync() as ArrayLike<number>, Number);

/** A generator of float32 arrays of uniform values in [-2, 2) with their float64 copies (row-major). */
export function randArrays(seed: number): (shape: number[]) => [NDArray, number[]] {
  const rand = rng(seed);
  return (shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const a = np.array(Array.from({ length: n }, () => rand() * 4 - 2), { dtype: "float32" }).reshape(shape);
    return [a, vals(a)];
  };
}

/** Checks `got` against host values within a relative tolerance (absolute below 1). */
export function expectClose(got: unknown, want: number[], tol = 1e-5): void {
  const g = vals(got);
  expect(g.length).toBe(want.length);
  g.forEach((v, i) => {
    if (Math.abs(v - want[i]) > tol * Math.max(1, Math.abs(want[i]))) throw new Error(`element ${i}: got ${v}, want ${want[i]}\n got ${g.join(" ")}\nwant ${want.join(" ")}`);
  });
}

/** Element `idx` of a row-major host array of `shape`. */
export const at = (x: number[], shape: number[], idx: number[]): number => x[idx.reduce((off, v, d) => off * shape[d] + v, 0)];

/** A row-major host array of `shape` with element idx = f(idx). */
export function build(shape: number[], f: (idx: number[]) => number): number[] {
  const n = shape.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const idx: number[] = [];
    for (let d = shape.length - 1, r = k; d >= 0; d--) (idx[d] = r % shape[d]), (r = Math.floor(r / shape[d]));
    out.push(f(idx));
  }
  return out;
}
