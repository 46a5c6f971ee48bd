// The primitives that cut and join arrays: slice, pad, concatenate, dynamic_slice and
// dynamic_update_slice (re-exported by movement.ts). All are linear in their array operands
// (start indices get no tangent): the jvp applies the op to the tangents, the transpose sends
// each cotangent back to where its elements came from (JAX's lax.py and slicing.py rules).
// Batched start indices turn dynamic_slice into one gather and dynamic_update_slice into one
// scatter, so vmap never loops.

import { ShapedArray } from "../core/aval";
import { bool, int32, Storage } from "../core/dtype";
import { AxisError, DTypeError, PrimalError, ShapeError, ValueError, fmtShape } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { HostArray, Primitive, UndefinedPrimal, definePrimitive } from "../core/primitive";
import { sizeOf, stridesOf } from "../core/shape";
import { bind1 } from "../core/trace";
import * as I from "./indexing";
import { stridedCopy } from "./movement";
import * as o from "./ops";

const one = (s: Storage) => [s];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
/** `xs` with `v` inserted at position `at`. */
const insert = <T>(xs: readonly T[], at: number, v: T): T[] => [...xs.slice(0, at), v, ...xs.slice(at)];

type SliceParams = { start_indices: number[]; limit_indices: number[]; strides: number[] | null };
/**
 * d slice(x) = slice(dx). The transpose pads the cotangent back with zeros: `start` before,
 * stride - 1 between elements, and after the last element taken whatever the operand has left
 * (JAX's _slice_transpose_rule). Batching slices all of the batch axis.
 */
export const slice: Primitive<SliceParams> = definePrimitive<SliceParams>({
  name: "slice",
  abstractEval([x], p) {
    const { start_indices: st, limit_indices: li } = p;
    const str = p.strides ?? st.map(() => 1);
    if (st.length !== x.ndim || li.length !== x.ndim || str.length !== x.ndim)
      throw new ShapeError(`slice: start_indices, limit_indices and strides must have one entry per axis of ${fmtShape(x.shape)}, got ${fmtShape(st)}, ${fmtShape(li)}, ${fmtShape(str)}`);
    const shape = x.shape.map((n, d) => {
      if (st[d] < 0 || li[d] > n || st[d] > li[d] || str[d] < 1)
        throw new ShapeError(`slice: invalid bounds start ${st[d]}, limit ${li[d]}, stride ${str[d]} for axis ${d} of size ${n}`);
      return Math.ceil((li[d] - st[d]) / str[d]);
    });
    return [x.update({ shape })];
  },
  cpu([x], p, [oa]) {
    const s = stridesOf(x.shape);
    const str = p.strides ?? s.map(() => 1);
    const offset = p.start_indices.reduce((acc, v, d) => acc + v * s[d], 0);
    return one(stridedCopy(x.data, x.dtype.storage, oa.shape, s.map((v, d) => v * str[d]), offset));
  },
  jvp: (xs, ts, p) => o.linearJvp(slice, xs, ts, p),
  transpose: ([ct], [x], p) => {
    if (!ct || !o.isUndefined(x)) return [null];
    const str = p.strides ?? ct.shape.map(() => 1);
    const config = x.aval.shape.map((n, d): [number, number, number] => {
      const end = ct.shape[d] === 0 ? p.start_indices[d] : p.start_indices[d] + (ct.shape[d] - 1) * str[d] + 1;
      return [p.start_indices[d], n - end, str[d] - 1];
    });
    return [o.pad(ct, 0, config)];
  },
  batch: ([x], [d], p, size) => {
    const b = d!;
    return [[o.slice(x, insert(p.start_indices, b, 0), insert(p.limit_indices, b, size), p.strides && insert(p.strides, b, 1))], [b]];
  },
});

