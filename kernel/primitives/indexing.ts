// gather and the scatter family (scatter, scatter-add, scatter-mul, scatter-min, scatter-max),
// with XLA's dimension numbers as JAX spells them (jax.lax.GatherDimensionNumbers,
// ScatterDimensionNumbers). The index vector is the last axis of the indices. Every NumPy-style
// read (`x.get(...)`, `take`, `takeAlongAxis`) lowers to one gather, every `x.at(...)` update to
// one scatter. Out-of-bounds handling follows JAX: gathers clamp (or fill), scatters drop (or clamp).

import { ShapedArray } from "../core/aval";
import { DType, Storage } from "../core/dtype";
import { DTypeError, ShapeError, ValueError, fmtShape } from "../core/errors";
import { HostArray, Primitive, definePrimitive } from "../core/primitive";
import { describeValue, sizeOf, stridesOf } from "../core/shape";
import { readElement, writeElement } from "./cpu-loops";

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

export const gather = definePrimitive<GatherParams>({
  name: "gather",
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

function defineScatter(name: string, combine: (d: DType) => Combine): Primitive<ScatterParams> {
  return definePrimitive<ScatterParams>({
    name,
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
}

const wrap32 = (d: DType, f: Combine): Combine => (d.isInt && d.bits === 32 ? (a, b) => f(a, b) | 0 : f);
export const scatter = defineScatter("scatter", () => (_, u) => u);
export const scatterAdd = defineScatter("scatter-add", (d) => (d.isBool ? (a, u) => a | u : wrap32(d, (a, u) => a + u)));
export const scatterMul = defineScatter("scatter-mul", (d) => (d.isInt && d.bits === 32 ? (a, u) => Math.imul(a, u) : d.isBool ? (a, u) => a & u : (a, u) => a * u));
export const scatterMin = defineScatter("scatter-min", () => (a, u) => (a !== a || u !== u ? NaN : Math.min(a, u)));
export const scatterMax = defineScatter("scatter-max", () => (a, u) => (a !== a || u !== u ? NaN : Math.max(a, u)));

/** Validates a user-supplied mode string. */
export function toIndexMode(op: string, mode: unknown): IndexMode {
  if (mode === undefined || mode === null) return "promise_in_bounds";
  if (mode === "clip" || mode === "fill" || mode === "promise_in_bounds") return mode;
  if (mode === "drop") return "fill";
  throw new ValueError(`${op}: unknown mode, got ${describeValue(mode)} (expected "clip", "fill", "drop" or "promise_in_bounds")`);
}
