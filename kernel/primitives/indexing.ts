// gather and the scatter family (scatter, scatter-add, scatter-mul, scatter-min, scatter-max),
// with XLA's dimension numbers as JAX spells them (jax.lax.GatherDimensionNumbers,
// ScatterDimensionNumbers). The index vector is the last axis of the indices. Every NumPy-style
// read (`x.get(...)`, `take`, `takeAlongAxis`) lowers to one gather, every `x.at(...)` update to
// one scatter. Out-of-bounds handling follows JAX: gathers clamp (or fill), scatters drop (or clamp).
// Transformation rules follow JAX's (jax/_src/lax/slicing.py): gather is linear in the operand
// and scatter-add in operand and updates (each transposes to the other); scatter, scatter-mul,
// scatter-min/max have JAX's jvps; vmap rewrites the dimension numbers (no batching dims).

import { ShapedArray } from "../core/aval";
import { DType, Storage, finfoOrIinfo, int32, uint32 } from "../core/dtype";
import { DTypeError, ShapeError, ValueError, fmtShape } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { HostArray, JvpRule, Primitive, TransposeRule, UndefinedPrimal, definePrimitive } from "../core/primitive";
import { describeValue, sizeOf, stridesOf } from "../core/shape";
import { bind1 } from "../core/trace";
import { readElement, writeElement } from "./cpu-loops";
import * as o from "./ops";

/** How out-of-bounds indices are handled: JAX's GatherScatterMode. */
export type IndexMode = "clip" | "fill" | "promise_in_bounds";

export interface GatherDimensionNumbers {
  offset_dims: number[];
  collapsed_slice_dims: number[];
  start_index_map: number[];
}

export interface GatherParams {
  dimension_numbers: GatherDimensionNumbers;
  slice_sizes: number[];
  mode: IndexMode;
  /** Value for out-of-bounds windows in "fill" mode (null = JAX's default for the dtype). */
  fill_value: number | null;
  indices_are_sorted: boolean;
  unique_indices: boolean;
}

/** JAX's default fill: NaN for floats, the most negative int, the max unsigned, true for bool. */
export function defaultFill(d: DType): number {
  if (d.isFloat) return NaN;
  if (d.isBool) return 1;
  if (d.isUnsigned) return 2 ** d.bits - 1;
  return -(2 ** (d.bits - 1));
}

function gatherShape(op: ShapedArray, idx: ShapedArray, p: GatherParams): number[] {
  const { offset_dims, collapsed_slice_dims, start_index_map } = p.dimension_numbers;
  const where = `operand ${fmtShape(op.shape)}, indices ${fmtShape(idx.shape)}`;
  if (idx.ndim < 1 || idx.shape[idx.ndim - 1] !== start_index_map.length)
    throw new ShapeError(`gather: the last axis of indices must have size len(start_index_map) = ${start_index_map.length}, got ${where}`);
  if (p.slice_sizes.length !== op.ndim) throw new ShapeError(`gather: slice_sizes must have one entry per operand axis, got ${fmtShape(p.slice_sizes)} for ${where}`);
  p.slice_sizes.forEach((s, d) => {
    if (s < 0 || s > op.shape[d]) throw new ShapeError(`gather: slice size ${s} does not fit axis ${d} of ${where}`);
  });
  for (const d of collapsed_slice_dims)
    if (p.slice_sizes[d] !== 1) throw new ShapeError(`gather: collapsed axis ${d} must have slice size 1, got ${p.slice_sizes[d]}`);
  for (const d of start_index_map) if (d < 0 || d >= op.ndim) throw new ShapeError(`gather: start_index_map entry ${d} out of range for ${where}`);
  const windowSizes = p.slice_sizes.filter((_, d) => !collapsed_slice_dims.includes(d));
  const batchShape = idx.shape.slice(0, -1);
  const rank = batchShape.length + windowSizes.length;
  if (offset_dims.length !== windowSizes.length) throw new ShapeError(`gather: offset_dims must have ${windowSizes.length} entries, got ${fmtShape(offset_dims)}`);
  const out: number[] = [];
  let bi = 0;
  let wi = 0;
  for (let d = 0; d < rank; d++) out.push(offset_dims.includes(d) ? windowSizes[wi++] : batchShape[bi++]);
  return out;
}