type PadParams = { padding_config: [number, number, number][] };
/**
 * pad(operand, padding_value) with (low, high, interior) per axis; negative low/high crop.
 * Linear in both: d pad(x, v) = pad(dx, dv). The transpose gives the operand the cotangent with
 * the padding cut away (a negative pad, then a strided slice that skips the interior padding)
 * and the padding value the sum of the cotangent over the padding positions. Batching a
 * per-example padding value pads with zeros and selects the values in with a padding mask.
 */
export const pad: Primitive<PadParams> = definePrimitive<PadParams>({
  name: "pad",
  abstractEval([x, v], p) {
    if (v.ndim !== 0) throw new ShapeError(`pad: padding value must be a scalar, got shape ${fmtShape(v.shape)}`);
    if (v.dtype !== x.dtype) throw new DTypeError(`pad: padding value must have the operand's dtype, got ${v.dtype.name} and ${x.dtype.name}`);
    if (p.padding_config.length !== x.ndim)
      throw new ShapeError(`pad: padding_config must have one entry per axis, got ${p.padding_config.length} for shape ${fmtShape(x.shape)}`);
    const shape = x.shape.map((n, d) => {
      const [lo, hi, interior] = p.padding_config[d];
      if (interior < 0) throw new ValueError(`pad: interior padding must be non-negative, got ${interior}`);
      const size = lo + hi + n + Math.max(0, n - 1) * interior;
      if (size < 0) throw new ShapeError(`pad: padding ${lo}, ${hi} makes axis ${d} of size ${n} negative`);
      return size;
    });
    return [x.update({ shape })];
  },
  cpu([x, v], p, [oa]) {
    const out = new x.dtype.storage(oa.size);
    out.fill(v.data[0]);
    const outStrides = stridesOf(oa.shape);
    const rank = x.shape.length;
    const idx = new Array<number>(rank).fill(0);
    for (let i = 0; i < x.data.length; i++) {
      let pos = 0;
      let inside = true;
      for (let d = 0; d < rank; d++) {
        const [lo, , interior] = p.padding_config[d];
        const od = lo + idx[d] * (interior + 1);
        if (od < 0 || od >= oa.shape[d]) {
          inside = false;
          break;
        }
        pos += od * outStrides[d];
      }
      if (inside) out[pos] = x.data[i];
      for (let d = rank - 1; d >= 0; d--) {
        if (++idx[d] < x.shape[d]) break;
        idx[d] = 0;
      }
    }
    return [out];
  },
  jvp: ([x, v], [tx, tv], p) => {
    const out = bind1(pad, [x, v], p);
    if (!out.dtype.isFloat || (!tx && !tv)) return [[out], [null]];
    return [[out], [bind1(pad, [tx ?? o.zerosLike(x), tv ?? o.zerosLike(v)], p)]];
  },
  transpose: ([ct], [x, v], p) => {
    if (!ct) return [null, null];
    const cfg = p.padding_config;
    let tx: NDArray | null = null;
    if (o.isUndefined(x)) {
      const unpadded = o.pad(ct, 0, cfg.map(([lo, hi]) => [-lo, -hi, 0] as [number, number, number]));
      tx = o.slice(unpadded, unpadded.shape.map(() => 0), unpadded.shape, cfg.map(([, , interior]) => interior + 1));
    }
    let tv: NDArray | null = null;
    if (o.isUndefined(v)) {
      const isPadding = o.pad(o.full(new ShapedArray(x.aval.shape, bool), 0), 1, cfg);
      tv = o.reduceSum(o.select(isPadding, ct, o.zerosLike(ct)), range(ct.ndim));
    }
    return [tx, tv];
  },
  batch: ([x, v], [dx, dv], p, size) => {
    const b = dx ?? 0;
    const xb = o.moveBatchAxis(x, dx, b, size);
    const cfg = insert<[number, number, number]>(p.padding_config, b, [0, 0, 0]);
    if (dv === null) return [[o.pad(xb, v, cfg)], [b]];
    // v has shape [size]: one padding value per example.
    const padded = o.pad(xb, 0, cfg);
    const isPadding = o.pad(o.full(new ShapedArray(xb.shape, bool), 0), 1, cfg);
    return [[o.select(isPadding, o.broadcastInDim(v, padded.shape, [b]), padded)], [b]];
  },
});

