// The second half of NumPy indexing (kernel/api/indexing.ts has the parser and the gather):
// `x.at(...)` indexed updates, after JAX's `_IndexUpdateRef` (jax/_src/numpy/array_methods.py)
// and `_scatter_update` (jax/_src/ops/scatter.py): each update is ONE scatter built from the
// same `indexToGather` record as the read, transposed. Out-of-bounds updates are dropped by
// default. Also the functional forms `take`, `takeAlongAxis` (one gather each) and the
// concrete-only `nonzero`, `argwhere`, `flatnonzero`.

import { ShapedArray } from "../core/aval";
import { DType, int32 } from "../core/dtype";
import { DTypeError, IndexError, ShapeError, ValueError, fmtShape } from "../core/errors";
import { NDArray, fromStorage } from "../core/ndarray";
import { OptionSpec, broadcastShapes, checkOptions, checkSize, describeValue, normalizeAxis, sizeOf } from "../core/shape";
import { ScatterDimensionNumbers } from "../primitives/indexing";
import { ArrayLike, asArray, astype, promoteArgs } from "./convert";
import { GET_OPTS, GetOptions, IndexItem, Mode, ParsedItem, concreteData, indexToGather, nonzeroHost, normalizeIndexArray, parseIndex, rewritingTake } from "./indexing";
import * as lax from "./lax";
import { broadcastTo, remainder } from "./ufuncs";

/** Options of `x.at(...).set/add/multiply/min/max`. */
export interface UpdateOptions {
  /** Out-of-bounds handling: "drop"/"fill" (the default) skip the update, "clip" clamps the index. */
  mode?: Mode;
  indicesAreSorted?: boolean;
  uniqueIndices?: boolean;
}

// The options each function accepts; unknown keys and mistyped values are errors.
const MODES = ["clip", "fill", "drop", "promise_in_bounds"];
const UPDATE_OPTS: OptionSpec = { mode: MODES, indicesAreSorted: "boolean", uniqueIndices: "boolean" };
const TAKE_OPTS: OptionSpec = { axis: "any", mode: "any", fillValue: "any", uniqueIndices: "boolean", indicesAreSorted: "boolean" };
const TAKE_ALONG_OPTS: OptionSpec = { mode: MODES, fillValue: "any" };
const NONZERO_OPTS: OptionSpec = { size: "count", fillValue: "any" };

/** A gather fill value: a number, a boolean, or nothing. */
function checkFill(op: string, v: unknown): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" && typeof v !== "boolean") throw new ValueError(`${op}: fillValue must be a scalar number or boolean, got ${describeValue(v)}`);
  return +v;
}

type ScatterFn = (x: NDArray, indices: NDArray, updates: NDArray, dnums: ScatterDimensionNumbers, opts: UpdateOptions) => NDArray;

function zeros(shape: number[], dtype: DType, weakType = false): NDArray {
  return fromStorage(new dtype.storage(sizeOf(shape)), new ShapedArray(shape, dtype, weakType));
}

/** x[idx] op= values, functionally: JAX's _scatter_impl. */
function scatterUpdate(op: string, x: NDArray, idx: readonly ParsedItem[], values: ArrayLike, scatter: ScatterFn, opts: UpdateOptions): NDArray {
  checkOptions(op, opts, UPDATE_OPTS);
  const ind = indexToGather(op, x.shape, idx);
  // Nothing is updated (and XLA would reject the empty scatter).
  if (ind.sliceShape.includes(0)) return x;
  const xx = ind.scalarBoolDims.length ? lax.expandDims(x, ind.scalarBoolDims) : x;
  // As JAX: x and the values are promoted together, scattered, and the result cast back to x's
  // dtype, so `.set(2.7)` on int32 stores 2 and `.add(0.5)` on int32 accumulates in float32.
  const [xp, yp] = promoteArgs(op, xx, values);
  const shape = ind.sliceShape;
  const off = shape.length - yp.ndim;
  if (off < 0 || yp.shape.some((d, i) => d !== 1 && d !== shape[off + i]))
    throw new ShapeError(`${op}: cannot broadcast update values of shape ${fmtShape(yp.shape)} to the indexed shape ${fmtShape(shape)}`);
  let y = broadcastTo(yp, shape);
  if (ind.newaxisDims.length) y = lax.squeeze(y, ind.newaxisDims);
  if (ind.reversedYDims.length) y = lax.rev(y, ind.reversedYDims);
  // No index vectors: one window covering the whole operand, addressed by an empty index.
  const indices = ind.gatherIndices ?? zeros([0], int32);
  const dnums: ScatterDimensionNumbers = {
    update_window_dims: ind.dnums.offset_dims,
    inserted_window_dims: ind.dnums.collapsed_slice_dims,
    scatter_dims_to_operand_dims: ind.dnums.start_index_map,
  };
  let out = scatter(xp, indices, y, dnums, {
    mode: opts.mode ?? "fill",
    indicesAreSorted: ind.indicesAreSorted || !!opts.indicesAreSorted,
    uniqueIndices: ind.uniqueIndices || !!opts.uniqueIndices,
  });
  if (ind.scalarBoolDims.length) out = lax.squeeze(out, ind.scalarBoolDims);
  return astype(out, x.dtype, x.weakType);
}