/** Reads the index vectors (last axis of `idx`) as a list of integer rows. */
function indexRows(idx: HostArray): number[][] {
  const n = idx.shape[idx.shape.length - 1];
  const rows: number[][] = [];
  const count = sizeOf(idx.shape.slice(0, -1));
  for (let g = 0; g < count; g++) {
    const r: number[] = [];
    for (let k = 0; k < n; k++) r.push(Number(idx.data[g * n + k]));
    rows.push(r);
  }
  return rows;
}

export const gather: Primitive<GatherParams> = definePrimitive<GatherParams>({
  name: "gather",
  // Linear in the operand: d gather(x, i) = gather(dx, i), out-of-bounds windows (fill mode)
  // reading a zero tangent, as JAX's _gather_jvp_rule.
  jvp: ([op, idx], [t], p) => {
    const out = bind1(gather, [op, idx], p);
    if (t === null || !op.dtype.isFloat) return [[out], [null]];
    return [[out], [bind1(gather, [t, idx], { ...p, fill_value: 0 })]];
  },
  // Transpose: every window's cotangent is added back where it was read: scatter-add into zeros
  // with the same dimension numbers and mode (a clamped read sends its cotangent to the clamped
  // window, a filled read sends nothing).
  transpose: ([ct], [op, idx], p) => {
    if (isUndef(idx)) throw new DTypeError("gather: transpose with respect to the indices (not linear), got unknown indices");
    if (ct === null || !isUndef(op)) return [null, null];
    const dn = p.dimension_numbers;
    const zeros = o.zerosLike(new ShapedArray(op.aval.shape, ct.dtype));
    const dnums: ScatterDimensionNumbers = { update_window_dims: [...dn.offset_dims], inserted_window_dims: [...dn.collapsed_slice_dims], scatter_dims_to_operand_dims: [...dn.start_index_map] };
    return [bind1(scatterAdd, [zeros, idx, ct], { dimension_numbers: dnums, mode: p.mode, indices_are_sorted: p.indices_are_sorted, unique_indices: p.unique_indices }), null];
  },
  batch: (args, dims, p, size) => gatherBatch(args, dims, p, size),
  abstractEval([op, idx], p) {
    if (!idx.dtype.isInt) throw new DTypeError(`gather: indices must have an integer dtype, got ${idx.dtype.name}`);
    return [new ShapedArray(gatherShape(op, idx, p), op.dtype, op.weakType)];
  },
  cpu([op, idx], p, [o]) {
    const { offset_dims, collapsed_slice_dims, start_index_map } = p.dimension_numbers;
    const opStrides = stridesOf(op.shape);
    const rows = indexRows(idx);
    const fill = p.fill_value ?? defaultFill(op.dtype);
    // Linear operand offset of each batch position's window start (-1: out of bounds in fill mode).
    const starts = rows.map((r) => {
      let off = 0;
      for (let k = 0; k < r.length; k++) {
        const d = start_index_map[k];
        const hi = op.shape[d] - p.slice_sizes[d];
        let s = r[k];
        if (p.mode === "fill" && (s < 0 || s > hi)) return -1;
        s = Math.min(Math.max(s, 0), hi);
        off += s * opStrides[d];
      }
      return off;
    });
    const windowDims = p.slice_sizes.map((_, d) => d).filter((d) => !collapsed_slice_dims.includes(d));
    const out = new o.dtype.storage(o.size);
    const rank = o.shape.length;
    const batchDims = Array.from({ length: rank }, (_, d) => d).filter((d) => !offset_dims.includes(d));
    const batchStrides = stridesOf(batchDims.map((d) => o.shape[d]));
    const outIdx = new Array<number>(rank).fill(0);
    for (let i = 0; i < o.size; i++) {
      let g = 0;
      batchDims.forEach((d, j) => (g += outIdx[d] * batchStrides[j]));
      const s = starts[g];
      if (s < 0) writeElement(out, o.dtype, i, fill);
      else {
        let pos = s;
        offset_dims.forEach((d, j) => (pos += outIdx[d] * opStrides[windowDims[j]]));
        out[i] = op.data[pos];
      }
      for (let d = rank - 1; d >= 0; d--) {
        if (++outIdx[d] < o.shape[d]) break;
        outIdx[d] = 0;
      }
    }
    return [out];
  },
});

