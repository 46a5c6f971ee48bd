// sort: lax.sort over one axis of one or more operands, ordered by the first `num_keys`
// operands lexicographically and stable when asked. Floats sort in JAX's order: -inf ...
// inf (with -0 == +0), then NaN. argsort and sort-with-values use it with an
// iota operand, as jnp does. jvp and vmap follow JAX's _sort_jvp and _sort_batch_rule.

import { ShapedArray } from "../core/aval";
import { int32 } from "../core/dtype";
import { ShapeError, AxisError, ValueError, fmtShape } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { Primitive, definePrimitive } from "../core/primitive";
import { sizeOf } from "../core/shape";
import { bind, bind1 } from "../core/trace";
import { toFloat64 } from "./cpu-loops";
import { gather } from "./indexing";
import * as o from "./ops";

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

export const sort: Primitive<SortParams> = definePrimitive<SortParams>({
  name: "sort",
  // Sorting permutes: d sort(x)[k] = dx[perm[k]] along the sorted axis. As JAX's _sort_jvp, an
  // iota of that axis is sorted along with the operands (as a non-key), giving the permutation,
  // and every tangent is gathered with it (the other axes addressed by their own iotas). The
  // gather is linear, so grad goes through its transpose (a scatter-add).
  jvp: (xs, ts, p) => {
    const shape = xs[0].shape;
    const sorted = bind(sort, [...xs, o.iota(int32, shape, p.dimension)], p);
    const perm = sorted.pop()!;
    if (sizeOf(shape) === 0) return [sorted, ts.map((t, i) => (t !== null && xs[i].dtype.isFloat ? t : null))];
    const idx = o.concatenate(shape.map((_, d) => o.reshape(d === p.dimension ? perm : o.iota(int32, shape, d), [...shape, 1])), shape.length);
    const all = shape.map((_, d) => d);
    const take = (t: NDArray) =>
      bind1(gather, [t, idx], {
        dimension_numbers: { offset_dims: [], collapsed_slice_dims: all, start_index_map: all },
        slice_sizes: shape.map(() => 1), mode: "promise_in_bounds", fill_value: null, indices_are_sorted: false, unique_indices: false,
      });
    return [sorted, ts.map((t, i) => (t !== null && xs[i].dtype.isFloat ? take(t) : null))];
  },
  // vmap (JAX's _sort_batch_rule): every operand gets the first batched operand's batch axis
  // (unbatched ones broadcast), and the sorted axis moves past it when needed.
  batch: (xs, dims, p) => {
    const k = dims.findIndex((d) => d !== null);
    const proto = xs[k];
    const bd = dims[k]!;
    const args = xs.map((x, i) => {
      const d = dims[i];
      if (d !== null) return o.moveAxis(x, d, bd);
      return o.broadcastInDim(x, proto.shape, x.shape.map((_, j) => (j < bd ? j : j + 1)));
    });
    const outs = bind(sort, args, { ...p, dimension: p.dimension + (bd <= p.dimension ? 1 : 0) });
    return [outs, outs.map(() => bd)];
  },
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