/**
 * What `x.at(...index)` returns: JAX's `x.at[index]`. Each method returns a new array; `x` is
 * never modified. Repeated indices accumulate in `add`/`multiply`/`min`/`max`; for `set` the
 * winner among repeats is unspecified, as in JAX.
 */
export class IndexUpdateRef {
  /** @internal The parsed index. */
  readonly _idx: ParsedItem[];
  constructor(
    readonly array: NDArray,
    readonly index: readonly IndexItem[],
  ) {
    this._idx = parseIndex("at", index, array.shape);
  }
  /** x[index], with a choice of out-of-bounds mode ("fill" reads `fillValue`, default NaN / int min). */
  get(opts: GetOptions = {}): NDArray {
    return rewritingTake("at.get", this.array, this._idx, checkOptions<GetOptions>("at.get", opts, GET_OPTS));
  }
  /** x[index] = values. */
  set(values: ArrayLike, opts: UpdateOptions = {}): NDArray {
    return scatterUpdate("at.set", this.array, this._idx, values, lax.scatter, opts);
  }
  /** x[index] += values (repeated indices accumulate). */
  add(values: ArrayLike, opts: UpdateOptions = {}): NDArray {
    return scatterUpdate("at.add", this.array, this._idx, values, lax.scatterAdd, opts);
  }
  /** x[index] *= values (repeated indices accumulate). */
  multiply(values: ArrayLike, opts: UpdateOptions = {}): NDArray {
    return scatterUpdate("at.multiply", this.array, this._idx, values, lax.scatterMul, opts);
  }
  /** Alias of `multiply`. */
  mul(values: ArrayLike, opts: UpdateOptions = {}): NDArray {
    return this.multiply(values, opts);
  }
  /** x[index] = minimum(x[index], values). */
  min(values: ArrayLike, opts: UpdateOptions = {}): NDArray {
    return scatterUpdate("at.min", this.array, this._idx, values, lax.scatterMin, opts);
  }
  /** x[index] = maximum(x[index], values). */
  max(values: ArrayLike, opts: UpdateOptions = {}): NDArray {
    return scatterUpdate("at.max", this.array, this._idx, values, lax.scatterMax, opts);
  }
  toString(): string {
    return `_IndexUpdateRef(${this.array.aval.str()}, ${describeValue(this.index)})`;
  }
}

/** `x.at[...items]`: the entry point of indexed updates. */
export function at(x: NDArray, ...items: IndexItem[]): IndexUpdateRef {
  return new IndexUpdateRef(x, items);
}

/** Options of `take`. */
export interface TakeOptions {
  /** The axis to take along; null (the default) takes from the flattened array. */
  axis?: number | null;
  /** "fill" (default: out-of-bounds reads give `fillValue`), "clip", or "wrap" (indices modulo the size). */
  mode?: "fill" | "clip" | "wrap" | "raise" | null;
  fillValue?: number | boolean | null;
  uniqueIndices?: boolean;
  indicesAreSorted?: boolean;
}

function checkIntIndices(op: string, idx: NDArray): void {
  if (!idx.dtype.isInt) throw new DTypeError(`${op}: indices must be of integer type, got ${idx.dtype.name}`);
}