/**
 * d concatenate(xs) = concatenate(dxs), zero tangents instantiated. The transpose splits the
 * cotangent back into the operands' pieces; batching moves (or broadcasts) batch axes to the front.
 */
export const concatenate: Primitive<{ dimension: number }> = definePrimitive<{ dimension: number }>({
  name: "concatenate",
  abstractEval(xs, p) {
    if (xs.length === 0) throw new ValueError("concatenate: need at least one array to concatenate, got 0");
    const d = p.dimension;
    const first = xs[0];
    if (d < 0 || d >= first.ndim) throw new AxisError(`concatenate: axis ${d} is out of bounds for array of dimension ${first.ndim}`);
    let total = 0;
    for (const x of xs) {
      if (x.dtype !== first.dtype) throw new DTypeError(`concatenate: arrays must have the same dtypes, got ${xs.map((a) => a.dtype.name).join(", ")}`);
      if (x.ndim !== first.ndim || x.shape.some((n, i) => i !== d && n !== first.shape[i]))
        throw new ShapeError(`concatenate: shapes must match except along axis ${d}, got ${xs.map((a) => fmtShape(a.shape)).join(", ")}`);
      total += x.shape[d];
    }
    const shape = [...first.shape];
    shape[d] = total;
    return [new ShapedArray(shape, first.dtype, xs.every((x) => x.weakType))];
  },
  cpu(xs, p, [oa]) {
    const out = new oa.dtype.storage(oa.size);
    const d = p.dimension;
    const outer = sizeOf(oa.shape.slice(0, d));
    const innerOut = sizeOf(oa.shape.slice(d));
    let col = 0;
    for (const x of xs) {
      const innerX = sizeOf(x.shape.slice(d));
      for (let r = 0; r < outer; r++) out.set(x.data.subarray(r * innerX, (r + 1) * innerX), r * innerOut + col);
      col += innerX;
    }
    return [out];
  },
  jvp: (xs, ts, p) => {
    const out = bind1(concatenate, xs, p);
    if (!out.dtype.isFloat || ts.every((t) => t === null)) return [[out], [null]];
    return [[out], [bind1(concatenate, ts.map((t, i) => t ?? o.zerosLike(xs[i])), p)]];
  },
  transpose: ([ct], xs, p) => {
    let start = 0;
    return xs.map((x) => {
      const n = x.aval.shape[p.dimension];
      const piece = ct && o.isUndefined(x) ? o.sliceAxis(ct, p.dimension, start, start + n) : null;
      start += n;
      return piece;
    });
  },
  batch: (xs, dims, p, size) => [[bind1(concatenate, xs.map((x, i) => o.moveBatchAxis(x, dims[i], 0, size)), { dimension: p.dimension + 1 })], [0]],
});

/** Clamps start indices so the whole window fits, as lax.dynamic_slice does. */
function clampStarts(shape: readonly number[], sizes: readonly number[], starts: HostArray[]): number[] {
  return shape.map((n, d) => Math.min(Math.max(Number(starts[d].data[0]), 0), n - sizes[d]));
}

function checkStarts(op: string, x: ShapedArray, starts: ShapedArray[]): void {
  if (starts.length !== x.ndim) throw new ShapeError(`${op}: need one start index per axis of ${fmtShape(x.shape)}, got ${starts.length}`);
  for (const s of starts)
    if (s.ndim !== 0 || !s.dtype.isInt) throw new DTypeError(`${op}: start indices must be integer scalars, got ${s.str()}`);
}