export interface ScatterDimensionNumbers {
  update_window_dims: number[];
  inserted_window_dims: number[];
  scatter_dims_to_operand_dims: number[];
}

export interface ScatterParams {
  dimension_numbers: ScatterDimensionNumbers;
  mode: IndexMode;
  indices_are_sorted: boolean;
  unique_indices: boolean;
}

type Combine = (old: number, upd: number) => number;

/** The transformation rules of one scatter primitive (batching is shared). */
interface ScatterRules {
  jvp: JvpRule<ScatterParams>;
  transpose?: TransposeRule<ScatterParams>;
}

function defineScatter(name: string, combine: (d: DType) => Combine, rules: ScatterRules): Primitive<ScatterParams> {
  const p: Primitive<ScatterParams> = definePrimitive<ScatterParams>({
    name,
    jvp: rules.jvp,
    transpose: rules.transpose,
    batch: (args, dims, params, size) => scatterBatch(p, args, dims, params, size),
    abstractEval([op, idx, upd], p) {
      const { update_window_dims, inserted_window_dims, scatter_dims_to_operand_dims } = p.dimension_numbers;
      const where = `operand ${fmtShape(op.shape)}, indices ${fmtShape(idx.shape)}, updates ${fmtShape(upd.shape)}`;
      if (!idx.dtype.isInt) throw new DTypeError(`${name}: indices must have an integer dtype, got ${idx.dtype.name}`);
      if (upd.dtype !== op.dtype) throw new DTypeError(`${name}: updates must have the operand's dtype, got ${upd.dtype.name} and ${op.dtype.name}`);
      if (idx.ndim < 1 || idx.shape[idx.ndim - 1] !== scatter_dims_to_operand_dims.length)
        throw new ShapeError(`${name}: the last axis of indices must have size ${scatter_dims_to_operand_dims.length}, got ${where}`);
      if (update_window_dims.length + inserted_window_dims.length !== op.ndim)
        throw new ShapeError(`${name}: window dims and inserted dims must cover the operand's ${op.ndim} axes, got ${where}`);
      const scatterDims = upd.shape.map((_, d) => d).filter((d) => !update_window_dims.includes(d));
      const batch = idx.shape.slice(0, -1);
      if (scatterDims.length !== batch.length || scatterDims.some((d, j) => upd.shape[d] !== batch[j]))
        throw new ShapeError(`${name}: update scatter dims must match the index batch shape, got ${where}`);
      const windowOpDims = op.shape.map((_, d) => d).filter((d) => !inserted_window_dims.includes(d));
      update_window_dims.forEach((d, j) => {
        if (upd.shape[d] > op.shape[windowOpDims[j]]) throw new ShapeError(`${name}: update window larger than the operand, got ${where}`);
      });
      return [op];
    },
    cpu([op, idx, upd], p, [o]) {
      const { update_window_dims, inserted_window_dims, scatter_dims_to_operand_dims } = p.dimension_numbers;
      const out: Storage = op.data.slice();
      const opStrides = stridesOf(op.shape);
      const windowOpDims = op.shape.map((_, d) => d).filter((d) => !inserted_window_dims.includes(d));
      const windowSize = (j: number) => upd.shape[update_window_dims[j]];
      const opWindowSize = (d: number) => {
        const j = windowOpDims.indexOf(d);
        return j < 0 ? 1 : windowSize(j);
      };
      const rows = indexRows(idx);
      const starts = rows.map((r) => {
        let off = 0;
        for (let k = 0; k < r.length; k++) {
          const d = scatter_dims_to_operand_dims[k];
          const hi = op.shape[d] - opWindowSize(d);
          let s = r[k];
          if (p.mode !== "clip" && (s < 0 || s > hi)) return -1; // dropped, as JAX's FILL_OR_DROP
          s = Math.min(Math.max(s, 0), hi);
          off += s * opStrides[d];
        }
        return off;
      });
      const f = combine(op.dtype);
      const rank = upd.shape.length;
      const scatterDims = upd.shape.map((_, d) => d).filter((d) => !update_window_dims.includes(d));
      const scatterStrides = stridesOf(scatterDims.map((d) => upd.shape[d]));
      const u = new Array<number>(rank).fill(0);
      const n = sizeOf(upd.shape);
      for (let i = 0; i < n; i++) {
        let g = 0;
        scatterDims.forEach((d, j) => (g += u[d] * scatterStrides[j]));
        const s = starts[g];
        if (s >= 0) {
          let pos = s;
          update_window_dims.forEach((d, j) => (pos += u[d] * opStrides[windowOpDims[j]]));
          const old = readElement({ data: out, shape: op.shape, dtype: op.dtype }, pos);
          writeElement(out, o.dtype, pos, f(old, readElement(upd, i)));
        }
        for (let d = rank - 1; d >= 0; d--) {
          if (++u[d] < upd.shape[d]) break;
          u[d] = 0;
        }
      }
      return [out];
    },
  });
  return p;
}