/** jnp.take: elements of `a` at `indices` along `axis` (flattened when axis is null), one gather. */
export function take(a: ArrayLike, indices: ArrayLike, opts: TakeOptions = {}): NDArray {
  checkOptions("take", opts, TAKE_OPTS);
  const fillValue = checkFill("take", opts.fillValue);
  let arr = asArray(a, null, "take");
  let idx = asArray(indices, null, "take");
  checkIntIndices("take", idx);
  const axis = opts.axis ?? null;
  if (axis === null) arr = lax.reshape(arr, [arr.size]);
  const ax = axis === null ? 0 : normalizeAxis("take", axis, arr.ndim);
  const n = arr.shape[ax];
  let mode: Mode;
  if (opts.mode === undefined || opts.mode === null || opts.mode === "fill") {
    mode = "fill";
    idx = normalizeIndexArray(idx, n); // gather does not wrap negative indices itself
  } else if (opts.mode === "clip") mode = "clip";
  else if (opts.mode === "wrap") {
    mode = "promise_in_bounds";
    idx = remainder(astype(idx, int32), n);
  } else if (opts.mode === "raise") throw new ValueError("take: The 'raise' mode to jnp.take is not supported.");
  else throw new ValueError(`take: Invalid mode ${describeValue(opts.mode)} for np.take (expected "fill", "clip" or "wrap")`);
  const sliceSizes = [...arr.shape];
  if (n === 0) {
    if (idx.size !== 0) throw new IndexError("take: Cannot do a non-empty jnp.take() from an empty axis.");
    return arr;
  }
  const outShape = [...arr.shape.slice(0, ax), ...idx.shape, ...arr.shape.slice(ax + 1)];
  checkSize("take", outShape);
  if (idx.size === 0) return zeros(outShape, arr.dtype, arr.weakType);
  sliceSizes[ax] = 1;
  const k = idx.ndim;
  const offsetDims = [...Array.from({ length: ax }, (_, i) => i), ...Array.from({ length: arr.ndim - ax - 1 }, (_, i) => ax + k + i)];
  return lax.gather(arr, lax.reshape(idx, [...idx.shape, 1]), { offset_dims: offsetDims, collapsed_slice_dims: [ax], start_index_map: [ax] }, sliceSizes, {
    mode,
    fillValue,
    indicesAreSorted: !!opts.indicesAreSorted,
    uniqueIndices: !!opts.uniqueIndices,
  });
}

/**
 * jnp.take_along_axis: out[..., i, ...] = arr[..., indices[..., i, ...], ...] along `axis`
 * (flattened when null), broadcasting the other axes; default mode "fill". One gather whose
 * other axes are addressed by iotas (Primal's gather has no batching dims).
 */
export function takeAlongAxis(arr: ArrayLike, indices: ArrayLike, axis: number | null = -1, opts: { mode?: Mode | null; fillValue?: number | boolean | null } = {}): NDArray {
  const op = "take_along_axis";
  checkOptions(op, opts, TAKE_ALONG_OPTS);
  const mode = opts.mode ?? "fill";
  const fillValue = checkFill(op, opts.fillValue);
  let a = asArray(arr, null, op);
  let idx = asArray(indices, null, op);
  checkIntIndices(op, idx);
  if (axis === null) {
    if (idx.ndim !== 1) throw new ValueError(`${op}: indices must be 1D if axis=None, got shape ${fmtShape(idx.shape)}`);
    a = lax.reshape(a, [a.size]);
    axis = 0;
  }
  if (a.ndim !== idx.ndim) throw new ValueError(`${op}: indices and arr must have the same number of dimensions; ${idx.ndim} vs. ${a.ndim}`);
  const ax = normalizeAxis(op, axis, a.ndim);
  const n = a.shape[ax];
  const arrShape = a.shape.map((s, i) => (i === ax ? 1 : s));
  const outShape = broadcastShapes(op, idx.shape, arrShape);
  if (n === 0 || sizeOf(outShape) === 0) return zeros(outShape, a.dtype, a.weakType);
  // Axes where the index has size 1 are taken whole (offset dims); the others are indexed.
  const indexDims = outShape.map((_, i) => i).filter((i) => i === ax || idx.shape[i] !== 1);
  const giShape = [...indexDims.map((i) => outShape[i]), 1];
  const parts: NDArray[] = [];
  const sliceSizes: number[] = [];
  const offsetDims: number[] = [];
  const collapsed: number[] = [];
  let j = 0;
  for (let i = 0; i < a.ndim; i++) {
    if (i === ax || idx.shape[i] !== 1) {
      if (i === ax) parts.push(lax.reshape(mode === "promise_in_bounds" ? astype(idx, int32) : normalizeIndexArray(idx, n), giShape));
      // A size-1 array axis broadcast against the index is read at 0, not at an iota.
      else parts.push(a.shape[i] === 1 ? zeros(giShape, int32) : lax.broadcastedIota(int32, giShape, j));
      sliceSizes.push(1);
      collapsed.push(i);
      j++;
    } else {
      offsetDims.push(i);
      sliceSizes.push(a.shape[i]);
    }
  }
  const gi = parts.length === 1 ? parts[0] : lax.concatenate(parts, j);
  return lax.gather(a, gi, { offset_dims: offsetDims, collapsed_slice_dims: collapsed, start_index_map: collapsed }, sliceSizes, { mode, fillValue });
}

