// jax.numpy's sorting and order statistics: sort, argsort, lexsort, partition, searchsorted,
// unique, median, quantile and percentile (jax/_src/numpy/sorting.py, setops.py,
// reductions.py). Everything lowers to lax.sort (JAX's total order: NaN sorts last), gathers
// and elementwise lax ops. `unique` needs a concrete input, since its output size depends on
// the values, as in JAX without `size`.

import { float32, int32 } from "../core/dtype";
import { ArgumentError, DTypeError, ShapeError, ValueError, fmtShape } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { OptionSpec, checkInteger, checkOptions, describeValue, normalizeAxes, normalizeAxis, positionalOrOption, shapeEqual, sizeOf } from "../core/shape";
import { ArrayLike, asArray, astype, promoteArgs, promoteArgsInexact } from "./convert";
import * as lax from "./lax";
import { AxisArg, ravel } from "./shape-ops";
import { divide } from "./ufuncs";

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const arr = (x: ArrayLike, op: string): NDArray => asArray(x, null, op);
const posOrOpt = positionalOrOption;
// The options each function accepts; unknown keys and mistyped values are errors.
const SORT_OPTS: OptionSpec = { axis: "any", stable: "boolean", descending: "boolean" };
const AXIS_OPTS: OptionSpec = { axis: "any" };
const SEARCHSORTED_OPTS: OptionSpec = { side: ["left", "right"], sorter: "any", method: ["scan", "scan_unrolled", "compare_all"] };
const UNIQUE_OPTS: OptionSpec = { returnIndex: "boolean", returnInverse: "boolean", returnCounts: "boolean", equalNan: "boolean", axis: "any" };
const QUANTILE_OPTS: OptionSpec = { axis: "any", method: "any", keepdims: "boolean" };
const MEDIAN_OPTS: OptionSpec = { axis: "any", keepdims: "boolean" };
/** lax.slice along one axis: x[..., start:stop, ...]. */
function sliceAxis(x: NDArray, axis: number, start: number, stop: number): NDArray {
  return lax.slice(x, x.shape.map((_, d) => (d === axis ? start : 0)), x.shape.map((n, d) => (d === axis ? stop : n)));
}
/** x.take(idx, axis) for in-bounds indices, as one gather (out-of-bounds would clamp). */
function takeAxis(x: NDArray, idx: NDArray, axis: number): NDArray {
  const k = idx.ndim;
  const offsetDims = range(x.ndim - 1).map((d) => (d < axis ? d : d + k));
  const sliceSizes = x.shape.map((n, d) => (d === axis ? 1 : n));
  return lax.gather(x, lax.reshape(idx, [...idx.shape, 1]), { offset_dims: offsetDims, collapsed_slice_dims: [axis], start_index_map: [axis] }, sliceSizes, { mode: "clip" });
}

/** Options of sort/argsort (JAX keywords `axis`, `stable`, `descending`). */
export interface SortOptions {
  /** The axis to sort along (default -1); null sorts the flattened array. */
  axis?: number | null;
  /** Keep equal elements in their original order (default true, as jnp.sort). */
  stable?: boolean;
  /** Sort in descending order. */
  descending?: boolean;
}

/** Resolves `axis` (null flattens) for the sort family. */
function sortAxis(op: string, a: ArrayLike, axisOrOpts: number | null | SortOptions | undefined, spec: OptionSpec = SORT_OPTS): { x: NDArray; axis: number; opts: SortOptions } {
  const { value: axis, opts } = posOrOpt<number | null>(op, axisOrOpts, "axis", -1, spec);
  const x = arr(a, op);
  if (axis === null) return { x: ravel(x), axis: 0, opts };
  return { x, axis: normalizeAxis(op, axis, x.ndim), opts };
}

/** jnp.sort(a, {axis = -1, stable = true, descending = false}): NaNs sort to the end. */
export function sort(a: ArrayLike, axisOrOpts?: number | null | SortOptions): NDArray {
  const { x, axis, opts } = sortAxis("sort", a, axisOrOpts);
  const s = lax.sort(x, { dimension: axis, isStable: opts.stable ?? true }) as NDArray;
  // JAX's descending sort is the reversed ascending sort (so NaNs come first).
  return opts.descending ? lax.rev(s, [axis]) : s;
}