const wrap32 = (d: DType, f: Combine): Combine => (d.isInt && d.bits === 32 ? (a, b) => f(a, b) | 0 : f);
const isUndef = (a: unknown): a is UndefinedPrimal => a instanceof UndefinedPrimal;
const zerosOf = (shape: readonly number[], dtype: DType): NDArray => o.zerosLike(new ShapedArray(shape, dtype));
/** select(mask, x, 0). */
const keep = (mask: NDArray, x: NDArray): NDArray => o.select(mask, x, o.zerosLike(x));
const noIndexCt = (op: string) => new DTypeError(`${op}: transpose with respect to the indices (not linear), got unknown indices`);

/**
 * The gather that reads back, for each element of `updates`, the operand element a scatter
 * writes it to (X.at[I].set(X[I]) == X): window dims <-> offset dims, inserted <-> collapsed.
 * Same mode; out-of-bounds (dropped) updates read `fill` in fill mode (null: the default).
 */
function gatherBack(x: NDArray, idx: NDArray, p: ScatterParams, updShape: readonly number[], fill: number | null): NDArray {
  const dn = p.dimension_numbers;
  let pos = 0;
  const sliceSizes = x.shape.map((_, d) => (dn.inserted_window_dims.includes(d) ? 1 : updShape[dn.update_window_dims[pos++]]));
  const dnums: GatherDimensionNumbers = { offset_dims: [...dn.update_window_dims], collapsed_slice_dims: [...dn.inserted_window_dims], start_index_map: [...dn.scatter_dims_to_operand_dims] };
  return bind1(gather, [x, idx], { dimension_numbers: dnums, slice_sizes: sliceSizes, mode: p.mode, fill_value: fill, indices_are_sorted: p.indices_are_sorted, unique_indices: p.unique_indices });
}

/**
 * For scatters whose repeated indices race (scatter, JAX's _scatter_jvp): a positive id per
 * update window (equal over the window), scattered the same way; `won` marks the updates whose
 * id survived (gathered back), `untouched` the operand elements no update overwrote.
 */
function winners(prim: Primitive<ScatterParams>, opShape: readonly number[], idx: NDArray, updShape: readonly number[], p: ScatterParams): { won: NDArray; untouched: NDArray } {
  const win = p.dimension_numbers.update_window_dims;
  const idsShape = updShape.map((n, d) => (win.includes(d) ? 1 : n));
  const ids = o.broadcastTo(o.add(o.reshape(o.iota(uint32, [sizeOf(idsShape)], 0), idsShape), 1), updShape);
  const scattered = bind1(prim, [zerosOf(opShape, uint32), idx, ids], p);
  return { won: o.eq(ids, gatherBack(scattered, idx, p, updShape, 0)), untouched: o.eq(scattered, 0) };
}

