// sort: lax.sort over one axis of one or more operands, ordered by the first `num_keys`
// operands lexicographically and stable when asked. Floats sort in JAX's order: -inf ...
// inf (with -0 == +0), then NaN. argsort and sort-with-values use it with an
// iota operand, as jnp does.

import { ShapedArray } from "../core/aval";
import { ShapeError, AxisError, ValueError, fmtShape } from "../core/errors";
import { definePrimitive } from "../core/primitive";
import { sizeOf } from "../core/shape";
import { toFloat64 } from "./cpu-loops";

export interface SortParams {
  dimension: number;
  is_stable: boolean;
  num_keys: number;
}

/** JAX's sort order: NaN after everything; -0 and +0 are equal (a stable sort keeps their order). */
export function totalOrderCompare(a: number, b: number): number {
  const an = a !== a;
  const bn = b !== b;
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export const sort = definePrimitive<SortParams>({
  name: "sort",
  abstractEval(xs, p) {
    if (xs.length === 0) throw new ValueError("sort: at least one operand is required, got 0");
    const s = xs[0].shape;
    for (const x of xs)
      if (x.ndim !== s.length || x.shape.some((d, i) => d !== s[i]))
        throw new ShapeError(`sort: all operands must have the same shape, got ${xs.map((x) => fmtShape(x.shape)).join(", ")}`);
    if (p.dimension < 0 || p.dimension >= s.length) throw new AxisError(`sort: dimension ${p.dimension} is out of bounds for array of dimension ${s.length}`);
    if (p.num_keys < 1 || p.num_keys > xs.length) throw new ValueError(`sort: num_keys must be between 1 and ${xs.length}, got ${p.num_keys}`);
    return xs.map((x) => new ShapedArray(x.shape, x.dtype, x.weakType));
  },
  cpu(xs, p, outAvals) {
    const shape = xs[0].shape;
    const d = p.dimension;
    const outer = sizeOf(shape.slice(0, d));
    const n = shape[d];
    const inner = sizeOf(shape.slice(d + 1));
    const keys = xs.slice(0, p.num_keys).map(toFloat64);
    const outs = xs.map((x, i) => new outAvals[i].dtype.storage(x.data.length));
    const perm = new Array<number>(n);
    for (let a = 0; a < outer; a++)
      for (let c = 0; c < inner; c++) {
        const base = a * n * inner + c;
        for (let k = 0; k < n; k++) perm[k] = k;
        // Array.prototype.sort is stable in V8, which also makes the unstable request exact.
        perm.sort((i, j) => {
          for (const key of keys) {
            const r = totalOrderCompare(key[base + i * inner], key[base + j * inner]);
            if (r !== 0) return r;
          }
          return 0;
        });
        for (let o = 0; o < xs.length; o++) {
          const src = xs[o].data;
          const dst = outs[o];
          for (let k = 0; k < n; k++) dst[base + k * inner] = src[base + perm[k] * inner];
        }
      }
    return outs;
  },
});