/**
 * jnp.argsort(a, {axis = -1, stable = true, descending = false}): indices that sort `a`, as int32.
 * The sort carries an iota operand (num_keys = 1). Descending, as JAX does it: stable-sort the
 * reversed array, reverse the result and map index j of the reversed array to n - 1 - j, so
 * equal elements keep ascending index order.
 */
export function argsort(a: ArrayLike, axisOrOpts?: number | null | SortOptions): NDArray {
  const { x, axis, opts } = sortAxis("argsort", a, axisOrOpts);
  const stable = opts.stable ?? true;
  const src = opts.descending ? lax.rev(x, [axis]) : x;
  const iota = lax.broadcastedIota(int32, [...x.shape], axis);
  const perm = (lax.sort([src, iota], { dimension: axis, isStable: stable, numKeys: 1 }) as NDArray[])[1];
  if (!opts.descending) return perm;
  return lax.sub(x.shape[axis] - 1, lax.rev(perm, [axis]));
}

/** jnp.lexsort(keys, {axis = -1}): indices sorting by the last key first, then the others. */
export function lexsort(keys: readonly ArrayLike[] | NDArray, opts: { axis?: number } = {}): NDArray {
  checkOptions("lexsort", opts, AXIS_OPTS);
  if (!(keys instanceof NDArray) && !Array.isArray(keys)) throw new ArgumentError(`lexsort: keys must be a list of arrays or an array, got ${describeValue(keys)}`);
  if (keys instanceof NDArray && keys.ndim === 0) throw new ShapeError(`lexsort: keys must be a list of arrays or an array of rank >= 1, got shape []`);
  const ks = keys instanceof NDArray
    ? range(keys.shape[0]).map((i) => lax.reshape(sliceAxis(keys, 0, i, i + 1), keys.shape.slice(1)))
    : keys.map((k) => arr(k, "lexsort"));
  if (ks.length === 0) throw new ValueError("lexsort: need sequence of keys with len > 0 in lexsort, got 0 keys");
  if (ks.some((k) => !shapeEqual(k.shape, ks[0].shape)))
    throw new ShapeError(`lexsort: all keys need to be the same shape, got ${ks.map((k) => fmtShape(k.shape)).join(", ")}`);
  if (ks[0].ndim === 0) return asArray(0, int32, "lexsort");
  const axis = normalizeAxis("lexsort", opts.axis ?? -1, ks[0].ndim);
  const iota = lax.broadcastedIota(int32, [...ks[0].shape], axis);
  const outs = lax.sort([...ks.reverse(), iota], { dimension: axis, isStable: true, numKeys: ks.length }) as NDArray[];
  return outs[outs.length - 1];
}

/**
 * jnp.partition(a, kth, {axis = -1}). Deviation: the result is fully sorted along the axis, which
 * is one valid partition (element kth in its sorted place, smaller ones before, larger after).
 */
export function partition(a: ArrayLike, kth: number, axisOrOpts?: number | { axis?: number }): NDArray {
  const { x, axis } = sortAxis("partition", a, posOrOpt<number>("partition", axisOrOpts, "axis", -1, AXIS_OPTS).value);
  checkKth("partition", kth, x.shape[axis]);
  return sort(x, axis);
}
/** jnp.argpartition(a, kth, {axis = -1}): indices of a valid partition (a stable full sort, see partition). */
export function argpartition(a: ArrayLike, kth: number, axisOrOpts?: number | { axis?: number }): NDArray {
  const { x, axis } = sortAxis("argpartition", a, posOrOpt<number>("argpartition", axisOrOpts, "axis", -1, AXIS_OPTS).value);
  checkKth("argpartition", kth, x.shape[axis]);
  return argsort(x, axis);
}
function checkKth(op: string, kth: unknown, n: number): void {
  checkInteger(op, "kth", kth);
  if ((kth as number) < -n || (kth as number) >= n) throw new ValueError(`${op}: kth(=${kth}) out of bounds (${n})`);
}

// JAX's sort comparators (lax._sort_lt_comparator): NaN after every number, NaNs equal, -0 == +0.
function ltTotal(x: NDArray, y: NDArray): NDArray {
  if (!x.dtype.isFloat) return lax.lt(x, y);
  return lax.or(lax.lt(x, y), lax.and(lax.ne(y, y), lax.eq(x, x)));
}
function leTotal(x: NDArray, y: NDArray): NDArray {
  if (!x.dtype.isFloat) return lax.le(x, y);
  return lax.or(lax.le(x, y), lax.ne(y, y));
}