// d scatter-add(x, i, y) = scatter-add(dx, i, dy) (JAX's _scatter_add_jvp). Linear in x and y:
// x's cotangent is ct, y's is ct read back at each update's window, gather(ct, i) (a dropped
// update reads 0), as JAX's _scatter_add_transpose_rule.
export const scatterAdd: Primitive<ScatterParams> = defineScatter("scatter-add", (d) => (d.isBool ? (a, u) => a | u : wrap32(d, (a, u) => a + u)), {
  jvp: ([x, idx, y], [tx, , ty], p) => {
    const out = bind1(scatterAdd, [x, idx, y], p);
    if (!x.dtype.isFloat || (tx === null && ty === null)) return [[out], [null]];
    return [[out], [bind1(scatterAdd, [tx ?? o.zerosLike(x), idx, ty ?? o.zerosLike(y)], p)]];
  },
  transpose: ([ct], [x, idx, y], p) => {
    if (isUndef(idx)) throw noIndexCt("scatter-add");
    if (ct === null) return [null, null, null];
    return [isUndef(x) ? ct : null, null, isUndef(y) ? gatherBack(ct, idx, p, y.aval.shape, 0) : null];
  },
});

// scatter (replace). With unique indices, d scatter(x, i, y) = scatter(dx, i, dy): the
// overwritten elements of x lose their tangent. With repeated indices the winner is
// unspecified, so, as JAX's _scatter_jvp, ids are scattered to find it, and the output and its
// tangent are scatter-adds of the masked operand (untouched elements) and the masked updates
// (winners): out = scatter-add(x [untouched], i, y [won]), dout likewise with dx, dy.
// Transpose (linear in x and y, as JAX's _scatter_transpose_rule): x's cotangent is ct with the
// overwritten elements zeroed, scatter(ct, i, 0); y's is gather(ct, i), zero for losers.
export const scatter: Primitive<ScatterParams> = defineScatter("scatter", () => (_, u) => u, {
  jvp: ([x, idx, y], [tx, , ty], p) => {
    if (!x.dtype.isFloat || (tx === null && ty === null)) return [[bind1(scatter, [x, idx, y], p)], [null]];
    const dx = tx ?? o.zerosLike(x);
    const dy = ty ?? o.zerosLike(y);
    if (p.unique_indices) return [[bind1(scatter, [x, idx, y], p)], [bind1(scatter, [dx, idx, dy], p)]];
    const { won, untouched } = winners(scatter, x.shape, idx, y.shape, p);
    const out = bind1(scatterAdd, [keep(untouched, x), idx, keep(won, y)], p);
    return [[out], [bind1(scatterAdd, [keep(untouched, dx), idx, keep(won, dy)], p)]];
  },
  transpose: ([ct], [x, idx, y], p) => {
    if (isUndef(idx)) throw noIndexCt("scatter");
    if (ct === null) return [null, null, null];
    const yShape = y.aval.shape;
    const xCt = isUndef(x) ? bind1(scatter, [ct, idx, zerosOf(yShape, ct.dtype)], p) : null;
    let yCt: NDArray | null = null;
    if (isUndef(y)) {
      yCt = gatherBack(ct, idx, p, yShape, 0);
      if (!p.unique_indices) yCt = keep(winners(scatter, ct.shape, idx, yShape, p).won, yCt);
    }
    return [xCt, null, yCt];
  },
});