/** A transpose rule's start indices: known integer arrays (they are never linear). */
function knownStarts(op: string, starts: (NDArray | UndefinedPrimal)[]): NDArray[] {
  if (starts.some(o.isUndefined)) throw new PrimalError(`${op}: transpose with respect to the start indices (not linear), got an unknown start index`);
  return starts as NDArray[];
}

/**
 * The start indices of a batch as one [size, k] int32 index array (batched indices have shape
 * [size], unbatched ones are repeated); `withExample` prepends a column 0..size-1 that picks each
 * example's own operand along a leading batch axis.
 */
function batchedStarts(starts: NDArray[], dims: (number | null)[], size: number, withExample: boolean): NDArray {
  const cols = starts.map((s, i) => {
    const c = o.convert(s, int32);
    return dims[i] === null ? o.broadcastInDim(c, [size, 1], []) : o.reshape(c, [size, 1]);
  });
  if (withExample) cols.unshift(o.iota(int32, [size, 1], 0));
  return o.concatenate(cols, 1);
}

/** The start indices with a 0 inserted for a batch axis at `at` (when only operands are batched). */
const startsWithBatch = (starts: NDArray[], at: number): NDArray[] => insert(starts, at, o.scalar(0, starts[0]?.dtype ?? int32));

/**
 * d dynamic_slice(x, i) = dynamic_slice(dx, i); the transpose writes the cotangent into zeros at
 * the same (clamped) place, with dynamic_update_slice. Batched start indices make it a gather of
 * one window per example (clamped like dynamic_slice: mode clip).
 */
export const dynamicSlice: Primitive<{ slice_sizes: number[] }> = definePrimitive<{ slice_sizes: number[] }>({
  name: "dynamic_slice",
  abstractEval([x, ...starts], p) {
    checkStarts("dynamic_slice", x, starts);
    if (p.slice_sizes.some((s, d) => s < 0 || s > x.shape[d]))
      throw new ShapeError(`dynamic_slice: slice sizes ${fmtShape(p.slice_sizes)} do not fit in operand ${fmtShape(x.shape)}`);
    return [x.update({ shape: p.slice_sizes })];
  },
  cpu([x, ...starts], p) {
    const st = clampStarts(x.shape, p.slice_sizes, starts);
    const s = stridesOf(x.shape);
    return one(stridedCopy(x.data, x.dtype.storage, p.slice_sizes, s, st.reduce((a, v, d) => a + v * s[d], 0)));
  },
  jvp: (xs, ts, p) => o.linearJvp(dynamicSlice, xs, ts, p),
  transpose: ([ct], [x, ...starts]) => {
    const idx = knownStarts("dynamic_slice", starts);
    return [ct && o.isUndefined(x) ? o.dynamicUpdateSlice(o.zerosLike(x.aval), ct, idx) : null, ...idx.map(() => null)];
  },
  batch: ([x, ...starts], [dx, ...ds], p, size) => {
    if (ds.every((d) => d === null)) return [[o.dynamicSlice(x, startsWithBatch(starts, dx!), insert(p.slice_sizes, dx!, size))], [dx]];
    const dims = range(p.slice_sizes.length);
    const offsetDims = dims.map((k) => k + 1);
    const gather = (operand: NDArray, idx: NDArray, dn: Omit<I.GatherDimensionNumbers, "offset_dims">, sizes: number[], sorted: boolean) =>
      bind1(I.gather, [operand, idx], {
        dimension_numbers: { offset_dims: offsetDims, ...dn },
        slice_sizes: sizes,
        mode: "clip",
        fill_value: null,
        indices_are_sorted: sorted,
        unique_indices: sorted,
      } satisfies I.GatherParams);
    // Shared operand: window i starts at row i of the indices.
    if (dx === null) return [[gather(x, batchedStarts(starts, ds, size, false), { collapsed_slice_dims: [], start_index_map: dims }, p.slice_sizes, false)], [0]];
    // Batched operand: the batch axis goes first and is indexed by the example number (size-1 window, collapsed).
    const idx = batchedStarts(starts, ds, size, true);
    return [[gather(o.moveAxis(x, dx, 0), idx, { collapsed_slice_dims: [0], start_index_map: [0, ...offsetDims] }, [1, ...p.slice_sizes], true)], [0]];
  },
});