/** Options of searchsorted (JAX keywords `side`, `sorter`, `method`). */
export interface SearchsortedOptions {
  /** "left": first index i with a[i] >= v; "right": first index with a[i] > v. */
  side?: "left" | "right";
  /** Indices that sort `a` (as argsort returns), when `a` itself is not sorted. */
  sorter?: ArrayLike | null;
  /** "scan" (binary search, default, as in JAX) or "compare_all" (count comparisons). */
  method?: "scan" | "scan_unrolled" | "compare_all";
}

/** jnp.searchsorted(a, v, {side = "left", sorter, method}): insertion indices (int32) keeping a sorted. */
export function searchsorted(a: ArrayLike, v: ArrayLike, sideOrOpts?: "left" | "right" | SearchsortedOptions): NDArray {
  const { value: side, opts } = posOrOpt<string>("searchsorted", sideOrOpts, "side", "left", SEARCHSORTED_OPTS);
  if (side !== "left" && side !== "right") throw new ValueError(`searchsorted: side must be 'left' or 'right', got ${describeValue(side)}`);
  const method = opts.method ?? "scan";
  let [s, q] = promoteArgs("searchsorted", a, v);
  if (s.ndim !== 1) throw new ShapeError(`searchsorted: a should be 1-dimensional, got shape ${fmtShape(s.shape)}`);
  if (opts.sorter !== undefined && opts.sorter !== null) {
    const sorter = asArray(opts.sorter, null, "searchsorted");
    if (!sorter.dtype.isInt) throw new DTypeError(`searchsorted: sorter must hold integer indices, got ${sorter.aval.str()}`);
    if (!shapeEqual(sorter.shape, s.shape)) throw new ShapeError(`searchsorted: sorter must have the shape of a, got ${fmtShape(sorter.shape)} and ${fmtShape(s.shape)}`);
    s = takeAxis(s, sorter, 0);
  }
  const n = s.shape[0];
  if (n === 0) return lax.broadcastInDim(asArray(0, int32), [...q.shape], []);
  if (method === "compare_all") {
    // Count of a[i] < v (left) or a[i] <= v (right), over a broadcast [n, ...v.shape] grid.
    const grid = [n, ...q.shape];
    const A = lax.broadcastInDim(s, grid, [0]);
    const V = lax.broadcastInDim(q, grid, range(q.ndim).map((d) => d + 1));
    const hits = side === "left" ? ltTotal(A, V) : leTotal(A, V);
    return lax.reduceSum(astype(hits, int32), [0]);
  }
  // Binary search, unrolled over ceil(log2(n + 1)) levels (JAX's _searchsorted_via_scan):
  // the answer stays in (low, high]; each level halves it by looking at a[mid].
  let low = lax.broadcastInDim(asArray(0, int32), [...q.shape], []);
  let high = lax.broadcastInDim(asArray(n, int32), [...q.shape], []);
  for (let level = 0; level < Math.ceil(Math.log2(n + 1)); level++) {
    const mid = lax.div(lax.add(low, high), 2);
    const am = takeAxis(s, mid, 0);
    const goLeft = side === "left" ? leTotal(q, am) : ltTotal(q, am);
    [low, high] = [lax.select(goLeft, low, mid), lax.select(goLeft, mid, high)];
  }
  return high;
}

/** Options of unique (JAX keywords `return_index`, `return_inverse`, `return_counts`, `equal_nan`, `axis`). */
export interface UniqueOptions {
  /** Also return the index of each unique value's first occurrence. */
  returnIndex?: boolean;
  /** Also return indices into the unique values that rebuild the input (input's shape). */
  returnInverse?: boolean;
  /** Also return how often each unique value occurs. */
  returnCounts?: boolean;
  /** Treat all NaNs as one value (default true, as NumPy and JAX). */
  equalNan?: boolean;
  /** Only null (flatten) is supported. */
  axis?: null;
}

/**
 * jnp.unique(ar, options?): the sorted unique values of the flattened array. With any of
 * returnIndex/returnInverse/returnCounts it returns a list [values, index?, inverse?, counts?]
 * in that order, like JAX's tuple. Needs a concrete input: the output size depends on the data.
 */