// d scatter-mul(x, i, y) = scatter-mul(dx, i, y) + x * scatter-add(0, i, dy * others(y)), where
// others(y_j) is the product of the other updates landing on y_j's element (1 with unique
// indices: JAX's _scatter_mul_jvp_rhs, x * scatter-add(0, i, dy)). With repeated indices
// (where JAX raises) others(y_j) = P / y_j when no update there is 0, P the product of the
// updates; for a 0 update, the product of the nonzero others when it is the only 0, else 0.
// Linear in x alone: the transpose is scatter-mul(ct, i, y) (JAX's _scatter_mul_transpose_rule);
// in y with unique indices: gather(ct * x, i).
export const scatterMul: Primitive<ScatterParams> = defineScatter("scatter-mul", (d) => (d.isInt && d.bits === 32 ? (a, u) => Math.imul(a, u) : d.isBool ? (a, u) => a & u : (a, u) => a * u), {
  jvp: ([x, idx, y], [tx, , ty], p) => {
    const out = bind1(scatterMul, [x, idx, y], p);
    if (!x.dtype.isFloat || (tx === null && ty === null)) return [[out], [null]];
    const terms: NDArray[] = [];
    if (tx !== null) terms.push(bind1(scatterMul, [tx, idx, y], p));
    if (ty !== null) {
      let dy = ty;
      if (!p.unique_indices) {
        const zero = o.eq(y, 0);
        const count = (v: NDArray) => gatherBack(bind1(scatterAdd, [o.zerosLike(x), idx, v], p), idx, p, y.shape, 0);
        const zeros = count(o.select(zero, o.onesLike(y), o.zerosLike(y)));
        const nonzero = gatherBack(bind1(scatterMul, [o.onesLike(x), idx, o.select(zero, o.onesLike(y), y)], p), idx, p, y.shape, 0);
        const others = o.select(zero, keep(o.eq(zeros, 1), nonzero), keep(o.eq(zeros, 0), o.div(nonzero, o.select(zero, o.onesLike(y), y))));
        dy = o.mul(ty, others);
      }
      terms.push(o.mul(x, bind1(scatterAdd, [o.zerosLike(x), idx, dy], p)));
    }
    return [[out], [terms.length === 1 ? terms[0] : o.add(terms[0], terms[1])]];
  },
  transpose: ([ct], [x, idx, y], p) => {
    if (isUndef(idx)) throw noIndexCt("scatter-mul");
    if (isUndef(x) && isUndef(y)) throw new DTypeError("scatter-mul: transpose of a product of two linear values (not linear), got an unknown operand and unknown updates");
    if (ct === null) return [null, null, null];
    if (isUndef(x)) return [bind1(scatterMul, [ct, idx, y as NDArray], p), null, null];
    if (isUndef(y)) {
      if (!p.unique_indices) throw new DTypeError("scatter-mul: transpose with respect to the updates is only defined with unique_indices=True, got unique_indices=False");
      return [null, null, gatherBack(o.mul(ct, x), idx, p, y.aval.shape, 0)];
    }
    return [null, null, null];
  },
});

/**
 * d scatter-max / scatter-min (JAX's _scatter_extremal_jvp): each output element's tangent is
 * the average of the tangents of the contenders that equal it: the operand element (when it
 * was retained) and the updates that landed there and won,
 *   dout = (dx [x == out] + scatter-add(0, i, dy [y == out at its element])) / count.
 * Where nothing equals the output (a NaN from an update), the operand's tangent is kept.
 */
function extremalJvp(prim: () => Primitive<ScatterParams>): JvpRule<ScatterParams> {
  return ([x, idx, y], [tx, , ty], p) => {
    const out = bind1(prim(), [x, idx, y], p);
    if (!x.dtype.isFloat || (tx === null && ty === null)) return [[out], [null]];
    const won = o.eq(y, gatherBack(out, idx, p, y.shape, null));
    const wins = bind1(scatterAdd, [o.zerosLike(x), idx, keep(won, o.onesLike(y))], p);
    const kept0 = o.eq(x, out);
    const kept = o.select(kept0, o.onesLike(x), o.select(o.eq(wins, 0), o.onesLike(x), o.zerosLike(x)));
    const count = o.add(wins, kept);
    const terms: NDArray[] = [];
    if (tx !== null) terms.push(o.mul(tx, kept));
    if (ty !== null) terms.push(bind1(scatterAdd, [o.zerosLike(x), idx, keep(won, ty)], p));
    const sum = terms.length === 1 ? terms[0] : o.add(terms[0], terms[1]);
    return [[out], [o.div(sum, count)]];
  };
}
export const scatterMin: Primitive<ScatterParams> = defineScatter("scatter-min", () => (a, u) => (a !== a || u !== u ? NaN : Math.min(a, u)), { jvp: extremalJvp(() => scatterMin) });
export const scatterMax: Primitive<ScatterParams> = defineScatter("scatter-max", () => (a, u) => (a !== a || u !== u ? NaN : Math.max(a, u)), { jvp: extremalJvp(() => scatterMax) });

// ---------------------------------------------------------------- batching
// Primal's gather/scatter have no batching dimension numbers, so vmap uses the classic rewrite
// JAX used before operand_batching_dims existed (_gather_batching_rule, _scatter_batching_rule):
// - operand batched only: the batch axis becomes a whole window axis (offset / update window dim);
// - indices batched only: the batch axis is one more index batch axis (and of the updates);
// - both: an iota counting the batch is prepended to every index vector, addressing the
//   operand's batch axis, which is collapsed (inserted). The iota is always in bounds, so the
//   modes (clip, fill, promise_in_bounds) and fill values behave exactly as per example.