/**
 * jnp.nonzero: the indices of the non-zero elements, one int32 array per axis. Computed on the
 * host, so `x` must be concrete (not traced), even with `size`, which pads (with `fillValue`,
 * default 0) or truncates the result.
 */
export function nonzero(x: ArrayLike, opts: NonzeroOptions = {}): NDArray[] {
  const a = asArray(x, null, "nonzero");
  if (a.ndim === 0) throw new ValueError("nonzero: Calling nonzero on 0d arrays is not allowed. Use jnp.atleast_1d(scalar).nonzero() instead.");
  return nonzeroImpl("nonzero", a, opts);
}

/** Options of nonzero, flatnonzero and argwhere: a static `size` pads (with `fillValue`) or truncates. */
export interface NonzeroOptions {
  size?: number | null;
  fillValue?: number | readonly number[] | null;
}

function nonzeroImpl(op: string, a: NDArray, opts: NonzeroOptions): NDArray[] {
  checkOptions(op, opts, NONZERO_OPTS);
  const size = opts.size ?? null;
  const fill = opts.fillValue ?? 0;
  if (size !== null) checkSize(op, [size, a.ndim]);
  const fills = typeof fill === "number" ? null : Array.isArray(fill) ? fill : undefined;
  if (fills === undefined || (fills && (fills.length !== a.ndim || fills.some((f) => typeof f !== "number"))))
    throw new ValueError(`${op}: fillValue must be a number or one number per axis (${a.ndim}), got ${describeValue(fill)}`);
  let cols = nonzeroHost(concreteData(op, a, "the array (its nonzero count sets the output shape)"), a.shape);
  if (size !== null) {
    cols = cols.map((c, d) => {
      const out = new Int32Array(size).fill(typeof fill === "number" ? fill : fill[d]);
      out.set(c.subarray(0, size));
      return out;
    });
  }
  return cols.map((c) => fromStorage(c, new ShapedArray([c.length], int32)));
}

/** jnp.flatnonzero: indices of the non-zero elements of the flattened array (concrete only). */
export function flatnonzero(x: ArrayLike, opts: { size?: number | null; fillValue?: number | null } = {}): NDArray {
  const a = asArray(x, null, "flatnonzero");
  return nonzeroImpl("flatnonzero", lax.reshape(a, [a.size]), opts)[0];
}

/** jnp.argwhere: an [N, ndim] int32 array of the non-zero positions (concrete only). */
export function argwhere(x: ArrayLike, opts: NonzeroOptions = {}): NDArray {
  const a = asArray(x, null, "argwhere");
  const cols = nonzeroImpl("argwhere", a.ndim === 0 ? lax.reshape(a, [1]) : a, opts);
  const count = cols[0].shape[0];
  if (a.ndim === 0) return zeros([count, 0], int32);
  const data = new Int32Array(count * cols.length);
  cols.forEach((c, d) => c.dataSync().forEach((v, i) => (data[i * cols.length + d] = v)));
  return fromStorage(data, new ShapedArray([count, cols.length], int32));
}