export function unique(ar: ArrayLike, opts?: UniqueOptions & { returnIndex?: false; returnInverse?: false; returnCounts?: false }): NDArray;
export function unique(ar: ArrayLike, opts: UniqueOptions): NDArray[];
export function unique(ar: ArrayLike, opts: UniqueOptions = {}): NDArray | NDArray[] {
  checkOptions("unique", opts, UNIQUE_OPTS);
  const x0 = arr(ar, "unique");
  if (opts.axis !== undefined && opts.axis !== null) throw new ValueError(`unique: only axis=null is supported, got axis ${describeValue(opts.axis)}`);
  const x = ravel(x0);
  const n = x.size;
  if (n === 0) {
    const empty = lax.broadcastInDim(asArray(0, int32), [0], []);
    const extra = [opts.returnIndex && empty, opts.returnInverse && lax.reshape(empty, [...x0.shape]), opts.returnCounts && empty];
    const parts = extra.filter((e): e is NDArray => e instanceof NDArray);
    return opts.returnIndex || opts.returnInverse || opts.returnCounts ? [x, ...parts] : x;
  }
  const iota = lax.iota(int32, n);
  // Sorting x with an iota gives the sorted values and the permutation at once; the stable
  // sort makes each group's first index its first occurrence.
  const [sorted, perm] = lax.sort([x, iota], { dimension: 0, isStable: true, numKeys: 1 }) as NDArray[];
  let fresh = lax.broadcastInDim(asArray(true), [n], []);
  if (n > 1) {
    const [prev, next] = [sliceAxis(sorted, 0, 0, n - 1), sliceAxis(sorted, 0, 1, n)];
    let neq = lax.ne(next, prev);
    if (x.dtype.isFloat && (opts.equalNan ?? true)) neq = lax.and(neq, lax.not(lax.and(lax.ne(next, next), lax.ne(prev, prev))));
    fresh = lax.concatenate([lax.broadcastInDim(asArray(true), [1], []), neq], 0);
  }
  // The one data-dependent step: where the groups start. This needs concrete values.
  const mask = fresh._concrete("unique").dataSync();
  const starts = range(n).filter((i) => mask[i] !== 0);
  const u = starts.length;
  const pos = asArray(Int32Array.from(starts), int32, "unique");
  const values = takeAxis(sorted, pos, 0);
  if (!opts.returnIndex && !opts.returnInverse && !opts.returnCounts) return values;
  const out = [values];
  if (opts.returnIndex) out.push(takeAxis(perm, pos, 0));
  // Group number of each sorted element: cumsum(fresh) - 1.
  const group = lax.sub(lax.cumsum(astype(fresh, int32), { axis: 0 }), 1);
  if (opts.returnInverse) {
    // Sorting the groups by the permutation puts them back in input order.
    const inv = (lax.sort([perm, group], { dimension: 0, numKeys: 1 }) as NDArray[])[1];
    out.push(lax.reshape(inv, [...x0.shape]));
  }
  if (opts.returnCounts) {
    const zeros = lax.broadcastInDim(asArray(0, int32), [u], []);
    const ones = lax.broadcastInDim(asArray(1, int32), [n], []);
    out.push(lax.scatterAdd(zeros, lax.reshape(group, [n, 1]), ones, { update_window_dims: [], inserted_window_dims: [0], scatter_dims_to_operand_dims: [0] }));
  }
  return out;
}

/** How quantile picks between the two nearest order statistics. */
export type QuantileMethod = "linear" | "lower" | "higher" | "midpoint" | "nearest";
/** Options of quantile/percentile (JAX keywords `axis`, `method`, `keepdims`). */
export interface QuantileOptions {
  /** Axes to reduce (default null: all). */
  axis?: AxisArg;
  /** How to pick between the two nearest order statistics (default "linear"). */
  method?: QuantileMethod;
  keepdims?: boolean;
}

/**
 * jnp.quantile(a, q, {axis, method = "linear", keepdims}): q in [0, 1]. The result has q's
 * shape first, then the kept axes. With n values sorted, position p = q (n - 1) interpolates
 * between s[floor p] and s[ceil p]; a slice holding a NaN gives NaN.
 */