const shift = (ds: readonly number[]) => ds.map((d) => d + 1);

/** Prepends to each index vector (last axis of idx, batch axis at 0) its position along axis 0. */
function withBatchIota(idx: NDArray, size: number): NDArray {
  const i = size - 1 > finfoOrIinfo(idx.dtype).max ? o.convert(idx, int32) : idx;
  const counts = o.iota(i.dtype, [...i.shape.slice(0, -1), 1], 0);
  return o.concatenate([counts, i], i.ndim - 1);
}

function gatherBatch([op, idx]: NDArray[], [od, id]: (number | null)[], p: GatherParams, size: number): [NDArray[], number[]] {
  const dn = p.dimension_numbers;
  if (id === null) {
    const dnums = { offset_dims: [0, ...shift(dn.offset_dims)], collapsed_slice_dims: shift(dn.collapsed_slice_dims), start_index_map: shift(dn.start_index_map) };
    return [[bind1(gather, [o.moveAxis(op, od!, 0), idx], { ...p, dimension_numbers: dnums, slice_sizes: [size, ...p.slice_sizes] })], [0]];
  }
  const i = o.moveAxis(idx, id, 0);
  if (od === null) {
    // Different examples may now read the same windows: no longer sorted or unique.
    const dnums = { ...dn, offset_dims: shift(dn.offset_dims) };
    return [[bind1(gather, [op, i], { ...p, dimension_numbers: dnums, indices_are_sorted: false, unique_indices: false })], [0]];
  }
  const x = o.moveAxis(op, od, 0);
  if (size === 0) {
    // XLA cannot take size-1 windows of an empty batch axis; the result is empty anyway.
    const example = gatherShape(new ShapedArray(x.shape.slice(1), x.dtype), new ShapedArray(i.shape.slice(1), i.dtype), p);
    return [[o.zerosLike(new ShapedArray([0, ...example], op.dtype, op.weakType))], [0]];
  }
  const dnums = { offset_dims: shift(dn.offset_dims), collapsed_slice_dims: [0, ...shift(dn.collapsed_slice_dims)], start_index_map: [0, ...shift(dn.start_index_map)] };
  return [[bind1(gather, [x, withBatchIota(i, size)], { ...p, dimension_numbers: dnums, slice_sizes: [1, ...p.slice_sizes] })], [0]];
}

/** vmap of every scatter: the operand and updates get the batch axis in front (broadcast if unbatched). */
function scatterBatch(prim: Primitive<ScatterParams>, [op, idx, upd]: NDArray[], [od, id, ud]: (number | null)[], p: ScatterParams, size: number): [NDArray[], number[]] {
  const dn = p.dimension_numbers;
  const x = o.moveBatchAxis(op, od, 0, size);
  const u = o.moveBatchAxis(upd, ud, 0, size);
  if (id === null) {
    const dnums = { update_window_dims: [0, ...shift(dn.update_window_dims)], inserted_window_dims: shift(dn.inserted_window_dims), scatter_dims_to_operand_dims: shift(dn.scatter_dims_to_operand_dims) };
    return [[bind1(prim, [x, idx, u], { ...p, dimension_numbers: dnums })], [0]];
  }
  const i = withBatchIota(o.moveAxis(idx, id, 0), size);
  const dnums = { update_window_dims: shift(dn.update_window_dims), inserted_window_dims: [0, ...shift(dn.inserted_window_dims)], scatter_dims_to_operand_dims: [0, ...shift(dn.scatter_dims_to_operand_dims)] };
  return [[bind1(prim, [x, i, u], { ...p, dimension_numbers: dnums })], [0]];
}

/** Validates a user-supplied mode string. */
export function toIndexMode(op: string, mode: unknown): IndexMode {
  if (mode === undefined || mode === null) return "promise_in_bounds";
  if (mode === "clip" || mode === "fill" || mode === "promise_in_bounds") return mode;
  if (mode === "drop") return "fill";
  throw new ValueError(`${op}: unknown mode, got ${describeValue(mode)} (expected "clip", "fill", "drop" or "promise_in_bounds")`);
}