/**
 * Linear in the operand and the update: d dus(x, u, i) = dus(dx, du, i). The transpose gives
 * the operand the cotangent with the updated window zeroed, and the update that window
 * (dynamic_slice). Batched start indices make it one scatter of a window per example (clamped
 * like dynamic_update_slice: mode clip).
 */
export const dynamicUpdateSlice: Primitive<{}> = definePrimitive<{}>({
  name: "dynamic_update_slice",
  abstractEval([x, u, ...starts]) {
    checkStarts("dynamic_update_slice", x, starts);
    if (u.dtype !== x.dtype) throw new DTypeError(`dynamic_update_slice: update must have the operand's dtype, got ${u.dtype.name} and ${x.dtype.name}`);
    if (u.ndim !== x.ndim || u.shape.some((n, d) => n > x.shape[d]))
      throw new ShapeError(`dynamic_update_slice: update ${fmtShape(u.shape)} does not fit in operand ${fmtShape(x.shape)}`);
    return [x];
  },
  cpu([x, u, ...starts]) {
    const st = clampStarts(x.shape, u.shape, starts);
    const out = x.data.slice();
    const s = stridesOf(x.shape);
    const rank = u.shape.length;
    const idx = new Array<number>(rank).fill(0);
    for (let i = 0; i < u.data.length; i++) {
      let pos = 0;
      for (let d = 0; d < rank; d++) pos += (st[d] + idx[d]) * s[d];
      out[pos] = u.data[i];
      for (let d = rank - 1; d >= 0; d--) {
        if (++idx[d] < u.shape[d]) break;
        idx[d] = 0;
      }
    }
    return [out];
  },
  jvp: ([x, u, ...starts], [tx, tu]) => {
    const out = bind1(dynamicUpdateSlice, [x, u, ...starts]);
    if (!out.dtype.isFloat || (!tx && !tu)) return [[out], [null]];
    return [[out], [bind1(dynamicUpdateSlice, [tx ?? o.zerosLike(x), tu ?? o.zerosLike(u), ...starts])]];
  },
  transpose: ([ct], [x, u, ...starts]) => {
    const idx = knownStarts("dynamic_update_slice", starts);
    const rest = idx.map(() => null);
    if (!ct) return [null, null, ...rest];
    const tx = o.isUndefined(x) ? o.dynamicUpdateSlice(ct, o.zerosLike(u.aval), idx) : null;
    const tu = o.isUndefined(u) ? o.dynamicSlice(ct, idx, u.aval.shape) : null;
    return [tx, tu, ...rest];
  },
  batch: ([x, u, ...starts], [dx, du, ...ds], _p, size) => {
    if (ds.every((d) => d === null)) {
      const b = dx ?? du!;
      return [[o.dynamicUpdateSlice(o.moveBatchAxis(x, dx, b, size), o.moveBatchAxis(u, du, b, size), startsWithBatch(starts, b))], [b]];
    }
    const offsetDims = range(u.ndim - (du === null ? 0 : 1)).map((k) => k + 1);
    const params: I.ScatterParams = {
      dimension_numbers: { update_window_dims: offsetDims, inserted_window_dims: [0], scatter_dims_to_operand_dims: [0, ...offsetDims] },
      mode: "clip",
      indices_are_sorted: true,
      unique_indices: true,
    };
    const idx = batchedStarts(starts, ds, size, true);
    return [[bind1(I.scatter, [o.moveBatchAxis(x, dx, 0, size), idx, o.moveBatchAxis(u, du, 0, size)], params)], [0]];
  },
});