export function quantile(a: ArrayLike, q: ArrayLike, axisOrOpts?: AxisArg | QuantileOptions): NDArray {
  return quantileImpl("quantile", a, q, axisOrOpts, 1);
}
/** jnp.percentile(a, q, {axis, method, keepdims}): quantile with q in [0, 100]. */
export function percentile(a: ArrayLike, q: ArrayLike, axisOrOpts?: AxisArg | QuantileOptions): NDArray {
  return quantileImpl("percentile", a, q, axisOrOpts, 100);
}
/** jnp.median(a, {axis, keepdims}): the 0.5 quantile, with JAX's method "midpoint". */
export function median(a: ArrayLike, axisOrOpts?: AxisArg | { axis?: AxisArg; keepdims?: boolean }): NDArray {
  const { value: axis, opts } = posOrOpt<AxisArg>("median", axisOrOpts, "axis", null, MEDIAN_OPTS);
  return quantileImpl("median", a, 0.5, { axis, keepdims: opts.keepdims, method: "midpoint" }, 1);
}

function quantileImpl(op: string, a: ArrayLike, q: ArrayLike, axisOrOpts: AxisArg | QuantileOptions | undefined, scale: number): NDArray {
  const { value: axis, opts } = posOrOpt<AxisArg>(op, axisOrOpts, "axis", null, QUANTILE_OPTS);
  const method = opts.method ?? "linear";
  if (!["linear", "lower", "higher", "midpoint", "nearest"].includes(method)) throw new ValueError(`${op}: method can only be 'linear', 'lower', 'higher', 'midpoint', or 'nearest', got ${describeValue(method)}`);
  if (typeof q === "number" || Array.isArray(q)) {
    const flat = (v: unknown): unknown[] => (Array.isArray(v) ? v.flatMap(flat) : [v]);
    const qs = flat(q) as number[];
    if (qs.some((v) => !(v >= 0 && v <= scale))) throw new ValueError(`${op}: ${scale === 1 ? "Quantiles" : "Percentiles"} must be in the range [0, ${scale}], got ${describeValue(q)}`);
  }
  let [x, qa] = promoteArgsInexact(op, a, q);
  if (scale !== 1) qa = astype(divide(qa, scale), qa.dtype, qa.weakType);
  const axes = normalizeAxes(op, axis, x.ndim);
  const kept = range(x.ndim).filter((d) => !axes.includes(d));
  const keptShape = kept.map((d) => x.shape[d]);
  const m = sizeOf(axes.map((d) => x.shape[d]));
  if (m === 0) throw new ValueError(`${op}: cannot compute a quantile over an empty axis, got shape ${fmtShape(x.shape)}`);
  // Reduced axes to the end, merged into one of size m.
  const y = lax.reshape(lax.transpose(x, [...kept, ...axes]), [...keptShape, m]);
  const last = keptShape.length;
  const anyNan = lax.broadcastInDim(lax.reduceOr(lax.ne(y, y), [last]), [...keptShape, m], range(last));
  const nan = lax.broadcastInDim(astype(asArray(NaN, float32), y.dtype), [...keptShape, m], []);
  const sorted = lax.sort(lax.select(anyNan, nan, y), { dimension: last }) as NDArray;
  const qd = qa.dtype === y.dtype ? qa : astype(qa, y.dtype);
  const pos = lax.mul(qd, m - 1);
  const lowF = lax.clamp(0, lax.floor(pos), m - 1);
  const highF = lax.clamp(0, lax.ceil(pos), m - 1);
  const hw = lax.sub(pos, lowF);
  // Gather s[..., low] with q's axes first: out shape q.shape + keptShape.
  const gatherAt = (idx: NDArray) =>
    lax.gather(sorted, lax.reshape(astype(idx, int32), [...idx.shape, 1]),
      { offset_dims: range(last).map((d) => d + idx.ndim), collapsed_slice_dims: [last], start_index_map: [last] },
      [...keptShape, 1], { mode: "clip" });
  const lowV = gatherAt(lowF);
  const highV = gatherAt(highF);
  const w = (t: NDArray) => lax.reshape(t, [...t.shape, ...new Array(last).fill(1)]);
  let r: NDArray;
  if (method === "lower") r = lowV;
  else if (method === "higher") r = highV;
  else if (method === "midpoint") r = lax.mul(lax.add(lowV, highV), 0.5);
  else if (method === "nearest") r = lax.select(lax.broadcastInDim(w(lax.le(hw, 0.5)), [...lowV.shape], range(lowV.ndim)), lowV, highV);
  else r = lax.add(lax.mul(lowV, w(lax.sub(1, hw))), lax.mul(highV, w(hw)));
  if (!opts.keepdims) return r;
  return lax.reshape(r, [...qa.shape, ...x.shape.map((s, d) => (axes.includes(d) ? 1 : s))]);
}
